"""BD-rate tables of a run: every ordered pair of codecs × every metric (or every codec against one anchor).

For each pair (anchor, test) and metric the table gives

* ``bd_rate``: BD-rate (%) of the corpus-mean curves (corpus value at a codec point = mean of
  the per-image values, CompressAI's convention), with ``bd_metric`` beside it, the range it
  holds over (``range_lo``–``range_hi`` in the metric's units) and the overlap (``overlap``: of
  the narrower curve's range; ``union``: of both; ``partial`` when below 75 % of the union);
* ``ci_low``/``ci_high``: a percentile bootstrap confidence interval of that number,
  resampling images with replacement (``n_boot`` resamples from ``seed``, both recorded);
* ``image_mean``: the mean of the per-image BD-rates, with ``images_note`` saying how many
  images it covers and why the others were skipped;
* ``corpus_images``/``excluded_note``: which images the corpus curves (and the bootstrap) use.
  An image the metric could not score (too small for MS-SSIM, refused for memory) is excluded
  *for that metric only*, from both curves of the pair, with the reason; a rate outlier (an
  image whose bpp is > 10× or < 1/10 of the corpus median at the same codec points, e.g. a 1×1
  image at thousands of bpp) is excluded from every corpus curve, and said so;
* per-image values in :attr:`BDTable.per_image`.

A missing number always comes with its ``reason`` (see :mod:`qualitykit.analysis.bdrate`).

>>> from qualitykit.analysis import Run, bd_table
>>> table = bd_table(Run.load("runs/kodak"), anchor=None)       # every ordered pair  # doctest: +SKIP
>>> table.summary[["anchor_label", "codec_label", "metric", "bd_rate", "ci_low", "ci_high"]]  # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import permutations
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UnknownName
from ..metrics.base import MetricInfo
from ..rundir import Run
from .aggregate import RDPoints, metric_refusals, rate_outliers, rd_points_all, select
from .bdrate import MIN_OVERLAP, Batch, BDResult, Method, bd_batch, method_settings


@dataclass
class BDTable:
    """``summary``: one row per (anchor, test) codec pair × metric; ``per_image``: one row per image ×
    pair × metric; ``settings``: how the numbers were computed (method, range rule, anchor,
    bootstrap); ``outliers``: images left out of every corpus curve, with the reason."""

    summary: pd.DataFrame
    per_image: pd.DataFrame
    settings: dict[str, Any]
    outliers: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: missing numbers become ``None``."""
        return {"settings": self.settings, "outliers": self.outliers, "summary": _records(self.summary),
                "per_image": _records(self.per_image)}  # fmt: skip

    def __repr__(self) -> str:
        s = self.summary
        pairs = len(s[["anchor_label", "codec_label"]].drop_duplicates()) if len(s) else 0
        metrics = list(self.settings.get("metrics") or [])
        anchor = self.settings.get("anchor_label")
        missing = int(s["bd_rate"].isna().sum()) if len(s) else 0
        return (f"<BDTable: {pairs} codec pair{'s' * (pairs != 1)} × {len(metrics)} metric{'s' * (len(metrics) != 1)} "
                f"({'against ' + str(anchor) if anchor else 'every ordered pair'}), {missing} without a number; "
                ".summary, .per_image, .to_dict()>")  # fmt: skip

    def _repr_html_(self) -> str:
        """Notebooks: the summary's main columns (BD-rate %, interval, the range it holds over, why not)."""
        from html import escape

        keep = ["anchor_label", "codec_label", "metric", "bd_rate", "ci_low", "ci_high", "range_lo", "range_hi", "reason"]
        table = self.summary[[c for c in keep if c in self.summary.columns]]
        return f"<p>{escape(repr(self))}</p>" + table.to_html(index=False, na_rep="—", float_format="{:.4g}".format)

    def cell(self, anchor: str, test: str, metric: str) -> pd.Series | None:
        """The summary row of ``test`` against ``anchor`` (labels) on ``metric``, or ``None``."""
        s = self.summary
        rows = s[(s["anchor_label"] == anchor) & (s["codec_label"] == test) & (s["metric"] == metric)]
        return None if rows.empty else rows.iloc[0]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def count_note(reasons: Sequence[str | None], what: str, verb: str = "skipped") -> str:
    """``"22 of 24 images; 2 skipped: non-monotonic"``: how many of ``reasons`` are ``None`` (computed), and why not the rest."""
    counts = Counter(r for r in reasons if r is not None)
    n_ok = len(reasons) - sum(counts.values())
    note = f"{n_ok} of {len(reasons)} {what}"
    if counts:
        why = ", ".join(f"{n} {r}" for r, n in counts.most_common()) if len(counts) > 1 else next(iter(counts))
        note += f"; {sum(counts.values())} {verb}: {why}"
    return note


def skipped_note(results: Sequence[BDResult], what: str) -> str:
    """:func:`count_note` of a list of :class:`BDResult`."""
    return count_note([r.reason for r in results], what)


class Resampler:
    """Bootstrap resamples of ``m`` images: ``n_boot`` rows of indices, drawn from ``seed``, the same
    for every cell with the same number of usable images (so cells are comparable and reruns identical)."""

    def __init__(self, n_boot: int = 1000, seed: int = 0) -> None:
        self.n_boot, self.seed = n_boot, seed
        self._cache: dict[int, np.ndarray] = {}

    def __call__(self, m: int) -> np.ndarray:
        if m not in self._cache:
            self._cache[m] = np.random.default_rng(self.seed).integers(0, max(m, 1), size=(self.n_boot, m))
        return self._cache[m]

    def weights(self, m: int) -> np.ndarray:
        """``(n_boot, m)``: how often each image is drawn in each resample, over ``m`` (a resample's mean is ``weights @ values``)."""
        key = -m - 1
        if key not in self._cache:
            self._cache[key] = draw_weights(self(m), m)
        return self._cache[key]


def draw_weights(draws: np.ndarray, m: int) -> np.ndarray:
    """Rows of image indices → rows of weights (count / row length), so that a resample's mean is a matrix product."""
    n = draws.shape[0]
    counts = np.zeros((n, m))
    np.add.at(counts, (np.repeat(np.arange(n), draws.shape[1]), draws.ravel()), 1.0)
    return counts / draws.shape[1]


def n_boot_rows(resamples: Any) -> int:
    """How many resamples ``resamples`` gives (0 when it gives none)."""
    if isinstance(resamples, Resampler):
        return resamples.n_boot
    return 1 if callable(resamples) else len(np.asarray(resamples))


def compare_points(
    anchor: RDPoints,
    test: RDPoints,
    info: MetricInfo,
    resamples: Resampler | np.ndarray | Callable[[int], np.ndarray],
    *,
    method: Method = "pchip",
    min_overlap: float = MIN_OVERLAP,
    confidence: float = 0.95,
    excluded: Mapping[str, str] | None = None,
    why: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """BD-rate of ``test`` against ``anchor`` for one metric: the summary row and one row per image.

    Both point sets must list the same images in the same order. ``excluded`` (image → reason)
    leaves images out of the corpus curves; images lacking points are left out too, with
    ``why[image]`` as the reason when given (:func:`~qualitykit.analysis.aggregate.select`).
    ``resamples`` gives the bootstrap resamples of the usable images: a :class:`Resampler`
    (or any function of their number), or an array of indices when every image is usable.
    Every table of BD-rates in qualitykit (report, ``qk bdrate``, the CI gate, claims) computes
    its cells here.
    """
    kw: dict[str, Any] = {"method": method, "higher_is_better": info.higher_is_better, "saturation": info.saturation,
                          "min_overlap": min_overlap}  # fmt: skip
    sel = select(anchor, test, excluded, why)
    used = sel.rows
    n_img = len(anchor.images)
    # one vectorised pass: row 0 the corpus curves, then one row per image, then the bootstrap resamples
    weights = _weights(used.size, resamples)
    stack = _stack(anchor, test, sel, weights)
    lead = 1 if used.size else 0
    batch = bd_batch("rate", *stack, details=lead + n_img, **kw)
    per = slice(lead, lead + n_img)
    each = Batch(batch.values[per], batch.reasons[per], batch.details[per], batch.lo[per], batch.hi[per],
                 batch.overlap[per], batch.union[per], batch.n_anchor[per], batch.n_test[per])  # fmt: skip
    if used.size:
        corpus = batch.result(0)
        delta = bd_batch("metric", stack[0][:1], stack[1][:1], stack[2][:1], stack[3][:1], **kw).result(0)
    else:
        nothing = BDResult(None, "no usable image", "no image has every point of both codecs: " + sel.note(n_img))
        corpus = delta = nothing
    boot_reasons: list[str | None] = []
    ci: tuple[float | None, float | None] = (None, None)
    if corpus.ok and len(weights) > 1:  # no interval around a number that was not computed
        boot_reasons = list(batch.reasons[lead + n_img :])
        ci = _interval(batch.values[lead + n_img :], confidence)
    image_values = each.values[np.isfinite(each.values)]
    notes = "; ".join(n for n in [*sel.notes, corpus.detail] if n)
    summary = {
        "metric": info.name,
        "higher_is_better": info.higher_is_better,
        "unit": info.unit,
        "bd_rate": corpus.value,
        "reason": corpus.reason,
        "detail": notes,
        "range_lo": corpus.range[0] if corpus.range else None,
        "range_hi": corpus.range[1] if corpus.range else None,
        "overlap": corpus.overlap,
        "union": corpus.union,
        "partial": corpus.partial,
        "points_anchor": corpus.n_anchor,
        "points_test": corpus.n_test,
        "ci_low": ci[0],
        "ci_high": ci[1],
        "ci_note": count_note(boot_reasons, "resamples") if corpus.ok else "no CI: no corpus BD-rate",
        "bd_metric": delta.value,
        "bd_metric_reason": delta.reason,
        "bd_metric_detail": delta.detail,
        "image_mean": float(np.mean(image_values)) if image_values.size else None,
        "images_used": int(image_values.size),
        "images_note": "mean over " + count_note(list(each.reasons), "images"),
        "corpus_images": int(used.size),
        "images_total": len(anchor.images),
        "excluded": "; ".join(f"{k}: {v}" for k, v in sel.excluded.items()),
        "excluded_note": sel.note(len(anchor.images)),
    }
    return summary, _per_image(anchor.images, info.name, each, sel.excluded)


def _per_image(images: list[str], metric: str, each: Batch, excluded: Mapping[str, str]) -> list[dict[str, Any]]:
    """One row per image: its own BD-rate (or the reason there is none) and whether the corpus curve used it."""
    return [
        {"image": image, "metric": metric, "bd_rate": None if each.reasons[i] is not None else float(each.values[i]),
         "reason": each.reasons[i], "detail": each.details[i], "points_anchor": int(each.n_anchor[i]),
         "points_test": int(each.n_test[i]), "in_corpus": image not in excluded}
        for i, image in enumerate(images)
    ]  # fmt: skip


def _weights(n_used: int, resamples: Resampler | np.ndarray | Callable[[int], np.ndarray]) -> np.ndarray:
    """Weights of the used images: row 0 the corpus mean, then one row per bootstrap resample (if any)."""
    weights = np.full((1, n_used), 1.0 / max(n_used, 1))
    if not (n_used and n_boot_rows(resamples)):
        return weights
    if isinstance(resamples, Resampler):
        boot_w = resamples.weights(n_used)
    else:
        draws = resamples(n_used) if callable(resamples) else np.asarray(resamples)
        if draws.shape[1] != n_used:
            raise ValueError(f"bootstrap resamples draw {draws.shape[1]} images; {n_used} are usable: pass a Resampler")
        boot_w = draw_weights(draws, n_used)
    return np.vstack([weights, boot_w])


def _stack(anchor: RDPoints, test: RDPoints, sel: Any, weights: np.ndarray) -> list[np.ndarray]:
    """``[anchor rates, anchor scores, test rates, test scores]``, one curve per row: the corpus curve
    (when an image is usable), every image's own curve, then the bootstrap curves."""
    used = sel.rows

    def curves(pts: RDPoints, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean curves over the used images, one row per row of ``weights``; points left out are NaN."""
        with np.errstate(invalid="ignore"):  # NaN in a left-out column: that column is NaN anyway
            b, q = weights @ pts.bpp[used], weights @ pts.scores[used]
        b[:, ~cols], q[:, ~cols] = np.nan, np.nan
        return b, q

    parts_a, parts_t = [(anchor.bpp, anchor.scores)], [(test.bpp, test.scores)]
    if used.size:
        a_rows, t_rows = curves(anchor, sel.anchor_cols), curves(test, sel.test_cols)
        parts_a.insert(0, (a_rows[0][:1], a_rows[1][:1]))
        parts_t.insert(0, (t_rows[0][:1], t_rows[1][:1]))
        if len(weights) > 1:
            parts_a.append((a_rows[0][1:], a_rows[1][1:]))
            parts_t.append((t_rows[0][1:], t_rows[1][1:]))
    return [np.vstack([p[k] for p in parts]) for parts in (parts_a, parts_t) for k in (0, 1)]


def _interval(boot_values: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    """The percentile interval of the finite bootstrap values, ``(None, None)`` when there are none."""
    tail = (1 - confidence) / 2 * 100
    values = boot_values[np.isfinite(boot_values)]
    if not values.size:
        return None, None
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return float(lo), float(hi)


def bootstrap_settings(n_boot: int, seed: int, confidence: float) -> dict[str, Any]:
    """How the confidence intervals were drawn, for recording next to them."""
    return {
        "statistic": "BD-rate of the corpus-mean curves",
        "resampling": "images, with replacement (only the images the cell's corpus curves use)",
        "resamples": n_boot,
        "seed": seed,
        "confidence": confidence,
        "interval": "percentile",
    }


def bd_table(
    run: Run,
    anchor: str | None = "jpeg",
    *,
    metrics: Sequence[str] | None = None,
    method: Method = "pchip",
    min_overlap: float = MIN_OVERLAP,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    outliers: bool = True,
    pairs: Sequence[tuple[str, str]] | None = None,
) -> BDTable:
    """BD-rate and BD-metric of the codecs of ``run``, for every metric.

    ``anchor`` (label, spec, id or family name, :meth:`Run.resolve_codec`): every other codec
    against it; ``None``: every ordered pair of codecs. ``metrics`` defaults to every metric of
    the run. ``outliers``: leave rate-outlier images out of the corpus curves (with a note).
    Bootstrap resamples are drawn from ``seed`` (:class:`Resampler`). ``pairs`` (anchor, test
    codec keys) restricts the table to those pairs.
    """
    anchor_id = run.resolve_codec(anchor) if anchor is not None else None
    infos = run.metrics
    metrics = list(infos) if metrics is None else list(metrics)
    unknown = [m for m in metrics if m not in infos]
    if unknown:
        raise UnknownName(f"metric(s) {', '.join(unknown)} not in the results; have {', '.join(infos)}")
    images = run.images
    far = rate_outliers(run.results) if outliers else {}
    resampler = Resampler(n_boot, seed)
    if pairs is not None:
        pairs = [(run.resolve_codec(a), run.resolve_codec(t)) for a, t in pairs]
    elif anchor_id is None:
        pairs = list(permutations(run.codec_ids, 2))
    else:
        pairs = [(anchor_id, t) for t in run.codec_ids if t != anchor_id]
    used = list(dict.fromkeys(c for pair in pairs for c in pair))
    points = {(cid, m): p for cid in used for m, p in rd_points_all(run.results, cid, metrics, images).items()}
    refusals = {m: metric_refusals(run.manifest.errors, m) for m in metrics}
    summary, per_image = [], []
    for a_id, t_id in pairs:
        names = {"anchor_label": run.label(a_id), "anchor_id": a_id, "codec_label": run.label(t_id), "codec_id": t_id}
        for metric in metrics:
            row, rows = compare_points(
                points[(a_id, metric)], points[(t_id, metric)], infos[metric], resampler, method=method,
                min_overlap=min_overlap, confidence=confidence, excluded=far, why=refusals[metric],
            )  # fmt: skip
            summary.append({**names, **row})
            per_image += [{**names, **r} for r in rows]
    settings = {
        **method_settings(method, min_overlap, {m: infos[m].saturation for m in metrics if infos[m].saturation is not None}),
        "anchor_label": run.label(anchor_id) if anchor_id else None,
        "anchor_id": anchor_id,
        "pairs": "every ordered pair" if anchor_id is None else "every codec against the anchor",
        "metrics": {m: infos[m].higher_is_better for m in metrics},
        "images": len(images),
        "aggregation": (
            "Corpus value at a codec point = mean of per-image values (CompressAI's convention), over the images "
            "that have every point of both codecs on that metric; an image a metric could not score is left out for "
            "that metric only, with the reason"
        ),
        "outliers": (
            "images whose bpp is more than 10× (or under 1/10 of) the corpus median at the same codec points are left "
            "out of every corpus curve and bootstrap, and named; their own per-image values are kept"
            if outliers else "none left out"
        ),  # fmt: skip
        "bootstrap": bootstrap_settings(n_boot, seed, confidence),
    }
    per_image = pd.DataFrame(per_image)
    if not per_image.empty:
        lead = ["image", "anchor_label", "codec_label", "codec_id"]
        per_image = per_image[[*lead, *[c for c in per_image.columns if c not in lead]]]
    return BDTable(pd.DataFrame(summary), per_image, settings, far)
