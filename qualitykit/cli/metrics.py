"""``qk metrics``: every metric with its conventions, whether it runs here (and why not), and what it equals."""

from __future__ import annotations

import argparse

from tabulate import tabulate

from ..errors import QKError
from ..ffmpeg import describe
from ..metrics import available_metrics, registry
from ..metrics.base import Reference
from ..metrics.sets import METRIC_SETS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("metrics", help="list metrics with their conventions, and why any is unavailable",
                       epilog="examples:\n  qk metrics\n  qk metrics --markdown   # the README's table of references",
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--markdown", action="store_true",
                   help="print the built-in metrics' table of references as Markdown (the README's table)")
    p.set_defaults(handler=run)


def _range(lo: float | None, hi: float | None) -> str:
    return f"{'-inf' if lo is None else f'{lo:g}'} to {'inf' if hi is None else f'{hi:g}'}"


def run(args: argparse.Namespace) -> int:
    if args.markdown:
        from ..metrics.table import markdown

        print(markdown(), end="")
        return 0
    rows, reasons = [], []
    for name, why in available_metrics().items():
        try:
            cls = registry.get(name)
        except QKError:  # a plugin that failed to load
            rows.append([name, "UNAVAILABLE", "", "", "", "", ""])
            reasons.append(f"{name}: {why}")
            continue
        rows.append([
            name,
            "available" if why is None else "UNAVAILABLE",
            "higher is better" if cls.higher_is_better else "lower is better",
            _range(*cls.range),
            cls.unit,
            "yes" if cls.default else "no (opt-in)",
            Reference.from_value(cls.reference).summary(cls.unit),
        ])  # fmt: skip
        if why is not None:
            reasons.append(f"{name}: {why}")
    headers = ["metric", "here", "direction", "range", "unit", "default set", "equals (tool, version, tolerance)"]
    print(tabulate(rows, headers=headers, tablefmt="simple"))
    print("\nconventions (and the images each reference was checked on):")
    for name in registry.names():
        cls = registry.get(name)
        ref = Reference.from_value(cls.reference)  # a plugin may still give prose
        note = f"; {ref.note}" if ref.note else ""
        print(f"  {name}: {cls.description}" + (f"\n    checked on {ref.checked_on}{note}" if ref.checked_on else ""))
    print("\nmetric sets (give the name to --metrics):")
    for name, metric_set in METRIC_SETS.items():
        print(f"  {name}: {', '.join(metric_set.members)}")
        print(f"    {metric_set.description}; source: {metric_set.source}")
    print("\n  pyiqa:NAME: any pyiqa full-reference metric by its pyiqa name (e.g. pyiqa:mad), with pyiqa installed")
    if reasons:
        print("\nunavailable here:")
        for line in reasons:
            print(f"  {line}")
    print("\n" + describe())
    return 0
