"""``qk report RUN_DIR``: write the self-contained HTML report of a run."""

from __future__ import annotations

import argparse

from ..analysis.bdrate import METHODS, MIN_OVERLAP


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="HTML report of a run (BD-rate, RD plots, speed, visual comparison)",
        description="Write index.html (one self-contained file), bdrate.json and plots/ for a run directory.",
        epilog="examples:\n  qk report reports/kodak-20261125-101500\n  qk report RUN_DIR --anchor webp --out reports/webp-anchored --comparisons 8",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a qk run directory (results.csv + manifest.json)")
    p.add_argument("--anchor", default="jpeg", help="codec the others are compared with: label, spec, id or family (default: jpeg)")
    p.add_argument("--out", metavar="DIR", help="output directory (default: RUN_DIR itself)")
    p.add_argument("--method", choices=METHODS, default="pchip", help="BD interpolation (default: pchip)")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="bootstrap resamples for the CIs (default: 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    p.add_argument("--min-overlap", type=float, default=MIN_OVERLAP, help="least overlap/union of two ranges (default: %(default)s)")
    p.add_argument("--comparisons", type=int, default=4, metavar="N", help="images with a visual comparison (default: 4)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..api import report

    print(report(args.run_dir, args.anchor, out_dir=args.out, method=args.method, min_overlap=args.min_overlap,
                 n_boot=args.bootstrap, seed=args.seed, comparisons=args.comparisons))  # fmt: skip
    return 0
