"""``qk``: a thin command-line layer over the Python API (:mod:`qualitykit.api`).

Each subcommand lives in its own module here, exposing ``add_parser(subparsers)``, which
registers the parser and sets ``handler`` (a function taking the parsed ``argparse.Namespace``
and returning an exit code). A handler parses, makes one API call and prints. Errors are
mapped to messages and exit codes here, in one place: a :class:`~qualitykit.errors.QKError`
prints ``qk <command>: error: <message>`` and exits 2; Ctrl-C (or SIGTERM) exits 130 saying what
was kept; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading

from .._version import __version__
from ..errors import Interrupted, QKError

COMMANDS = ("bench", "compare", "codecs", "metrics", "weights", "datasets", "report", "bdrate", "claim", "baseline", "gate")

EPILOG = """examples:
  qk bench                                   # built-in corpus, jpeg,webp,avif, the default metrics
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


def run() -> None:
    """The ``qk`` console script: :func:`main`, then exit at once.

    Tearing down PyTorch and CompressAI at interpreter exit takes seconds; everything qk writes is
    written and closed before :func:`main` returns, so the process ends with ``os._exit``.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _unexpected(args: argparse.Namespace, extra: list[str]) -> str:
    """The error for arguments a command does not take, with the likely intent (``qk bench kodak``: ``--dataset kodak``)."""
    hint = ""
    if args.command in ("bench", "gate") and not extra[0].startswith("-"):
        hint = f"; did you mean --dataset {extra[0]}?"
    return f"qk {args.command}: error: unexpected argument{'s' * (len(extra) > 1)} {' '.join(extra)}{hint} (see qk {args.command} --help)"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "command", None):
        print(_unexpected(args, extra), file=sys.stderr)
        return 2
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:  # Ctrl-C and SIGTERM stop a run cleanly, even when started from a shell that ignores them
        previous = signal.signal(signal.SIGTERM, _sigterm), signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return int(args.handler(args) or 0)
    except QKError as exc:
        print(f"qk {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        if isinstance(exc, Interrupted):
            print(f"\ninterrupted: {exc.done} of {exc.total} items finished; they are cached and the run so far "
                  f"is in {exc.run_dir}/.\nRerun the same command to finish: nothing done is computed again "
                  "(with --out, add --overwrite).", file=sys.stderr)  # fmt: skip
        else:
            print("\ninterrupted: finished items are in the cache; rerun the same command to resume", file=sys.stderr)
        return 130
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous[0])
            signal.signal(signal.SIGINT, previous[1])
