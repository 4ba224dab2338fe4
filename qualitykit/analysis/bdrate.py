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
* **The range rule.** A delta is an average over the *overlap* of the two ranges, and every
  result carries that range (:attr:`BDResult.range`) and how much of each curve it covers. When
  one curve's range lies inside the other's (a learned codec with 4 points over 26.3–27.5 dB
  against JPEG over 26.7–38.0 dB) the delta is taken over the inner range and says so ("over
  26.7–27.5 dB only"). It is refused only when it would describe a sliver: no overlap, an overlap
  shorter than ``min_overlap`` (default :data:`MIN_OVERLAP`, a third) of the *narrower* curve's
  range, or one holding fewer than :data:`MIN_INNER_POINTS` (2) of the narrower curve's
  measured points. Why: a smaller overlap does not make the number *inaccurate* — on
  CompressAI's published Kodak curves (JPEG, WebP, AV1, VTM, HM, BPG), 4–5-point sub-curves
  against every other point of another codec give BD-rates within ~0.1 percentage point (median)
  of the dense curves over the same range, whatever the overlap — it makes it *describe less*,
  and the number says how much (its range, "only"). Two of the narrower curve's points inside
  mean the number rests on at least one measured segment of it, never on one end point of each
  curve (qk's bundled model against AVIF on Kodak PSNR: AVIF's lowest setting reaches 27.29 dB,
  the model's top segment is 27.29–27.53 dB: refused, and the equal-quality targets answer that
  question instead); a third of its range is one average segment of a 4-point curve, the
  shortest curve accepted, so two nearly coincident points do not pass for a segment. On
  CompressAI's published curves every learned model against JPEG, WebP, AV1 and VTM gets a
  number (the smallest overlap is 51 % of the narrower range); the old rule (≥ 50 % of the
  *union*) refused 85 of those 192 pairs, and qk's bundled model against JPEG on Kodak PSNR.
* **Other refusals**: points without a value are left out and saturated points (e.g. VMAF ≥ 99.5,
  where the metric stops telling qualities apart) are left out, both noted in
  :attr:`BDResult.detail`. No value is computed, and :attr:`BDResult.reason` says why, when a
  curve keeps fewer than :data:`MIN_POINTS` points, has a non-positive rate or is not monotonic
  (more rate must mean strictly better quality).

:func:`bd_batch` computes the same deltas for many curve pairs at once (bootstrap resamples,
per-image curves): the same checks, vectorised, and PCHIP with its exact integral in NumPy,
equal to the ``bjontegaard`` package on the same points (``tests/test_bdrate.py`` checks it to
1e-9 relative).

>>> r = bd_rate([1, 2, 4, 8], [30, 33, 36, 39], [0.9, 1.8, 3.6, 7.2], [30, 33, 36, 39])
>>> round(r.value, 6), r.reason
(-10.0, None)
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from importlib.metadata import version as package_version
from typing import Any, Literal

import numpy as np

Method = Literal["pchip", "cubic"]
METHODS: tuple[str, ...] = ("pchip", "cubic")
MIN_POINTS = 4
#: Least overlap of the two ranges, as a fraction of the *narrower* curve's range: an average segment of a
#: 4-point curve (the shortest curve a BD value accepts).
MIN_OVERLAP = 1 / 3
#: Least number of the narrower curve's points inside the overlap.
MIN_INNER_POINTS = 2
#: Below this overlap/union a delta is called partial ("over … only"); the ``bjontegaard`` package warns there too.
PARTIAL_BELOW = 0.75
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
    what was wrong. ``range`` is the interval the delta averages over (quality for BD-rate, bpp
    for BD-metric); ``overlap`` its length over the narrower curve's range and ``union`` over the
    union of both (0–1); ``n_anchor``/``n_test`` count the points actually used.
    """

    value: float | None
    reason: str | None = None
    detail: str = ""
    overlap: float | None = None
    n_anchor: int = 0
    n_test: int = 0
    range: tuple[float, float] | None = None
    union: float | None = None

    @property
    def ok(self) -> bool:
        return self.value is not None

    @property
    def partial(self) -> bool:
        """The delta holds over part of the two curves only (overlap below :data:`PARTIAL_BELOW` of the union)."""
        return self.union is not None and self.union < PARTIAL_BELOW

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        if self.value is None:
            return f"n/a ({self.reason}: {self.detail})"
        where = f" over {self.range[0]:.4g}–{self.range[1]:.4g}" if self.range else ""
        return f"{self.value:+.3f}{where}" + (f" ({self.detail})" if self.detail else "")


# ---------------------------------------------------------------- vectorised core


@dataclass
class Batch:
    """Deltas of ``B`` curve pairs (:func:`bd_batch`): arrays of length ``B``.

    ``values`` is NaN where refused, ``reasons[i]`` the reason (``None`` when computed),
    ``details[i]`` the sentence; ``lo``/``hi`` the integration range in natural units
    (quality, or bpp for BD-metric), ``overlap``/``union`` as in :class:`BDResult`.
    """

    values: np.ndarray
    reasons: np.ndarray
    details: list[str]
    lo: np.ndarray
    hi: np.ndarray
    overlap: np.ndarray
    union: np.ndarray
    n_anchor: np.ndarray
    n_test: np.ndarray

    def result(self, i: int) -> BDResult:
        ok = self.reasons[i] is None
        rng = (float(self.lo[i]), float(self.hi[i])) if np.isfinite(self.lo[i]) else None
        return BDResult(
            float(self.values[i]) if ok else None, self.reasons[i], self.details[i],
            float(self.overlap[i]) if np.isfinite(self.overlap[i]) else None,
            int(self.n_anchor[i]), int(self.n_test[i]), rng,
            float(self.union[i]) if np.isfinite(self.union[i]) else None,
        )  # fmt: skip


def pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """PCHIP derivatives at the knots of each row of ``(x, y)`` (``(B, n)``, ``x`` strictly increasing),
    exactly as :class:`scipy.interpolate.PchipInterpolator` computes them (Fritsch–Butland weighted
    harmonic mean inside, the shape-preserving three-point formula at both ends)."""
    h = np.diff(x, axis=1)
    m = np.diff(y, axis=1) / h
    if x.shape[1] == 2:
        return np.concatenate([m, m], axis=1)
    d = np.zeros_like(y)
    sm = np.sign(m)
    flat = (sm[:, 1:] != sm[:, :-1]) | (m[:, 1:] == 0) | (m[:, :-1] == 0)
    w1 = 2 * h[:, 1:] + h[:, :-1]
    w2 = h[:, 1:] + 2 * h[:, :-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        whmean = (w1 / m[:, :-1] + w2 / m[:, 1:]) / (w1 + w2)
        d[:, 1:-1] = np.where(flat, 0.0, 1.0 / whmean)

    def edge(h0: np.ndarray, h1: np.ndarray, m0: np.ndarray, m1: np.ndarray) -> np.ndarray:
        e = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
        wrong = np.sign(e) != np.sign(m0)
        steep = (np.sign(m0) != np.sign(m1)) & (np.abs(e) > 3 * np.abs(m0))
        return np.where(wrong, 0.0, np.where(steep, 3 * m0, e))

    d[:, 0] = edge(h[:, 0], h[:, 1], m[:, 0], m[:, 1])
    d[:, -1] = edge(h[:, -1], h[:, -2], m[:, -1], m[:, -2])
    return d


def pchip_integral(x: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Exact integral over ``[lo, hi]`` (inside the knots) of each row's PCHIP interpolant."""
    d = pchip_slopes(x, y)
    h = np.diff(x, axis=1)
    delta = np.diff(y, axis=1) / h
    d0, d1, y0 = d[:, :-1], d[:, 1:], y[:, :-1]
    c2 = (3 * delta - 2 * d0 - d1) / h
    c3 = (d0 + d1 - 2 * delta) / h**2
    t0 = np.clip(lo[:, None] - x[:, :-1], 0, h)
    t1 = np.clip(hi[:, None] - x[:, :-1], 0, h)

    def antideriv(t: np.ndarray) -> np.ndarray:
        return t * (y0 + t * (d0 / 2 + t * (c2 / 3 + t * c3 / 4)))

    return (antideriv(t1) - antideriv(t0)).sum(axis=1)


def _rows(a: Any) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(1, -1) if a.ndim <= 1 else a


def bd_batch(
    kind: Literal["rate", "metric"],
    anchor_rate: Any,
    anchor_score: Any,
    test_rate: Any,
    test_score: Any,
    *,
    method: Method = "pchip",
    higher_is_better: bool = True,
    saturation: float | None = None,
    min_overlap: float = MIN_OVERLAP,
    details: bool | int = True,
) -> Batch:
    """BD-rate (``kind="rate"``) or BD-metric of ``B`` curve pairs at once.

    Arguments are ``(B, n)`` (anchor) and ``(B, m)`` (test) arrays, NaN where a point is
    missing; the rules are those of :func:`bd_rate`. ``details``: write the ``details`` sentences
    for every row (``True``), none (``False``: a bootstrap needs only values and reasons) or the
    first ``details`` rows.
    """
    if method not in METHODS:
        raise ValueError(f"BD method {method!r}: use one of {', '.join(METHODS)}")
    ra, qa, rt, qt = _rows(anchor_rate), _rows(anchor_score), _rows(test_rate), _rows(test_score)
    if ra.shape != qa.shape or rt.shape != qt.shape or ra.shape[0] != rt.shape[0]:
        raise ValueError(f"rates and scores differ in shape: {ra.shape}, {qa.shape}, {rt.shape}, {qt.shape}")
    n = ra.shape[0]
    details = n if details is True else int(details)
    out = Batch(
        np.full(n, np.nan), np.full(n, None, dtype=object), [""] * n, np.full(n, np.nan), np.full(n, np.nan),
        np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, int), np.zeros(n, int),
    )  # fmt: skip
    if n == 0:
        return out
    fin_a, fin_t = np.isfinite(ra) & np.isfinite(qa), np.isfinite(rt) & np.isfinite(qt)
    if saturation is None:
        keep_a, keep_t = fin_a, fin_t
    else:
        with np.errstate(invalid="ignore"):
            inside_a = qa < saturation if higher_is_better else qa > saturation
            inside_t = qt < saturation if higher_is_better else qt > saturation
        keep_a, keep_t = fin_a & inside_a, fin_t & inside_t
    masks = np.concatenate([keep_a, keep_t], axis=1)
    if masks.shape[1] <= 62:  # one integer per pattern: np.unique on rows of booleans is slow
        codes = masks.astype(np.int64) @ (np.int64(1) << np.arange(masks.shape[1], dtype=np.int64))
        _, first, which = np.unique(codes, return_index=True, return_inverse=True)
        patterns = masks[first]
    else:
        patterns, which = np.unique(masks, axis=0, return_inverse=True)
    which = which.ravel()
    na = ra.shape[1]
    for p, pattern in enumerate(patterns):
        rows = np.flatnonzero(which == p)
        _group(kind, out, rows, pattern[:na], pattern[na:], ra, qa, rt, qt, fin_a, fin_t,
               method, higher_is_better, saturation, min_overlap, details)  # fmt: skip
    return out


@dataclass
class _Rows:
    """The rows of one :func:`_group` in ``out``; ``wordy`` rows get sentences, starting with their ``notes``."""

    out: Batch
    rows: np.ndarray
    wordy: np.ndarray
    notes: list[list[str]]

    def refuse(self, sel: np.ndarray, reason: str, text: Any) -> None:
        """Give the rows ``sel`` ``reason`` and, when wordy, ``text`` (a string, or a function of the row)."""
        self.out.reasons[self.rows[sel]] = reason
        for k in np.flatnonzero(sel & self.wordy):
            self.out.details[self.rows[k]] = "; ".join([text(k) if callable(text) else text, *self.notes[k]])


def _group(
    kind: str, out: Batch, rows: np.ndarray, use_a: np.ndarray, use_t: np.ndarray,
    ra: np.ndarray, qa: np.ndarray, rt: np.ndarray, qt: np.ndarray, fin_a: np.ndarray, fin_t: np.ndarray,
    method: str, hib: bool, saturation: float | None, min_overlap: float, details: int,
) -> None:  # fmt: skip
    """Rows sharing one pattern of usable points: same shapes, so one vectorised pass."""
    wordy = rows < details  # rows that get a sentence
    g = _Rows(out, rows, wordy, _left_out(rows, wordy, fin_a, fin_t, use_a, use_t, saturation))
    out.n_anchor[rows], out.n_test[rows] = int(use_a.sum()), int(use_t.sum())
    for side, use, fin in (("anchor", use_a, fin_a), ("test", use_t, fin_t)):
        if use.sum() < MIN_POINTS:
            n_fin = fin[rows].sum(axis=1)
            sat = n_fin > use.sum()
            n_use = int(use.sum())
            g.refuse(sat, SATURATED, lambda k, side=side, n_fin=n_fin, n_use=n_use: (
                f"{side}: {int(n_fin[k]) - n_use} of {int(n_fin[k])} points at or beyond the saturation level {saturation:g}"))
            g.refuse(~sat, TOO_FEW_POINTS, f"{side} has {n_use} usable point(s), {MIN_POINTS} are needed")
            return
    a_r, a_q = ra[rows][:, use_a], qa[rows][:, use_a]
    t_r, t_q = rt[rows][:, use_t], qt[rows][:, use_t]
    bad_rate = (a_r <= 0).any(axis=1) | (t_r <= 0).any(axis=1)
    if bad_rate.any():
        g.refuse(bad_rate, BAD_RATE, lambda k: f"{'anchor' if (a_r[k] <= 0).any() else 'test'} has a rate ≤ 0")
    ok = ~bad_rate
    a_r, a_q = _monotonic(g, ok, "anchor", a_r, a_q, hib)
    t_r, t_q = _monotonic(g, ok, "test", t_r, t_q, hib)
    a_r, t_r = np.where(a_r > 0, a_r, 1.0), np.where(t_r > 0, t_r, 1.0)  # refused rows: keep log10 quiet
    if kind == "rate":  # log-rate as a function of quality, quality ascending
        xa, ya, xt, yt = a_q, np.log10(a_r), t_q, np.log10(t_r)
        if not hib:
            xa, ya, xt, yt = xa[:, ::-1], ya[:, ::-1], xt[:, ::-1], yt[:, ::-1]
    else:  # quality as a function of log-rate
        xa, ya, xt, yt = np.log10(a_r), a_q, np.log10(t_r), t_q
    lo, hi = _overlap(g, ok, kind, min_overlap, xa, xt)
    if ok.any():
        _integrate(g, ok, kind, method, xa, ya, xt, yt, lo, hi)


def _left_out(
    rows: np.ndarray, wordy: np.ndarray, fin_a: np.ndarray, fin_t: np.ndarray, use_a: np.ndarray, use_t: np.ndarray,
    saturation: float | None,
) -> list[list[str]]:  # fmt: skip
    """Per row, the sentences saying which points were left out (no value, saturated); wordy rows only."""
    notes: list[list[str]] = [[] for _ in rows]
    if wordy.any():
        for side, fin, keep in (("anchor", fin_a, use_a), ("test", fin_t, use_t)):
            missing = (~fin[rows]).sum(axis=1)
            sat = (fin[rows] & ~keep).sum(axis=1)
            for k in np.flatnonzero(wordy & ((missing > 0) | (sat > 0))):
                if missing[k]:
                    notes[k].append(f"{side}: {int(missing[k])} point(s) without a value left out")
                if sat[k]:
                    notes[k].append(f"{side}: {int(sat[k])} saturated point(s) (beyond {saturation:g}) left out")
    return notes


def _monotonic(g: _Rows, ok: np.ndarray, side: str, r_: np.ndarray, q_: np.ndarray, hib: bool) -> tuple[np.ndarray, np.ndarray]:
    """One side's curves sorted by rate; rows where more rate is not strictly better quality are refused
    (and dropped from ``ok``, in place)."""
    order = np.argsort(r_, axis=1, kind="stable")
    r_, q_ = np.take_along_axis(r_, order, 1), np.take_along_axis(q_, order, 1)
    step = np.diff(q_, axis=1) if hib else -np.diff(q_, axis=1)
    bad = ((np.diff(r_, axis=1) <= 0) | (step <= 0)) & ok[:, None]
    broken = bad.any(axis=1)
    if broken.any():
        def text(k: int) -> str:
            i = int(np.argmax(bad[k]))
            return (f"{side}: quality goes from {q_[k, i]:.4g} to {q_[k, i + 1]:.4g} as rate goes from "
                    f"{r_[k, i]:.4g} to {r_[k, i + 1]:.4g}")  # fmt: skip

        g.refuse(broken, NON_MONOTONIC, text)
        ok &= ~broken
    return r_, q_


def _overlap(g: _Rows, ok: np.ndarray, kind: str, min_overlap: float, xa: np.ndarray, xt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The overlap ``(lo, hi)`` of the curves' ``x`` ranges per row, recorded in ``out``; rows whose
    overlap is none or a sliver (see the range rule) are refused and dropped from ``ok``, in place."""
    out, rows = g.out, g.rows
    lo = np.maximum(xa[:, 0], xt[:, 0])
    hi = np.minimum(xa[:, -1], xt[:, -1])
    span_a, span_t = xa[:, -1] - xa[:, 0], xt[:, -1] - xt[:, 0]
    union = np.maximum(xa[:, -1], xt[:, -1]) - np.minimum(xa[:, 0], xt[:, 0])
    inter = hi - lo
    narrow_is_a = span_a <= span_t
    narrow = np.where(narrow_is_a, span_a, span_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(inter > 0, inter / narrow, 0.0)
        uni = np.where(inter > 0, inter / union, 0.0)
    eps = 1e-9 * np.maximum(np.abs(lo), np.abs(hi))
    inner = np.where(
        narrow_is_a,
        ((xa >= (lo - eps)[:, None]) & (xa <= (hi + eps)[:, None])).sum(axis=1),
        ((xt >= (lo - eps)[:, None]) & (xt <= (hi + eps)[:, None])).sum(axis=1),
    )
    to_nat = (lambda v: 10.0**v) if kind == "metric" else (lambda v: v)
    what = "quality" if kind == "rate" else "rate"

    def rng_text(k: int, a: float, b: float) -> str:
        return f"{to_nat(a):.4g}–{to_nat(b):.4g}"

    disjoint = ok & (inter <= 0)
    if disjoint.any():
        g.refuse(disjoint, NO_OVERLAP, lambda k: (
            f"{what} ranges do not overlap ({rng_text(k, xa[k, 0], xa[k, -1])} vs {rng_text(k, xt[k, 0], xt[k, -1])})"))
        ok &= ~disjoint
    sliver = ok & ((frac < min_overlap) | (inner < MIN_INNER_POINTS))
    if sliver.any():
        def text(k: int) -> str:
            side = "anchor" if narrow_is_a[k] else "test"
            head = (f"{what} ranges overlap over {rng_text(k, lo[k], hi[k])}, {frac[k]:.0%} of the narrower ({side}) "
                    f"curve's range {rng_text(k, *((xa[k, 0], xa[k, -1]) if narrow_is_a[k] else (xt[k, 0], xt[k, -1])))}")
            if frac[k] < min_overlap:
                return f"{head}; {min_overlap:.0%} needed"
            return f"{head}, holding {int(inner[k])} of its points; {MIN_INNER_POINTS} needed"

        g.refuse(sliver, LOW_OVERLAP, text)
        ok &= ~sliver
    out.lo[rows] = np.where(inter > 0, to_nat(lo), np.nan)
    out.hi[rows] = np.where(inter > 0, to_nat(hi), np.nan)
    out.overlap[rows] = np.where(inter > 0, frac, np.nan)
    out.union[rows] = np.where(inter > 0, uni, np.nan)
    return lo, hi


def _integrate(
    g: _Rows, ok: np.ndarray, kind: str, method: str, xa: np.ndarray, ya: np.ndarray, xt: np.ndarray, yt: np.ndarray,
    lo: np.ndarray, hi: np.ndarray,
) -> None:  # fmt: skip
    """The delta of the ``ok`` rows: the mean gap between the curves over ``lo..hi`` (BD-rate in percent)."""
    k = np.flatnonzero(ok)
    if method == "pchip":
        ia = pchip_integral(xa[k], ya[k], lo[k], hi[k])
        it = pchip_integral(xt[k], yt[k], lo[k], hi[k])
        avg = (it - ia) / (hi[k] - lo[k])
    else:  # VCEG-M33's cubic fit: rare, done by the package itself, row by row
        import bjontegaard

        fn = bjontegaard.bd_linear
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            avg = np.array([fn(xa[i], ya[i], xt[i], yt[i], "cubic", require_matching_points=False, min_overlap=0) for i in k])
    values = (10.0**avg - 1) * 100 if kind == "rate" else avg
    g.out.values[g.rows[k]] = values
    for j in k[g.wordy[k]]:
        g.out.details[g.rows[j]] = "; ".join(g.notes[j])


# ---------------------------------------------------------------- one pair at a time


def _delta(
    kind: str,
    anchor_rate: Any,
    anchor_score: Any,
    test_rate: Any,
    test_score: Any,
    method: Method,
    higher_is_better: bool,
    saturation: float | None,
    min_overlap: float,
) -> BDResult:
    ra, qa, rt, qt = (np.asarray(v, dtype=np.float64).ravel() for v in (anchor_rate, anchor_score, test_rate, test_score))
    for side, r, q in (("anchor", ra, qa), ("test", rt, qt)):
        if r.shape != q.shape:
            raise ValueError(f"{side}: {r.size} rates but {q.size} scores")
    checked = bd_batch(kind, ra, qa, rt, qt, method=method, higher_is_better=higher_is_better,  # type: ignore[arg-type]
                       saturation=saturation, min_overlap=min_overlap).result(0)  # fmt: skip
    if not checked.ok:
        return checked
    # the value itself from the reference implementation (the bjontegaard package), on the same points
    keep = [np.isfinite(r) & np.isfinite(q) for r, q in ((ra, qa), (rt, qt))]
    if saturation is not None:
        keep = [k & ((q < saturation) if higher_is_better else (q > saturation)) for k, q in zip(keep, (qa, qt))]
    (ra, qa), (rt, qt) = ((r[k][np.argsort(r[k], kind="stable")], q[k][np.argsort(r[k], kind="stable")])
                          for (r, q), k in zip(((ra, qa), (rt, qt)), keep))  # fmt: skip
    import bjontegaard  # here, not at the top: it imports matplotlib.pyplot and scipy.interpolate (0.9 s)

    fn = bjontegaard.bd_rate if kind == "rate" else bjontegaard.bd_psnr
    if kind == "rate" and not higher_is_better:  # the package wants its x axis (quality here) ascending
        ra, qa, rt, qt = ra[::-1], qa[::-1], rt[::-1], qt[::-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the range rule is checked above, with the reason kept
        value = fn(ra, qa, rt, qt, method, require_matching_points=False, min_overlap=0)
    return BDResult(float(value), None, checked.detail, checked.overlap, checked.n_anchor, checked.n_test,
                    checked.range, checked.union)  # fmt: skip


def bd_rate(
    anchor_rate: Any,
    anchor_score: Any,
    test_rate: Any,
    test_score: Any,
    *,
    method: Method = "pchip",
    higher_is_better: bool = True,
    saturation: float | None = None,
    min_overlap: float = MIN_OVERLAP,
) -> BDResult:
    """BD-rate of the test curve against the anchor, in percent (negative: test needs fewer bits).

    Each curve is given as two equal-length sequences (rate, quality), in any order.
    ``saturation`` is the score at and beyond which points are left out (the metric's
    :attr:`~qualitykit.metrics.base.MetricInfo.saturation`); ``min_overlap`` the least
    overlap of the quality ranges as a fraction of the narrower one (see the module docstring).
    """
    return _delta(
        "rate", anchor_rate, anchor_score, test_rate, test_score, method, higher_is_better, saturation, min_overlap
    )


def bd_metric(
    anchor_rate: Any,
    anchor_score: Any,
    test_rate: Any,
    test_score: Any,
    *,
    method: Method = "pchip",
    higher_is_better: bool = True,
    saturation: float | None = None,
    min_overlap: float = MIN_OVERLAP,
) -> BDResult:
    """BD-metric (BD-PSNR for PSNR): mean quality difference test − anchor at equal rate, in metric units.

    Arguments as :func:`bd_rate`; the range rule applies to the log10-rate ranges and
    :attr:`BDResult.range` is in bpp.
    """
    return _delta(
        "metric", anchor_rate, anchor_score, test_rate, test_score, method, higher_is_better, saturation, min_overlap
    )


def range_rule(min_overlap: float = MIN_OVERLAP) -> str:
    """The range rule in one sentence, for recording next to the numbers."""
    return (
        "BD-rate averages over the overlap of the two curves' quality ranges, BD-metric over the overlap of their "
        f"log-rate ranges (when one range lies inside the other: over the inner one, stated with each number); "
        f"refused when there is no overlap, or it covers less than {min_overlap:.0%} of the narrower curve's range "
        f"or fewer than {MIN_INNER_POINTS} of its points"
    )


def method_settings(method: Method, min_overlap: float = MIN_OVERLAP, saturation: dict[str, float] | None = None) -> dict[str, Any]:
    """How every number of a BD table was computed, for recording next to it."""
    return {
        "method": method,
        "interpolation": {
            "pchip": "PCHIP (piecewise cubic Hermite), JVET/AOM convention",
            "cubic": "least-squares cubic polynomial, VCEG-M33",
        }[method],
        "integration": "exact integral of the interpolant: for PCHIP in NumPy over every curve at once (corpus, "
        "per image, bootstrap), equal to the bjontegaard package on the same points (to 1e-9 relative, tested); "
        "the cubic method and qk bdrate on two curves call the package itself",
        "bjontegaard_version": package_version("bjontegaard"),
        "rate": "bpp",
        "log_base": LOG_BASE,
        "range_rule": range_rule(min_overlap),
        "min_overlap": min_overlap,
        "min_inner_points": MIN_INNER_POINTS,
        "min_points": MIN_POINTS,
        "monotonic": "rate strictly increasing with strictly better quality, on both curves",
        "saturation": saturation or {},
    }
