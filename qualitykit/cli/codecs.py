"""``qk codecs``: the codecs this machine can run, their libraries, settings and ladders."""

from __future__ import annotations

import argparse

from ..codecs import registry
from ..codecs.base import format_quality


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("codecs", help="list codecs, their libraries and versions, settings, default ladders, and why any is unavailable",
                       epilog="examples:\n  qk codecs\n  qk codecs --codec-file codecs.toml   # with external-command codecs",
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--codec-file", action="append", default=[], metavar="FILE",
                   help="TOML/YAML file defining external-command codecs (docs/external-codecs.md); repeatable")  # fmt: skip
    p.set_defaults(handler=run)


def _versions(cls: type) -> str:
    """``libavif 1.4.2, …`` from a default instance; codecs that need a model name say so instead."""
    try:
        versions = cls().versions()
    except Exception as exc:  # e.g. ``learned`` needs a model to say anything
        return f"(per model: {exc})" if cls.name == "learned" else f"(could not build the default: {exc})"
    return ", ".join(f"{k} {v}" for k, v in versions.items())


def run(args: argparse.Namespace) -> int:
    from ..codecs.external import load_codec_file

    for path in args.codec_file:
        load_codec_file(path)
    for name in registry.names():
        cls = registry.get(name)
        why = cls.why_unavailable()
        print(f"{name:9} {'available' if why is None else 'UNAVAILABLE: ' + why}  — {cls.description}")
        settings = " ".join(f"{k}={s.describe()}" for k, s in cls.settings.items())
        ladder = "/".join(format_quality(q) for q in cls.ladder) or "(the model's qualities)"
        print(f"          settings: {settings or '-'}")
        print(f"          ladder: q={ladder}   file: .{cls.extension}")
        if why is None:
            print("          versions: " + _versions(cls))
        if name == "learned":
            from ..codecs.learned import entry_point_models

            models = entry_point_models()
            print("          models (entry points qualitykit.learned): " + (", ".join(models) or "none installed"))
    for name, why in registry.broken().items():
        print(f"{name:9} UNAVAILABLE: {why}")
    return 0
