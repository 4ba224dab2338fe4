"""CI quality gate: compare a run with a committed baseline, per codec × metric, by BD-rate.

:mod:`.baseline` owns the baseline file (writing, reading, validating); :mod:`.verdict` decides,
per codec × metric, whether quality per byte regressed (with the same BD-rate computation as the
report, :func:`qualitykit.analysis.bdtable.compare_points`); :mod:`.render` writes the verdicts
as text, Markdown, JUnit XML and JSON.

Verdicts: ``regressed`` / ``improved`` only when the whole 95 % interval of the BD-rate lies
beyond the tolerance (and so excludes zero); ``within noise`` otherwise; ``not measured`` when no
BD-rate could be computed. Exit status of a gate: 0 when nothing regressed, 1 on a regression,
2 when the inputs cannot be compared (different images, missing codecs or metrics, versions that differ without
``allow_version_drift``, cells without a BD-rate).
"""

from .baseline import FORMAT, load_baseline, save_baseline
from .render import to_json, to_junit, to_markdown, to_text
from .verdict import DEFAULT_TOLERANCE, GateResult, gate

__all__ = [
    "DEFAULT_TOLERANCE", "FORMAT", "GateResult", "gate", "load_baseline", "save_baseline",
    "to_json", "to_junit", "to_markdown", "to_text",
]  # fmt: skip
