"""Learned codecs from anywhere (not only CompressAI): plugin objects with ``compress``/``decompress``.

A *learned model* is any Python object with this interface (:class:`LearnedModel`)::

    name: str                                    # stable identifier of the model and its weights
    qualities: Sequence[int]                     # its rate points, fewest bytes first (e.g. (1, 2, 3, 4))
    def compress(self, image, quality) -> bytes  # image: (H, W, 3) uint8 RGB numpy array, C-contiguous
    def decompress(self, data) -> ndarray        # → (H, W, 3) uint8 RGB, from ``data`` alone
    def versions(self) -> dict[str, str]         # optional: code and weight versions (e.g. a weights sha256)

The bytes ``compress`` returns are the whole file: ``decompress`` gets nothing else (no shapes,
no side information, no quality — put what the decoder needs in the bytes, as a real codec
does), and qk counts every byte. qk decodes in a fresh codec object, in another process, and
from the cache, so a model that keeps state between the two calls fails there.

Two ways to name a model in a spec (``learned:MODEL[:q=...]``):

* an entry point in the ``qualitykit.learned`` group, e.g. in the model package's pyproject::

      [project.entry-points."qualitykit.learned"]
      my-model = "my_package.codec:MyModel"

  then ``learned:my-model:q=1/2/3``;
* a dotted path to the object, ``learned:my_package.codec.MyModel`` (importable from ``sys.path``).

A class, or a factory function (anything callable without ``compress``), is called without
arguments, once per process; an instance is used as is. Where it runs (CPU/GPU) is the model's business.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
from importlib import metadata
from typing import Any, Protocol, runtime_checkable

import numpy as np

from . import register
from ..errors import BadInput, UnknownName
from .base import Codec, format_quality

GROUP = "qualitykit.learned"


@runtime_checkable
class LearnedModel(Protocol):
    """What a learned-codec plugin provides; see the module docstring."""

    name: str
    qualities: Sequence[int]

    def compress(self, image: np.ndarray, quality: int) -> bytes: ...

    def decompress(self, data: bytes) -> np.ndarray: ...


def entry_point_models() -> dict[str, str]:
    """Models registered in the ``qualitykit.learned`` entry-point group: name → ``module:attr``."""
    return {ep.name: ep.value for ep in metadata.entry_points(group=GROUP)}


def _import_dotted(path: str) -> Any:
    """``pkg.mod.attr`` (or ``pkg.mod.Class.attr``): import the longest module prefix, then getattr."""
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError as exc:
            if exc.name and not ".".join(parts[:i]).startswith(exc.name):
                raise  # the module exists but one of *its* imports is missing: say so
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(path)


@functools.cache
def load_model(name: str) -> Any:
    """The model object for ``name`` (entry point or dotted path), built once per process and checked."""
    eps = {ep.name: ep for ep in metadata.entry_points(group=GROUP)}
    try:
        if name in eps:
            obj = eps[name].load()
        elif "." in name:
            obj = _import_dotted(name)
        else:
            raise UnknownName("learned model", name, eps)
    except (ImportError, AttributeError) as exc:
        raise BadInput(f"learned: cannot load model {name!r}: {type(exc).__name__}: {exc}") from None
    if isinstance(obj, type) or (not hasattr(obj, "compress") and callable(obj)):
        obj = obj()  # a class or a factory: one instance per process
    missing = [a for a in ("name", "qualities", "compress", "decompress") if not hasattr(obj, a)]
    if missing:
        raise BadInput(f"learned: {name} ({type(obj).__name__}) lacks {', '.join(missing)}; see qualitykit.codecs.learned.LearnedModel")
    if not callable(obj.compress) or not callable(obj.decompress):
        raise BadInput(f"learned: {name}: compress and decompress must be methods")
    qualities = tuple(obj.qualities)
    if not qualities or len(set(qualities)) != len(qualities):
        raise BadInput(f"learned: {name}: qualities must be a non-empty list without repeats, got {qualities}")
    return obj


@register
class Learned(Codec):
    """A learned codec supplied by a plugin object (entry point ``qualitykit.learned`` or dotted path).

    ``q=`` is the model's own quality index (one of its ``qualities``; the default ladder is all
    of them). The bitstream is exactly what the model's ``compress`` returns.
    """

    name = "learned"
    extension = "bin"
    description = "learned codecs from plugins (compress/decompress objects; entry points qualitykit.learned)"
    settings = {"model": ""}
    positional = "model"
    ladder = ()
    quality_range = (float("-inf"), float("inf"))

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if not self.options["model"]:
            known = ", ".join(entry_point_models()) or "none installed"
            raise BadInput(f"learned: name a model, e.g. learned:MODEL or learned:my_pkg.module.Model (entry points: {known})")
        self.model = load_model(self.options["model"])
        self.qualities = tuple(float(q) for q in self.model.qualities)

    @classmethod
    def from_spec(cls, spec: str) -> tuple[Codec, tuple[float, ...]]:
        """As :meth:`Codec.from_spec`; the default ladder is every quality the model has."""
        has_ladder = any(p.startswith(("q=", "quality=")) for p in spec.split(":")[1:])
        codec, ladder = super().from_spec(spec)
        if not has_ladder:
            ladder = codec.qualities  # type: ignore[attr-defined]
            codec.check_ladder(ladder)
        return codec, ladder

    def check_ladder(self, ladder: Sequence[float]) -> None:
        super().check_ladder(ladder)
        bad = [q for q in ladder if q not in self.qualities]
        if bad:
            have = "/".join(format_quality(q) for q in self.qualities)
            raise BadInput(f"learned: quality {format_quality(bad[0])} is not one of {self.options['model']}'s qualities {have}")

    def encode(self, image: np.ndarray, q: float) -> bytes:
        whole = int(q) if float(q).is_integer() else q  # a model's integer rate points get an int
        data = self.model.compress(np.ascontiguousarray(image), whole)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"learned: {self.options['model']}.compress returned {type(data).__name__}, not bytes")
        return bytes(data)

    def decode(self, data: bytes) -> np.ndarray:
        out = self.model.decompress(bytes(data))
        out = np.asarray(out)
        if out.ndim != 3 or out.shape[2] != 3 or out.dtype != np.uint8:
            raise TypeError(f"learned: {self.options['model']}.decompress returned {out.shape} {out.dtype}, not (H, W, 3) uint8")
        return out

    def versions(self) -> dict[str, str]:
        out = {"model": str(self.model.name)}
        versions = getattr(self.model, "versions", None)
        if callable(versions):
            out.update({str(k): str(v) for k, v in versions().items()})
        module = type(self.model).__module__.split(".")[0]
        try:
            out.setdefault("package", f"{module} {metadata.version(module)}")
        except metadata.PackageNotFoundError:
            pass
        return out
