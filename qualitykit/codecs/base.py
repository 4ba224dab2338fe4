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

import difflib
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from ..errors import BadInput, UnknownName
from ..extras import missing_extra


@dataclass(frozen=True)
class Setting:
    """One codec setting, declared: its default (whose type is the setting's type) and what it allows.

    ``choices``: every value the codec knows; ``range``: inclusive ``(low, high)`` for numbers;
    ``available``: a callable returning the subset of ``choices`` (or a narrower ``(low, high)``
    range) that the *installed* library supports, evaluated when a codec is built, so a value the
    library here lacks is refused by name instead of failing on the first image. A plain default
    in a codec's ``settings`` table (``{"sigma": 0.0}``) is a :class:`Setting` with no constraint.
    """

    default: Any
    choices: tuple[Any, ...] | None = None
    range: tuple[float, float] | None = None
    available: Callable[[], Sequence[Any] | tuple[float, float]] | None = None
    help: str = ""

    @property
    def type(self) -> type:
        return type(self.default)

    def parse(self, key: str, text: str) -> Any:
        """Text from a spec → a value of this setting's type (not yet checked against the constraints)."""
        return _parse_value(key, text, self.default)

    def check(self, codec: str, key: str, value: Any) -> Any:
        """Return ``value`` (converted to the setting's type) or raise :class:`BadInput` saying why.

        A value the codec knows but the library installed here lacks is refused too (not skipped):
        the run asked for that bitstream, and no other would be the same.
        """
        if not isinstance(value, self.type) or (self.type is not bool and isinstance(value, bool)):
            if isinstance(value, str):
                value = self.parse(key, value)
            elif self.type is str and isinstance(value, (int, float)) and not isinstance(value, bool):
                value = _format_value(value)  # subsampling=444 from Python means "444"
            elif self.type is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            else:
                raise BadInput(f"{codec}: setting {key}={value!r}: expected {self.type.__name__}")
        if self.choices is not None and value not in self.choices:
            close = difflib.get_close_matches(str(value), [str(c) for c in self.choices], n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise BadInput(f"{codec}: {key}={_format_value(value)} is not allowed{hint} (use one of {_listing(self.choices)})")
        if self.range is not None and not self.range[0] <= value <= self.range[1]:
            raise BadInput(f"{codec}: {key}={_format_value(value)} is outside {_format_value(self.range[0])}..{_format_value(self.range[1])}")
        if self.available is not None:
            here = self.available()
            if self.choices is not None:
                if value not in here:
                    raise BadInput(
                        f"{codec}: {key}={_format_value(value)} is not supported by the library installed here "
                        f"(available here: {_listing(here) or 'none'})"
                    )
            elif not here[0] <= value <= here[1]:  # type: ignore[index]
                raise BadInput(f"{codec}: {key}={_format_value(value)} is outside what the library here supports, "
                                  f"{_format_value(here[0])}..{_format_value(here[1])}")  # type: ignore[index]  # fmt: skip
        return value

    def describe(self) -> str:
        """``speed=6 (0..10)`` / ``subsampling=420 (444|422|420)`` for listings."""
        allowed = ""
        if self.choices is not None:
            allowed = f" ({'|'.join(_format_value(c) for c in self.choices)})"
        elif self.range is not None:
            allowed = f" ({_format_value(self.range[0])}..{_format_value(self.range[1])})"
        return f"{_format_value(self.default)}{allowed}"


def _listing(values: Sequence[Any]) -> str:
    return ", ".join(_format_value(v) for v in values)


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
    """``"10/25/50"`` → ``(10.0, 25.0, 50.0)``; an empty ladder or an empty element (``30/``,
    ``30//50``) is refused rather than skipped."""
    if not text.strip():
        raise BadInput("empty quality ladder: give e.g. q=10/50/90")
    parts = text.split("/")
    if any(not p.strip() for p in parts):
        raise BadInput(f"quality ladder {text!r} has an empty element; give numbers separated by '/', e.g. q=10/50/90")
    try:
        return tuple(float(v) for v in parts)
    except ValueError:
        raise BadInput(f"quality ladder {text!r}: expected numbers separated by '/', e.g. q=10/50/90") from None


def bits_per_pixel(n_bytes: Any, width: Any, height: Any) -> Any:
    """Bits per pixel of a file of ``n_bytes`` bytes coding a ``width`` × ``height`` image: the whole
    file (container and headers included) × 8 over the pixel count — the ``bpp`` column of
    results.csv, targets.csv and baselines. Numbers, numpy arrays or pandas columns alike."""
    return n_bytes * 8 / (width * height)


def format_quality(q: float) -> str:
    return _format_value(float(q))


class Codec(ABC):
    """Base class of every codec adapter.

    Subclasses set ``name``, ``settings`` (name → :class:`Setting` with the allowed choices or
    range, or name → a plain default, which becomes an unconstrained :class:`Setting` when the
    class is defined; the default's type is the setting's type: ``settings`` always holds
    :class:`Setting` objects, :meth:`defaults` the bare defaults), ``renamed`` (old setting name →
    new, still accepted with a :class:`FutureWarning`), ``ladder`` (default
    qualities, in the codec's own quality scale, ordered from fewest to most bytes),
    ``quality_range``, ``quality_integer`` (the encoder only takes whole numbers: ``q=50.5`` is
    refused rather than rounded into an id that lies) and ``extension`` (the file name extension
    of the bitstream, used when a bitstream is written to a file), and implement the three
    methods. Validation is declared, not coded: :meth:`__init__` checks every setting against its
    :class:`Setting` and :meth:`from_spec` checks the ladder, before any image is touched.
    """

    name: ClassVar[str]
    #: Every setting that changes the bitstream, as :class:`Setting` objects (a plain default given in
    #: a subclass is turned into one when the class is defined).
    settings: ClassVar[dict[str, Setting]] = {}
    #: Setting names a codec used to have → the name now (still accepted, with a warning).
    renamed: ClassVar[dict[str, str]] = {}
    ladder: ClassVar[tuple[float, ...]]
    quality_range: ClassVar[tuple[float, float]] = (0, 100)
    quality_integer: ClassVar[bool] = False
    extension: ClassVar[str] = "bin"
    description: ClassVar[str] = ""
    #: Setting that a bare spec part (no ``=``) sets, e.g. the model in ``neural:bmshj2018-hyperprior``.
    positional: ClassVar[str | None] = None
    #: Where compute runs, for codecs that use PyTorch (``auto``/``cpu``/``cuda``); not part of :attr:`id`.
    device: str = "auto"
    #: Computes with PyTorch (honours ``device``); a run imports PyTorch only when something does.
    uses_torch: ClassVar[bool] = False
    #: The pip extra it cannot run without (``"learned"``: PyTorch; :mod:`qualitykit.extras`), or ``None``.
    extra: ClassVar[str | None] = None
    #: The only qualities it takes, fewest bytes first, for a codec with a few trained rate points
    #: (learned models); ``None``: any quality in :attr:`quality_range`. The equal-quality search
    #: reads it (:func:`qualitykit.equal_quality.codec_scale`).
    qualities: tuple[float, ...] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "settings" not in cls.__dict__:
            return
        inherited: dict[str, Setting] = {}
        for base in reversed(cls.__mro__[1:]):
            inherited.update(base.__dict__.get("settings", {}))
        specs: dict[str, Setting] = {}
        for key, value in cls.__dict__["settings"].items():
            if isinstance(value, Setting):
                specs[key] = value
            elif key in inherited:  # a subclass changing a default keeps the parent's constraints
                specs[key] = replace(inherited[key], default=value)
            else:
                specs[key] = Setting(value)
        cls.settings = specs

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Setting name → default value."""
        return {k: s.default for k, s in cls.settings.items()}

    def __init__(self, **options: Any) -> None:
        options = self._new_names(options)
        unknown = sorted(set(options) - set(self.settings))
        if unknown:
            raise UnknownName(_unknown_settings(self.name, unknown, self.settings))
        self.options: dict[str, Any] = {
            key: spec.check(self.name, key, options.get(key, spec.default)) for key, spec in self.settings.items()
        }

    @classmethod
    def _new_names(cls, options: dict[str, Any]) -> dict[str, Any]:
        """``options`` with every :attr:`renamed` setting under its new name (warning once per use)."""
        out = dict(options)
        for old, new in cls.renamed.items():
            if old not in out:
                continue
            if new in out:
                raise BadInput(f"{cls.name}: {old} and {new} are the same setting ({old} is its old name); give {new} once")
            warnings.warn(f"{cls.name}: setting {old!r} is now called {new!r}; "
                          f"write {new}={_format_value(out[old])}", FutureWarning, stacklevel=3)  # fmt: skip
            out[new] = out.pop(old)
        return out

    @classmethod
    def from_spec(cls, spec: str) -> tuple[Codec, tuple[float, ...]]:
        """Build a codec from ``name:key=value:...``; return it and its quality ladder (both checked)."""
        name, *parts = spec.strip().split(":")
        options: dict[str, Any] = {}
        ladder = tuple(float(q) for q in cls.ladder)
        given: set[str] = set()
        for part in parts:
            key, sep, text = part.partition("=")
            if not sep and cls.positional:
                key, text = cls.positional, part
            elif not sep or not key:
                raise BadInput(f"codec spec {spec!r}: {part!r} is not key=value")
            same = "q" if key in ("q", "quality") else key  # q= and quality= are one setting
            if same in given:
                raise BadInput(f"codec spec {spec!r}: {key} is given twice; give each setting once")
            given.add(same)
            if same == "q":
                ladder = parse_ladder(text)
            elif cls.renamed.get(key, key) in cls.settings:
                options[key] = cls.settings[cls.renamed.get(key, key)].parse(key, text)
            else:
                options[key] = text  # rejected with the list of known settings below
        codec = cls(**options)
        codec.check_ladder(ladder)
        return codec, ladder

    def check_ladder(self, ladder: Sequence[float]) -> None:
        """Refuse qualities outside :attr:`quality_range`, fractions on an integer scale and repeats."""
        lo, hi = self.quality_range
        bad = [q for q in ladder if not lo <= q <= hi]
        if bad:
            raise BadInput(f"{self.name}: quality {format_quality(bad[0])} outside {format_quality(lo)}..{format_quality(hi)}")
        if self.quality_integer:
            frac = [q for q in ladder if not float(q).is_integer()]
            if frac:
                raise BadInput(f"{self.name}: quality {format_quality(frac[0])} is not a whole number ({self.name}'s scale is integer)")
        seen: set[float] = set()
        repeats = [q for q in ladder if q in seen or seen.add(q)]  # type: ignore[func-returns-value]
        if repeats:
            listed = "/".join(format_quality(q) for q in ladder)
            raise BadInput(f"{self.name}: quality {format_quality(repeats[0])} is repeated in the ladder q={listed}")

    @property
    def id(self) -> str:
        """Canonical spec with every setting explicit, e.g. ``jpeg:optimize=0:progressive=0:subsampling=420``."""
        return ":".join([self.name, *(f"{k}={_format_value(self.options[k])}" for k in sorted(self.options))])

    @classmethod
    def declare_assets(cls) -> None:
        """Register the files this codec may need with :mod:`qualitykit.assets` (``qk weights`` calls
        it); a codec whose module registers them at import, or that needs none, does nothing."""

    @classmethod
    def available(cls) -> str | None:
        """``None`` when usable here, else the reason it is not (and how to fix it)."""
        return None

    @classmethod
    def why_unavailable(cls) -> str | None:
        """``None`` when usable here, else why not: first a missing extra (checked without importing
        it), then :meth:`available`. Every caller that decides whether it can run asks this."""
        return missing_extra(cls.extra) or cls.available()

    def fetch(self, ladder: tuple[float, ...]) -> None:
        """Download what encoding ``ladder`` needs (model weights) when it is missing. The planner calls
        it in the main process for codecs named in ``--codecs``, before any work; ``encode`` and
        ``decode`` (in workers) must never download. No-op by default; raise
        :class:`~qualitykit.errors.Unavailable` when it cannot."""

    @abstractmethod
    def encode(self, image: np.ndarray, q: float) -> bytes:
        """Encode an ``(H, W, 3)`` uint8 RGB image at quality ``q`` (the codec's own scale, the ``q=`` of a
        spec and the ``q`` column of results); return the complete file."""

    @abstractmethod
    def decode(self, data: bytes) -> np.ndarray:
        """Decode a complete file produced by :meth:`encode` to ``(H, W, 3)`` uint8 RGB."""

    @abstractmethod
    def versions(self) -> dict[str, str]:
        """Versions of every library that can change the bitstream or the decoded pixels."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"


def _unknown_settings(codec: str, unknown: Sequence[str], known: dict[str, Setting]) -> str:
    """``jpeg: unknown setting(s) subsampling2; did you mean 'subsampling'? known: ...``."""
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
        if close:
            hints.append(f"{key} → did you mean {close[0]!r}?")
    listing = ", ".join(f"{k}={s.describe()}" for k, s in known.items()) or "none"
    hint = f" ({'; '.join(hints)})" if hints else ""
    return f"{codec}: unknown setting(s) {', '.join(unknown)}{hint}; known: {listing}"
