"""Builders of qk run directories for tests, both through :mod:`qualitykit.rundir` (the only writer).

:func:`synthetic_run` writes exact synthetic RD numbers whose BD-rates are known in closed form
(the manifest and results built with the run-directory types); :func:`real_run` runs the real
runner (``qualitykit.bench``) on a few ``skimage.data`` crops.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

import qualitykit
from qualitykit import rundir
from qualitykit.codecs import codec_from_spec
from qualitykit.fsutil import sha256_file
from qualitykit.metrics import registry

EVIL_NAME = "<script>alert(1)</script>.png"
METRICS = {"psnr": True, "ms-ssim": True, "vmaf": True, "lpips": False}
#: Rate factor of each synthetic codec against the anchor: its exact BD-rate is (factor - 1) * 100 %.
FACTORS = {"jpeg": 1.0, "webp": 0.8, "avif": 0.7}


def write_image(root: Path, name: str, seed: int, size: tuple[int, int] = (96, 128)) -> rundir.SourceImage:
    """A textured RGB PNG ``root/name``; returns its manifest entry."""
    path = root / name
    rng = np.random.default_rng(seed)
    h, w = size
    y, x = np.mgrid[0:h, 0:w]
    base = 128 + 80 * np.sin(x / (4 + seed)) * np.cos(y / 7)
    pixels = np.clip(base[..., None] + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return rundir.SourceImage(name, str(path.resolve()), sha256_file(path), w, h)


def _codec_entry(spec: str) -> rundir.CodecEntry:
    codec, ladder = codec_from_spec(spec)
    return rundir.CodecEntry(spec, spec, codec.id, codec.name, dict(codec.options), list(ladder), codec.versions())


def _metric_info(name: str) -> Any:
    cls = registry.get(name)
    from qualitykit.metrics.base import MetricInfo

    return MetricInfo(name, "1", cls.higher_is_better, tuple(cls.range), cls.saturation, cls.unit, cls.description, "test")


def synthetic_run(
    run_dir: Path,
    n_images: int = 6,
    dataset_dir: Path | None = None,
    non_monotonic: tuple[str, int] | None = ("webp", 1),
    vmaf_saturated: bool = True,
) -> Path:
    """A run whose BD-rates are exact: codec ``c`` reaches each quality with ``FACTORS[c]`` × the anchor's bpp.

    Every curve has 6 points; per-image curves differ only by a complexity factor. The first
    image is named :data:`EVIL_NAME`. ``non_monotonic = (label, image index)`` breaks one
    image's curves for that codec (two PSNR/MS-SSIM/LPIPS values swapped). With
    ``vmaf_saturated`` the two top VMAF points of every curve are ≥ 99.5. Source PNGs are
    written under ``dataset_dir`` (default ``run_dir/../dataset``). There are no bitstreams:
    the cache is recorded as absent.
    """
    dataset_dir = dataset_dir or run_dir.parent / "dataset"
    names = [EVIL_NAME] + [f"img{i:02d}.png" for i in range(1, n_images)]
    images = [write_image(dataset_dir, n, i) for i, n in enumerate(names)]
    codecs = [_codec_entry(spec) for spec in FACTORS]
    eff = 0.1 * 2.0 ** np.arange(6)  # "effective" bpp; scores are functions of it
    rows = []
    for c in codecs:
        for i, img in enumerate(images):
            complexity = 0.6 + 0.3 * i
            score = {
                "psnr": 26 + 4.5 * np.log2(eff / 0.1) - i * 0.5,
                "ms-ssim": 1 - 0.25 * np.exp(-eff),
                "vmaf": 100 - 40 * np.exp(-2 * eff) if vmaf_saturated else 40 + 10 * np.log2(eff / 0.1),
                "lpips": 0.6 * np.exp(-eff),
            }
            if non_monotonic == (c.label, i):
                for m in ("psnr", "ms-ssim", "lpips"):
                    score[m][[2, 3]] = score[m][[3, 2]]
            bpp = eff * complexity * FACTORS[c.label]
            for k, q in enumerate(c.ladder[:6]):
                n_bytes = round(bpp[k] * img.width * img.height / 8)
                rows.append({
                    "image": img.image, "image_sha256": img.sha256, "width": img.width, "height": img.height,
                    "codec_id": c.id, "codec_label": c.label, "q": q, "bytes": n_bytes, "bpp": bpp[k],
                    "encode_s": 0.01 * (1 + k) / FACTORS[c.label], "decode_s": 0.002 * (1 + k), "encode_key": "",
                    **{m: v[k] for m, v in score.items()},
                })  # fmt: skip
    manifest = rundir.Manifest(
        qualitykit_version=qualitykit.__version__, created="2026-01-01T00:00:00Z", command="qk bench --dataset synthetic",
        dataset=rundir.Dataset("synthetic", str(dataset_dir), images), codecs=codecs,
        metrics=[_metric_info(m) for m in METRICS], status="complete", machine={"cpu": "test"},
    )  # fmt: skip
    run_dir.mkdir(parents=True, exist_ok=True)
    rundir.write_run(run_dir, pd.DataFrame(rows), manifest)
    return run_dir


def real_run(run_dir: Path, specs: tuple[str, ...] = ("jpeg:q=20/35/50/65/80/90", "webp:q=10/25/40/55/70/85")) -> Path:
    """Encode two small ``skimage.data`` crops with real codecs through the real runner, scoring PSNR."""
    from skimage import data

    dataset_dir = run_dir.parent / "skimage"
    dataset_dir.mkdir(parents=True, exist_ok=True)
    sources = {"astronaut.png": data.astronaut()[40:232, 160:416], "coffee.png": data.coffee()[100:292, 200:456]}
    for name, pixels in sources.items():
        Image.fromarray(pixels).save(dataset_dir / name)
    qualitykit.bench(dataset_dir, specs, ["psnr"], out=run_dir, jobs=1, cache=run_dir.parent / "cache.sqlite", report=False)
    return run_dir
