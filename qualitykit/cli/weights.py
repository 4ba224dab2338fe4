"""``qk weights``: the pretrained weight files qualitykit uses, whether each is present and where."""

from __future__ import annotations

import argparse
import sys

from .. import weights

WHERE = """Each file is looked for in every directory of $QK_WEIGHTS_DIR (for offline machines),
then in PyTorch's hub cache $TORCH_HOME/hub/checkpoints (default ~/.cache/torch/hub/checkpoints).
Nothing downloads implicitly: a missing file makes its metric or codec unavailable.
"""

EXAMPLES = """examples:
  qk weights                                   # what is cached, and where qk looks
  qk weights --download                        # fetch every missing file (needs internet)
  qk weights --download alexnet-owt-7be5be79.pth
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from . import HelpFormatter

    p = subparsers.add_parser(
        "weights",
        help="list (or fetch) pretrained weight files: LPIPS backbones, ...",
        description=__doc__.split("\n")[0].replace("``", "") + "\n\n" + WHERE + "\n" + EXAMPLES,
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--download", nargs="*", metavar="FILE",
        help="download these files (default: every missing one) into the torch hub cache",
    )  # fmt: skip
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    files = weights.registered()
    if args.download is not None:
        known = {w.filename: w for w in files}
        unknown = [f for f in args.download if f not in known]
        if unknown:
            print(
                f"qk weights: error: unknown file(s) {', '.join(unknown)} (known: {', '.join(known)})", file=sys.stderr
            )
            return 2
        for w in [known[f] for f in args.download] or files:
            if weights.locate(w) is None:
                print(f"downloading {w.url}", file=sys.stderr)
                try:
                    weights.download(w)
                except Exception as exc:  # offline, HTTP error, hash mismatch
                    print(f"qk weights: error: {w.filename}: {exc}", file=sys.stderr)
                    return 1
    print("searched, in order: " + ", ".join(str(d) for d in weights.search_dirs()))
    width = max((len(w.filename) for w in files), default=0)
    for w in files:
        path = weights.locate(w)
        where = str(path) if path else f"missing ({w.url})"
        print(f"  {w.filename:<{width}}  {w.used_by:<40}  {where}")
    return 0
