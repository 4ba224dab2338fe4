"""``qk codecs``: the codecs this machine can run, their settings and ladders."""

from __future__ import annotations

import argparse

from ..codecs import registry
from ..codecs.base import _format_value, format_quality


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("codecs", help="list codecs, settings, default ladders, and why any is unavailable",
                       epilog="example:\n  qk codecs", formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    for name in registry.names():
        cls = registry.get(name)
        why = cls.available()
        print(f"{name:8} {'available' if why is None else 'UNAVAILABLE: ' + why}  — {cls.description}")
        settings = " ".join(f"{k}={_format_value(v)}" for k, v in cls.settings.items())
        print(f"         settings: {settings or '-'}   ladder: q={'/'.join(format_quality(q) for q in cls.ladder)}")
        if why is None:
            versions = cls().versions()
            print("         versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    for name, why in registry.broken().items():
        print(f"{name:8} UNAVAILABLE: {why}")
    return 0
