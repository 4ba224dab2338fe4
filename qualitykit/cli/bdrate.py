"""``qk bdrate ANCHOR TEST``: BD-rate and BD-metric between two curves."""

from __future__ import annotations

import argparse
import json
import sys

from ..analysis import bd_metric, bd_rate
from ..errors import UnknownName
from ..analysis.bdrate import METHODS, MIN_OVERLAP, SATURATION, method_settings
from ..analysis.sources import Curve, load_curve

DESCRIPTION = """BD-rate of TEST against ANCHOR at equal quality (negative: TEST needs fewer bits), and BD-metric.

Each side is a qk run directory (its corpus-mean curve; pick the codec with --codec), a CSV with
columns bpp,<metric>, or a CompressAI results JSON ({"results": {"bpp": [...], "psnr-rgb": [...]}}).
Exit status: 0 computed, 1 not computable (the reason is printed), 2 bad input.

examples:
  qk bdrate runs/kodak runs/kodak --codec jpeg --codec avif --metric ms-ssim
  qk bdrate anchor.csv compressai-results.json --metric psnr --json
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from . import HelpFormatter

    p = subparsers.add_parser(
        "bdrate", help="BD-rate between two RD curves", description=DESCRIPTION, formatter_class=HelpFormatter
    )
    p.add_argument("anchor", metavar="ANCHOR", help="run directory, CSV or CompressAI JSON")
    p.add_argument("test", metavar="TEST", help="run directory, CSV or CompressAI JSON")
    p.add_argument("--metric", default="psnr", help="quality metric (default: psnr)")
    p.add_argument(
        "--method", choices=METHODS, default="pchip", help="interpolation (default: pchip; cubic = VCEG-M33)"
    )
    p.add_argument(
        "--codec",
        action="append",
        metavar="LABEL",
        help="codec of a run directory (label, spec, id or family); give it twice for ANCHOR then TEST",
    )
    p.add_argument(
        "--min-overlap", type=float, default=MIN_OVERLAP, help="least overlap/union of the ranges (default: %(default)s)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run)


def _direction(metric: str, curves: list[Curve]) -> bool:
    """higher_is_better of ``metric``: from a run's manifest, else the metric registry, else assumed (with a note)."""
    declared = [c.higher_is_better for c in curves if c.higher_is_better is not None]
    if declared:
        return declared[0]
    from ..metrics import registry

    try:
        return bool(registry.get(metric).higher_is_better)
    except UnknownName:
        print(f"note: {metric!r} is not a known metric; assuming higher is better", file=sys.stderr)
        return True


def run(args: argparse.Namespace) -> int:
    codecs = args.codec or []
    if len(codecs) > 2:
        print("error: --codec given more than twice", file=sys.stderr)
        return 2
    try:
        curves = [
            load_curve(path, args.metric, codecs[min(i, len(codecs) - 1)] if codecs else None)
            for i, path in enumerate((args.anchor, args.test))
        ]
    except (OSError, ValueError) as exc:
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    anchor, test = curves
    kw = {
        "method": args.method,
        "higher_is_better": _direction(args.metric, curves),
        "saturation": SATURATION.get(args.metric),
        "min_overlap": args.min_overlap,
    }
    rate = bd_rate(anchor.bpp, anchor.values, test.bpp, test.values, **kw)
    delta = bd_metric(anchor.bpp, anchor.values, test.bpp, test.values, **kw)
    if args.json:
        out = {
            "anchor": anchor.source,
            "test": test.source,
            "metric": args.metric,
            "higher_is_better": kw["higher_is_better"],
            "bd_rate_percent": rate.to_dict(),
            "bd_metric": delta.to_dict(),
            "settings": method_settings(args.method, args.min_overlap),
        }
        print(json.dumps(out, indent=2))
    else:
        print(f"anchor: {anchor.source}\ntest:   {test.source}")
        if rate.ok:
            side = "fewer" if rate.value < 0 else "more"
            print(f"BD-rate {args.metric}: {rate.value:+.3f} % ({side} bits than the anchor at equal {args.metric})")
        else:
            print(f"BD-rate {args.metric}: not computed, {rate.reason}: {rate.detail}")
        print(f"BD-{args.metric}: {delta}")
        used = f"; points anchor {rate.n_anchor}, test {rate.n_test}" + (f"; {rate.detail}" if rate.detail else "")
        print(
            f"method: {args.method} on log10(bpp), exact integral, overlap of ranges ≥ {args.min_overlap:.0%}"
            + (used if rate.ok else "")
        )
    return 0 if rate.ok else 1
