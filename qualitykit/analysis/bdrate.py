"""Bjøntegaard deltas between two rate–quality curves, with a reason whenever there is no number.

Conventions
-----------
* **Rate** is any positive rate (qualitykit uses bits per pixel); only ratios matter.
* **BD-rate** (:func:`bd_rate`): the mean of ``log10(rate_test) - log10(rate_anchor)`` at
  equal quality, over the overlap of the two curves' quality ranges, reported as a percent
  ``(10**mean - 1) * 100``. Negative means the test codec needs fewer bits for the same
  quality. The curves are log-rate as a function of quality, interpolated by the
  ``bjontegaard`` package and integrated exactly: ``pchip`` (default; the JVET/AOM
  convention, and it reproduces the JCT-VC values of Netflix's calculator) or ``cubic``
  (VCEG-M33's least-squares cubic).
* **BD-metric** (:func:`bd_metric`, e.g. BD-PSNR): the mean of ``quality_test - quality_anchor``
  at equal log-rate, over the overlap of the log-rate ranges, in the metric's units. For a
  lower-is-better metric (LPIPS) a negative value is the improvement.
* **Refusals**: points without a value are left out and saturated points (e.g. VMAF ≥ 99.5,
  where the metric stops telling qualities apart) are left out, both noted in
  :attr:`BDResult.detail`. No value is computed, and :attr:`BDResult.reason` says why, when a
  curve keeps fewer than :data:`MIN_POINTS` points, has a non-positive rate, is not monotonic
  (more rate must mean strictly better quality), or when the two ranges overlap by less than
  ``min_overlap`` of their union (qk's default 50 %; the ``bjontegaard`` package only warns below
  75 %, which real codecs' default ladders rarely meet on every metric at once) or not at all.

>>> r = bd_rate([1, 2, 4, 8], [30, 33, 36, 39], [0.9, 1.8, 3.6, 7.2], [30, 33, 36, 39])
>>> round(r.value, 6), r.reason
(-10.0, None)
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any, Literal

import bjontegaard
import numpy as np

Method = Literal["pchip", "cubic"]
METHODS: tuple[str, ...] = ("pchip", "cubic")
MIN_POINTS = 4
#: Least overlap / union of the two quality ranges for a BD value (the package's own default, 0.75, only warns).
MIN_OVERLAP = 0.5
#: Metric value at and beyond which a point is saturated and left out of BD computations.
SATURATION: dict[str, float] = {"vmaf": 99.5, "vmaf-neg": 99.5, "vmaf-4k": 99.5}
LOG_BASE = 10

# Reasons (short, stable: tables count them and the CI gate may match them).
TOO_FEW_POINTS = "too few points"
NON_MONOTONIC = "non-monotonic"
SATURATED = "saturated"
BAD_RATE = "non-positive rate"
NO_OVERLAP = "no overlap"
LOW_OVERLAP = "overlap below threshold"


@dataclass(frozen=True)
class BDResult:
    """One Bjøntegaard delta.

    ``value`` is in percent (BD-rate) or metric units (BD-metric), ``None`` when not computed;
    then ``reason`` is one of this module's reason constants and ``detail`` a sentence saying
    what was wrong. ``overlap`` is the overlap of the two integration ranges over their union
    (0–1); ``n_anchor``/``n_test`` count the points actually used.
    """

    value: float | None
    reason: str | None = None
    detail: str = ""
    overlap: float | None = None
    n_anchor: int = 0
    n_test: int = 0

    @property
    def ok(self) -> bool:
        return self.value is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        if self.value is None:
            return f"n/a ({self.reason}: {self.detail})"
        return f"{self.value:+.3f}" + (f" ({self.detail})" if self.detail else "")


class _Refused(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _curve(
    side: str, rate: Any, quality: Any, higher_is_better: bool, saturation: float | None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Valid points of one curve sorted by rate, and notes on what was left out; raises :class:`_Refused`."""
    rate = np.asarray(rate, dtype=np.float64).ravel()
    quality = np.asarray(quality, dtype=np.float64).ravel()
    if rate.shape != quality.shape:
        raise ValueError(f"{side}: {rate.size} rates but {quality.size} quality values")
    notes = []
    valid = np.isfinite(rate) & np.isfinite(quality)
    if not valid.all():
        notes.append(f"{side}: {int((~valid).sum())} point(s) without a value left out")
    rate, quality = rate[valid], quality[valid]
    if (rate <= 0).any():
        raise _Refused(BAD_RATE, f"{side} has a rate ≤ 0")
    if saturation is not None:
        keep = quality < saturation if higher_is_better else quality > saturation
        n_sat = int((~keep).sum())
        if n_sat and keep.sum() < MIN_POINTS:
            raise _Refused(
                SATURATED, f"{side}: {n_sat} of {rate.size} points at or beyond the saturation level {saturation:g}"
            )
        if n_sat:
            notes.append(f"{side}: {n_sat} saturated point(s) (beyond {saturation:g}) left out")
        rate, quality = rate[keep], quality[keep]
    if rate.size < MIN_POINTS:
        detail = "; ".join([f"{side} has {rate.size} usable point(s), {MIN_POINTS} are needed", *notes])
        raise _Refused(TOO_FEW_POINTS, detail)
    order = np.argsort(rate, kind="stable")
    rate, quality = rate[order], quality[order]
    step = np.diff(quality) if higher_is_better else -np.diff(quality)
    bad = np.flatnonzero((np.diff(rate) <= 0) | (step <= 0))
    if bad.size:
        i = int(bad[0])
        raise _Refused(
            NON_MONOTONIC,
            f"{side}: quality goes from {quality[i]:.4g} to {quality[i + 1]:.4g} as rate goes from "
            f"{rate[i]:.4g} to {rate[i + 1]:.4g}",
        )
    return rate, quality, notes


def _overlap(a: np.ndarray, b: np.ndarray, what: str, min_overlap: float) -> float:
    """Overlap of the ranges of ``a`` and ``b`` over their union; raises :class:`_Refused` below ``min_overlap``."""
    inter = min(a.max(), b.max()) - max(a.min(), b.min())
    union = max(a.max(), b.max()) - min(a.min(), b.min())
    if inter <= 0:
        raise _Refused(
            NO_OVERLAP, f"{what} ranges do not overlap ({a.min():.4g}–{a.max():.4g} vs {b.min():.4g}–{b.max():.4g})"
        )
    overlap = float(inter / union)
    if overlap < min_overlap:
        raise _Refused(LOW_OVERLAP, f"{what} ranges overlap {overlap:.0%} of their union; {min_overlap:.0%} needed")
    return overlap


def _delta(
    kind: str,
    anchor_rate: Any,
    anchor_quality: Any,
    test_rate: Any,
    test_quality: Any,
    method: Method,
    higher_is_better: bool,
    saturation: float | None,
    min_overlap: float,
) -> BDResult:
    if method not in METHODS:
        raise ValueError(f"BD method {method!r}: use one of {', '.join(METHODS)}")
    try:
        ra, qa, notes_a = _curve("anchor", anchor_rate, anchor_quality, higher_is_better, saturation)
        rt, qt, notes_t = _curve("test", test_rate, test_quality, higher_is_better, saturation)
        if kind == "rate":
            overlap = _overlap(qa, qt, "quality", min_overlap)
        else:
            overlap = _overlap(np.log10(ra), np.log10(rt), "log-rate", min_overlap)
    except _Refused as r:
        return BDResult(None, r.reason, r.detail)
    fn = bjontegaard.bd_rate if kind == "rate" else bjontegaard.bd_psnr
    if kind == "rate" and not higher_is_better:  # the package wants its x axis (quality here) ascending
        ra, qa, rt, qt = ra[::-1], qa[::-1], rt[::-1], qt[::-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # overlap is checked above, with the reason kept
        value = fn(ra, qa, rt, qt, method, require_matching_points=False, min_overlap=0)
    return BDResult(float(value), None, "; ".join(notes_a + notes_t), overlap, ra.size, rt.size)


def bd_rate(
    anchor_rate: Any,
    anchor_quality: Any,
    test_rate: Any,
    test_quality: Any,
    *,
    method: Method = "pchip",
    higher_is_better: bool = True,
    saturation: float | None = None,
    min_overlap: float = MIN_OVERLAP,
) -> BDResult:
    """BD-rate of the test curve against the anchor, in percent (negative: test needs fewer bits).

    Each curve is given as two equal-length sequences (rate, quality), in any order.
    ``saturation`` is the quality at and beyond which points are left out (see
    :data:`SATURATION`); ``min_overlap`` the least overlap/union of the quality ranges.
    """
    return _delta(
        "rate", anchor_rate, anchor_quality, test_rate, test_quality, method, higher_is_better, saturation, min_overlap
    )


def bd_metric(
    anchor_rate: Any,
    anchor_quality: Any,
    test_rate: Any,
    test_quality: Any,
    *,
    method: Method = "pchip",
    higher_is_better: bool = True,
    saturation: float | None = None,
    min_overlap: float = MIN_OVERLAP,
) -> BDResult:
    """BD-metric (BD-PSNR for PSNR): mean quality difference test − anchor at equal rate, in metric units.

    Arguments as :func:`bd_rate`; the overlap rule applies to the log10-rate ranges.
    """
    return _delta(
        "metric",
        anchor_rate,
        anchor_quality,
        test_rate,
        test_quality,
        method,
        higher_is_better,
        saturation,
        min_overlap,
    )


def method_settings(method: Method, min_overlap: float = MIN_OVERLAP) -> dict[str, Any]:
    """How every number of a BD table was computed, for recording next to it."""
    return {
        "method": method,
        "interpolation": {
            "pchip": "PCHIP (piecewise cubic Hermite), JVET/AOM convention",
            "cubic": "least-squares cubic polynomial, VCEG-M33",
        }[method],
        "integration": "exact integral of the interpolant (bjontegaard package)",
        "bjontegaard_version": bjontegaard.__version__,
        "rate": "bpp",
        "log_base": LOG_BASE,
        "range_rule": (
            "BD-rate integrates over the overlap of the two curves' quality ranges, BD-metric over the overlap "
            f"of their log-rate ranges; refused when that overlap is below {min_overlap:.0%} of the union"
        ),
        "min_overlap": min_overlap,
        "min_points": MIN_POINTS,
        "monotonic": "rate strictly increasing with strictly better quality, on both curves",
        "saturation": SATURATION,
    }
