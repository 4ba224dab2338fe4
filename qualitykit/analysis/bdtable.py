"""BD-rate tables of a run: every codec × metric against an anchor codec.

For each test codec and metric the table gives

* ``bd_rate``: BD-rate (%) of the corpus-mean curves (corpus value at a codec point = mean of
  the per-image values, CompressAI's convention), with ``bd_metric`` beside it;
* ``ci_low``/``ci_high``: a percentile bootstrap confidence interval of that number,
  resampling images with replacement (``n_boot`` resamples from ``seed``, both recorded);
* ``image_mean``: the mean of the per-image BD-rates, with ``images_note`` saying how many
  images it covers and why the others were skipped;
* per-image values in :attr:`BDTable.per_image`.

A missing number always comes with its ``reason`` (see :mod:`qualitykit.analysis.bdrate`).

>>> from qualitykit.analysis import Run, bd_table
>>> table = bd_table(Run.load("runs/kodak"), anchor="jpeg")            # doctest: +SKIP
>>> table.summary[["codec_label", "metric", "bd_rate", "ci_low", "ci_high"]]  # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UnknownName

from ..metrics.base import MetricInfo
from .aggregate import RDPoints, rd_points
from .bdrate import MIN_OVERLAP, BDResult, Method, bd_metric, bd_rate, method_settings
from ..rundir import Run


@dataclass
class BDTable:
    """``summary``: one row per test codec × metric; ``per_image``: one row per image × test codec × metric;
    ``settings``: how the numbers were computed (method, log base, range rule, anchor, bootstrap)."""

    summary: pd.DataFrame
    per_image: pd.DataFrame
    settings: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: missing numbers become ``None``."""
        return {"settings": self.settings, "summary": _records(self.summary), "per_image": _records(self.per_image)}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def skipped_note(results: Sequence[BDResult], what: str) -> str:
    """``"22 of 24 images; 2 skipped: non-monotonic"``: how many of ``results`` have a value, and why not the rest."""
    reasons = Counter(r.reason for r in results if not r.ok)
    n_ok = len(results) - sum(reasons.values())
    note = f"{n_ok} of {len(results)} {what}"
    if reasons:
        why = ", ".join(f"{n} {r}" for r, n in reasons.most_common()) if len(reasons) > 1 else next(iter(reasons))
        note += f"; {sum(reasons.values())} skipped: {why}"
    return note


def compare_points(
    anchor: RDPoints,
    test: RDPoints,
    info: MetricInfo,
    resamples: np.ndarray,
    *,
    method: Method = "pchip",
    min_overlap: float = MIN_OVERLAP,
    confidence: float = 0.95,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """BD-rate of ``test`` against ``anchor`` for one metric: the summary row and one row per image.

    Both point sets must list the same images in the same order. ``resamples`` are rows of image
    indices (one bootstrap resample each) for the confidence interval. Every table of BD-rates in
    qualitykit (report, ``qk bdrate``, the CI gate) computes its cells here.
    """
    kw: dict[str, Any] = {
        "method": method,
        "higher_is_better": info.higher_is_better,
        "saturation": info.saturation,
        "min_overlap": min_overlap,
    }
    tail = (1 - confidence) / 2 * 100
    corpus = bd_rate(*anchor.corpus(), *test.corpus(), **kw)
    delta = bd_metric(*anchor.corpus(), *test.corpus(), **kw)
    each = [bd_rate(*anchor.image(i), *test.image(i), **kw) for i in range(len(anchor.images))]
    # no interval around a number that was not computed
    boot = [bd_rate(*anchor.corpus(rows), *test.corpus(rows), **kw) for rows in resamples] if corpus.ok else []
    boot_values = [r.value for r in boot if r.ok]
    ci = np.percentile(boot_values, [tail, 100 - tail]) if boot_values else (None, None)
    image_values = [r.value for r in each if r.ok]
    summary = {
        "metric": info.name,
        "higher_is_better": info.higher_is_better,
        "bd_rate": corpus.value,
        "reason": corpus.reason,
        "detail": corpus.detail,
        "overlap": corpus.overlap,
        "points_anchor": corpus.n_anchor,
        "points_test": corpus.n_test,
        "ci_low": ci[0],
        "ci_high": ci[1],
        "ci_note": skipped_note(boot, "resamples") if corpus.ok else "no CI: no corpus BD-rate",
        "bd_metric": delta.value,
        "bd_metric_reason": delta.reason,
        "bd_metric_detail": delta.detail,
        "image_mean": float(np.mean(image_values)) if image_values else None,
        "images_used": len(image_values),
        "images_note": "mean over " + skipped_note(each, "images"),
    }
    per_image = [
        {"image": image, "metric": info.name, "bd_rate": r.value, "reason": r.reason, "detail": r.detail,
         "points_anchor": r.n_anchor, "points_test": r.n_test}
        for image, r in zip(anchor.images, each, strict=True)
    ]  # fmt: skip
    return summary, per_image


def bootstrap_settings(n_boot: int, seed: int, confidence: float) -> dict[str, Any]:
    """How the confidence intervals were drawn, for recording next to them."""
    return {
        "statistic": "BD-rate of the corpus-mean curves",
        "resampling": "images, with replacement",
        "resamples": n_boot,
        "seed": seed,
        "confidence": confidence,
        "interval": "percentile",
    }


def bd_table(
    run: Run,
    anchor: str = "jpeg",
    *,
    metrics: Sequence[str] | None = None,
    method: Method = "pchip",
    min_overlap: float = MIN_OVERLAP,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> BDTable:
    """BD-rate and BD-metric of every other codec in ``run`` against ``anchor``, for every metric.

    ``anchor`` is matched by label, spec, id or family name (:meth:`Run.resolve_codec`);
    ``metrics`` defaults to every metric of the run. Bootstrap resamples are drawn once from
    ``seed`` and shared by every cell, so cells are comparable and reruns identical.
    """
    anchor_id = run.resolve_codec(anchor)
    infos = run.metrics
    metrics = list(infos) if metrics is None else list(metrics)
    unknown = [m for m in metrics if m not in infos]
    if unknown:
        raise UnknownName(f"metric(s) {', '.join(unknown)} not in the results; have {', '.join(infos)}")
    images = run.images
    resamples = np.random.default_rng(seed).integers(0, len(images), size=(n_boot, len(images)))
    summary, per_image = [], []
    for test_id in run.codec_ids:
        if test_id == anchor_id:
            continue
        names = {"codec_label": run.label(test_id), "codec_id": test_id}
        for metric in metrics:
            a = rd_points(run.results, anchor_id, metric, images)
            t = rd_points(run.results, test_id, metric, images)
            row, rows = compare_points(a, t, infos[metric], resamples, method=method, min_overlap=min_overlap, confidence=confidence)
            summary.append({**names, **row})
            per_image += [{**names, **r} for r in rows]
    settings = {
        **method_settings(method, min_overlap, {m: infos[m].saturation for m in metrics if infos[m].saturation is not None}),
        "anchor_label": run.label(anchor_id),
        "anchor_id": anchor_id,
        "metrics": {m: infos[m].higher_is_better for m in metrics},
        "images": len(images),
        "aggregation": "Corpus value at a codec point = mean of per-image values; a point any image lacks is left out",
        "bootstrap": bootstrap_settings(n_boot, seed, confidence),
    }
    per_image = pd.DataFrame(per_image)
    if not per_image.empty:
        per_image = per_image[["image", "codec_label", "codec_id", *[c for c in per_image.columns if c not in ("image", "codec_label", "codec_id")]]]
    return BDTable(pd.DataFrame(summary), per_image, settings)
