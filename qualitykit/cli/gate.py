"""``qk gate``: fail a CI build when quality per byte regresses against a committed baseline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .bench import add_common, run_grid

EXAMPLES = """examples:
  qk gate --baseline quality/baseline.json                        # rerun the baseline's codecs/metrics/dataset
  qk gate --baseline quality/baseline.json --run reports/pr-123    # judge an existing run
  qk gate --baseline b.json --max-bd-rate 0.5 --max-bd-rate vmaf=2 --junit gate.xml --markdown "$GITHUB_STEP_SUMMARY"

Exit status: 0 pass (improvements included), 1 quality regression, 2 inputs not comparable
(different images, missing codecs or metrics, version drift, BD-rate not computable).
"""


def _tolerances(values: list[str]) -> tuple[float, dict[str, float]]:
    default, per_metric = None, {}
    for v in values:
        name, sep, number = v.rpartition("=")
        try:
            if sep:
                per_metric[name] = float(number)
            else:
                default = float(number)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--max-bd-rate {v!r}: give PERCENT or METRIC=PERCENT") from None
    from ..gate import DEFAULT_TOLERANCE

    return (DEFAULT_TOLERANCE if default is None else default), per_metric


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gate", help="compare a run with a baseline; exit 1 on a quality regression",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--baseline", required=True, help="file written by `qk baseline save`")
    p.add_argument("--run", default=None, help="an existing run directory (otherwise the grid is run now)")
    add_common(p)
    p.set_defaults(codecs=None, metrics=None)
    p.add_argument("--out", default=None, help="run directory when the gate runs the grid")
    p.add_argument("--max-bd-rate", action="append", default=[], metavar="[METRIC=]PERCENT",
                   help="tolerance in percent BD-rate (default 1.0); repeat with METRIC=PERCENT per metric")  # fmt: skip
    p.add_argument("--allow-version-drift", action="store_true", help="compare even when codec or metric versions differ")
    p.add_argument("--method", default="pchip", choices=["pchip", "cubic"], help="BD-rate interpolation")
    p.add_argument("--junit", default=None, help="write JUnit XML here")
    p.add_argument("--markdown", default=None, help="write a markdown summary here (e.g. $GITHUB_STEP_SUMMARY)")
    p.add_argument("--json", default=None, help="write the verdicts as JSON here ('-' for stdout)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..analysis import Run
    from ..errors import QKError
    from ..gate import gate, load_baseline, to_json, to_junit, to_markdown, to_text

    try:
        tolerance, per_metric = _tolerances(args.max_bd_rate)
        baseline = load_baseline(args.baseline)
    except (argparse.ArgumentTypeError, QKError) as exc:
        print(f"qk gate: {exc}", file=sys.stderr)
        return 2
    if args.run:
        run_dir = Path(args.run)
    else:
        args.codecs = args.codecs or ",".join(c["spec"] for c in baseline["codecs"])
        args.metrics = args.metrics or ",".join(baseline["metrics"])
        args.dataset = args.dataset or baseline["dataset"]["name"]
        args.quiet = True
        results, status = run_grid(args, args.out)
        if results is None:
            return status
        run_dir = Path(results.attrs["run_dir"])
    try:
        result = gate(baseline, Run.load(run_dir), tolerance, per_metric, args.allow_version_drift, args.method)
    except (QKError, FileNotFoundError, ValueError) as exc:
        print(f"qk gate: {exc}", file=sys.stderr)
        return 2
    print(to_text(result))
    for path, render in ((args.junit, to_junit), (args.markdown, to_markdown), (args.json, to_json)):
        if path == "-":
            print(render(result))
        elif path:
            with open(path, "a" if render is to_markdown else "w") as f:
                f.write(render(result))
    return result.exit_code
