"""``qk datasets list|fetch|verify``."""

from __future__ import annotations

import argparse

from .. import datasets
from ..errors import BadInput, QKError

EXAMPLES = """examples:
  qk datasets list
  qk datasets fetch kodak                       # into $QK_DATA or ~/.cache/qualitykit/datasets/kodak
  qk datasets verify kodak --dir ../shared/datasets/kodak
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("datasets", help="list, fetch or verify corpora", epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("action", choices=["list", "fetch", "verify"])
    p.add_argument("name", nargs="?", help="corpus name (fetch, verify)")
    p.add_argument("--dir", default=None, help="folder to fetch into or to verify (default: the cache)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        for name, entry in datasets.catalog().items():
            try:
                where = str(datasets.resolve(name).root)
            except QKError:
                where = f"not fetched (qk datasets fetch {name})"
            print(f"{name:8} {len(entry['files']):3} images  {entry['description']}")
            print(f"         licence: {entry['licence']}\n         location: {where}")
        return 0
    if not args.name:
        raise BadInput(f"qk datasets {args.action}: name a corpus")
    if args.action == "fetch":
        print(datasets.fetch(args.name, args.dir))
        return 0
    problems = datasets.verify_dir(args.name, args.dir) if args.dir else datasets.verify(datasets.resolve(args.name))
    for p in problems:
        print(p)
    print("ok: every file matches its sha256" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0
