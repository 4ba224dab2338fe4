"""``qk weights``: every asset (model weights, downloaded or bundled) qk uses, what needs it, where it is."""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict

from .. import assets

WHERE = """Files are looked for in every directory of $QK_WEIGHTS_DIR (for offline machines), then in
PyTorch's hub cache $TORCH_HOME/hub/checkpoints (default ~/.cache/torch/hub/checkpoints), where
downloads go. ImageNet backbones (LPIPS, DISTS) are recognised by the content of their feature
tensors: torchvision's file or a features-only state dict, under any name. CompressAI zoo
checkpoints are recognised by their download name. Nothing downloads implicitly: only a metric
named in --metrics, a codec named in --codecs, or this command's --download fetch a file.
"""

EXAMPLES = """examples:
  qk weights                                          # every asset: where it is, or how to get it
  qk weights --download vgg16-features                # fetch one (needs internet)
  qk weights --download bmshj2018-hyperprior/mse      # every quality of a zoo model
  QK_WEIGHTS_DIR=/data/weights qk weights             # offline: files copied into a folder
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from . import HelpFormatter

    p = subparsers.add_parser(
        "weights",
        help="list (or fetch) assets: LPIPS/DISTS backbones, neural-codec weights, ...",
        description=__doc__.split("\n")[0].replace("``", "") + "\n\n" + WHERE + "\n" + EXAMPLES,
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--download", nargs="+", metavar="NAME",
        help="download these assets into the torch hub cache: an asset name, a group "
             "(a zoo model, e.g. mbt2018-mean/ms-ssim) or a file name",
    )  # fmt: skip
    p.set_defaults(handler=run)


def load_all() -> list[assets.Asset]:
    """Every asset: importing the metric and codec registries makes their modules register theirs;
    codecs that import their libraries lazily declare theirs on request."""
    from ..codecs import registry as codecs
    from ..metrics import registry as metrics

    metrics.names()
    for name in codecs.names():
        codecs.get(name).declare_assets()
    return assets.registered()


def _select(names: list[str], known: list[assets.Asset]) -> list[assets.Asset]:
    chosen: list[assets.Asset] = []
    unknown = []
    for name in names:
        hits = [a for a in known if name in (a.name, a.group, a.filename)]
        if not hits:
            unknown.append(name)
        chosen += [a for a in hits if a not in chosen]
    if unknown:
        from ..errors import UnknownName

        raise UnknownName("asset", unknown[0], sorted({a.group or a.name for a in known}))
    return chosen


def _status(group: list[assets.Asset]) -> str:
    """Where the group's files are; qualities of a zoo model on one line."""
    found = {a.name: assets.locate(a) for a in group}
    if len(group) == 1:
        a, path = group[0], found[group[0].name]
        if path is not None:
            return f"{'bundled: ' if a.kind == 'bundled' else ''}{path}"
        any_file = f", or any file holding its {a.part} tensors" if a.kind == "content" else ""
        return f"MISSING: {a.url or a.bundled}{any_file}"
    label = {a.name: a.name.rsplit("/", 1)[-1] for a in group}
    present = [a for a in group if found[a.name]]
    missing = [a for a in group if not found[a.name]]
    parts = []
    if present:
        folders = sorted({str(found[a.name].parent) for a in present})  # type: ignore[union-attr]
        kind = "bundled" if present[0].kind == "bundled" else "cached"
        parts.append(f"{kind} {' '.join(label[a.name] for a in present)} in {', '.join(folders)}")
    if missing:
        parts.append(f"missing {' '.join(label[a.name] for a in missing)} (e.g. {missing[0].url or missing[0].bundled})")
    return "; ".join(parts)


def run(args: argparse.Namespace) -> int:
    known = load_all()
    if args.download:
        for asset in _select(args.download, known):
            if assets.locate(asset) is None:
                print(f"downloading {asset.url}", file=sys.stderr)
            assets.fetch(asset)  # Unavailable (offline, bundled file missing) ends the command with its message
    print("searched, in order: " + ", ".join(str(d) for d in assets.search_dirs()))
    groups: dict[str, list[assets.Asset]] = defaultdict(list)
    for a in known:
        groups[a.group or a.name].append(a)
    width = max((len(g) for g in groups), default=0)
    users_width = max((len(", ".join(assets.users(g[0]))) for g in groups.values()), default=0)
    for name, group in groups.items():
        print(f"  {name:<{width}}  {', '.join(assets.users(group[0])):<{users_width}}  {_status(group)}")
    print(
        f"\nTo supply a file offline, copy it into a directory named by ${assets.ENV} (or {assets.hub_checkpoints()}); "
        "`qk weights --download NAME` fetches one when online."
    )
    return 0
