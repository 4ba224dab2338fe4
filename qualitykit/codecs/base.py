"""The codec interface: RGB uint8 image → ``bytes`` → RGB uint8 image.

A codec is one class with a registered ``name``, a table of ``settings`` (every
option that changes the bitstream, with its default), a default quality
``ladder`` and three methods: :meth:`Codec.encode`, :meth:`Codec.decode` and
:meth:`Codec.versions`. Instances are built from a *spec* string::

    jpeg                          every setting at its default
    jpeg:subsampling=444          one setting changed
    avif:speed=4:q=20/40/60/80    settings plus an explicit quality ladder

``q=`` takes ``/``-separated values so that a spec stays one item inside a
comma-separated ``--codecs`` list. :attr:`Codec.id` spells out every setting, so
two runs share cache entries exactly when their bitstreams would be identical.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from ..errors import BadInput


def _parse_value(key: str, text: str, default: Any) -> Any:
    kind = type(default)
    try:
        if kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        return kind(text)
    except ValueError:
        raise BadInput(f"setting {key}={text!r}: expected {kind.__name__}") from None


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_ladder(text: str) -> tuple[float, ...]:
    """``"10/25/50"`` → ``(10.0, 25.0, 50.0)``."""
    try:
        values = tuple(float(v) for v in text.split("/") if v != "")
    except ValueError:
        raise BadInput(f"quality ladder {text!r}: expected numbers separated by '/', e.g. q=10/50/90") from None
    if not values:
        raise BadInput("empty quality ladder: give e.g. q=10/50/90")
    return values


def format_quality(q: float) -> str:
    return _format_value(float(q))


class Codec(ABC):
    """Base class of every codec adapter.

    Subclasses set ``name``, ``settings`` (name → default; the default's type is
    the setting's type), ``ladder`` (default qualities, in the codec's own quality
    scale), ``quality_range`` and ``extension``, and implement the three methods.
    """

    name: ClassVar[str]
    settings: ClassVar[dict[str, Any]] = {}
    ladder: ClassVar[tuple[float, ...]]
    quality_range: ClassVar[tuple[float, float]] = (0, 100)
    extension: ClassVar[str] = "bin"
    description: ClassVar[str] = ""
    #: Setting that a bare spec part (no ``=``) sets, e.g. the model in ``neural:bmshj2018-hyperprior``.
    positional: ClassVar[str | None] = None
    #: Where compute runs, for codecs that use PyTorch (``auto``/``cpu``/``cuda``); not part of :attr:`id`.
    device: str = "auto"

    def __init__(self, **options: Any) -> None:
        unknown = set(options) - set(self.settings)
        if unknown:
            known = ", ".join(f"{k} (default {_format_value(v)})" for k, v in self.settings.items()) or "none"
            raise BadInput(f"{self.name}: unknown setting(s) {', '.join(sorted(unknown))}; known: {known}")
        self.options: dict[str, Any] = {**self.settings, **options}

    @classmethod
    def from_spec(cls, spec: str) -> tuple[Codec, tuple[float, ...]]:
        """Build a codec from ``name:key=value:...``; return it and its quality ladder."""
        name, *parts = spec.strip().split(":")
        options: dict[str, Any] = {}
        ladder = tuple(float(q) for q in cls.ladder)
        for part in parts:
            key, sep, text = part.partition("=")
            if not sep and cls.positional:
                key, text = cls.positional, part
            elif not sep or not key:
                raise BadInput(f"codec spec {spec!r}: {part!r} is not key=value")
            if key in ("q", "quality"):
                ladder = parse_ladder(text)
            elif key in cls.settings:
                options[key] = _parse_value(key, text, cls.settings[key])
            else:
                options[key] = text  # rejected with the list of known settings below
        codec = cls(**options)
        lo, hi = cls.quality_range
        bad = [q for q in ladder if not lo <= q <= hi]
        if bad:
            raise BadInput(f"{name}: quality {format_quality(bad[0])} outside {format_quality(lo)}..{format_quality(hi)}")
        return codec, ladder

    @property
    def id(self) -> str:
        """Canonical spec with every setting explicit, e.g. ``jpeg:optimize=0:progressive=0:subsampling=420``."""
        return ":".join([self.name, *(f"{k}={_format_value(self.options[k])}" for k in sorted(self.options))])

    @classmethod
    def available(cls) -> str | None:
        """``None`` when usable here, else the reason it is not (and how to fix it)."""
        return None

    def fetch(self, ladder: tuple[float, ...]) -> None:
        """Download what encoding ``ladder`` needs (model weights) when it is missing. The planner calls
        it in the main process for codecs named in ``--codecs``, before any work; ``encode`` and
        ``decode`` (in workers) must never download. No-op by default; raise
        :class:`~qualitykit.errors.Unavailable` when it cannot."""

    @abstractmethod
    def encode(self, image: np.ndarray, quality: float) -> bytes:
        """Encode an ``(H, W, 3)`` uint8 RGB image at ``quality``; return the complete file."""

    @abstractmethod
    def decode(self, data: bytes) -> np.ndarray:
        """Decode a complete file produced by :meth:`encode` to ``(H, W, 3)`` uint8 RGB."""

    @abstractmethod
    def versions(self) -> dict[str, str]:
        """Versions of every library that can change the bitstream or the decoded pixels."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"
