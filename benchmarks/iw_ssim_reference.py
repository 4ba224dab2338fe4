"""Make ``tests/expected/iw_ssim_reference.json``: IW-SSIM reference values from the ports, with provenance.

    python benchmarks/iw_ssim_reference.py --port /tmp/iwref/jpegai_IW_SSIM_PyTorch.py \\
        --python-iw-ssim /tmp/iwref/jack_IW_SSIM_PyTorch.py [--kodak ../shared/datasets/kodak] [--write]

The ports are not in this repository and never enter it: fetch them into a scratch folder —
``src/codec/metrics/IW_SSIM_PyTorch.py`` of github.com/akarabutov/jpeg-ai-reference-software
(commit faded723ca95) as ``--port``, ``IW_SSIM_PyTorch.py`` of github.com/Jack-guo-xy/Python-IW-SSIM
(commit f9de37cdb4c4) as ``--python-iw-ssim`` — in an environment with PyTorch and ``pyrtools``
(``pip install pyrtools``; both import it). Each pair is scored with a fresh instance (the JPEG AI
copy changes its own dtype state on its first CPU call), on one torch thread. Python-IW-SSIM calls
``torch.eig``, gone from PyTorch 2: it is given ``torch.linalg.eig``'s real parts, as the JPEG AI
copy does itself. Without ``--write`` the values are printed beside those in the JSON (a check that
they reproduce). About 20 s per Kodak pair on a busy 2-core machine.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import io
import json
import sys
from pathlib import Path

import numpy as np
import PIL
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qualitykit.fsutil import atomic_write_text  # noqa: E402
from qualitykit.metrics.iw_ssim import luma_601  # noqa: E402

JSON = ROOT / "tests" / "expected" / "iw_ssim_reference.json"
QUALITIES = (10, 25, 50, 75, 95)
#: (image, [top, left, height, width], JPEG quality): odd sides, the smallest size iwssim.m takes, a portrait image.
CROPS = [("kodim01.png", [37, 101, 199, 263], 25), ("kodim04.png", [300, 40, 176, 181], 10), ("kodim23.png", [0, 0, 256, 384], 50)]


def load(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """As ``tests/conftest.py::jpeg_roundtrip``."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=quality)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", required=True, help="JPEG AI's IW_SSIM_PyTorch.py")
    ap.add_argument("--python-iw-ssim", required=True, help="Python-IW-SSIM's IW_SSIM_PyTorch.py")
    ap.add_argument("--kodak", default=str(ROOT.parent / "shared" / "datasets" / "kodak"))
    ap.add_argument("--only-crops", action="store_true", help="score the 3 crops only (a quick check)")
    ap.add_argument("--write", action="store_true", help=f"rewrite {JSON.relative_to(ROOT)}")
    args = ap.parse_args()
    torch.set_num_threads(1)
    port = load(args.port, "jpegai_iw_ssim")

    def _eig(a, eigenvectors=True):
        w, v = torch.linalg.eig(a)
        return torch.view_as_real(w), torch.real(v)

    torch.eig = _eig
    jack = load(args.python_iw_ssim, "python_iw_ssim")
    cpu = torch.device("cpu")
    pairs = [] if args.only_crops else [(f"kodim{i:02d}.png", None, QUALITIES[(i - 1) % 5]) for i in range(1, 25)]
    pairs += CROPS
    old = {(p["image"], json.dumps(p["crop"]), p["quality"]): p for p in json.loads(JSON.read_text())["pairs"]}
    out = []
    for name, crop, quality in pairs:
        with Image.open(Path(args.kodak) / name) as im:
            ref = np.asarray(im.convert("RGB"))
        if crop:
            top, left, h, w = crop
            ref = np.ascontiguousarray(ref[top : top + h, left : left + w])
        dist = jpeg(ref, quality)
        x, y = luma_601(ref), luma_601(dist)
        row = dict(
            image=name, crop=crop, quality=quality, dist_rgb_sha256=hashlib.sha256(dist.tobytes()).hexdigest(),
            iw_ssim=port.IW_SSIM(use_double=True).test(x, y, device=cpu).item(),
            jpegai_default_cpu=port.IW_SSIM().test(x, y, device=cpu).item(),
            python_iw_ssim_float32=jack.IW_SSIM().test(x, y).item(),
            python_iw_ssim_float64=jack.IW_SSIM(use_double=True).test(x, y).item(),
        )  # fmt: skip
        was = old.get((name, json.dumps(crop), quality), {})
        print(name, crop, quality, row["iw_ssim"], "stored:", was.get("iw_ssim"), flush=True)
        out.append(row)
    with Image.open(Path(args.kodak) / "kodim05.png") as im:
        ref = np.asarray(im.convert("RGB"))
    negative = port.IW_SSIM(use_double=True).test(luma_601(ref), luma_601(255 - ref), device=cpu).item()
    print("kodim05 vs its negative", negative)
    if args.write:
        doc = json.loads(JSON.read_text())
        doc["reference"]["environment"] = (
            f"pyrtools {importlib.metadata.version('pyrtools')}, torch {torch.__version__} (CPU), "
            f"numpy {np.__version__}, Pillow {PIL.__version__}, Python {sys.version.split()[0]}"
        )
        doc["pairs"] = out
        doc["negative"]["iw_ssim"] = negative
        atomic_write_text(JSON, json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
