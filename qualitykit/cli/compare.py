"""``qk compare REF DIST``: every metric (or those named) on one pair of image files."""

from __future__ import annotations

import argparse
import json

from ..api import compare
from ..ffmpeg import set_ffmpeg
from ..metrics import registry

EXAMPLES = """examples:
  qk compare kodim01.png kodim01.jpg                     # every metric (unavailable ones say why)
  qk compare ref.png dist.webp --metrics psnr,vmaf,lpips --json
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from . import HelpFormatter

    p = subparsers.add_parser(
        "compare",
        help="score one distorted image against its reference",
        description=__doc__.split("\n")[0].replace("``", "") + "\n\n" + EXAMPLES,
        formatter_class=HelpFormatter,
    )
    p.add_argument("reference", help="reference image (any format Pillow reads)")
    p.add_argument("distorted", help="distorted image, same size as the reference")
    p.add_argument("--metrics", help="comma-separated metric names (default: all)")
    p.add_argument(
        "--json", action="store_true", help="print JSON: reference, distorted, width, height, metrics, unavailable, conversions"
    )
    p.add_argument(
        "--device", default="auto", choices=("auto", "cpu", "cuda"), help="for PyTorch metrics (default: auto)"
    )
    p.add_argument("--ffmpeg", metavar="PATH", help="ffmpeg with libvmaf to use (sets QK_FFMPEG)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.ffmpeg:
        set_ffmpeg(args.ffmpeg)
    names = [n.strip() for n in args.metrics.split(",") if n.strip()] if args.metrics else None
    result = compare(args.reference, args.distorted, names, device=args.device)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['distorted']} vs {result['reference']} ({result['width']}x{result['height']})")
    for which, conversion in result["conversions"].items():
        print(f"  {which}: {conversion}")
    width = max((len(n) for n in [*result["metrics"], *result["unavailable"]]), default=0)
    for name, value in result["metrics"].items():
        cls = registry.get(name)
        better = "higher" if cls.higher_is_better else "lower"
        print(f"  {name:<{width}}  {value:12.6f} {cls.unit:<2}  ({better} is better)  {cls.description}")
    for name, why in result["unavailable"].items():
        print(f"  {name:<{width}}  unavailable: {why}")
    return 0
