"""Rate–distortion of codecs on Kodak, and BD-rate against JPEG (for the neural codec section of RESULTS.md).

    PYTHONPATH=. nice -n 10 python benchmarks/eval_neural_kodak.py --codecs jpeg,webp,avif,neural

Each codec point is encoded to real bytes, decoded, and measured with qualitykit's
``psnr`` (RGB) and ``ms-ssim`` (RGB); bpp = bytes × 8 / pixels. Per-image rows go
to a CSV (codecs already in it are not re-run); the Markdown printed at the end
holds the corpus curves (mean over images, CompressAI's convention) and BD-rates
(``bjontegaard``, PCHIP) on those mean curves and averaged per image.
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from pathlib import Path

import numpy as np
from bjontegaard import bd_rate
from PIL import Image

from qualitykit.codecs import codec_from_spec, split_specs
from qualitykit.metrics import get_metric

ROOT = Path(__file__).resolve().parents[1]
KODAK = ROOT.parent / "shared" / "datasets" / "kodak"
METRICS = ("psnr", "ms-ssim")
FIELDS = ("spec", "codec", "image", "quality", "bytes", "bpp", "encode_s", "decode_s", *METRICS)


def measure(spec: str, images: dict[str, np.ndarray]) -> list[dict]:
    """One row per image × quality of codec ``spec``."""
    codec, ladder = codec_from_spec(spec)
    metrics = [get_metric(m) for m in METRICS]
    rows = []
    for name, ref in images.items():
        for q in ladder:
            t0 = time.perf_counter()
            data = codec.encode(ref, q)
            t1 = time.perf_counter()
            out = codec.decode(data)
            t2 = time.perf_counter()
            row = {"spec": spec, "codec": codec.id, "image": name, "quality": q, "bytes": len(data),
                   "bpp": len(data) * 8 / (ref.shape[0] * ref.shape[1]), "encode_s": t1 - t0, "decode_s": t2 - t1}
            row.update({m.name: m(ref, out) for m in metrics})
            rows.append(row)
        print(f"{spec}: {name} done", flush=True)
    return rows


def curve(rows: list[dict], spec: str, image: str | None = None) -> dict[str, np.ndarray]:
    """Rate, metric and time columns of ``spec`` sorted by quality: per image, or the mean over images."""
    sel = [r for r in rows if r["spec"] == spec and (image is None or r["image"] == image)]
    qualities = sorted({float(r["quality"]) for r in sel})
    return {
        key: np.array([np.mean([float(r[key]) for r in sel if float(r["quality"]) == q]) for q in qualities])
        for key in ("quality", "bpp", *METRICS, "encode_s", "decode_s")
    }


def bd(anchor: dict, test: dict, metric: str) -> tuple[float, str]:
    """BD-rate (%) of ``test`` vs ``anchor`` on ``metric``, and any warning bjontegaard raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = bd_rate(anchor["bpp"], anchor[metric], test["bpp"], test[metric], method="pchip",
                        require_matching_points=False)
    return float(value), "; ".join(str(w.message).split(" You can silence")[0] for w in caught)


def report(rows: list[dict], specs: list[str], anchor: str) -> str:
    """Markdown tables: mean curves, then BD-rate vs ``anchor``."""
    lines = ["| codec | quality | bpp | PSNR-RGB (dB) | MS-SSIM (RGB) | encode s | decode s |", "|---|---|---|---|---|---|---|"]
    for spec in specs:
        c = curve(rows, spec)
        for i, q in enumerate(c["quality"]):
            lines.append(
                f"| {spec} | {q:g} | {c['bpp'][i]:.3f} | {c['psnr'][i]:.2f} | {c['ms-ssim'][i]:.4f} "
                f"| {c['encode_s'][i]:.3f} | {c['decode_s'][i]:.3f} |"
            )
    lines += ["", f"BD-rate vs {anchor} (PCHIP, `bjontegaard`; negative = fewer bytes at equal quality):", "",
              "| codec | metric | BD-rate, mean curves | BD-rate, mean of per-image | note |", "|---|---|---|---|---|"]
    images = sorted({r["image"] for r in rows if r["spec"] == anchor})
    for spec in specs:
        if spec == anchor:
            continue
        for metric in METRICS:
            value, note = bd(curve(rows, anchor), curve(rows, spec), metric)
            per_image = [bd(curve(rows, anchor, im), curve(rows, spec, im), metric)[0] for im in images]
            finite = [v for v in per_image if np.isfinite(v)]
            lines.append(f"| {spec} | {metric} | {value:+.1f} % | {np.mean(finite):+.1f} % ({len(finite)}/{len(images)} images) | {note or ''} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codecs", default="jpeg,webp,avif,neural")
    parser.add_argument("--anchor", default="jpeg")
    parser.add_argument("--kodak", type=Path, default=KODAK)
    parser.add_argument("--csv", type=Path, default=ROOT / "benchmarks" / "neural_kodak.csv")
    parser.add_argument("--rerun", action="store_true", help="measure codecs already in the CSV again")
    args = parser.parse_args()

    specs = split_specs(args.codecs)
    rows = []
    if args.csv.exists():
        with open(args.csv, newline="") as f:
            rows = [r for r in csv.DictReader(f) if not (args.rerun and r["spec"] in specs)]
    done = {r["spec"] for r in rows}
    todo = [s for s in specs if s not in done]
    if todo:
        images = {p.name: np.asarray(Image.open(p).convert("RGB")) for p in sorted(args.kodak.glob("kodim*.png"))}
        if len(images) != 24:
            raise SystemExit(f"{args.kodak}: expected the 24 Kodak PNGs, found {len(images)}")
        for spec in todo:
            rows += measure(spec, images)
            with open(args.csv, "w", newline="") as f:
                writer = csv.DictWriter(f, FIELDS)
                writer.writeheader()
                writer.writerows(rows)
    print(report(rows, specs, args.anchor))


if __name__ == "__main__":
    main()
