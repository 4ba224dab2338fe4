"""The codec breadth on Kodak: BD-rate against JPEG and encode/decode speed, with qk's own bench and BD tables.

    python benchmarks/codecs_kodak.py --jobs 2 [--out reports/codecs-kodak] [--codecs ...]

Runs ``qualitykit.bench`` on the 24 Kodak images with every codec at its default ladder (each
calibrated to ≈ 25.5–37.5 dB PSNR on Kodak, ``benchmarks/calibrate_ladders.py``), PSNR and
MS-SSIM on RGB, then ``qualitykit.analysis.bd_table(Run.load(run_dir), anchor="jpeg")``. Prints
a Markdown table: BD-rate (mean curves, 95 % bootstrap CI) per codec × metric, and speed per
codec (median ms per image and Mpx/s for encode and decode; one thread per encode, ``--jobs``
images at a time on a shared machine, so speeds are indicative). Unavailable codecs are listed
with the reason and skipped. ``--write`` replaces the "codecs-kodak" section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _results import KODAK, machine, write_section

import qualitykit
from qualitykit.analysis import Run, bd_table
from qualitykit.analysis.aggregate import speed_table

#: JPEG is the anchor; AVIF appears twice: the default 4:2:0 and 4:4:4 (with its own calibrated ladder).
CODECS = [
    "jpeg",
    "jxl",
    "heic",
    "jpeg2000",
    "mozjpeg",
    "jpegli",
    "avif",
    "avif:subsampling=444:q=14/24/34/42/47/54/64/74",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--codecs", default=",".join(CODECS), help="comma-separated specs (default: %(default)s)")
    ap.add_argument("--metrics", default="psnr,ms-ssim")
    ap.add_argument("--kodak", type=Path, default=KODAK)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="run directory (default: a temporary one)")
    ap.add_argument("--cache", type=Path, default=None, help="SQLite cache (default: a fresh temporary one, so speeds are measured)")
    ap.add_argument("--write", action="store_true", help="replace the codecs-kodak section of benchmarks/RESULTS.md")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp()) / "codecs-kodak"
    cache = args.cache or Path(tempfile.mkdtemp()) / "cache.sqlite"
    metrics = args.metrics.split(",")
    t0 = time.time()
    result = qualitykit.bench(args.kodak, args.codecs.split(","), metrics, out=out, jobs=args.jobs, cache=cache, report=False)
    df = result.table
    wall = time.time() - t0
    run = Run.load(out)
    table = bd_table(run, anchor="jpeg")
    labels = {c: run.label(c) for c in run.codec_ids}
    lines = [
        f"Machine: {machine()}. Date: {time.strftime('%Y-%m-%d', time.gmtime())}. "
        f"Command: `python benchmarks/codecs_kodak.py --jobs {args.jobs} --write` ({wall / 60:.1f} min, {len(df)} encodes, cold cache). "
        f"Run directory: `{out}`.",
        "",
        "| codec | id | " + " | ".join(f"BD-rate {m} (95 % CI)" for m in metrics) + " | bpp range | PSNR range |",
        "|---|---|" + "---|" * len(metrics) + "---|---|",
    ]
    summary = table.summary.set_index(["codec_label", "metric"])
    means = df.groupby(["codec_id", "q"])[["bpp", "psnr"]].mean() if "psnr" in df.columns else None
    for codec_id in run.codec_ids:
        label = labels[codec_id]
        cells = []
        for m in metrics:
            if label == labels[run.resolve_codec("jpeg")]:
                cells.append("anchor")
                continue
            r = summary.loc[(label, m)] if (label, m) in summary.index else None
            if r is None or isinstance(r.get("reason"), str) and r["reason"]:
                cells.append("n/a" if r is None else f"n/a: {r['reason']}")
            else:
                cells.append(f"{r['bd_rate']:+.1f} % ({r['ci_low']:+.1f} … {r['ci_high']:+.1f})")
        rng = ""
        if means is not None:
            c = means.loc[codec_id]
            rng = f"{c['bpp'].min():.2f}–{c['bpp'].max():.2f} | {c['psnr'].min():.1f}–{c['psnr'].max():.1f}"
        lines.append(f"| {label} | `{codec_id}` | " + " | ".join(cells) + f" | {rng} |")
    speed = speed_table(df)
    lines += ["", "| codec | encode ms/image | encode Mpx/s | decode ms/image | decode Mpx/s |", "|---|---|---|---|---|"]
    for _, r in speed.iterrows():
        lines.append(f"| {labels[r['codec_id']]} | {1000 * r['encode_s']:.0f} | {r['encode_mpx_s']:.2f} | "
                     f"{1000 * r['decode_s']:.1f} | {r['decode_mpx_s']:.1f} |")  # fmt: skip
    errors = result.errors
    if errors:
        lines += ["", f"{len(errors)} errors, first: {errors[0]}"]
    lines += ["", f"BD settings: {table.settings['method']}, anchor `{table.settings['anchor_id']}`, "
              f"bootstrap {table.settings['bootstrap']['resamples']} resamples over images (seed {table.settings['bootstrap']['seed']})."]  # fmt: skip
    print("\n".join(lines))
    if args.write:
        write_section("codecs-kodak", "## Codec breadth on Kodak: BD-rate against JPEG, speed (issue 14)\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
