"""CI quality gate: compare a run with a committed baseline, per codec × metric, by BD-rate.

The baseline (:func:`save_baseline`) is a small JSON file meant to be committed:
the dataset's image hashes, each codec's id, spec and library versions, each
metric's version and direction, and one line per image × codec point (bytes and
metric values). :func:`gate` rebuilds the baseline's RD curves, puts them beside
the current run's and computes, for every codec × metric, the BD-rate of the
current curve against the baseline curve — the same computation as the report's
tables (:func:`qualitykit.analysis.bd_table`: corpus-mean curves, PCHIP on
log10 rate by default, per-image bootstrap interval). Positive BD-rate means the
current codec needs more bytes for the same quality: a regression when it
exceeds the tolerance.

Verdicts: ``pass``, ``improved`` (BD-rate below ``-tolerance``), ``fail``
(above ``+tolerance``), ``inconclusive`` (no BD-rate; the reason is given).
Exit status: 0 when nothing failed, 1 on a regression, 2 when the inputs cannot
be compared (different images, missing codecs or metrics, library or metric
versions that differ without ``allow_version_drift``, inconclusive cells).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pandas as pd

from . import __version__
from .errors import BadInput, Incomparable
from .analysis import Run, bd_table
from .runner import COLUMNS

FORMAT = "qualitykit-baseline/1"
BASELINE_TAG = "baseline"
DEFAULT_TOLERANCE = 1.0


# ---------------------------------------------------------------- baseline file


def save_baseline(run_dir: str | Path, to: str | Path) -> Path:
    """Write what a later gate needs from the run in ``run_dir`` to ``to`` (JSON, one line per point)."""
    run = Run.load(run_dir)
    man = run.manifest
    metrics = {m["name"]: {"version": m["version"], "higher_is_better": m["higher_is_better"]} for m in man["metrics"]}
    codecs = [{k: c[k] for k in ("label", "spec", "id", "name", "ladder", "versions")} for c in man["codecs"]]
    cols = ["image", "codec", "quality", "bytes", "width", "height", *metrics]
    rows = run.results[cols].astype(object).where(run.results[cols].notna(), None).to_dict("records")
    head = {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "qualitykit_version": __version__,
        "source": {"run": str(run_dir), "command": man.get("command"), "created": man.get("created")},
        "dataset": {"name": man["dataset"]["name"], "images": {i["image"]: i["sha256"] for i in man["dataset"]["images"]}},
        "codecs": codecs,
        "metrics": metrics,
    }
    text = json.dumps(head, indent=1)[:-2] + ',\n "rows": [\n'
    text += ",\n".join("  " + json.dumps(r) for r in rows) + "\n ]\n}\n"
    Path(to).parent.mkdir(parents=True, exist_ok=True)
    Path(to).write_text(text)
    return Path(to)


def load_baseline(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BadInput(f"{path}: not a readable baseline ({exc})") from None
    if data.get("format") != FORMAT:
        raise BadInput(f"{path}: format {data.get('format')!r}, expected {FORMAT!r} (write it with `qk baseline save`)")
    return data


# ---------------------------------------------------------------- comparison


@dataclass
class GateResult:
    """Every codec × metric verdict, plus what was checked and any drift allowed."""

    cells: pd.DataFrame  # codec, metric, bd_rate, ci_low, ci_high, tolerance, verdict, reason, ...
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        verdicts = set(self.cells["verdict"])
        return 1 if "fail" in verdicts else 2 if "inconclusive" in verdicts else 0


def _match_codecs(baseline: Sequence[Mapping[str, Any]], current: Run) -> dict[str, str]:
    """Baseline label → current codec id: same label, else the one current codec of the same family."""
    out, missing = {}, []
    for b in baseline:
        same_label = [c["id"] for c in current.codecs if c.get("label") == b["label"]]
        family = [c["id"] for c in current.codecs if c.get("name") == b["name"]]
        match = same_label or (family if len(family) == 1 else [])
        if match:
            out[b["label"]] = match[0]
        else:
            missing.append(b["label"])
    if missing:
        have = ", ".join(c.get("label", c["id"]) for c in current.codecs) or "none"
        raise Incomparable(f"codec(s) {', '.join(missing)} of the baseline are not in the current run (it has: {have})")
    return out


def check_comparable(baseline: Mapping[str, Any], current: Run, allow_version_drift: bool) -> tuple[dict[str, str], list[str]]:
    """Raise :class:`Incomparable` naming every difference that makes the comparison meaningless.

    Returns the codec matching and notes about differences that were allowed.
    """
    problems, notes = [], []
    base_images: dict[str, str] = baseline["dataset"]["images"]
    cur_images = {i["image"]: i["sha256"] for i in current.manifest["dataset"]["images"]}
    if base_images != cur_images:
        only_b = sorted(set(base_images) - set(cur_images))
        only_c = sorted(set(cur_images) - set(base_images))
        changed = sorted(i for i in set(base_images) & set(cur_images) if base_images[i] != cur_images[i])
        parts = [f"{label}: {', '.join(v[:5])}{' …' if len(v) > 5 else ''} ({len(v)})"
                 for label, v in (("missing from the current run", only_b), ("not in the baseline", only_c),
                                  ("different content (sha256)", changed)) if v]  # fmt: skip
        problems.append(f"dataset differs from the baseline's ({baseline['dataset']['name']}): " + "; ".join(parts))
    cur_metrics = {m["name"]: m["version"] for m in current.manifest["metrics"]}
    for name, meta in baseline["metrics"].items():
        if name not in cur_metrics:
            problems.append(f"metric {name} is in the baseline but not in the current run")
        elif cur_metrics[name] != meta["version"]:
            msg = f"metric {name} version {meta['version']} (baseline) != {cur_metrics[name]} (current)"
            (notes if allow_version_drift else problems).append(msg)
    try:
        matching = _match_codecs(baseline["codecs"], current)
    except Incomparable as exc:
        raise Incomparable("; ".join([*problems, str(exc)])) from None
    by_id = {c["id"]: c for c in current.codecs}
    for b in baseline["codecs"]:
        cur = by_id[matching[b["label"]]]
        if cur["id"] != b["id"]:
            notes.append(f"{b['label']}: settings changed, {b['id']} (baseline) → {cur['id']} (current)")
        drift = {k: (b["versions"].get(k), cur.get("versions", {}).get(k))
                 for k in set(b["versions"]) | set(cur.get("versions", {}))
                 if b["versions"].get(k) != cur.get("versions", {}).get(k)}  # fmt: skip
        if drift:
            msg = f"{b['label']}: library versions differ: " + ", ".join(f"{k} {x} → {y}" for k, (x, y) in sorted(drift.items()))
            (notes if allow_version_drift else problems).append(msg)
    if problems:
        hint = " (pass --allow-version-drift to compare anyway)" if any("version" in p for p in problems) else ""
        raise Incomparable("; ".join(problems) + hint)
    return matching, notes


def _baseline_run(baseline: Mapping[str, Any]) -> pd.DataFrame:
    rows = pd.DataFrame(baseline["rows"])
    for c in COLUMNS:
        if c not in rows:
            rows[c] = None
    rows["image_sha256"] = rows["image"].map(baseline["dataset"]["images"])
    rows["bpp"] = rows["bytes"] * 8 / (rows["width"] * rows["height"])
    return rows


def gate(
    baseline: Mapping[str, Any],
    current: Run,
    max_bd_rate: float = DEFAULT_TOLERANCE,
    per_metric: Mapping[str, float] | None = None,
    allow_version_drift: bool = False,
    method: str = "pchip",
    n_boot: int = 1000,
    seed: int = 0,
) -> GateResult:
    """Compare ``current`` with ``baseline`` (a loaded baseline file) codec by codec, metric by metric.

    ``max_bd_rate`` is the tolerance in percent; ``per_metric`` overrides it for named metrics.
    Raises :class:`Incomparable` when the two cannot be compared.
    """
    per_metric = dict(per_metric or {})
    matching, notes = check_comparable(baseline, current, allow_version_drift)
    base_rows = _baseline_run(baseline)
    metrics = list(baseline["metrics"])
    cells = []
    settings: dict[str, Any] = {}
    for b in baseline["codecs"]:
        tag = f"{BASELINE_TAG}|{b['id']}"
        cur_id = matching[b["label"]]
        results = pd.concat(
            [base_rows[base_rows["codec"] == b["id"]].assign(codec=tag), current.results[current.results["codec"] == cur_id]],
            ignore_index=True,
        )
        manifest = {
            "codecs": [{"id": tag, "label": f"{b['label']} (baseline)", "name": b["name"]},
                       {"id": cur_id, "label": b["label"], "name": b["name"]}],  # fmt: skip
            "metrics": [{"name": m, "higher_is_better": baseline["metrics"][m]["higher_is_better"]} for m in metrics],
            "dataset": {"images": [{"image": i} for i in baseline["dataset"]["images"]]},
        }
        table = bd_table(Run(results, manifest), anchor=tag, metrics=metrics, method=method, n_boot=n_boot, seed=seed)  # type: ignore[arg-type]
        settings = table.settings
        for row in table.summary.to_dict("records"):
            tol = per_metric.get(row["metric"], max_bd_rate)
            bd = row["bd_rate"]
            if _missing(bd):
                verdict = "inconclusive"
            elif bd > tol:
                verdict = "fail"
            elif bd < -tol:
                verdict = "improved"
            else:
                verdict = "pass"
            cells.append({
                "codec": b["label"], "codec_id": cur_id, "metric": row["metric"],
                "bd_rate": None if _missing(bd) else float(bd),
                "ci_low": row["ci_low"], "ci_high": row["ci_high"], "tolerance": tol, "verdict": verdict,
                "reason": row["reason"] or "", "detail": row["detail"] or "", "images": row["images_note"],
            })  # fmt: skip
    settings = {k: v for k, v in settings.items() if k not in ("anchor", "anchor_id")}
    return GateResult(pd.DataFrame(cells), notes, {**settings, "max_bd_rate": max_bd_rate, "per_metric": per_metric})


# ---------------------------------------------------------------- outputs


def _missing(x: Any) -> bool:
    return x is None or bool(pd.isna(x))


def _describe(cell: Mapping[str, Any]) -> str:
    if _missing(cell["bd_rate"]):
        return f"no BD-rate: {cell['reason']}" + (f" ({cell['detail']})" if cell["detail"] else "")
    ci = ""
    if not _missing(cell["ci_low"]):
        ci = f", 95 % CI {cell['ci_low']:+.2f} … {cell['ci_high']:+.2f} %"
    return f"BD-rate {cell['bd_rate']:+.2f} % vs baseline (tolerance {cell['tolerance']:g} %{ci})"


def to_text(result: GateResult) -> str:
    lines = [f"{'codec':16} {'metric':10} {'verdict':12} detail"]
    for c in result.cells.to_dict("records"):
        lines.append(f"{c['codec']:16} {c['metric']:10} {c['verdict'].upper():12} {_describe(c)}")
    lines += [f"note: {n}" for n in result.notes]
    counts = result.cells["verdict"].value_counts().to_dict()
    lines.append("gate: " + {0: "PASS", 1: "FAIL (quality regression)", 2: "INCOMPARABLE"}[result.exit_code]
                 + " — " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))  # fmt: skip
    lines.append(f"method: {result.settings.get('method')}, BD-rate of current vs baseline corpus-mean curves; "
                 "positive = more bytes for the same quality")  # fmt: skip
    return "\n".join(lines)


def to_markdown(result: GateResult) -> str:
    icon = {"pass": "✅ pass", "improved": "🟢 improved", "fail": "❌ fail", "inconclusive": "⚠️ inconclusive"}
    lines = ["## qualitykit quality gate: " + {0: "PASS", 1: "FAIL", 2: "INCOMPARABLE"}[result.exit_code], "",
             "| codec | metric | verdict | BD-rate vs baseline | 95 % CI | tolerance | note |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for c in result.cells.to_dict("records"):
        bd = "—" if _missing(c["bd_rate"]) else f"{c['bd_rate']:+.2f} %"
        ci = "—" if _missing(c["ci_low"]) else f"{c['ci_low']:+.2f} … {c['ci_high']:+.2f} %"
        note = c["reason"] or c["images"]
        lines.append(f"| {c['codec']} | {c['metric']} | {icon[c['verdict']]} | {bd} | {ci} | {c['tolerance']:g} % | {note} |")
    lines += ["", *[f"- {n}" for n in result.notes]]
    lines.append(f"\nBD-rate method: {result.settings.get('method')} on log10 rate; positive = more bytes for the same quality.")
    return "\n".join(lines) + "\n"


def to_junit(result: GateResult) -> str:
    """JUnit XML: one test case per codec × metric; regressions are failures, inconclusive cells errors."""
    cells = result.cells.to_dict("records")
    suite = ET.Element("testsuite", name="qualitykit.gate", tests=str(len(cells)),
                       failures=str(sum(c["verdict"] == "fail" for c in cells)),
                       errors=str(sum(c["verdict"] == "inconclusive" for c in cells)))  # fmt: skip
    for c in cells:
        case = ET.SubElement(suite, "testcase", classname=f"qualitykit.gate.{c['codec']}", name=c["metric"])
        if c["verdict"] == "fail":
            ET.SubElement(case, "failure", message=f"{c['codec']} {c['metric']}: {_describe(c)}")
        elif c["verdict"] == "inconclusive":
            ET.SubElement(case, "error", message=f"{c['codec']} {c['metric']}: {_describe(c)}")
        else:
            ET.SubElement(case, "system-out").text = f"{c['verdict']}: {_describe(c)}"
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def to_json(result: GateResult) -> str:
    cells = result.cells.astype(object).where(result.cells.notna(), None).to_dict("records")
    return json.dumps({"exit_code": result.exit_code, "cells": cells, "notes": result.notes, "settings": result.settings}, indent=2, default=str) + "\n"
