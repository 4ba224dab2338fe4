"""``qk bdrate``: BD-rate and BD-metric between curves — two, many, or every pair of a run's codecs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..analysis.bdrate import METHODS, MIN_OVERLAP, range_rule
from ..errors import BadInput

DESCRIPTION = """BD-rate of TEST against ANCHOR at equal quality (negative: TEST needs fewer bits), and BD-metric.

Each curve is a qk run directory (its corpus-mean curve; pick the codec with --codec), a CSV with
columns bpp,<metric>, or a CompressAI results JSON ({"results": {"bpp": [...], "psnr-rgb": [...]}};
MS-SSIM given in dB, "ms-ssim-db-rgb", is read back as MS-SSIM).

  qk bdrate ANCHOR TEST                 one pair (the detailed output below)
  qk bdrate ANCHOR TEST1 TEST2 ...      every TEST against ANCHOR, one table
  qk bdrate --anchor A --anchor B T...  every T against each anchor
  qk bdrate --all-pairs C1 C2 C3 ...    every ordered pair
  qk bdrate RUN_DIR                     every ordered pair of the run's codecs, with bootstrap intervals

Every number comes with the quality range it holds over and the overlap of the two curves: when one
curve's range lies inside the other's, the number is over the inner range only, and says so. It is
refused only when the overlap is missing or too small (--min-overlap of the narrower curve's range,
and at least 2 of its points). Exit status: 0 every number computed, 1 some not computable (the
reasons are printed), 2 bad input.

examples:
  qk bdrate runs/kodak runs/kodak --codec jpeg --codec avif --metric ms-ssim
  qk bdrate runs/kodak --metric psnr,ms-ssim
  qk bdrate --anchor results/jpeg.json --anchor results/vtm.json results/compressai-*_cpu.json --metric psnr,ms-ssim
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from . import HelpFormatter

    p = subparsers.add_parser("bdrate", help="BD-rate between RD curves (two, many, or a run's codecs)",
                              description=DESCRIPTION, formatter_class=HelpFormatter)  # fmt: skip
    p.add_argument("curves", nargs="*", metavar="CURVE", help="run directory, CSV or CompressAI JSON")
    p.add_argument("--anchor", action="append", default=[], metavar="CURVE", help="anchor curve (repeatable)")
    p.add_argument("--all-pairs", action="store_true", help="every ordered pair of the curves")
    p.add_argument("--metric", default="psnr", help="quality metric(s), comma-separated (default: psnr)")
    p.add_argument("--method", choices=METHODS, default="pchip", help="interpolation (default: pchip; cubic = VCEG-M33)")
    p.add_argument("--codec", action="append", metavar="LABEL",
                   help="codec of a run directory (label, spec, id or family); give it twice for ANCHOR then TEST")  # fmt: skip
    p.add_argument("--min-overlap", type=float, default=MIN_OVERLAP,
                   help="least overlap, as a fraction of the narrower curve's range (default: %(default)s)")  # fmt: skip
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="resamples for a run's intervals (default: 1000)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run)


def _metrics(text: str) -> list[str]:
    return [m.strip() for m in text.split(",") if m.strip()]


def run(args: argparse.Namespace) -> int:
    metrics = _metrics(args.metric)
    codecs = args.codec or []
    if len(codecs) > 2:
        raise BadInput("--codec given more than twice")
    if not args.curves and not args.anchor:
        raise BadInput("give curves: ANCHOR TEST, several curves, or a run directory")
    missing = [p for p in (*args.anchor, *args.curves) if not Path(p).exists()]
    if missing:
        raise BadInput(f"{missing[0]}: no such run directory or curve file"
                       + (f" (nor {', '.join(missing[1:])})" if len(missing) > 1 else ""))  # fmt: skip
    single_run = len(args.curves) == 1 and not args.anchor and Path(args.curves[0]).is_dir()
    if single_run and len(codecs) < 2:
        return _run_pairs(args, metrics, codecs[0] if codecs else None)
    if len(args.curves) == 2 and not args.anchor and not args.all_pairs and len(metrics) == 1:
        return _one_pair(args, metrics[0], codecs)
    if codecs:
        raise BadInput("--codec applies to two run directories (ANCHOR TEST); for many curves give one-codec runs or files")
    return _many(args, metrics)


def _one_pair(args: argparse.Namespace, metric: str, codecs: list[str]) -> int:
    from ..api import bd_curves

    pair = (codecs[0], codecs[-1]) if codecs else (None, None)
    c = bd_curves(args.curves[0], args.curves[1], metric, pair, method=args.method, min_overlap=args.min_overlap)
    if args.json:
        print(json.dumps(c.to_dict(), indent=2))
        return 0 if c.rate.ok else 1
    for note in c.notes:
        print(f"note: {note}")
    print(f"anchor: {c.anchor.source}\ntest:   {c.test.source}")
    unit = f" {c.info.unit}" if c.info.unit else ""
    if c.rate.ok:
        side = "fewer" if c.rate.value < 0 else "more"
        lo, hi = c.rate.range
        only = f" only ({c.rate.union:.0%} of the union of both ranges)" if c.rate.partial else ""
        print(f"BD-rate {metric}: {c.rate.value:+.3f} % ({side} bits than the anchor at equal {metric})")
        print(f"  over {metric} {lo:.4g}–{hi:.4g}{unit}{only}; overlap {c.rate.overlap:.0%} of the narrower curve's range")
    else:
        print(f"BD-rate {metric}: not computed, {c.rate.reason}: {c.rate.detail}")
    print(f"BD-{metric}: {c.delta}")
    used = f"; points anchor {c.rate.n_anchor}, test {c.rate.n_test}" + (f"; {c.rate.detail}" if c.rate.detail else "")
    print(f"method: {args.method} on log10(bpp), exact integral; {range_rule(args.min_overlap)}" + (used if c.rate.ok else ""))
    return 0 if c.rate.ok else 1


def _many(args: argparse.Namespace, metrics: list[str]) -> int:
    from ..api import bd_matrix

    table = bd_matrix(args.curves, metrics, args.anchor or None, all_pairs=args.all_pairs, method=args.method,
                      min_overlap=args.min_overlap)  # fmt: skip
    if args.json:
        print(json.dumps(table.astype(object).where(table.notna(), None).to_dict("records"), indent=2))
    else:
        print(format_rows(table))
        print(f"\nmethod: {args.method} on log10(bpp), exact integral; {range_rule(args.min_overlap)}")
    return 0 if table["reason"].isna().all() else 1


def format_rows(table) -> str:  # noqa: ANN001
    """Plain-text table of :func:`qualitykit.analysis.sources.compare_many` rows."""
    import pandas as pd

    lines = []
    wa = max([len("anchor"), *(len(str(a)) for a in table["anchor_label"])])
    wt = max([len("test"), *(len(str(t)) for t in table["codec_label"])])
    lines.append(f"{'anchor':<{wa}}  {'test':<{wt}}  {'metric':<8} {'BD-rate':>9}  over (overlap of narrower)")
    for r in table.itertuples():
        if r.reason is not None and not (isinstance(r.reason, float) and pd.isna(r.reason)):
            lines.append(f"{r.anchor_label:<{wa}}  {r.codec_label:<{wt}}  {r.metric:<8} {'n/a':>9}  {r.reason}: {r.detail}")
            continue
        unit = f" {r.unit}" if r.unit else ""
        only = " only" if r.partial else ""
        lines.append(f"{r.anchor_label:<{wa}}  {r.codec_label:<{wt}}  {r.metric:<8} {r.bd_rate:+8.1f}%  "
                     f"{r.range_lo:.4g}–{r.range_hi:.4g}{unit}{only} ({r.overlap:.0%})"
                     + (f"  [{r.note}]" if r.note else ""))  # fmt: skip
    return "\n".join(lines)


def _run_pairs(args: argparse.Namespace, metrics: list[str], anchor: str | None) -> int:
    from ..analysis import Run, bd_table

    run = Run.load(args.curves[0])
    unknown = [m for m in metrics if m not in run.metrics]
    if unknown and args.metric == "psnr" and "psnr" not in run.metrics:
        metrics = list(run.metrics)
    t = bd_table(run, anchor, metrics=metrics, method=args.method, min_overlap=args.min_overlap, n_boot=args.bootstrap)
    s = t.summary
    if args.json:
        print(json.dumps(t.to_dict(), indent=2))
        return 0 if s["reason"].isna().all() else 1
    wa = max([len("anchor"), *map(len, s["anchor_label"])])
    wt = max([len("test"), *map(len, s["codec_label"])])
    ci_head = f"{t.settings['bootstrap']['confidence']:.0%} CI"
    print(f"{'anchor':<{wa}}  {'test':<{wt}}  {'metric':<8} {'BD-rate':>9} {ci_head:>17}  over (overlap)  images")
    for r in s.itertuples():
        if r.bd_rate is None or r.bd_rate != r.bd_rate:
            print(f"{r.anchor_label:<{wa}}  {r.codec_label:<{wt}}  {r.metric:<8} {'n/a':>9}  {r.reason}: {r.detail}")
            continue
        ci = f"{r.ci_low:+.1f} … {r.ci_high:+.1f}" if r.ci_low == r.ci_low and r.ci_low is not None else "—"
        unit = f" {r.unit}" if r.unit else ""
        print(f"{r.anchor_label:<{wa}}  {r.codec_label:<{wt}}  {r.metric:<8} {r.bd_rate:+8.1f}% {ci:>17}  "
              f"{r.range_lo:.4g}–{r.range_hi:.4g}{unit}{' only' if r.partial else ''} ({r.overlap:.0%})  {r.excluded_note}")  # fmt: skip
    print(f"\nmethod: {args.method} on log10(bpp); {range_rule(args.min_overlap)}; intervals: bootstrap over images")
    return 0 if s["reason"].isna().all() else 1
