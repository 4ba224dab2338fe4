"""``qk claim RUN_DIR "CLAIM"``: check claimed savings against a run (BD-rate, and equal-quality targets)."""

from __future__ import annotations

import argparse
import json

from ..errors import BadInput

DESCRIPTION = """Check savings claimed for a codec against a run's measurements.

A claim: CODEC vs ANCHOR LO..HI % [, ANCHOR LO..HI %]... [at equal METRIC[, METRIC]...]; several claims
are separated by ';'. For each claim, anchor and metric, the measured saving (−BD-rate, and at every
equal-quality target of the run on that metric: 1 − Σbytes/Σbytes) and its 95 % bootstrap interval over
images give a verdict:
  confirmed     the whole interval lies inside the claimed range
  exceeded      the whole interval lies above the claimed range (a larger saving than claimed)
  contradicted  the whole interval lies below the claimed range (a smaller saving, or more bytes)
  inconclusive  the interval straddles a bound of the range
  not measured  no number (metric not in the run, no overlap...), with the reason
A YAML file of claims: --file (docs/claims.md).

exit status (the first that applies):
  1 a row contradicted; 3 a row inconclusive; 4 a row not measured; 5 a row exceeded;
  0 every row confirmed; 2 bad input (a run or claim that cannot be read)

examples:
  qk claim reports/kodak-20261127 "neural vs jpeg 40..60 %, webp 20..30 %, avif 10..20 % at equal ms-ssim, vmaf, lpips"
  qk claim reports/kodak-20261127 --example ai-codecs --markdown claims.md
  qk claim reports/kodak-20261127 --file claims.yaml --json
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from . import HelpFormatter
    from ..claims import EXAMPLES

    p = subparsers.add_parser("claim", help="check claimed savings (e.g. '40..60 % smaller than JPEG') against a run",
                              description=DESCRIPTION, formatter_class=HelpFormatter)  # fmt: skip
    p.add_argument("run_dir", metavar="RUN_DIR", help="a qk run directory")
    p.add_argument("claim", nargs="?", metavar="CLAIM", help="claims in the one-line syntax (quote them)")
    p.add_argument("--file", metavar="YAML", help="claims from a YAML file")
    p.add_argument("--example", choices=sorted(EXAMPLES), help="a built-in claim: " +
                   "; ".join(f"{k}: {v}" for k, v in EXAMPLES.items()).replace("%", "%%"))  # fmt: skip
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="bootstrap resamples (default: 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    p.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..claims import EXAMPLES, check_claims, load_claims

    given = [x for x in (args.claim, args.file, args.example) if x]
    if len(given) != 1:
        raise BadInput("give one of: a CLAIM, --file YAML or --example NAME")
    claims = load_claims(args.file) if args.file else (EXAMPLES[args.example] if args.example else args.claim)
    check = check_claims(args.run_dir, claims, n_boot=args.bootstrap, seed=args.seed)
    if args.markdown:
        from ..fsutil import atomic_write_text

        atomic_write_text(args.markdown, check.markdown() + "\n")
    if args.json:
        rows = check.table.astype(object).where(check.table.notna(), None).to_dict("records")
        print(json.dumps({"settings": check.settings, "rows": rows}, indent=2))
    else:
        print(check.text())
        import textwrap

        counts = check.table["verdict"].value_counts()
        print("\n" + ", ".join(f"{n} {v}" for v, n in counts.items()) + f". Exit status {check.exit_code}.")
        print(textwrap.fill(check.settings["verdict"][0].upper() + check.settings["verdict"][1:] + ".", 100))
    return check.exit_code
