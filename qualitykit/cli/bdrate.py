"""``qk bdrate ANCHOR TEST``: BD-rate and BD-metric between two curves."""

from __future__ import annotations

import argparse
import json

from ..analysis.bdrate import METHODS, MIN_OVERLAP
from ..errors import BadInput

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

    p = subparsers.add_parser("bdrate", help="BD-rate between two RD curves", description=DESCRIPTION, formatter_class=HelpFormatter)
    p.add_argument("anchor", metavar="ANCHOR", help="run directory, CSV or CompressAI JSON")
    p.add_argument("test", metavar="TEST", help="run directory, CSV or CompressAI JSON")
    p.add_argument("--metric", default="psnr", help="quality metric (default: psnr)")
    p.add_argument("--method", choices=METHODS, default="pchip", help="interpolation (default: pchip; cubic = VCEG-M33)")
    p.add_argument("--codec", action="append", metavar="LABEL",
                   help="codec of a run directory (label, spec, id or family); give it twice for ANCHOR then TEST")  # fmt: skip
    p.add_argument("--min-overlap", type=float, default=MIN_OVERLAP, help="least overlap/union of the ranges (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..api import bd_curves

    codecs = args.codec or []
    if len(codecs) > 2:
        raise BadInput("--codec given more than twice")
    pair = (codecs[0], codecs[-1]) if codecs else (None, None)
    c = bd_curves(args.anchor, args.test, args.metric, pair, method=args.method, min_overlap=args.min_overlap)
    if args.json:
        print(json.dumps(c.to_dict(), indent=2))
        return 0 if c.rate.ok else 1
    for note in c.notes:
        print(f"note: {note}")
    print(f"anchor: {c.anchor.source}\ntest:   {c.test.source}")
    if c.rate.ok:
        side = "fewer" if c.rate.value < 0 else "more"
        print(f"BD-rate {args.metric}: {c.rate.value:+.3f} % ({side} bits than the anchor at equal {args.metric})")
    else:
        print(f"BD-rate {args.metric}: not computed, {c.rate.reason}: {c.rate.detail}")
    print(f"BD-{args.metric}: {c.delta}")
    used = f"; points anchor {c.rate.n_anchor}, test {c.rate.n_test}" + (f"; {c.rate.detail}" if c.rate.detail else "")
    print(f"method: {args.method} on log10(bpp), exact integral, overlap of ranges ≥ {args.min_overlap:.0%}" + (used if c.rate.ok else ""))
    return 0 if c.rate.ok else 1
