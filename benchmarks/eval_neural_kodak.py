"""The bundled neural codec against JPEG, WebP and AVIF on Kodak, with qk's own bench and BD tables.

    python benchmarks/eval_neural_kodak.py [--codecs jpeg,webp,avif,neural] [--jobs 2]

Runs ``qualitykit.bench`` on the 24 Kodak images (rates from real files, PSNR and
MS-SSIM on RGB; LPIPS too when its weights are cached), then
``qualitykit.analysis.bd_table`` against JPEG, and writes the "neural" section of
benchmarks/RESULTS.md with the training budget read from the model's ``model.json``.
The run directory (results, manifest, HTML report) goes to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from _results import KODAK, machine, write_section

import qualitykit
from qualitykit.analysis import Run, bd_table
from qualitykit.codecs.base import format_quality
from qualitykit.metrics import available_metrics

LOW_ANCHOR = "jpeg:q=8/10/12/15/20/25"
MODEL_JSON = Path(qualitykit.__file__).parent / "models" / "qk-hyperprior-v1" / "model.json"


def budget() -> str:
    t = json.loads(MODEL_JSON.read_text())["training"]
    stages = ", ".join(f"λ={s['lambda']}: {s['steps']} steps" for s in t["stages"])
    return (f"Training budget (`{t['script']}`, recorded in `{MODEL_JSON.relative_to(MODEL_JSON.parents[3])}`): "
            f"`bmshj2018-hyperprior` N={t['N']}, M={t['M']}, seed {t['seed']}, batch {t['batch']} of {t['crop']}×{t['crop']} "
            f"crops; {t['schedule']}; stages {stages}; {t['total_steps']} steps in {t['wall_s'] / 60:.1f} min wall time "
            f"on {t['device']} ({t['cpu_threads']} threads).")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--codecs", default="jpeg,webp,avif,neural")
    # a second JPEG anchor whose ladder spans the bundled model's narrow quality range (≈26–28 dB)
    ap.add_argument("--low-anchor", default=LOW_ANCHOR)
    ap.add_argument("--kodak", type=Path, default=KODAK)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="run directory (default: a temporary one)")
    args = ap.parse_args()
    metrics = ["psnr", "ms-ssim"] + (["lpips"] if available_metrics().get("lpips") is None else [])
    out = args.out or Path(tempfile.mkdtemp()) / "neural-kodak"
    cache = Path(tempfile.mkdtemp()) / "cache.sqlite"
    t0 = time.time()
    result = qualitykit.bench(args.kodak, args.codecs.split(","), metrics, out=out, jobs=args.jobs, cache=cache, report=False)
    df = result.table
    wall = time.time() - t0
    qualitykit.bench(args.kodak, [args.low_anchor, "neural"], metrics, out=out / "low-anchor", jobs=args.jobs, cache=cache, report=False)
    run = Run.load(out)
    means = result.summary()
    rows = ["| codec | q | bpp | " + " | ".join(metrics) + " | encode s | decode s |", "|---|---|---|" + "---|" * (len(metrics) + 2)]
    speed = df.groupby(["codec_label", "q"], sort=False)[["encode_s", "decode_s"]].median()
    for (codec, q), r in means.iterrows():
        vals = " | ".join(f"{r[m]:.4f}" if m != "psnr" else f"{r[m]:.2f}" for m in metrics)
        s = speed.loc[(codec, q)]
        rows.append(f"| {codec} | {format_quality(q)} | {r['bpp']:.3f} | {vals} | {s['encode_s']:.3f} | {s['decode_s']:.3f} |")
    table = bd_table(run, anchor="jpeg")
    low = bd_table(Run.load(out / "low-anchor"), anchor="jpeg")
    records = table.to_dict()["summary"] + [{**r, "codec_label": f"neural (vs {args.low_anchor})"} for r in low.to_dict()["summary"]]
    bd = ["| codec | metric | BD-rate vs JPEG (mean curves) | 95 % CI | mean of per-image | BD-metric (at equal rate) | note |",
          "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in records:  # missing numbers and reasons are None here
        value = "n/a: " + r["reason"] if r["reason"] else f"{r['bd_rate']:+.1f} %"
        ci = "—" if r["reason"] or r["ci_low"] is None else f"{r['ci_low']:+.1f} … {r['ci_high']:+.1f} %"
        per = "—" if r["image_mean"] is None else f"{r['image_mean']:+.1f} %"
        delta = "n/a: " + r["bd_metric_reason"] if r["bd_metric_reason"] else f"{r['bd_metric']:+.4g}"
        bd.append(f"| {r['codec_label']} | {r['metric']} | {value} | {ci} | {per} | {delta} | {r['images_note']} |")
    skipped = "" if "lpips" in metrics else " LPIPS was not measured: its AlexNet weights are not cached on this machine (no internet)."
    body = "\n".join([
        "## Neural codec (bundled model) on Kodak",
        "",
        f"Machine: {machine()}. Date: {time.strftime('%Y-%m-%d', time.gmtime())}. "
        f"Command: `python benchmarks/eval_neural_kodak.py --codecs {args.codecs}` ({wall / 60:.1f} min, cold cache).",
        "",
        "Bundled model `neural` = `qk-hyperprior-v1`; JPEG, WebP and AVIF at their default ladders. Rates are real file sizes "
        "(the neural files include qk's ~60-byte header); each row is the mean over the 24 images; encode/decode seconds are "
        f"medians per image on a shared CPU, indicative only.{skipped}",
        "",
        *rows,
        "",
        f"BD-rate against JPEG: {table.settings['method']} on log10 rate, exact integration (`bjontegaard`), "
        f"bootstrap over images ({table.settings['bootstrap']['resamples']} resamples, seed {table.settings['bootstrap']['seed']}); "
        f"a BD value needs the two quality ranges to overlap by ≥ {table.settings.get('min_overlap', 0.5):.0%} of their union. "
        f"The bundled model's curve is narrow, so it is also compared with `{args.low_anchor}`, a JPEG ladder over the same qualities.",
        "",
        *bd,
        "",
        budget(),
    ])  # fmt: skip
    write_section("neural", body)
    print(body)


if __name__ == "__main__":
    main()
