"""The answer on Kodak: every pair's BD-rate next to equal-quality savings per image, and the claim check.

    python benchmarks/equal_quality_kodak.py [--kodak DIR] [--jobs 2] [--write]
    python benchmarks/equal_quality_kodak.py --run RUN_DIR [--write]      # a run made earlier (with targets)

Runs ``qk bench`` on the 24 Kodak images with JPEG, WebP, AVIF (default ladders) and the bundled learned
codec ``neural``, metrics PSNR, MS-SSIM, VMAF and LPIPS (LPIPS is named as not computed when its
weights are not cached), and equal-quality targets (``--target``, default MS-SSIM 0.93 — inside the
bundled model's reach —, MS-SSIM 0.98 and VMAF 85). Then, for every pair of codecs: the BD-rate of the
corpus curves with its 95 % interval and the range it holds over, beside the Δ bytes of the per-image
smallest files at each target with its interval; and the built-in claim ``ai-codecs``
("neural vs jpeg 40..60 %, webp 20..30 %, avif 10..20 % at equal ms-ssim, vmaf, lpips") checked
against the run. ``--write`` puts both in the ``equal-quality`` section of benchmarks/RESULTS.md and the
claim table in the README (between its ``claim-kodak`` markers).
"""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path

import pandas as pd
from _results import KODAK, machine, write_section

import qualitykit
from qualitykit.analysis import Run
from qualitykit.assets import ENV
from qualitykit.analysis.answer import render_text
from qualitykit.claims import EXAMPLES

CODECS = ["jpeg", "webp", "avif", "neural"]
METRICS = ["psnr", "ms-ssim", "vmaf", "lpips"]
TARGETS = ["ms-ssim=0.93", "ms-ssim=0.98", "vmaf=85"]


def pair_table(ans, run: Run) -> str:  # noqa: ANN001
    """Markdown: one row per pair × metric, BD-rate beside the target savings on that metric."""
    lines = ["| pair | metric | BD-rate (95 % CI) | over | target | Δ bytes per image (95 % CI) | images reaching it |",
             "|---|---|---:|---|---|---:|---|"]  # fmt: skip
    for r in ans.rows:
        pair = f"{ans.display(r.codec_label)} vs {ans.display(r.anchor_label)}"
        for m in ans.metrics:
            c = r.cells[m]
            bd = f"{c.value:+.1f} % ({c.ci_low:+.1f} … {c.ci_high:+.1f})" if c.ok else f"n/a ({c.reason})"
            over = (c.over + (" only" if c.partial else "")) if c.ok else ""
            ts = [t for t in ans.target_names if t.split("=")[0] == m] or [""]
            for i, t in enumerate(ts):
                tc = r.targets.get(t) if t else None
                tv = "" if tc is None else (f"{tc.value:+.1f} % ({tc.ci_low:+.1f} … {tc.ci_high:+.1f})" if tc.ok else f"n/a ({tc.reason})")
                lines.append(f"| {pair if i == 0 else ''} | {m if i == 0 else ''} | {bd if i == 0 else ''} | {over if i == 0 else ''} "
                             f"| {t} | {tv} | {tc.images if tc is not None else ''} |")  # fmt: skip
    return "\n".join(lines)


def speed(run: Run) -> str:
    from qualitykit.analysis.aggregate import speed_table

    s = speed_table(run.results)
    rows = ["| codec | encode ms/MP | decode ms/MP |", "|---|---:|---:|"]
    rows += [f"| {run.display(run.label(r.codec_id))} | {r.encode_ms_mpx:.0f} | {r.decode_ms_mpx:.0f} |" for r in s.itertuples()]
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kodak", type=Path, default=KODAK)
    ap.add_argument("--run", type=Path, help="use this run directory instead of running the benchmark")
    ap.add_argument("--target", action="append", help=f"targets (default: {', '.join(TARGETS)})")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    t0 = time.time()
    if args.run is None:
        out = Path("reports") / f"kodak-equal-quality-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
        qualitykit.bench(args.kodak, CODECS, METRICS, out=out, jobs=args.jobs, cache=args.cache, targets=args.target or TARGETS)
        run_dir, wall = out, f"{(time.time() - t0) / 60:.0f} min"
    else:
        run_dir, wall = args.run, "an earlier run"
    run = Run.load(run_dir)
    ans = qualitykit.answer(run)
    claims = qualitykit.check_claims(run, EXAMPLES["ai-codecs"])
    targets = pd.read_csv(run_dir / "targets.csv")
    command = run.manifest.command
    if "qualitykit" in command.split(" ", 1)[0]:  # `python -m qualitykit bench ...` recorded as the module's path
        command = "qk " + command.split(" ", 1)[1]
    if args.run is None:  # this script's own run, through the Python API: the qk bench command that does the same
        weights = f"QK_WEIGHTS_DIR={os.environ[ENV]} " if os.environ.get(ENV) else ""
        command = (f"{weights}qk bench --dataset {args.kodak} --codecs {','.join(CODECS)} --metrics {','.join(METRICS)} "
                   + " ".join(f"--target {t}" for t in args.target or TARGETS) + f" --jobs {args.jobs}")  # fmt: skip
    # where this machine kept its cache and output says nothing about the result
    command = re.sub(r" --(cache|out) \S+| --overwrite| --profile", "", command)
    body = "\n".join([
        "## The answer on Kodak: BD-rate beside equal-quality savings, and the claim check",
        "",
        f"Machine: {machine()}. Date: {time.strftime('%Y-%m-%d', time.gmtime())}. Command: "
        + (f"`python benchmarks/equal_quality_kodak.py --write` ({wall}), i.e. `{command}` then the analysis below."
           if args.run is None else
           f"`{command}` (the run), then `python benchmarks/equal_quality_kodak.py --run RUN_DIR --write` (this analysis)."),
        "",
        f"24 Kodak images; codecs at their default ladders (`neural` = the bundled `qk-hyperprior-v1`); metrics computed: "
        f"{', '.join(run.metrics)}"
        + (f"; not computed: {'; '.join(f'{k}: {v}' for k, v in run.manifest.metrics_unavailable.items())}" if run.manifest.metrics_unavailable else "")
        + f". Targets: {', '.join(dict.fromkeys(targets['target']))}; per image, the smallest file reaching it "
        "(bisection over each codec's own q; the learned codec's 4 qualities: the nearest at or above). "
        "BD-rate: corpus-mean curves, PCHIP on log10 rate, over the range shown; Δ bytes: Σ bytes of the first codec over Σ bytes "
        "of the second on the images both reach, minus 1. Intervals: 95 % percentile bootstrap over images (1000 resamples, seed 0). "
        "Negative = the first codec needs fewer bytes.",
        "",
        "### Verdict (as `qk bench` prints it)",
        "",
        "```",
        render_text(ans, 100),
        "```",
        "",
        "### Every pair: BD-rate and equal-quality Δ bytes",
        "",
        pair_table(ans, run),
        "",
        "### Speed (median per megapixel, this machine, shared)",
        "",
        speed(run),
        "",
        f"### Claim check: `qk claim RUN --example ai-codecs` (\"{EXAMPLES['ai-codecs']}\")",
        "",
        claims.markdown(),
    ])  # fmt: skip
    print(body)
    if args.write:
        write_section("equal-quality", body)
        readme = Path(__file__).resolve().parents[1] / "README.md"
        text = readme.read_text(encoding="utf-8")
        start, end = "<!-- claim-kodak -->", "<!-- /claim-kodak -->"
        if start in text:
            block = (f"{start}\nCommand: `{command}`, then `qk claim RUN --example ai-codecs` ({machine()}, "
                     f"{time.strftime('%Y-%m-%d', time.gmtime())}; every figure in `benchmarks/RESULTS.md`, section "
                     f"equal-quality).\n\n{claims.markdown()}\n{end}")  # fmt: skip
            text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
            readme.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
