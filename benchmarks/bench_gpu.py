"""Pairs per second of LPIPS + SSIM + MS-SSIM + SSIMULACRA 2 on Kodak, on a CUDA GPU (issue 13's GPU goal).

    QK_WEIGHTS_DIR=../shared/weights python benchmarks/bench_gpu.py [--device cuda] [--repeats 3] [--write]

Pairs: the 24 Kodak images, each against its Pillow JPEG at q=50 (as ``bench_metrics.py``). The
four metrics run as a ``qk bench`` worker runs them (:func:`qualitykit.metrics.evaluate`, batched,
on ``--device``), after one warm-up pair (model load, CUDA kernels); the figure is 24 pairs divided
by the wall time of all four, median of ``--repeats`` runs, with ``torch.cuda.synchronize()``
before the clock stops. Goal: ≥ 50 pairs/s on one datacenter GPU. ``--device cpu`` runs the same
script here (to check it). ``--write`` replaces the "gpu-pairs" section of RESULTS.md.

Since issue 22 SSIMULACRA 2 is numpy (the core install keeps it): it runs on the CPU whatever
``--device`` says, so figures taken before then (all four on the GPU) are not comparable.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time

import torch

from _results import machine, write_section
from bench_metrics import kodak_pairs

from qualitykit.metrics import evaluate, get_metric

METRICS = ("lpips", "ssim", "ms-ssim", "ssimulacra2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device here: run it on a GPU machine, or give --device cpu to check the script")
    pairs = kodak_pairs(args.images)
    refs, dists = [p[0] for p in pairs], [p[1] for p in pairs]
    metrics = [get_metric(name, device=args.device) for name in METRICS]

    def sync() -> None:
        if args.device == "cuda":
            torch.cuda.synchronize()

    evaluate(metrics, refs[:1], dists[:1])  # warm up
    sync()
    rates = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        evaluate(metrics, refs, dists)
        sync()
        rates.append(len(pairs) / (time.perf_counter() - start))
    gpu = torch.cuda.get_device_name() if args.device == "cuda" else "none (CPU run)"
    body = "\n".join([
        "## GPU: pairs per second, LPIPS + SSIM + MS-SSIM + SSIMULACRA 2 on Kodak",
        "",
        f"Command: `QK_WEIGHTS_DIR=../shared/weights python benchmarks/bench_gpu.py {' '.join(sys.argv[1:])}`  ",
        f"Date: {datetime.date.today()}. Machine: {machine()}; device {args.device}: {gpu}; torch {torch.__version__}",
        "",
        f"{len(pairs)} Kodak pairs (JPEG q=50): **{statistics.median(rates):.1f} pairs/s** (median of {args.repeats}; "
        f"runs {', '.join(f'{r:.1f}' for r in rates)}). Goal on one datacenter GPU: ≥ 50 pairs/s.",
    ])  # fmt: skip
    print(body)
    if args.write:
        write_section("gpu-pairs", body)


if __name__ == "__main__":
    main()
