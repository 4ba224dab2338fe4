"""The metric interface: a batch of (reference, distorted) pairs → one value per pair.

Every metric takes RGB uint8 arrays of shape ``(H, W, 3)``; each pair must share
its shape. A metric states its conventions (colour space, data range, pooling) in
its docstring, whether higher is better, and a ``version`` string that enters
cache keys — change it whenever the numbers a metric returns may change.

:meth:`Metric.compute` is the one entry point: it validates the batch once (as many
references as distorted images, each ``(H, W, 3)`` uint8, each pair of one shape, each side
at least ``min_side``), then calls the metric's own kernel, :meth:`Metric._compute` (piq's
``_validate_input``, torchmetrics' ``update``), and checks that one value per pair came back.

Metrics that share one expensive pass (e.g. everything libvmaf computes) set the
same ``shared_pass``; :func:`qualitykit.metrics.evaluate` then hands them to
:meth:`Metric.compute_family` together, which validates the same way and calls the
shared kernel, :meth:`Metric._compute_family`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

import numpy as np

from ..errors import BadInput
from ..extras import missing_extra


def check_pair(ref: np.ndarray, dist: np.ndarray, min_side: int = 1, metric: str = "") -> None:
    """Raise :class:`BadInput` unless both are ``(H, W, 3)`` uint8 of one shape, each side ≥ ``min_side``."""
    for label, a in (("reference", ref), ("distorted", dist)):
        if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
            raise BadInput(f"{metric}: {label} image must be (H, W, 3) uint8, got {a.shape} {a.dtype}")
    if ref.shape != dist.shape:
        raise BadInput(f"{metric}: shapes differ, reference {ref.shape[:2]} vs distorted {dist.shape[:2]}")
    if min(ref.shape[:2]) < min_side:
        raise BadInput(
            f"{metric}: image is {ref.shape[1]}x{ref.shape[0]} px; needs at least {min_side} px on each side"
        )


def check_batch(refs: Sequence[np.ndarray], dists: Sequence[np.ndarray], min_side: int = 1, metric: str = "") -> None:
    """Raise :class:`BadInput` unless there are as many references as distorted images and every
    pair passes :func:`check_pair` (``zip`` would silently drop the extra images)."""
    if len(refs) != len(dists):
        raise BadInput(f"{metric}: {len(refs)} reference image(s) but {len(dists)} distorted image(s); give one of each per pair")
    for r, d in zip(refs, dists):
        check_pair(np.asarray(r), np.asarray(d), min_side, metric)


def group_by_shape(images: Sequence[np.ndarray]) -> dict[tuple[int, ...], list[int]]:
    """Indices of ``images`` grouped by shape, so each group can be stacked into one batch."""
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for i, image in enumerate(images):
        groups[image.shape].append(i)
    return dict(groups)


def by_reference(refs: Sequence[np.ndarray], indices: Sequence[int] | None = None) -> list[list[int]]:
    """``indices`` of ``refs`` (default: all) grouped by reference — the same array object, as the
    runner passes one image's ladder — in order of first appearance, so a metric can compute what
    depends on the reference alone once per group."""
    groups: dict[int, list[int]] = {}
    for i in range(len(refs)) if indices is None else indices:
        groups.setdefault(id(refs[i]), []).append(i)
    return list(groups.values())


def batches(images: Sequence[np.ndarray], max_pixels: int) -> Iterator[list[int]]:
    """Indices of ``images`` in batches of one shape, each holding at most ``max_pixels`` pixels
    (at least one image), so a metric can stack each batch and bound its memory."""
    for (h, w, *_), indices in group_by_shape(images).items():
        step = max(1, max_pixels // (h * w))
        for start in range(0, len(indices), step):
            yield indices[start : start + step]


@dataclass(frozen=True)
class Reference:
    """What a metric's numbers equal, as one test proves — the row of qk's table of references (the
    README metric table and ``qk metrics`` are generated from these).

    ``implementation``: the independent code the scores are compared with (a package's function, a
    tool's command line); ``version``: its version (or commit); ``tolerance``: the largest absolute
    difference per pair the equality test allows, in the metric's unit (the test reads it from here:
    ``tests/conftest.py::tolerance``); ``checked_on``: the images the test compares on; ``test``:
    that test, ``tests/FILE.py::FUNCTION`` (the function that asserts, which calls ``tolerance``);
    ``note``: what else a reader should know (e.g. a mean difference far below the bound).
    """

    implementation: str
    version: str
    tolerance: float | None
    checked_on: str
    test: str = ""
    note: str = ""

    def summary(self, unit: str = "") -> str:
        """``CompressAI compute_metrics 'psnr-rgb', version 1.2.8, to 1e-05 dB``: what it equals, how closely."""
        if self.tolerance is None:  # prose a manifest of an older qk recorded
            return self.implementation
        tol = "exactly" if self.tolerance == 0 else f"to {self.tolerance:g}{' ' + unit if unit else ''}"
        version = f", version {self.version}" if self.version else ""
        return f"{self.implementation}{version}, {tol}"

    def __str__(self) -> str:
        if self.tolerance is None:
            return self.implementation
        note = f"; {self.note}" if self.note else ""
        return f"{self.summary()} on {self.checked_on}{note}"

    @classmethod
    def from_value(cls, value: Reference | str | dict[str, Any]) -> Reference:
        """A :class:`Reference` from what a manifest recorded: today's dict, or an older qk's prose
        (kept as the implementation, with no tolerance)."""
        if isinstance(value, Reference):
            return value
        if isinstance(value, str):
            return cls(value, "", None, "")
        known = {f.name for f in fields(cls)}  # a later qk may record more
        return cls(**{k: v for k, v in value.items() if k in known})


@dataclass(frozen=True)
class MetricInfo:
    """What a run records about a metric (the manifest's ``metrics`` entries); the analysis reads
    direction and saturation from here, never from a table of names.

    ``range`` is ``(lowest, highest)`` with ``None`` for an open end; ``saturation`` is the score
    at and beyond which the metric stops telling qualities apart (VMAF 99.5), ``None`` if it
    never saturates; ``unit`` is ``"dB"``, ``"JOD"`` (ColorVideoVDP's just-objectionable differences) or ``""``; ``reference`` is the implementation the
    metric equals, with its version and the tolerance a test proves (:class:`Reference`);
    ``plot_in_db``: plots show the score as −10·log10(1 − score) dB (SSIM-like scores that crowd
    towards 1). A manifest without a field added later reads as the registered metric declares it.
    """

    name: str
    version: str
    higher_is_better: bool
    range: tuple[float | None, float | None]
    saturation: float | None
    unit: str
    description: str
    reference: Reference
    plot_in_db: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetricInfo:
        data = {**data, "range": tuple(data["range"]), "reference": Reference.from_value(data["reference"])}
        if "plot_in_db" not in data:  # recorded before the field existed: as the metric declares it
            from . import registry

            try:
                data["plot_in_db"] = bool(registry.get(data["name"]).plot_in_db)
            except Exception:  # unknown here (a plugin not installed): plain scale
                data["plot_in_db"] = False
        return cls(**data)


class Metric(ABC):
    """Base class of every metric.

    Subclasses set the metadata below, ``version`` (enters cache keys: change it whenever the
    scores may change) and, where it applies, ``min_side``; they implement the kernel
    :meth:`_compute` (pairs already validated), never :meth:`compute` itself, which is the one
    validating entry point (defining ``compute`` in a subclass is a ``TypeError``).
    ``device`` is honoured by metrics that run on PyTorch (``uses_torch``).

    ``memory_per_pixel`` is the peak working memory, in bytes per pixel of one pair, beyond the
    two uint8 images; :meth:`memory_bytes` turns it into bytes for a batch (a metric that tiles
    large images overrides it); the runner sizes batches and admits work with it.
    """

    name: ClassVar[str]
    higher_is_better: ClassVar[bool]
    range: ClassVar[tuple[float | None, float | None]] = (None, None)
    saturation: ClassVar[float | None] = None
    unit: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: What the numbers equal, with the tolerance its test proves (every registered metric has one).
    reference: ClassVar[Reference]
    #: Plots show the score as −10·log10(1 − score) dB (SSIM-like scores crowding towards 1).
    plot_in_db: ClassVar[bool] = False
    #: In ``qk bench``'s default set; metrics that cost seconds per pair are opt-in (``False``).
    default: ClassVar[bool] = True
    #: Names other tools give this exact metric (e.g. CompressAI's ``psnr-rgb`` for ``psnr``).
    aliases: ClassVar[tuple[str, ...]] = ()
    version: str
    min_side: ClassVar[int] = 1
    #: Metrics with the same ``shared_pass`` come out of one expensive pass (one libvmaf run, one
    #: SSIM pass); :func:`~qualitykit.metrics.evaluate` hands them to :meth:`compute_family` together.
    shared_pass: ClassVar[str | None] = None
    memory_per_pixel: ClassVar[float] = 64.0
    #: Computes with PyTorch (and honours ``device``); a run imports PyTorch only when something does.
    uses_torch: ClassVar[bool] = False
    #: The pip extra it cannot run without (``"learned"``: PyTorch; :mod:`qualitykit.extras`), or ``None``.
    extra: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for entry in ("compute", "compute_family"):
            if entry in cls.__dict__:
                raise TypeError(
                    f"{cls.__module__}.{cls.__qualname__} defines {entry}(); implement the kernel "
                    f"_{entry}() instead: Metric.{entry} validates the pairs once, then calls it"
                )

    def __init__(self, device: str = "auto") -> None:
        self.device = device

    @classmethod
    def available(cls) -> str | None:
        """``None`` when the metric can run here, else why not and how to fix it."""
        return None

    @classmethod
    def why_unavailable(cls) -> str | None:
        """``None`` when usable here, else why not: first a missing extra (checked without importing
        it), then :meth:`available`. Every caller that decides whether it can run asks this."""
        return missing_extra(cls.extra) or cls.available()

    @classmethod
    def fetch(cls) -> None:
        """Download what the metric needs (e.g. model weights) when it is missing; called only
        for metrics a user asked for by name. No-op by default; raise on failure."""

    def check(self, ref: np.ndarray, dist: np.ndarray) -> None:
        """Raise :class:`BadInput` unless this one pair is valid input (:func:`check_pair`)."""
        check_pair(ref, dist, self.min_side, self.name)

    def check_batch(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> None:
        """Raise :class:`BadInput` unless ``refs`` and ``dists`` are valid input (:func:`check_batch`)."""
        check_batch(refs, dists, self.min_side, self.name)

    @classmethod
    def memory_bytes(cls, pixels: int) -> float:
        """Peak working memory, in bytes, to score pairs of ``pixels`` pixels in total (one batch)."""
        return cls.memory_per_pixel * pixels

    @classmethod
    def info_for(cls, version: str) -> MetricInfo:
        """The metadata of this metric computed at ``version``, as a run's manifest records it."""
        return MetricInfo(
            cls.name, version, cls.higher_is_better, tuple(cls.range), cls.saturation, cls.unit,
            cls.description, Reference.from_value(getattr(cls, "reference", "")), cls.plot_in_db,
        )  # fmt: skip

    def info(self) -> MetricInfo:
        """This metric's metadata, as a run records it."""
        return self.info_for(self.version)

    def compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        """A float64 array with one value per pair: validates every pair (:meth:`check_batch`), then
        runs the kernel :meth:`_compute`. Raises :class:`BadInput` for invalid input."""
        self.check_batch(refs, dists)
        return _one_per_pair(self.name, self._compute(refs, dists), len(refs))

    @abstractmethod
    def _compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        """The kernel: one float64 value per pair of ``refs``/``dists``, already validated."""

    @classmethod
    def compute_family(
        cls, metrics: Sequence[Metric], refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]
    ) -> dict[str, np.ndarray | Exception]:
        """Compute several metrics of one ``shared_pass`` together: validates the batch once, then runs
        the shared kernel :meth:`_compute_family` for the metrics whose checks pass; a metric whose
        checks fail (e.g. images too small for MS-SSIM) maps to its :class:`BadInput` while the
        others still run. Unequal numbers of references and distorted images raise."""
        if len(refs) != len(dists):
            check_batch(refs, dists, 1, ",".join(m.name for m in metrics))
        passed: list[Metric] = []
        out: dict[str, np.ndarray | Exception] = {}
        for m in metrics:
            try:
                m.check_batch(refs, dists)
            except BadInput as exc:
                out[m.name] = exc
            else:
                passed.append(m)
        if passed:
            values = cls._compute_family(passed, refs, dists)
            for m in passed:
                v = values[m.name]
                out[m.name] = v if isinstance(v, Exception) else _one_per_pair(m.name, v, len(refs))
        return out

    @classmethod
    def _compute_family(
        cls, metrics: Sequence[Metric], refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]
    ) -> dict[str, np.ndarray | Exception]:
        """The shared kernel, on validated pairs: metric name → values (or the exception of a metric
        that cannot measure these pairs while the others can). The default runs each kernel alone."""
        return {m.name: m._compute(refs, dists) for m in metrics}

    def __call__(self, ref: np.ndarray, dist: np.ndarray) -> float:
        """Value for one pair."""
        return float(self.compute([ref], [dist])[0])


class SharedPassMetric(Metric):
    """A metric whose values come out of one pass shared with the other metrics of its
    ``shared_pass`` (one tool run): subclasses implement :meth:`Metric._compute_family`, and the
    kernel :meth:`_compute` is that pass for this metric alone."""

    def _compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        result = self._compute_family([self], refs, dists)[self.name]
        if isinstance(result, Exception):
            raise result
        return result


def _one_per_pair(metric: str, values: Any, n: int) -> np.ndarray:
    """``values`` as a float64 array, which must hold one value per pair (a kernel's contract)."""
    out = np.asarray(values, dtype=np.float64)
    if out.shape != (n,):
        raise RuntimeError(f"{metric}: the kernel returned shape {out.shape} for {n} pair(s); expected ({n},)")
    return out
