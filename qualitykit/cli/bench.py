"""``qk bench``: run the grid and print a summary."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..api import DEFAULT_CODECS, bench, summary
from ..codecs import split_specs
from ..codecs.base import format_quality
from ..ffmpeg import set_ffmpeg
from ..errors import QKError, UnknownName

EXAMPLES = """examples:
  qk bench                                              # built-in corpus, jpeg,webp,avif, the default metric set
  qk bench --dataset ../shared/datasets/kodak --codecs jpeg,webp --metrics psnr,ms-ssim
  qk bench --codecs 'jpeg:q=10/30/50/70/90,avif:speed=4:subsampling=444' --jobs 2

A codec spec is NAME[:SETTING=VALUE...][:q=Q1/Q2/...]; `qk codecs` lists settings and default ladders.
Results go to --out (default reports/<dataset>-<time>/): results.csv (one row per image x codec point),
manifest.json (versions, settings, image hashes) and index.html, the report (BD-rate vs --anchor). Finished items are cached (--cache): a rerun,
or a run restarted after a crash, recomputes nothing that is done.
"""


def add_common(p: argparse.ArgumentParser) -> None:
    """Options shared by the commands that run a grid (``bench``, ``gate``)."""
    p.add_argument("--dataset", default=None, help="corpus name from datasets.yaml or a folder of images (default: sample)")
    p.add_argument("--codecs", default=",".join(DEFAULT_CODECS), help="comma-separated codec specs (default: %(default)s)")
    p.add_argument("--metrics", default=None, help="comma-separated metric names (default: every available metric of the default set; see qk metrics)")
    p.add_argument("--jobs", "-j", type=int, default=None, help="worker processes (default: every core)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where PyTorch work runs")
    p.add_argument("--cache", default=None, help="SQLite cache file (default: $QK_CACHE or ~/.cache/qualitykit/cache.sqlite)")
    p.add_argument("--ffmpeg", default=None, help="ffmpeg built with libvmaf for the libvmaf metrics (sets $QK_FFMPEG)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    from . import HelpFormatter

    p = sub.add_parser("bench", help="encode, decode and score a corpus", epilog=EXAMPLES, formatter_class=HelpFormatter)
    add_common(p)
    p.add_argument("--out", default=None, help="run directory (default: reports/<dataset>-<time>)")
    p.add_argument("--anchor", default="jpeg", help="codec the report compares the others with (default: jpeg, else the first)")
    p.add_argument("--no-report", action="store_true", help="skip the HTML report")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar, no summary")
    p.set_defaults(handler=run)


def run_grid(args: argparse.Namespace, out: str | None) -> tuple[object, int]:
    """Run ``bench`` from parsed options; return (results, exit status) with errors printed."""
    if args.ffmpeg:
        set_ffmpeg(args.ffmpeg)
    try:
        results = bench(
            dataset=args.dataset,
            codecs=split_specs(args.codecs),
            metrics=split_specs(args.metrics) if args.metrics else None,
            out=out,
            jobs=args.jobs,
            device=args.device,
            cache=args.cache,
            progress=not getattr(args, "quiet", False) and sys.stderr.isatty(),
        )
    except QKError as exc:
        print(f"qk: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return None, 2
    requested = split_specs(args.metrics) if args.metrics else []
    missing = [m for m in requested if m not in results.columns]
    for m in missing:
        print(f"metric {m} not computed: {results.attrs['unavailable'][m]}", file=sys.stderr)
    for e in results.attrs["errors"]:
        where = " ".join(str(x) for x in (e["image"], e["codec"], e["quality"]) if x is not None)
        print(f"error [{e['stage']}] {where}: {e['message']}", file=sys.stderr)
    return results, 1 if results.attrs["errors"] or missing else 0


def run(args: argparse.Namespace) -> int:
    results, status = run_grid(args, args.out)
    if results is None:
        return status
    run_dir = Path(results.attrs["run_dir"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    if not args.quiet:
        labels = {c["id"]: c["label"] for c in manifest["codecs"]}
        import pandas as pd

        with pd.option_context("display.max_columns", None, "display.width", 200, "display.float_format", "{:.4f}".format):
            print(summary(results, labels).rename(index=format_quality, level=1).to_string())
        for name, why in manifest["metrics_unavailable"].items():
            if args.metrics is None:  # asked-for metrics were already reported as errors
                print(f"skipped metric {name}: {why}")
        work = results.attrs["work"]
        print(f"\n{len(results)} items ({work['encoded']} encoded, {work['metric_values']} metric values computed; "
              f"the rest from the cache); results in {run_dir}/")  # fmt: skip
    if not args.no_report and len(results):
        status = max(status, report(run_dir, args.anchor))
    return status


def report(run_dir: Path, anchor: str) -> int:
    """Write the run's HTML report (anchor: ``anchor`` if the run has it, else its first codec);
    a failure is reported, and the results stay as written."""
    from ..analysis import Run
    from ..report import write_report

    try:
        run = Run.load(run_dir)
        try:
            run.resolve_codec(anchor)
        except UnknownName:
            anchor = run.label(run.codec_ids[0])
        path = write_report(run_dir, anchor=anchor)
    except Exception as exc:  # the results are already on disk: say what failed, keep them
        print(f"report not written ({type(exc).__name__}: {exc}); results are in {run_dir}/", file=sys.stderr)
        return 1
    print(f"report: {path} (BD-rate against {anchor})")
    return 0
