"""``qk bench``: run the grid, write the run and its report, print the answer."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from ..api import DEFAULT_CODECS, EXECUTORS, BenchResult, bench
from ..codecs import split_specs
from ..ffmpeg import set_ffmpeg
from ..rundir import COLUMNS

EXAMPLES = """examples:
  qk bench                                              # built-in corpus, jpeg,webp,avif, the default metrics
  qk bench --dataset ../shared/datasets/kodak --codecs jpeg,webp --metrics psnr,ms-ssim
  qk bench --codecs 'jpeg:q=10/30/50/70/90,avif:speed=4:subsampling=444' --jobs 2
  qk bench --codec-file codecs.toml --codecs jpeg,cjxl:q=4/2/1      # external encoder/decoder commands
  qk bench --dataset kodak --executor dask --scheduler tcp://headnode:8786   # on a Dask cluster (docs/cluster.md)
  qk bench --codecs jpeg,webp,avif --target ms-ssim=0.98 --target vmaf=90   # + smallest file per image at a score

A codec spec is NAME[:SETTING=VALUE...][:q=Q1/Q2/...]; `qk codecs` lists settings and default ladders.
Results go to --out (default reports/<dataset>-<time>/, a new folder per run): results.csv (one row per
image x codec point), manifest.json (versions, settings, image hashes) and index.html, the report
(every pair's BD-rate), and targets.csv with --target. Finished items are cached (--cache): a rerun, or a
run restarted after a crash or Ctrl-C, recomputes nothing that is done. The output ends with the answer:
a verdict, the pairwise BD-rate matrix (with speed per megapixel) and the conditions it holds under.
"""


def add_grid_options(p: argparse.ArgumentParser) -> None:
    """Options of the commands that run a grid (``bench``, ``gate``)."""
    p.add_argument("--dataset", default=None, help="corpus name from datasets.yaml or a folder of images (default: sample)")
    p.add_argument("--codecs", default=None, help=f"comma-separated codec specs (default: {','.join(DEFAULT_CODECS)})")
    p.add_argument("--metrics", default=None, help="comma-separated metric names or sets, e.g. jpeg-ai (default: qk's default set; see qk metrics)")
    p.add_argument("--jobs", "-j", type=int, default=None, help="worker processes (default: every core this process may use; at most the cores, the workers the memory limit fits and the units of work)")
    p.add_argument("--executor", default="local", choices=EXECUTORS,
                   help="where the work runs: local worker processes, or a Dask cluster (pip install 'qualitykit[dask]'; "
                        "without --scheduler, a local Dask cluster of --jobs workers is started; docs/cluster.md)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="with --executor dask: the Dask scheduler's address, e.g. tcp://headnode:8786")  # fmt: skip
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where PyTorch work runs")
    p.add_argument("--cache", default=None, help="SQLite cache file (default: $QK_CACHE or ~/.cache/qualitykit/cache.sqlite)")
    p.add_argument("--ffmpeg", default=None, help="ffmpeg built with libvmaf for the libvmaf metrics (sets $QK_FFMPEG)")
    p.add_argument("--codec-file", action="append", default=[], metavar="FILE",
                   help="TOML/YAML file defining external-command codecs, used by name in --codecs (docs/external-codecs.md)")  # fmt: skip
    p.add_argument("--max-pixels", type=int, default=None, metavar="N",
                   help="largest image accepted, in pixels (default: Pillow's decompression-bomb limit, ~89.5 MP)")  # fmt: skip
    p.add_argument("--max-memory", type=float, default=None, metavar="GIB",
                   help="memory limit of the whole run in GiB (default: 80%% of what is available)")  # fmt: skip
    p.add_argument("--out", default=None, help="run directory (default: reports/<dataset>-<time>, new for every run)")
    p.add_argument("--overwrite", action="store_true", help="write into --out even if it holds a run")


def grid_options(args: argparse.Namespace) -> dict[str, object]:
    """The :func:`qualitykit.bench` keyword arguments given on the command line (others keep their defaults)."""
    if args.ffmpeg:
        set_ffmpeg(args.ffmpeg)
    options: dict[str, object] = {
        "jobs": args.jobs, "device": args.device, "cache": args.cache, "max_pixels": args.max_pixels,
        "max_memory_gb": args.max_memory, "out": args.out, "overwrite": args.overwrite, "command": None,
        "codec_files": args.codec_file, "executor": args.executor, "scheduler": args.scheduler,
    }  # fmt: skip
    if args.dataset is not None:
        options["dataset"] = args.dataset
    if args.codecs is not None:
        options["codecs"] = split_specs(args.codecs)
    if args.metrics is not None:
        options["metrics"] = split_specs(args.metrics, "--metrics", "metric")
    return options


def add_parser(sub: argparse._SubParsersAction) -> None:
    from . import HelpFormatter

    p = sub.add_parser("bench", help="encode, decode and score a corpus", epilog=EXAMPLES, formatter_class=HelpFormatter)
    add_grid_options(p)
    p.add_argument("--anchor", default=None, help="codec the report's detailed tables start from (default: jpeg, else the first)")
    p.add_argument("--target", action="append", default=[], metavar="METRIC=VALUE",
                   help="equal-quality target, e.g. ms-ssim=0.98 (repeatable, or comma-separated): per image and codec, "
                        "the smallest file reaching it (docs/equal-quality.md)")  # fmt: skip
    p.add_argument("--no-report", action="store_true", help="skip the HTML report")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar, no summary")
    p.add_argument("--profile", action="store_true", help="print the time spent in each stage (hash, encode, decode, each metric, report)")
    p.set_defaults(handler=run)


def print_problems(result: BenchResult, asked_metrics: bool) -> None:
    """Errors, unavailable metrics and codecs, and notes, on stderr."""
    for e in result.errors:
        where = " ".join(str(x) for x in (e.image, e.codec_id, e.q) if x is not None)
        print(f"error [{e.stage}] {where}: {e.message}", file=sys.stderr)
    for name, why in result.metrics_unavailable.items():
        print(f"{'metric' if asked_metrics else 'skipped metric'} {name} not computed: {why}", file=sys.stderr)
    for spec, why in result.codecs_unavailable.items():
        print(f"codec {spec} not run: {why}", file=sys.stderr)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)


def terminal_width() -> int:
    """Columns to print in: the terminal's width (``$COLUMNS`` when set; 100 when not a terminal), kept within 60–160."""
    import shutil

    return max(60, min(160, shutil.get_terminal_size((100, 24)).columns))


def format_summary(summary: pd.DataFrame, width: int) -> str:
    """The per codec point table, folded into blocks of columns (each with the codec and q) that fit ``width``."""
    from ..codecs.base import format_quality

    table = summary.rename(index=format_quality, level=1)
    with pd.option_context("display.float_format", "{:.4f}".format):
        return table.to_string(line_width=width)


def computed_note(result: BenchResult) -> str:
    """``72 items; this run computed 72 encodes and 360 scores`` (+ ``, the rest came from the cache`` when it did)."""
    work, n = result.work, len(result.table)
    metrics = [c for c in result.table.columns if c not in COLUMNS]
    scores = int(result.table[metrics].notna().to_numpy().sum()) if metrics else 0
    note = f"{n} item{'s' * (n != 1)}; this run computed {work.encoded} encodes and {work.scored} scores"
    if work.encoded < n or work.scored < scores:
        note += ", the rest came from the cache"
    return note


def print_answer(result: BenchResult, width: int | None = None) -> None:
    """The verdict, the pairwise matrix and the caveats: the same answer as the report's first screen."""
    from ..analysis.answer import render_text
    from ..api import answer

    if len(result.table) == 0:
        return
    width = width or terminal_width()
    ans = result.answer if result.answer is not None else answer(result.run())
    print("\n" + "=" * width + "\n" + render_text(ans, width))


def print_profile(profile: dict[str, float]) -> None:
    total = sum(profile.values()) or 1.0
    print("\ntime per stage (seconds; worker stages summed over workers):")
    for stage, seconds in sorted(profile.items(), key=lambda kv: -kv[1]):
        print(f"  {stage:<24} {seconds:9.3f}  {seconds / total:6.1%}")


def run(args: argparse.Namespace) -> int:
    options = grid_options(args)
    result = bench(**options, report=not args.no_report, anchor=args.anchor, targets=args.target or None,
                   progress=not args.quiet and sys.stderr.isatty())  # fmt: skip
    print_problems(result, args.metrics is not None)
    if not args.quiet:
        width = terminal_width()
        print(format_summary(result.summary(), width))
        print(f"\n{computed_note(result)}.\nresults: {result.run_dir}/")
        if result.report:
            print(f"report: {result.report}")
        print_answer(result, width)
    if args.profile:
        print_profile(result.profile)
    asked = args.metrics is not None
    return 1 if result.errors or result.codecs_unavailable or (asked and result.metrics_unavailable) else 0
