"""Speed of the analysis: the BD bootstrap before/after vectorising, and a warm `qk bench` end to end.

    python benchmarks/analysis_speed.py [--kodak DIR] [--repeats 5] [--write]

1. Runs ``qk bench`` on Kodak with jpeg,webp,avif and psnr,ssim,ms-ssim,vmaf once (fills a fresh
   cache), then the same command ``--repeats`` more times, warm, with ``--profile``: the time in the
   analysis (every pair's BD-rate with 1000 bootstrap resamples, targets, the answer), plots,
   crops and HTML, as the profile reports them (medians).
2. On that run, one BD-table cell's bootstrap (1000 resamples) done the way qk did before — one
   call of the ``bjontegaard`` package (two SciPy PCHIP constructions) per resample — and the way
   it does now (``bd_batch``: every resample's PCHIP and exact integral in one NumPy pass), and the
   whole all-pairs table. Both give the same numbers (checked here to 1e-9).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import bjontegaard
import numpy as np
from _results import KODAK, machine, write_section

from qualitykit.analysis import Run, bd_table
from qualitykit.analysis.aggregate import rd_points, select
from qualitykit.analysis.bdrate import bd_batch
from qualitykit.analysis.bdtable import Resampler

CODECS, METRICS = "jpeg,webp,avif", "psnr,ssim,ms-ssim,vmaf"


def bench(kodak: Path, out: Path, cache: Path) -> dict[str, float]:
    cmd = [sys.executable, "-m", "qualitykit", "bench", "--dataset", str(kodak), "--codecs", CODECS, "--metrics", METRICS,
           "--jobs", "2", "--cache", str(cache), "--out", str(out), "--overwrite", "--profile"]  # fmt: skip
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    prof = {m[1].strip(): float(m[2]) for m in re.finditer(r"^  (.+?)\s+([0-9.]+)\s+[0-9.]+%$", res.stdout, re.M)}
    prof["wall"] = time.perf_counter() - t0
    return prof


def old_bootstrap(a, t, info, draws) -> np.ndarray:  # noqa: ANN001
    """One package call per resample, as qk's compare_points did before."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rows in draws:
            ab, aq = a.bpp[rows].mean(0), a.scores[rows].mean(0)
            tb, tq = t.bpp[rows].mean(0), t.scores[rows].mean(0)
            oa, ot = np.argsort(ab), np.argsort(tb)
            out.append(bjontegaard.bd_rate(ab[oa], aq[oa], tb[ot], tq[ot], "pchip", require_matching_points=False, min_overlap=0))
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kodak", type=Path, default=KODAK)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cache", type=Path, help="an existing cache to reuse (default: a fresh one; the first run fills it)")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache, out = args.cache or Path(tmp, "cache.sqlite"), Path(tmp, "run")
        bench(args.kodak, out, cache)  # cold: fills the cache
        warm = [bench(args.kodak, out, cache) for _ in range(args.repeats)]
        run = Run.load(out)
        images = run.images
        jpeg, avif = run.resolve_codec("jpeg"), run.resolve_codec("avif")
        info = run.metrics["ms-ssim"]
        a, t = rd_points(run.results, jpeg, "ms-ssim", images), rd_points(run.results, avif, "ms-ssim", images)
        used = select(a, t).rows
        draws = used[Resampler(1000, 0)(len(used))]
        olds, news, tables = [], [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            before = old_bootstrap(a, t, info, draws)
            olds.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            after = bd_batch("rate", a.bpp[draws].mean(1), a.scores[draws].mean(1), t.bpp[draws].mean(1),
                             t.scores[draws].mean(1), details=False).values  # fmt: skip
            news.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            bd_table(run, None)
            tables.append(time.perf_counter() - t0)
        np.testing.assert_allclose(after, before, rtol=1e-9)
    keys = ["report: analysis", "report: plots", "report: crops", "report: html"]
    med = {k: statistics.median(w.get(k, 0.0) for w in warm) for k in keys + ["report", "wall"]}
    n_cells = 6 * len(METRICS.split(","))
    body = "\n".join([
        "## Speed of the analysis",
        "",
        f"Machine: {machine()}, shared with other jobs. Date: {time.strftime('%Y-%m-%d', time.gmtime())}. "
        f"Command: `python benchmarks/analysis_speed.py --repeats {args.repeats}"
        + (" --cache FILE --write` (FILE: a cache already holding these items)" if args.cache else " --write`")
        + f". Medians of {args.repeats} runs.",
        "",
        f"Bootstrap of one BD cell (JPEG → AVIF, MS-SSIM, 24 Kodak images, 1000 resamples): one `bjontegaard` call "
        f"(two SciPy PCHIPs) per resample, as before: **{statistics.median(olds) * 1e3:.0f} ms**; every resample in one "
        f"NumPy pass (`bd_batch`), now: **{statistics.median(news) * 1e3:.1f} ms** "
        f"({statistics.median(olds) / statistics.median(news):.0f}×), the same values to 1e-9. The whole table of every ordered "
        f"pair ({n_cells} cells: corpus value, 24 per-image values and 1000 resamples each): "
        f"**{statistics.median(tables) * 1e3:.0f} ms**.",
        "",
        f"Warm `qk bench --dataset kodak --codecs {CODECS} --metrics {METRICS}` (every item cached; plots and crops "
        "from the asset cache), time in the report as `--profile` reports it:",
        "",
        "| step | median (s) |",
        "|---|---:|",
        *[f"| {k.replace('report: ', '')} | {med[k]:.3f} |" for k in keys],
        f"| **analysis + report** | **{med['report']:.3f}** |",
        f"| whole command (wall, includes Python start-up and hashing 24 images) | {med['wall']:.2f} |",
    ])  # fmt: skip
    print(body)
    if args.write:
        write_section("analysis-speed", body)


if __name__ == "__main__":
    main()
