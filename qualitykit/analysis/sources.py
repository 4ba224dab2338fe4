"""Read one rate–quality curve from a qk run directory, a CSV of points or a CompressAI results JSON.

* run directory: the corpus-mean curve of one codec (``codec`` = label, spec, id or family;
  optional when the run has a single codec);
* ``*.json``: CompressAI's ``{"results": {"bpp": [...], "psnr-rgb": [...]}}``; ``psnr-rgb`` is
  read as ``psnr`` and ``ms-ssim-rgb`` as ``ms-ssim`` (qualitykit's names for the same
  conventions), plain ``psnr``/``ms-ssim`` keys are accepted too;
* anything else: a CSV with a ``bpp`` column and a column named as the metric.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UnknownName

from .aggregate import rd_points
from .run import Run

#: qualitykit metric name → keys accepted in a CompressAI results JSON, in order of preference.
COMPRESSAI_KEYS = {"psnr": ("psnr-rgb", "psnr"), "ms-ssim": ("ms-ssim-rgb", "ms-ssim")}


@dataclass(frozen=True)
class Curve:
    """Points of one curve: ``bpp`` and ``values`` of ``metric``; ``source`` describes where they came from;
    ``higher_is_better`` is ``None`` unless the source declares it (a run's manifest does)."""

    bpp: np.ndarray
    values: np.ndarray
    metric: str
    source: str
    higher_is_better: bool | None = None


def load_curve(path: str | Path, metric: str, codec: str | None = None) -> Curve:
    """The ``metric`` curve stored at ``path`` (see the module docstring for the formats)."""
    path = Path(path)
    if path.is_dir():
        run = Run.load(path)
        if codec is None and len(run.codec_ids) != 1:
            labels = ", ".join(run.label(c) for c in run.codec_ids)
            raise ValueError(f"{path}: the run has several codecs ({labels}); choose one with --codec")
        cid = run.resolve_codec(codec) if codec is not None else run.codec_ids[0]
        if metric not in run.results.columns:
            raise UnknownName(f"{path}: no metric {metric!r}; have {', '.join(run.metrics) or 'none'}")
        bpp, values = rd_points(run.results, cid, metric, run.images).corpus()
        source = f"{path} [{run.label(cid)}], mean over {len(run.images)} images"
        return Curve(bpp, values, metric, source, run.metrics.get(metric))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such run directory or file")
    if path.suffix.lower() == ".json":
        results = json.loads(path.read_text(encoding="utf-8")).get("results")
        if not isinstance(results, dict) or "bpp" not in results:
            raise ValueError(f'{path}: expected CompressAI JSON {{"results": {{"bpp": [...], ...}}}}')
        key = next((k for k in COMPRESSAI_KEYS.get(metric, (metric,)) if k in results), None)
        if key is None:
            raise UnknownName(f"{path}: no {metric!r} curve; keys: {', '.join(results)}")
        return Curve(np.asarray(results["bpp"], float), np.asarray(results[key], float), metric, f"{path} [{key}]")
    points = pd.read_csv(path)
    missing = [c for c in ("bpp", metric) if c not in points.columns]
    if missing:
        raise UnknownName(f"{path}: missing column(s) {', '.join(missing)}; have {', '.join(points.columns)}")
    return Curve(points["bpp"].to_numpy(float), points[metric].to_numpy(float), metric, str(path))
