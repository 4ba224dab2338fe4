"""``qk metrics``: the metrics this machine can compute, and why any cannot."""

from __future__ import annotations

import argparse
from ..errors import QKError
from ..ffmpeg import describe
from ..metrics import available_metrics, registry


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("metrics", help="list metrics with their conventions, and why any is unavailable",
                       epilog="example:\n  qk metrics", formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    for name, why in available_metrics().items():
        try:
            cls = registry.get(name)
        except QKError:
            print(f"{name:10} UNAVAILABLE: {why}")
            continue
        arrow = "higher is better" if cls.higher_is_better else "lower is better"
        state = "available" if why is None else f"UNAVAILABLE: {why}"
        print(f"{name:10} {state}  — {cls.description} ({arrow})")
    print("\n" + describe())
    return 0
