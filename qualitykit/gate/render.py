"""A gate's verdicts as text (terminal), Markdown (e.g. ``$GITHUB_STEP_SUMMARY``), JUnit XML and JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree as ET

import pandas as pd

from .verdict import GateResult

_STATUS = {0: "PASS", 1: "FAIL (quality regression)", 2: "INCOMPARABLE"}
#: What the verdict words mean (printed under every gate).
MEANING = ("regressed / improved: the whole 95 % interval lies beyond the tolerance; "
           "within noise: the interval reaches into ±tolerance")  # fmt: skip


def _missing(x: Any) -> bool:
    return x is None or bool(pd.isna(x))


def describe(cell: Mapping[str, Any]) -> str:
    """One cell in words: its BD-rate, interval and tolerance, or why there is no BD-rate."""
    if _missing(cell["bd_rate"]):
        return f"no BD-rate: {cell['reason']}" + (f" ({cell['detail']})" if cell["detail"] else "")
    ci = ", no interval (one usable image)" if _missing(cell["ci_low"]) else f", 95 % CI {cell['ci_low']:+.2f} … {cell['ci_high']:+.2f} %"
    return f"BD-rate {cell['bd_rate']:+.2f} % vs baseline (tolerance ±{cell['tolerance']:g} %{ci})"


def _not_gated(result: GateResult) -> list[str]:
    if not result.not_gated:
        return []
    consequence = "an error with --require-all" if result.require_all else "pass --require-all to make this an error"
    return [f"not gated: {', '.join(result.not_gated)} (in the run, not in the baseline; {consequence})"]


def _name(cell: Mapping[str, Any]) -> str:
    """The codec of a cell as people read it (a learned codec with its model id); its label in older results."""
    name = cell.get("codec_name")
    return cell["codec_label"] if _missing(name) else str(name)


def to_text(result: GateResult) -> str:
    cells = result.cells.to_dict("records")
    width = max([16, *(len(_name(c)) + 1 for c in cells)])
    lines = [f"{'codec':{width}} {'metric':10} {'verdict':13} detail"]
    for c in cells:
        lines.append(f"{_name(c):{width}} {c['metric']:10} {c['verdict'].upper():13} {describe(c)}")
    lines += [f"note: {n}" for n in result.notes] + _not_gated(result)
    counts = result.cells["verdict"].value_counts().to_dict()
    lines.append(f"gate: {_STATUS[result.exit_code]} — " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
    lines.append(f"method: {result.settings.get('method')}, BD-rate of current vs baseline corpus-mean curves; "
                 "positive = more bytes for the same quality")  # fmt: skip
    lines.append(f"verdicts: {MEANING}")
    return "\n".join(lines)


def to_markdown(result: GateResult) -> str:
    icon = {"within noise": "✅ within noise", "improved": "🟢 improved", "regressed": "❌ regressed",
            "not measured": "⚠️ not measured"}  # fmt: skip
    lines = ["## qualitykit quality gate: " + _STATUS[result.exit_code].split()[0], "",
             "| codec | metric | verdict | BD-rate vs baseline | 95 % CI | tolerance | note |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for c in result.cells.to_dict("records"):
        bd = "—" if _missing(c["bd_rate"]) else f"{c['bd_rate']:+.2f} %"
        ci = "—" if _missing(c["ci_low"]) else f"{c['ci_low']:+.2f} … {c['ci_high']:+.2f} %"
        note = c["reason"] or c["images"]
        lines.append(f"| {_name(c)} | {c['metric']} | {icon[c['verdict']]} | {bd} | {ci} | {c['tolerance']:g} % | {note} |")
    lines += ["", *[f"- {n}" for n in result.notes + _not_gated(result)]]
    lines.append(f"\nBD-rate method: {result.settings.get('method')} on log10 rate; positive = more bytes for the same quality; "
                 f"{MEANING}.")  # fmt: skip
    return "\n".join(lines) + "\n"


def to_junit(result: GateResult) -> str:
    """JUnit XML: one test case per codec × metric; regressed cells are failures, cells not measured errors."""
    cells = result.cells.to_dict("records")
    suite = ET.Element("testsuite", name="qualitykit.gate", tests=str(len(cells)),
                       failures=str(sum(c["verdict"] == "regressed" for c in cells)),
                       errors=str(sum(c["verdict"] == "not measured" for c in cells)))  # fmt: skip
    for c in cells:
        case = ET.SubElement(suite, "testcase", classname=f"qualitykit.gate.{c['codec_label']}", name=c["metric"])
        if c["verdict"] == "regressed":
            ET.SubElement(case, "failure", message=f"{_name(c)} {c['metric']}: {describe(c)}")
        elif c["verdict"] == "not measured":
            ET.SubElement(case, "error", message=f"{_name(c)} {c['metric']}: {describe(c)}")
        else:
            ET.SubElement(case, "system-out").text = f"{c['verdict']}: {describe(c)}"
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def to_json(result: GateResult) -> str:
    cells = result.cells.astype(object).where(result.cells.notna(), None).to_dict("records")
    out = {"exit_code": result.exit_code, "cells": cells, "notes": result.notes, "not_gated": result.not_gated,
           "settings": result.settings}  # fmt: skip
    return json.dumps(out, indent=2, default=str) + "\n"
