"""The metric interface: a batch of (reference, distorted) pairs → one value per pair.

Every metric takes RGB uint8 arrays of shape ``(H, W, 3)``; each pair must share
its shape. A metric states its conventions (colour space, data range, pooling) in
its docstring, whether higher is better, and a ``version`` string that enters
cache keys — change it whenever the numbers a metric returns may change.

Metrics that share one expensive pass (e.g. everything libvmaf computes) set the
same ``family``; :func:`qualitykit.metrics.evaluate` then hands them to
:meth:`Metric.compute_family` together.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
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
class MetricInfo:
    """What a run records about a metric (the manifest's ``metrics`` entries); the analysis reads
    direction and saturation from here, never from a table of names.

    ``range`` is ``(lowest, highest)`` with ``None`` for an open end; ``saturation`` is the score
    at and beyond which the metric stops telling qualities apart (VMAF 99.5), ``None`` if it
    never saturates; ``unit`` is ``"dB"`` or ``""``; ``reference`` names the implementation the
    metric equals, with its version and the tolerance a test proves.
    """

    name: str
    version: str
    higher_is_better: bool
    range: tuple[float | None, float | None]
    saturation: float | None
    unit: str
    description: str
    reference: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetricInfo:
        return cls(**{**data, "range": tuple(data["range"])})


class Metric(ABC):
    """Base class of every metric.

    Subclasses set the metadata below, ``version`` (enters cache keys: change it whenever the
    scores may change) and, where it applies, ``min_side``; they implement :meth:`compute`.
    ``device`` is honoured by metrics that run on PyTorch.

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
    reference: ClassVar[str] = ""
    #: In ``qk bench``'s default set; metrics that cost seconds per pair are opt-in (``False``).
    default: ClassVar[bool] = True
    #: Names other tools give this exact metric (e.g. CompressAI's ``psnr-rgb`` for ``psnr``).
    aliases: ClassVar[tuple[str, ...]] = ()
    version: str
    min_side: ClassVar[int] = 1
    family: ClassVar[str | None] = None
    memory_per_pixel: ClassVar[float] = 64.0
    #: Computes with PyTorch (and honours ``device``); a run imports PyTorch only when something does.
    uses_torch: ClassVar[bool] = False
    #: The pip extra it cannot run without (``"learned"``: PyTorch; :mod:`qualitykit.extras`), or ``None``.
    extra: ClassVar[str | None] = None

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
        check_pair(ref, dist, self.min_side, self.name)

    @classmethod
    def memory_bytes(cls, pixels: int) -> float:
        """Peak working memory, in bytes, to score pairs of ``pixels`` pixels in total (one batch)."""
        return cls.memory_per_pixel * pixels

    @classmethod
    def info_for(cls, version: str) -> MetricInfo:
        """The metadata of this metric computed at ``version``, as a run's manifest records it."""
        return MetricInfo(
            cls.name, version, cls.higher_is_better, tuple(cls.range), cls.saturation, cls.unit,
            cls.description, cls.reference,
        )  # fmt: skip

    def info(self) -> MetricInfo:
        """This metric's metadata, as a run records it."""
        return self.info_for(self.version)

    @abstractmethod
    def compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        """Return a float64 array with one value per pair."""

    @classmethod
    def compute_family(
        cls, metrics: Sequence[Metric], refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]
    ) -> dict[str, np.ndarray | Exception]:
        """Compute several metrics of one family in a shared pass; the default runs each alone.

        A metric that cannot measure these pairs while the others can may map to its exception.
        """
        return {m.name: m.compute(refs, dists) for m in metrics}

    def __call__(self, ref: np.ndarray, dist: np.ndarray) -> float:
        """Value for one pair."""
        return float(self.compute([ref], [dist])[0])


class SharedPassMetric(Metric):
    """A metric of a family whose values all come out of one shared pass (one tool run): subclasses
    implement :meth:`Metric.compute_family`, and :meth:`compute` is that pass for this metric alone."""

    def compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        result = self.compute_family([self], refs, dists)[self.name]
        if isinstance(result, Exception):
            raise result
        return result

    @staticmethod
    def checked(
        metrics: Sequence[Metric], refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]
    ) -> tuple[list[Metric], dict[str, Exception]]:
        """The metrics whose input checks pass on every pair, and each other metric's check error
        (e.g. images too small for MS-SSIM: the rest of the family still runs)."""
        passed: list[Metric] = []
        failed: dict[str, Exception] = {}
        for m in metrics:
            try:
                for r, d in zip(refs, dists):
                    m.check(r, d)
            except BadInput as exc:
                failed[m.name] = exc
            else:
                passed.append(m)
        return passed, failed
