"""Cost per Kodak pair of qk's SSIMULACRA 2.1, beside the PyPI port ``ssimulacra2==0.3.0`` if installed.

    OMP_NUM_THREADS=1 python benchmarks/bench_ssimulacra2.py [--repeats 3] [--images 24]

Pairs: the first ``--images`` Kodak images, each against its Pillow JPEG at q=50 (as
``bench_metrics.py``). Figures: wall time to score all pairs divided by their number,
median (and range) of ``--repeats`` runs, plus the CPU time of this process. qk runs
batched (``compute`` on all pairs: same-size pairs share batches) and one pair per call.
The PyPI port takes file paths, so it is timed on the pairs written as PNG files (its
time includes decoding two PNGs, ~10 ms). ``--write`` replaces the "ssimulacra2-cost" section of
RESULTS.md.

qk's SSIMULACRA 2 is numpy (issue 22; it was PyTorch before); its only multi-threaded part is
BLAS (the fine scales' FIR blur as matrix products), whose thread count OpenBLAS reads from
``$OMP_NUM_THREADS`` at start: 1 is what one worker of ``qk bench --jobs 2`` has on a 2-core machine.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from _results import machine, write_section
from bench_metrics import kodak_pairs

from qualitykit.metrics import get_metric


def timed(fn, n_pairs: int, repeats: int) -> tuple[float, float, float, float]:
    """Median, fastest and slowest wall time of ``fn()`` in ms per pair, and median CPU time per pair."""
    walls, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(1000 * (time.perf_counter() - start) / n_pairs)
        cpus.append(1000 * (time.process_time() - cpu) / n_pairs)
    return statistics.median(walls), min(walls), max(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--write", action="store_true", help="replace the ssimulacra2-cost section of benchmarks/RESULTS.md")
    args = parser.parse_args()

    pairs = kodak_pairs(args.images)
    refs, dists = [p[0] for p in pairs], [p[1] for p in pairs]
    n = len(pairs)
    metric = get_metric("ssimulacra2")
    metric.compute(refs[:2], dists[:2])  # warm up: imports, constants
    rows = [
        ("qk `ssimulacra2`, batched", timed(lambda: metric.compute(refs, dists), n, args.repeats)),
        ("qk `ssimulacra2`, one pair per call", timed(lambda: [metric(r, d) for r, d in pairs], n, args.repeats)),
    ]
    notes = []
    try:
        from ssimulacra2 import compute_ssimulacra2
        from importlib.metadata import version

        with tempfile.TemporaryDirectory() as tmp:
            files = []
            for i, (r, d) in enumerate(pairs):
                files.append((Path(tmp) / f"{i}-ref.png", Path(tmp) / f"{i}-dist.png"))
                Image.fromarray(r).save(files[-1][0])
                Image.fromarray(d).save(files[-1][1])
            compute_ssimulacra2(*files[0])
            stats = timed(lambda: [compute_ssimulacra2(a, b) for a, b in files], n, args.repeats)
        rows.append((f"PyPI `ssimulacra2` {version('ssimulacra2')} (NumPy/SciPy, from PNG files)", stats))
    except ImportError:
        notes.append("PyPI `ssimulacra2` not installed: `pip install ssimulacra2==0.3.0` to time it alongside")

    sizes = sorted({f"{r.shape[1]}x{r.shape[0]}" for r in refs})
    lines = [
        "## SSIMULACRA 2.1 cost per pair",
        "",
        f"Command (repository root): `python benchmarks/bench_ssimulacra2.py {' '.join(sys.argv[1:])}`  ",
        f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC  ",
        (
            f"Machine: {machine()}, shared with other jobs (load average at the end: "
            f"{os.getloadavg()[0]:.2f}); numpy {np.__version__}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}  "
        ),
        (
            f"Data: {n} Kodak images ({', '.join(sizes)}), each against its Pillow JPEG at q=50. Figures: wall "
            f"time to score all pairs divided by {n}, median (and range) of {args.repeats} runs; CPU time of this "
            "process per pair, median."
        ),
        "",
        "| implementation | ms per pair, median | range | CPU ms per pair |",
        "|---|---:|---:|---:|",
        *[f"| {name} | {med:.1f} | {lo:.1f}–{hi:.1f} | {cpu:.1f} |" for name, (med, lo, hi, cpu) in rows],
        "",
        *[f"- {note}" for note in notes],
    ]
    print("\n".join(lines))
    if args.write:
        write_section("ssimulacra2-cost", "\n".join(lines))


if __name__ == "__main__":
    main()
