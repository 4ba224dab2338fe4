"""Rate–quality curves from a qk run directory, a CSV of points or a CompressAI results JSON, and
the BD-rate between two of them (what ``qk bdrate`` prints).

* run directory: the corpus-mean curve of one codec (``codec`` = label, spec, id or family;
  optional when the run has a single codec); the metric's direction and saturation come from
  the run's manifest;
* ``*.json``: CompressAI's ``{"results": {"bpp": [...], "psnr-rgb": [...]}}``; a key is matched
  to a qk metric by the metric's name or one of its ``aliases`` (``psnr-rgb`` is qk's ``psnr``,
  ``ms-ssim-rgb`` its ``ms-ssim``: the same conventions under CompressAI's names);
* anything else: a CSV with a ``bpp`` column and a column named as the metric.

For a CSV or JSON, the metric's direction and saturation are those of the metric registered under
that name; an unknown metric is taken as higher-is-better, and the result says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import BadInput, QKError, UnknownName
from ..metrics.base import MetricInfo
from ..rundir import Run
from .aggregate import rd_points
from .bdrate import MIN_OVERLAP, BDResult, Method, bd_metric, bd_rate, method_settings


@dataclass(frozen=True)
class Curve:
    """Points of one curve: ``bpp`` and ``scores`` of ``metric``; ``source`` says where they came from;
    ``info`` is the metric's metadata when the source records it (a run's manifest does)."""

    bpp: np.ndarray
    scores: np.ndarray
    metric: str
    source: str
    info: MetricInfo | None = None


def _aliases(metric: str) -> tuple[str, ...]:
    """``metric`` and the names other tools give it (the metric class's ``aliases``)."""
    from ..metrics import registry

    try:
        return (metric, *registry.get(metric).aliases)
    except QKError:
        return (metric,)


def load_curve(path: str | Path, metric: str, codec: str | None = None) -> Curve:
    """The ``metric`` curve stored at ``path`` (see the module docstring for the formats)."""
    path = Path(path)
    if path.is_dir():
        run = Run.load(path)
        if codec is None and len(run.codec_ids) != 1:
            labels = ", ".join(run.label(c) for c in run.codec_ids)
            raise BadInput(f"{path}: the run has several codecs ({labels}); choose one with --codec")
        cid = run.resolve_codec(codec) if codec is not None else run.codec_ids[0]
        if metric not in run.metrics:
            raise UnknownName(f"{path}: no metric {metric!r}; have {', '.join(run.metrics) or 'none'}")
        bpp, scores = rd_points(run.results, cid, metric, run.images).corpus()
        source = f"{path} [{run.label(cid)}], mean over {len(run.images)} images"
        return Curve(bpp, scores, metric, source, run.metrics[metric])
    if not path.is_file():
        raise BadInput(f"{path}: no such run directory or file")
    if path.suffix.lower() == ".json":
        try:
            results = json.loads(path.read_text(encoding="utf-8")).get("results")
        except (ValueError, AttributeError) as exc:
            raise BadInput(f"{path}: not a CompressAI results JSON ({exc})") from None
        if not isinstance(results, dict) or "bpp" not in results:
            raise BadInput(f'{path}: expected CompressAI JSON {{"results": {{"bpp": [...], ...}}}}')
        key = next((k for k in (*reversed(_aliases(metric)[1:]), metric) if k in results), None)
        if key is None:
            raise UnknownName(f"{path}: no {metric!r} curve; keys: {', '.join(results)}")
        return Curve(np.asarray(results["bpp"], float), np.asarray(results[key], float), metric, f"{path} [{key}]")
    try:
        points = pd.read_csv(path)
    except (ValueError, OSError) as exc:
        raise BadInput(f"{path}: not a CSV of points ({exc})") from None
    missing = [c for c in ("bpp", metric) if c not in points.columns]
    if missing:
        raise UnknownName(f"{path}: missing column(s) {', '.join(missing)}; have {', '.join(points.columns)}")
    return Curve(points["bpp"].to_numpy(float), points[metric].to_numpy(float), metric, str(path))


def metric_info(metric: str, curves: list[Curve]) -> tuple[MetricInfo, str | None]:
    """The metric's metadata: from a curve that records it, else the registry; else assumed, with a note."""
    from ..metrics import registry

    recorded = [c.info for c in curves if c.info is not None]
    if recorded:
        return recorded[0], None
    try:
        cls = registry.get(metric)
    except QKError:
        return MetricInfo(metric, "", True, (None, None), None, "", "", ""), f"{metric!r} is not a known metric; higher is taken as better"
    return MetricInfo(metric, "", cls.higher_is_better, tuple(cls.range), cls.saturation, cls.unit, cls.description, cls.reference), None


@dataclass
class CurveComparison:
    """BD-rate and BD-metric of ``test`` against ``anchor`` (both :class:`Curve`), with how they were computed."""

    anchor: Curve
    test: Curve
    info: MetricInfo
    rate: BDResult
    delta: BDResult
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "anchor": self.anchor.source, "test": self.test.source, "metric": self.info.name,
            "higher_is_better": self.info.higher_is_better, "bd_rate_percent": self.rate.to_dict(),
            "bd_metric": self.delta.to_dict(), "settings": self.settings, "notes": self.notes,
        }  # fmt: skip


def compare_curves(
    anchor: str | Path,
    test: str | Path,
    metric: str = "psnr",
    codecs: tuple[str | None, str | None] | list[str | None] = (None, None),
    method: Method = "pchip",
    min_overlap: float = MIN_OVERLAP,
) -> CurveComparison:
    """BD-rate and BD-metric of the curve at ``test`` against the curve at ``anchor`` (files or run directories).

    ``codecs`` picks the codec of each side when it is a run directory with several.
    """
    curves = [load_curve(p, metric, c) for p, c in zip((anchor, test), codecs)]
    info, note = metric_info(metric, curves)
    kw: dict[str, Any] = {"method": method, "higher_is_better": info.higher_is_better,
                          "saturation": info.saturation, "min_overlap": min_overlap}  # fmt: skip
    a, t = curves
    rate = bd_rate(a.bpp, a.scores, t.bpp, t.scores, **kw)
    delta = bd_metric(a.bpp, a.scores, t.bpp, t.scores, **kw)
    settings = method_settings(method, min_overlap, {metric: info.saturation} if info.saturation is not None else {})
    return CurveComparison(a, t, info, rate, delta, settings, [note] if note else [])
