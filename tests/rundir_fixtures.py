"""Builders of qk run directories (``results.csv`` + ``manifest.json``) for tests.

:func:`synthetic_run` writes exact synthetic RD numbers whose BD-rates are known in closed
form; :func:`real_run` encodes a few ``skimage.data`` images with real codecs.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from qualitykit.codecs import codec_from_spec

EVIL_NAME = "<script>alert(1)</script>.png"
COLUMNS = ["image", "image_sha256", "width", "height", "codec", "quality", "bytes", "bpp", "encode_s", "decode_s"]
METRICS = {"psnr": True, "ms-ssim": True, "vmaf": True, "lpips": False}
#: Rate factor of each synthetic codec against the anchor: its exact BD-rate is (factor - 1) * 100 %.
FACTORS = {"jpeg": 1.0, "webp": 0.8, "avif": 0.7}


def write_image(path: Path, seed: int, size: tuple[int, int] = (96, 128)) -> dict[str, Any]:
    """A textured RGB PNG at ``path``; returns its manifest entry (without ``image``)."""
    rng = np.random.default_rng(seed)
    h, w = size
    y, x = np.mgrid[0:h, 0:w]
    base = 128 + 80 * np.sin(x / (4 + seed)) * np.cos(y / 7)
    pixels = np.clip(base[..., None] + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return png_entry(path)


def png_entry(path: Path) -> dict[str, Any]:
    """Manifest entry of an image file (without ``image``)."""
    with Image.open(path) as im:
        w, h = im.size
    return {
        "path": str(path.resolve()),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "width": w,
        "height": h,
    }


def write_run(
    run_dir: Path,
    results: pd.DataFrame,
    codecs: list[dict[str, Any]],
    images: list[dict[str, Any]],
    metrics: dict[str, bool],
    dataset: str = "synthetic",
    errors: list[dict[str, Any]] | None = None,
) -> Path:
    """Write ``results.csv`` and ``manifest.json`` following the run-directory contract."""
    run_dir.mkdir(parents=True, exist_ok=True)
    results[COLUMNS + list(metrics)].to_csv(run_dir / "results.csv", index=False)
    manifest = {
        "qualitykit_version": "0.1.0",
        "created": "2026-01-01T00:00:00Z",
        "command": "qk bench --dataset " + dataset,
        "dataset": {"name": dataset, "path": str(run_dir), "images": images},
        "codecs": codecs,
        "metrics": [
            {"name": m, "version": "1", "higher_is_better": hib, "description": f"{m} (test)"}
            for m, hib in metrics.items()
        ],
        "libraries": {"numpy": np.__version__},
        "machine": {"cpu": "test"},
        "device": "cpu",
        "errors": errors or [],
    }
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return run_dir


def result_row(
    img: dict[str, Any],
    codec_id: str,
    quality: float,
    n_bytes: int,
    bpp: float,
    encode_s: float,
    decode_s: float,
    metrics: dict[str, float],
) -> dict[str, Any]:
    """One ``results.csv`` row for manifest image entry ``img``."""
    image = {"image": img["image"], "image_sha256": img["sha256"], "width": img["width"], "height": img["height"]}
    point = {"codec": codec_id, "quality": quality, "bytes": n_bytes, "bpp": bpp}
    return {**image, **point, "encode_s": encode_s, "decode_s": decode_s, **metrics}


def _codec_entry(spec: str, label: str | None = None) -> dict[str, Any]:
    codec, ladder = codec_from_spec(spec)
    return {
        "spec": spec,
        "label": label or spec,
        "id": codec.id,
        "name": codec.name,
        "ladder": list(ladder),
        "versions": codec.versions(),
    }


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
    written under ``dataset_dir`` (default ``run_dir/../dataset``).
    """
    dataset_dir = dataset_dir or run_dir.parent / "dataset"
    names = [EVIL_NAME] + [f"img{i:02d}.png" for i in range(1, n_images)]
    images = [{"image": n, **write_image(dataset_dir / n, i)} for i, n in enumerate(names)]
    codecs = [_codec_entry(spec) for spec in FACTORS]
    eff = 0.1 * 2.0 ** np.arange(6)  # "effective" bpp; qualities are functions of it
    rows = []
    for c in codecs:
        for i, img in enumerate(images):
            complexity = 0.6 + 0.3 * i
            q = {
                "psnr": 26 + 4.5 * np.log2(eff / 0.1) - i * 0.5,
                "ms-ssim": 1 - 0.25 * np.exp(-eff),
                "vmaf": 100 - 40 * np.exp(-2 * eff) if vmaf_saturated else 40 + 10 * np.log2(eff / 0.1),
                "lpips": 0.6 * np.exp(-eff),
            }
            if non_monotonic == (c["label"], i):
                for m in ("psnr", "ms-ssim", "lpips"):
                    q[m][[2, 3]] = q[m][[3, 2]]
            bpp = eff * complexity * FACTORS[c["label"]]
            for k, quality in enumerate(c["ladder"][:6]):
                n_bytes = round(bpp[k] * img["width"] * img["height"] / 8)
                timing = (0.01 * (1 + k) / FACTORS[c["label"]], 0.002 * (1 + k))
                rows.append(
                    result_row(img, c["id"], quality, n_bytes, bpp[k], *timing, {m: v[k] for m, v in q.items()})
                )
    return write_run(run_dir, pd.DataFrame(rows), codecs, images, METRICS)


def real_run(run_dir: Path, specs: tuple[str, ...] = ("jpeg:q=20/35/50/65/80/90", "webp:q=10/25/40/55/70/85")) -> Path:
    """Encode two small ``skimage.data`` crops with real codecs and measure PSNR: a real, small run."""
    from skimage import data

    from qualitykit.metrics.psnr import psnr_rgb

    dataset_dir = run_dir.parent / "skimage"
    dataset_dir.mkdir(parents=True, exist_ok=True)
    sources = {"astronaut.png": data.astronaut()[40:232, 160:416], "coffee.png": data.coffee()[100:292, 200:456]}
    images = []
    for name, pixels in sources.items():
        Image.fromarray(pixels).save(dataset_dir / name)
        images.append({"image": name, **png_entry(dataset_dir / name)})
    codecs = [_codec_entry(spec, label=spec.split(":")[0]) for spec in specs]
    rows = []
    for c in codecs:
        codec, _ = codec_from_spec(c["id"])
        for img in images:
            pixels = np.asarray(Image.open(img["path"]).convert("RGB"))
            for quality in c["ladder"]:
                t0 = time.perf_counter()
                encoded = codec.encode(pixels, quality)
                t1 = time.perf_counter()
                decoded = codec.decode(encoded)
                t2 = time.perf_counter()
                bpp = len(encoded) * 8 / (img["width"] * img["height"])
                psnr = {"psnr": psnr_rgb(pixels, decoded)}
                rows.append(result_row(img, c["id"], quality, len(encoded), bpp, t1 - t0, t2 - t1, psnr))
    return write_run(run_dir, pd.DataFrame(rows), codecs, images, {"psnr": True}, dataset="skimage")
