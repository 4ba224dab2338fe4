"""``qk``: a thin command-line layer over the Python API.

Each subcommand lives in its own module here, exposing ``add_parser(subparsers)``
which registers the parser and sets ``handler`` (a function taking the parsed
``argparse.Namespace`` and returning an exit code). Add a command by adding a
module and its name to ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from ..errors import QKError

COMMANDS = ("bench", "compare", "codecs", "metrics", "weights", "datasets", "report", "bdrate", "baseline", "gate")

EPILOG = """examples:
  qk bench                                   # built-in corpus, jpeg,webp,avif, the default metric set
  qk bench --dataset kodak --codecs jpeg,avif:speed=4 --metrics psnr,ms-ssim
  qk codecs                                  # what is available, and why not
"""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps example blocks in descriptions and epilogs as written."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qk",
        description="qualitykit: how much smaller, at the same visual quality?",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"qualitykit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except QKError as exc:
        print(f"qk {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: finished items are in the cache; rerun the same command to resume", file=sys.stderr)
        return 130
