"""Rate–quality curves from a qk run directory, a CSV of points or a CompressAI results JSON, and
the BD-rate between two of them (what ``qk bdrate`` prints).

* run directory: the corpus-mean curve of one codec (``codec`` = label, spec, id or family;
  optional when the run has a single codec); the metric's direction and saturation come from
  the run's manifest;
* ``*.json``: CompressAI's ``{"results": {"bpp": [...], "psnr-rgb": [...]}}``; a key is matched
  to a qk metric by the metric's name or one of its ``aliases`` (``psnr-rgb`` is qk's ``psnr``,
  ``ms-ssim-rgb`` its ``ms-ssim``: the same conventions under CompressAI's names); a file that
  gives MS-SSIM only in dB (``ms-ssim-db-rgb``, −10·log10(1 − x), as CompressAI's paper curves
  do) is converted back to MS-SSIM, and the curve's source says so;
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
from ..metrics.base import MetricInfo, Reference
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
    #: Short name for tables: the codec label of a run, a JSON's ``name``, else the file name.
    label: str = ""


def _aliases(metric: str) -> tuple[str, ...]:
    """``metric`` and the names other tools give it (the metric class's ``aliases``)."""
    from ..metrics import registry

    try:
        return (metric, *registry.get(metric).aliases)
    except QKError:
        return (metric,)


def _db_keys(metric: str) -> list[str]:
    """Names a results file may give ``metric`` in dB under (SSIM-like metrics only): ``ms-ssim-db``, ``ms-ssim-db-rgb``."""
    if "ssim" not in metric:
        return []
    keys = []
    for a in _aliases(metric):
        keys += [f"{a[:-4]}-db-rgb", f"{a}-db"] if a.endswith("-rgb") else [f"{a}-db", f"{a}-db-rgb"]
    return list(dict.fromkeys(keys))


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
        return Curve(bpp, scores, metric, source, run.metrics[metric], run.label(cid))
    if not path.is_file():
        raise BadInput(f"{path}: no such run directory or file")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            results = data.get("results")
        except (ValueError, AttributeError) as exc:
            raise BadInput(f"{path}: not a CompressAI results JSON ({exc})") from None
        if not isinstance(results, dict) or "bpp" not in results:
            raise BadInput(f'{path}: expected CompressAI JSON {{"results": {{"bpp": [...], ...}}}}')
        label = str(data.get("name") or path.stem)
        key = next((k for k in (*reversed(_aliases(metric)[1:]), metric) if k in results), None)
        if key is not None:
            bpp, scores = _checked(path, {"bpp": results["bpp"], key: results[key]})
            return Curve(bpp, scores, metric, f"{path} [{key}]", label=label)
        db_key = next((k for k in _db_keys(metric) if k in results), None)
        if db_key is not None:
            bpp, db = _checked(path, {"bpp": results["bpp"], db_key: results[db_key]})
            scores = 1 - 10 ** (-db / 10)
            return Curve(bpp, scores, metric, f"{path} [{db_key}, converted from dB]", label=label)
        raise UnknownName(f"{path}: no {metric!r} curve; keys: {', '.join(results)}")
    try:
        points = pd.read_csv(path)
    except (ValueError, OSError) as exc:
        raise BadInput(f"{path}: not a CSV of points ({exc})") from None
    missing = [c for c in ("bpp", metric) if c not in points.columns]
    if missing:
        raise UnknownName(f"{path}: missing column(s) {', '.join(missing)}; have {', '.join(points.columns)}")
    bpp, scores = _checked(path, {"bpp": points["bpp"], metric: points[metric]})
    return Curve(bpp, scores, metric, str(path), label=path.stem)


def _checked(path: Path, columns: dict[str, Any]) -> list[np.ndarray]:
    """The columns of a curve file as float arrays, checked: ``bpp`` a finite number > 0 at every point,
    a score a finite number or empty; anything else is a :class:`BadInput` naming the file, point and column."""
    out = []
    for name, values in columns.items():
        raw = pd.Series(values if isinstance(values, (list, tuple, pd.Series)) else [values]).reset_index(drop=True)
        v = pd.to_numeric(raw.astype(object), errors="coerce").astype(float)
        bad = (raw.notna() & v.isna()) | np.isinf(v) | ((name == "bpp") & ~(v > 0))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            need = "a finite number > 0" if name == "bpp" else "a finite number"
            raise BadInput(f"{path}: point {i + 1}, {name} = {raw.iloc[i]!r}: must be {need}")
        out.append(v.to_numpy())
    if len({len(a) for a in out}) > 1:
        raise BadInput(f"{path}: {' and '.join(columns)} have different numbers of points")
    return out


def metric_info(metric: str, curves: list[Curve]) -> tuple[MetricInfo, str | None]:
    """The metric's metadata: from a curve that records it, else the registry; else assumed, with a note."""
    from ..metrics import registry

    recorded = [c.info for c in curves if c.info is not None]
    if recorded:
        return recorded[0], None
    try:
        cls = registry.get(metric)
    except QKError:
        return MetricInfo(metric, "", True, (None, None), None, "", "", Reference.from_value("")), f"{metric!r} is not a known metric; higher is taken as better"
    return cls.info_for(""), None


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


def curve_labels(paths: list[Path]) -> list[str]:
    """Short, unique names for ``paths``: a JSON's ``name``, a one-codec run's codec label, else the
    file name; where two names clash, the file names."""
    labels = []
    for p in paths:
        label = p.stem if p.is_file() else p.name
        try:
            if p.is_dir():
                run = Run.load(p)
                label = run.label(run.codec_ids[0]) if len(run.codec_ids) == 1 else p.name
            elif p.suffix.lower() == ".json":
                label = str(json.loads(p.read_text(encoding="utf-8")).get("name") or p.stem)
        except (QKError, OSError, ValueError, AttributeError):
            pass
        labels.append(label)
    return [p.stem if labels.count(lab) > 1 else lab for p, lab in zip(paths, labels)]


def compare_many(
    curves: list[str | Path],
    metrics: list[str],
    anchors: list[str | Path] | None = None,
    *,
    all_pairs: bool = False,
    method: Method = "pchip",
    min_overlap: float = MIN_OVERLAP,
) -> pd.DataFrame:
    """BD-rate and BD-metric of many curves (run directories with one codec, CSVs, CompressAI JSONs).

    One row per pair × metric: ``anchor_label`` and ``codec_label`` name the two curves (the codec
    against the anchor), ``anchor_path``/``codec_path`` are their files. Pairs: with ``anchors``, every curve against every anchor; with ``all_pairs``, every ordered
    pair of ``curves``; otherwise every curve against the first. A file without a curve for a
    metric gives a row whose ``reason`` says so (``"no curve"``); every row carries the range the
    number holds over and the overlap (:mod:`qualitykit.analysis.bdrate`).
    """
    paths = [Path(p) for p in curves]
    anchor_paths = [Path(p) for p in anchors] if anchors else []
    everything = list(dict.fromkeys(anchor_paths + paths))
    if all_pairs:
        pairs = [(a, t) for a in everything for t in everything if a != t]
    elif anchor_paths:
        pairs = [(a, t) for a in anchor_paths for t in paths if a != t]
    else:
        if len(paths) < 2:
            raise BadInput("give at least two curves (the first is the anchor)")
        pairs = [(paths[0], t) for t in paths[1:]]
    rows = []
    names = dict(zip(everything, curve_labels(everything)))
    for metric in metrics:
        loaded: dict[Path, Curve | str] = {}
        for p in everything:
            try:
                loaded[p] = load_curve(p, metric)
            except UnknownName as exc:
                loaded[p] = str(exc)
        for a, t in pairs:
            row: dict[str, Any] = {"anchor_label": names[a], "codec_label": names[t], "metric": metric,
                                   "anchor_path": str(a), "codec_path": str(t)}  # fmt: skip
            ca, ct = loaded[a], loaded[t]
            if isinstance(ca, str) or isinstance(ct, str):
                rows.append({**row, "bd_rate": None, "reason": "no curve", "detail": ca if isinstance(ca, str) else ct})
                continue
            info, note = metric_info(metric, [ca, ct])
            kw: dict[str, Any] = {"method": method, "higher_is_better": info.higher_is_better,
                                  "saturation": info.saturation, "min_overlap": min_overlap}  # fmt: skip
            rate = bd_rate(ca.bpp, ca.scores, ct.bpp, ct.scores, **kw)
            delta = bd_metric(ca.bpp, ca.scores, ct.bpp, ct.scores, **kw)
            conv = [f"{n} converted from dB" for n, c in ((names[a], ca), (names[t], ct)) if "converted from dB" in c.source]
            rows.append({
                **row, "bd_rate": rate.value, "reason": rate.reason, "detail": rate.detail,
                "range_lo": rate.range[0] if rate.range else None, "range_hi": rate.range[1] if rate.range else None,
                "overlap": rate.overlap, "union": rate.union, "partial": rate.partial, "unit": info.unit,
                "points_anchor": rate.n_anchor, "points_test": rate.n_test,
                "bd_metric": delta.value, "bd_metric_reason": delta.reason,
                "note": "; ".join([*conv, *([note] if note else [])]),
            })  # fmt: skip
    return pd.DataFrame(rows)
