"""Verdicts of a gate: per baseline codec × metric, improved, regressed, within noise or not measured.

For each codec of the baseline, the current run's codec is found with the run's own matching
rule (:meth:`qualitykit.rundir.Run.resolve_codec`: label, spec, id, unique family), and for
each metric the BD-rate of the current curve against the baseline curve is computed exactly as
the report computes its cells (:func:`qualitykit.analysis.bdtable.compare_points`: corpus-mean
curves, PCHIP on log10 rate by default, per-image bootstrap interval). Positive BD-rate means the
current codec needs more bytes for the same quality. A change is called ``regressed`` (or
``improved``) only when its whole 95 % interval lies beyond the tolerance (and so excludes zero);
an interval that reaches into ``±tolerance`` is ``within noise`` (see :func:`verdict`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..analysis.aggregate import rd_points
from ..analysis.bdrate import MIN_OVERLAP, Method, method_settings
from ..analysis.bdtable import Resampler, bootstrap_settings, compare_points
from ..errors import Incomparable, QKError
from ..rundir import Run, display_name
from .baseline import Baseline

DEFAULT_TOLERANCE = 1.0
#: A cell's verdict (see :func:`verdict`).
VERDICTS = ("improved", "regressed", "within noise", "not measured")


@dataclass
class GateResult:
    """Every codec × metric verdict (``cells``), what was allowed (``notes``), codecs of the run the
    baseline does not cover (``not_gated``), and how the numbers were computed (``settings``)."""

    cells: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    not_gated: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    require_all: bool = False
    #: The run directory judged (set by :func:`qualitykit.api.gate`).
    run_dir: Path | None = None

    @property
    def exit_code(self) -> int:
        """0 pass (improved or within noise), 1 a cell regressed, 2 a cell not measured (or, with
        ``require_all``, codecs not gated)."""
        verdicts = set(self.cells["verdict"])
        if "regressed" in verdicts:
            return 1
        if "not measured" in verdicts or (self.require_all and self.not_gated):
            return 2
        return 0


def check_comparable(baseline: Baseline, current: Run, allow_version_drift: bool) -> tuple[dict[str, str], list[str]]:
    """Baseline codec label → current codec id, and notes on allowed differences.

    Raises :class:`~qualitykit.errors.Incomparable` naming every difference that makes the comparison meaningless.
    """
    problems, notes = [], []
    cur_images = {i.image: i.sha256 for i in current.manifest.dataset.images}
    if baseline.images != cur_images:
        only_b = sorted(set(baseline.images) - set(cur_images))
        only_c = sorted(set(cur_images) - set(baseline.images))
        changed = sorted(i for i in set(baseline.images) & set(cur_images) if baseline.images[i] != cur_images[i])
        parts = [f"{label}: {', '.join(v[:5])}{' …' if len(v) > 5 else ''} ({len(v)})"
                 for label, v in (("missing from the current run", only_b), ("not in the baseline", only_c),
                                  ("different content (sha256)", changed)) if v]  # fmt: skip
        problems.append(f"dataset differs from the baseline's ({baseline.dataset_name}): " + "; ".join(parts))
    cur_metrics = current.metrics
    for name, info in baseline.metrics.items():
        if name not in cur_metrics:
            problems.append(f"metric {name} is in the baseline but not in the current run")
        elif cur_metrics[name].version != info.version:
            msg = f"metric {name} version {info.version} (baseline) != {cur_metrics[name].version} (current)"
            (notes if allow_version_drift else problems).append(msg)
    matching, missing = {}, []
    for b in baseline.codecs:
        for key in (b.label, b.name):  # the same label, else the run's one codec of that family
            try:
                matching[b.label] = current.resolve_codec(key)
                break
            except QKError:
                continue
        else:
            missing.append(b.label)
    if missing:
        have = ", ".join(c.label for c in current.codecs) or "none"
        problems.append(f"codec(s) {', '.join(missing)} of the baseline are not in the current run (it has: {have})")
    by_id = {c.id: c for c in current.codecs}
    for b in baseline.codecs:
        if b.label not in matching:
            continue
        cur = by_id[matching[b.label]]
        if cur.id != b.id:
            notes.append(f"{b.label}: settings changed, {b.id} (baseline) → {cur.id} (current)")
        keys = sorted(set(b.versions) | set(cur.versions))
        drift = {k: (b.versions.get(k), cur.versions.get(k)) for k in keys if b.versions.get(k) != cur.versions.get(k)}
        if drift:
            msg = f"{b.label}: library versions differ: " + ", ".join(f"{k} {x} → {y}" for k, (x, y) in drift.items())
            (notes if allow_version_drift else problems).append(msg)
    if problems:
        hint = " (pass --allow-version-drift to compare anyway)" if any("version" in p for p in problems) else ""
        raise Incomparable("; ".join(problems) + hint)
    return matching, notes


def verdict(bd_rate: float | None, ci_low: float | None, ci_high: float | None, tolerance: float) -> str:
    """A cell's verdict from its BD-rate (%), 95 % interval and ``tolerance`` (%):

    ``regressed`` when the whole interval lies above ``+tolerance`` (and so above zero);
    ``improved`` when it lies wholly below ``-tolerance``; ``within noise`` when the interval
    reaches into ``-tolerance … +tolerance`` (the change cannot be told from no change);
    ``not measured`` without a BD-rate. Without an interval (one usable image) the BD-rate
    itself is compared with the tolerance.
    """
    if bd_rate is None or pd.isna(bd_rate):
        return "not measured"
    lo, hi = (bd_rate, bd_rate) if ci_low is None or ci_high is None or pd.isna(ci_low) or pd.isna(ci_high) else (ci_low, ci_high)
    if lo > max(tolerance, 0.0):
        return "regressed"
    if hi < -max(tolerance, 0.0):
        return "improved"
    return "within noise"


def gate(
    baseline: Baseline,
    current: Run,
    max_bd_rate: float = DEFAULT_TOLERANCE,
    per_metric: Mapping[str, float] | None = None,
    allow_version_drift: bool = False,
    method: Method = "pchip",
    n_boot: int = 1000,
    seed: int = 0,
    require_all: bool = False,
) -> GateResult:
    """Compare ``current`` with ``baseline`` codec by codec, metric by metric.

    ``max_bd_rate`` is the tolerance in percent; ``per_metric`` overrides it for named metrics;
    ``require_all`` makes codecs of the run that the baseline lacks an error (exit 2) instead of a note.
    """
    per_metric = dict(per_metric or {})
    unknown = sorted(set(per_metric) - set(baseline.metrics))
    if unknown:
        raise Incomparable(f"--max-bd-rate for {', '.join(unknown)}: not a metric of the baseline ({', '.join(baseline.metrics)})")
    matching, notes = check_comparable(baseline, current, allow_version_drift)
    images = list(baseline.images)
    resamples = Resampler(n_boot, seed)  # over the images each cell can use (an image a metric could not score is left out)
    cells = []
    entries = {c.id: c for c in current.codecs}
    for b in baseline.codecs:
        cur_id = matching[b.label]
        for metric, info in baseline.metrics.items():
            base = rd_points(baseline.results, b.id, metric, images)
            cur = rd_points(current.results, cur_id, metric, images)
            row, _ = compare_points(base, cur, info, resamples, method=method, min_overlap=MIN_OVERLAP)
            tol = per_metric.get(metric, max_bd_rate)
            bd = None if pd.isna(row["bd_rate"]) else float(row["bd_rate"])
            cells.append({
                "codec_label": b.label, "codec_name": display_name(entries[cur_id]), "codec_id": cur_id, "metric": metric,
                "bd_rate": bd,
                "ci_low": row["ci_low"], "ci_high": row["ci_high"], "tolerance": tol, "verdict": verdict(bd, row["ci_low"], row["ci_high"], tol),
                "reason": row["reason"] or "", "detail": row["detail"] or "", "images": row["images_note"],
            })  # fmt: skip
    gated = set(matching.values())
    not_gated = [c.label for c in current.codecs if c.id not in gated]
    settings = {
        **method_settings(method, MIN_OVERLAP, {m: i.saturation for m, i in baseline.metrics.items() if i.saturation is not None}),
        "bootstrap": bootstrap_settings(n_boot, seed, 0.95),
        "max_bd_rate": max_bd_rate,
        "per_metric": per_metric,
    }
    return GateResult(pd.DataFrame(cells, columns=_CELL_COLUMNS), notes, not_gated, settings, require_all)


_CELL_COLUMNS = ["codec_label", "codec_name", "codec_id", "metric", "bd_rate", "ci_low", "ci_high", "tolerance", "verdict", "reason", "detail", "images"]
