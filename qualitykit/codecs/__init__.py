"""Codec adapters, registered by name.

>>> from qualitykit.codecs import codec_from_spec
>>> codec, ladder = codec_from_spec("jpeg:subsampling=444:q=30/60/90")
>>> codec.id, ladder
('jpeg:optimize=0:progressive=0:subsampling=444', (30.0, 60.0, 90.0))

Third-party codecs register through the ``qualitykit.codecs`` entry-point group; learned models
from any framework through ``qualitykit.learned`` (:mod:`.learned`); encoder/decoder programs are
defined by name in a TOML/YAML file (:mod:`.external`). Tests register classes for a block only,
with ``registry.temporarily(cls)`` / ``registry.isolated()``.
"""

from __future__ import annotations

from .._registry import Registry
from ..errors import BadInput, MissingExtra, Unavailable
from ..extras import missing_extra
from .base import Codec

registry: Registry[Codec] = Registry(
    "codec",
    "qualitykit.codecs",
    builtins=(
        "qualitykit.codecs.jpeg",
        "qualitykit.codecs.webp",
        "qualitykit.codecs.avif",
        "qualitykit.codecs.jxl",
        "qualitykit.codecs.heic",
        "qualitykit.codecs.jpeg2000",
        "qualitykit.codecs.mozjpeg",
        "qualitykit.codecs.jpegli",
        "qualitykit.codecs.neural",
        "qualitykit.codecs.learned",
        "qualitykit.codecs.external",
    ),
)
register = registry.register


def codec_from_spec(spec: str) -> tuple[Codec, tuple[float, ...]]:
    """Build a codec and its quality ladder from a spec such as ``avif:speed=4:q=20/50/80``."""
    name = spec.split(":", 1)[0].strip()
    cls = registry.get(name)
    missing = missing_extra(cls.extra)
    if missing:
        raise MissingExtra(f"codec {name} {missing}")
    why = cls.available()
    if why:
        raise Unavailable(f"{name}: {why}")
    return cls.from_spec(spec)


def split_specs(text: str, option: str = "--codecs", what: str = "codec") -> list[str]:
    """Split a comma-separated option value (``--codecs jpeg,avif:speed=4:q=20/40``, or ``--metrics
    psnr,ssim`` with ``option``/``what`` saying so) into its items; none at all is refused, naming
    the option."""
    specs = [s.strip() for s in text.split(",") if s.strip()]
    if not specs:
        raise BadInput(f"{option} {text!r}: no {what} given; list one or more, separated by commas")
    return specs


__all__ = ["Codec", "codec_from_spec", "registry", "register", "split_specs"]
