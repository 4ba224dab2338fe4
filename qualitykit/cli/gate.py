"""``qk gate``: fail a CI build when quality per byte regresses against a committed baseline."""

from __future__ import annotations

import argparse
import sys

from ..errors import BadInput
from .bench import add_grid_options, grid_options

EXAMPLES = """examples:
  qk gate --baseline quality/baseline.json                        # rerun the baseline's codecs/metrics/dataset
  qk gate --baseline quality/baseline.json --run reports/pr-123    # judge an existing run
  qk gate --baseline b.json --max-bd-rate 0.5 --max-bd-rate vmaf=2 --junit gate.xml --markdown "$GITHUB_STEP_SUMMARY"

Verdict per codec × metric (BD-rate of the run against the baseline, 95 % bootstrap interval over
images): REGRESSED when the whole interval lies above +tolerance, IMPROVED when it lies below
-tolerance, WITHIN NOISE when it reaches into ±tolerance, NOT MEASURED without a BD-rate.

Exit status: 0 pass (improved or within noise), 1 a regression, 2 inputs not comparable
(different images, missing codecs or metrics, version drift, BD-rate not computable, an invalid
baseline; with --require-all, codecs of the run the baseline does not cover).
"""


def tolerances(values: list[str]) -> tuple[float | None, dict[str, float]]:
    """``--max-bd-rate`` values: a default percent and per-metric overrides (``METRIC=PERCENT``)."""
    default, per_metric = None, {}
    for v in values:
        name, sep, number = v.rpartition("=")
        try:
            if sep:
                per_metric[name] = float(number)
            else:
                default = float(number)
        except ValueError:
            raise BadInput(f"--max-bd-rate {v!r}: give PERCENT or METRIC=PERCENT") from None
    return default, per_metric


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gate", help="compare a run with a baseline; exit 1 on a quality regression",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--baseline", required=True, help="file written by `qk baseline save`")
    p.add_argument("--run", default=None, help="an existing run directory (otherwise the baseline's grid is run now)")
    add_grid_options(p)
    p.add_argument("--max-bd-rate", action="append", default=[], metavar="[METRIC=]PERCENT",
                   help="tolerance in percent BD-rate (default 1.0); repeat with METRIC=PERCENT per metric")  # fmt: skip
    p.add_argument("--allow-version-drift", action="store_true", help="compare even when codec or metric versions differ")
    p.add_argument("--require-all", action="store_true", help="fail (exit 2) when the run has codecs the baseline lacks")
    p.add_argument("--method", default="pchip", choices=["pchip", "cubic"], help="BD-rate interpolation")
    p.add_argument("--junit", default=None, help="write JUnit XML here")
    p.add_argument("--markdown", default=None, help="append a markdown summary here (e.g. $GITHUB_STEP_SUMMARY)")
    p.add_argument("--json", default=None, help="write the verdicts as JSON here ('-' for stdout: then only JSON goes there)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..api import gate
    from ..fsutil import atomic_write_text
    from ..gate import to_json, to_junit, to_markdown, to_text

    tolerance, per_metric = tolerances(args.max_bd_rate)
    grid = {} if args.run else grid_options(args)
    result = gate(args.baseline, args.run, max_bd_rate=tolerance, per_metric=per_metric,
                  allow_version_drift=args.allow_version_drift, require_all=args.require_all, method=args.method,
                  **grid)  # fmt: skip
    stdout_taken = "-" in (args.junit, args.markdown, args.json)
    print(to_text(result), file=sys.stderr if stdout_taken else sys.stdout)
    for path, render in ((args.junit, to_junit), (args.markdown, to_markdown), (args.json, to_json)):
        if path == "-":
            sys.stdout.write(render(result))
        elif path and render is to_markdown:
            with open(path, "a", encoding="utf-8") as f:  # GitHub's job summary is appended to
                f.write(render(result))
        elif path:
            atomic_write_text(path, render(result))
    return result.exit_code
