"""``qk baseline save RUN_DIR --to FILE``."""

from __future__ import annotations

import argparse

EXAMPLES = """example:
  qk bench --dataset sample --codecs jpeg,avif --metrics psnr,ms-ssim --out reports/main
  qk baseline save reports/main --to quality/baseline.json      # commit this file
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("baseline", help="store a run as the baseline a later `qk gate` compares with",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("action", choices=["save"])
    p.add_argument("run_dir", help="a qk run directory (results.csv + manifest.json)")
    p.add_argument("--to", required=True, help="baseline file to write (JSON, one line per point: diff-friendly)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..api import save_baseline

    print(f"baseline written to {save_baseline(args.run_dir, args.to)}")
    return 0
