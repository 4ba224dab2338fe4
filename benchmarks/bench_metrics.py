"""Per-pair cost of each metric on Kodak (JPEG q=50), and batched libvmaf vs one ffmpeg process per pair.

    python benchmarks/bench_metrics.py [--repeats 3] [--images 24] [--write]

Each figure is the median over ``--repeats`` runs of the wall time, and of the CPU time (this
process and the tools it starts: ffmpeg, butteraugli_main), to score all pairs, divided by the
number of pairs. Metrics run one at a time through :func:`qualitykit.metrics.evaluate` (so each
libvmaf metric pays its own pass), then the libvmaf family together (one shared pass). LPIPS and
DISTS use the real ImageNet backbones when located (``QK_WEIGHTS_DIR=../shared/weights``), else a
seeded random one (same architecture, same cost). ``--metrics`` restricts the list. ``--write``
replaces the "## Metric cost per pair" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import statistics
import sys
import time
import warnings

import numpy as np
import torch
from PIL import Image

from _results import KODAK, RESULTS, machine, write_section

from qualitykit import assets
from qualitykit.metrics import evaluate, get_metric, registry
from qualitykit.metrics.libvmaf import LibvmafMetric, libvmaf_version, run_libvmaf
from qualitykit.metrics.lpips import BACKBONES

SECTION = "## Metric cost per pair"


def kodak_pairs(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    files = sorted(KODAK.glob("kodim*.png"))[:n]
    if not files:
        sys.exit(f"Kodak not found at {KODAK} (../shared beside the checkout)")
    pairs = []
    for f in files:
        ref = np.asarray(Image.open(f).convert("RGB"))
        buf = io.BytesIO()
        Image.fromarray(ref).save(buf, "JPEG", quality=50)
        pairs.append((ref, np.asarray(Image.open(buf).convert("RGB"))))
    return pairs


def _cpu() -> float:
    """CPU seconds of this process and of the finished child processes (ffmpeg, butteraugli_main)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def per_pair_ms(fn, n_pairs: int, repeats: int) -> tuple[float, float, float, float]:
    """Median, fastest and slowest wall time, and median CPU time, of ``fn()`` over ``repeats`` runs, in ms per pair."""
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), _cpu()
        fn()
        times.append(1000 * (time.perf_counter() - start) / n_pairs)
        cpu.append(1000 * (_cpu() - start_cpu) / n_pairs)
    return statistics.median(times), min(times), max(times), statistics.median(cpu)


def build_metrics(device: str, names: list[str]) -> tuple[list, list[str]]:
    """The metrics named; LPIPS with a seeded random backbone when the real one is not located."""
    import lpips

    metrics, notes = [], []
    for name in names:
        cls = registry.get(name)
        net = getattr(cls, "net", None)
        if net is not None and assets.locate(BACKBONES[net]) is None:
            torch.manual_seed(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                model = lpips.LPIPS(pretrained=True, net=net, pnet_rand=True, verbose=False)
            metrics.append(cls(device=device, model=model))
            notes.append(f"{name}: random {net} backbone ({BACKBONES[net].name} not located; same cost)")
        elif cls.available() is None:
            metrics.append(get_metric(name, device=device))
        else:
            notes.append(f"{name}: skipped ({cls.available()})")
    return metrics, notes


def _default(name: str) -> str:
    try:
        return "yes" if registry.get(name).default else "no"
    except Exception:  # the shared-pass row
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--metrics", help="comma-separated metric names (default: every registered metric)")
    parser.add_argument("--write", action="store_true", help=f"write the section to {RESULTS}")
    args = parser.parse_args()

    pairs = kodak_pairs(args.images)
    refs, dists = [p[0] for p in pairs], [p[1] for p in pairs]
    n = len(pairs)
    names = args.metrics.split(",") if args.metrics else registry.names()
    metrics, notes = build_metrics(args.device, names)
    for m in metrics:
        evaluate([m], refs[:1], dists[:1])  # warm up: model load, libvmaf version probe

    rows = [(m.name, per_pair_ms(lambda m=m: evaluate([m], refs, dists), n, args.repeats)) for m in metrics]
    family = [m for m in metrics if isinstance(m, LibvmafMetric)]
    batched_ms = single_ms = None
    if family:
        shared = per_pair_ms(lambda: evaluate(family, refs, dists), n, args.repeats)
        rows.append((f"all {len(family)} libvmaf metrics, one shared pass", shared))
        vmaf = ["vmaf_v0.6.1"]
        batched_ms, *_ = per_pair_ms(lambda: run_libvmaf(refs, dists, models=vmaf), n, args.repeats)
        single_ms, *_ = per_pair_ms(lambda: [run_libvmaf([r], [d], models=vmaf) for r, d in pairs], n, args.repeats)

    sizes = sorted({f"{r.shape[1]}x{r.shape[0]}" for r in refs})
    lines = [
        SECTION,
        "",
        f"Command (repository root): `python benchmarks/bench_metrics.py {' '.join(sys.argv[1:])}`  ",
        f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC  ",
        (
            f"Machine: {machine()}, shared with "
            f"other jobs (load average at the end: {os.getloadavg()[0]:.2f}); torch {torch.__version__} with "
            f"{torch.get_num_threads()} threads, libvmaf {libvmaf_version()} with 1 thread  "
        ),
        (
            f"Data: {n} Kodak images ({', '.join(sizes)}), each against its Pillow JPEG at q=50. "
            f"Figures: wall time and CPU time (this process plus the tools it starts) to score all pairs, "
            f"divided by {n}; median (and wall range) of {args.repeats} runs. "
            "Other jobs share the CPU, so wall figures move between runs; compare them within one run."
        ),
        "",
        "| metric | in default set | wall ms per pair, median | range | CPU ms per pair, median |",
        "|---|---|---:|---:|---:|",
        *[
            f"| {name} | {_default(name)} | {med:.1f} | {lo:.1f}–{hi:.1f} | {cpu:.1f} |"
            for name, (med, lo, hi, cpu) in rows
        ],
        "",
        *(
            [
                f"VMAF alone: one ffmpeg process for all {n} pairs (one per image size) {batched_ms:.1f} ms per pair; "
                f"one process per pair {single_ms:.1f} ms per pair ({single_ms / batched_ms:.2f}×).",
                "",
            ]
            if batched_ms
            else []
        ),
        *[f"- {note}" for note in notes],
        "",
    ]
    section = "\n".join(lines)
    print(section)
    if args.write:
        write_section("metric-cost", section)


if __name__ == "__main__":
    main()
