"""The answer of a run, in plain words: one verdict, a pairwise matrix, and the conditions it holds under.

:func:`answer` reads a run's BD table over every ordered pair of codecs (and its equal-quality
targets, when it has them) and builds

* ``verdict``: sentences saying which codec gives the smallest files at equal quality on which
  metrics, by how much against each other codec, and at what encode/decode cost per megapixel;
* ``rows``: the matrix, one row per pair of codecs (the one with fewer bytes on most metrics
  first), one cell per metric (BD-rate, interval, the range it holds over) and per target;
* ``caveats``: what the numbers do not cover — few images, metrics asked for but not computed,
  images excluded (per metric) or left out as rate outliers, numbers that hold over part of the
  quality range only, failures.

The HTML report (:mod:`qualitykit.report`) and the end of ``qk bench`` (:func:`render_text`) show
the same answer.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import pandas as pd

from ..rundir import Run, display_name, model_of
from .aggregate import speed_table
from .bdtable import BDTable
from .targets import TargetSummary

#: Below this many images a bootstrap interval is rough, and the answer says so.
FEW_IMAGES = 10


def pct(x: float) -> str:
    """0.95 → ``95 %``."""
    return f"{100 * x:.0f} %"


def speed_ratio(a: float, b: float) -> str:
    """``12× slower`` / ``3.1× faster`` / ``as fast``: time ``a`` against time ``b``."""
    if not (a > 0 and b > 0):
        return ""
    r = a / b
    if 0.9 <= r <= 1.1:
        return "about as fast"
    k = r if r > 1 else 1 / r
    return (f"{k:.0f}×" if k >= 10 else f"{k:.2g}×") + (" slower" if r > 1 else " faster")


def fmt_range(lo: float, hi: float, unit: str = "") -> str:
    return f"{lo:.4g}–{hi:.4g}" + (f" {unit}" if unit else "")


@dataclass
class Cell:
    """One matrix cell: BD-rate (or target Δbytes) of the row's codec against its other codec, in %."""

    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    reason: str = ""
    detail: str = ""
    over: str = ""
    partial: bool = False
    images: str = ""

    @property
    def ok(self) -> bool:
        return self.value is not None and not pd.isna(self.value)

    @property
    def sign(self) -> int:
        """-1: fewer bytes (the interval below 0), +1: more bytes (above 0), 0: the interval straddles 0 or no interval."""
        if not self.ok:
            return 0
        lo = self.value if self.ci_low is None or pd.isna(self.ci_low) else self.ci_low
        hi = self.value if self.ci_high is None or pd.isna(self.ci_high) else self.ci_high
        return -1 if hi < 0 else 1 if lo > 0 else 0

    def text(self, unit: str = " %") -> str:
        if not self.ok:
            return "n/a"
        return f"{self.value:+.1f}{unit}" + ("†" if self.partial else "")

    def interval(self) -> str:
        if not self.ok or self.ci_low is None or pd.isna(self.ci_low):
            return ""
        return f"{self.ci_low:+.0f}…{self.ci_high:+.0f}"

    def short(self) -> str:
        """``-37.7 (-43…-32)``: value and interval for a terminal column."""
        if not self.ok:
            return "n/a"
        return self.text("") + (f" ({self.interval()})" if self.interval() else "")


@dataclass
class Row:
    """A pair of codecs: ``codec_label`` against ``anchor_label``, cells per metric and per target, speed ratios
    (the codec first)."""

    codec_label: str
    anchor_label: str
    cells: dict[str, Cell]
    targets: dict[str, Cell] = field(default_factory=dict)
    encode: tuple[float, float] | None = None  # ms per megapixel: codec, anchor
    decode: tuple[float, float] | None = None


@dataclass
class Answer:
    """See the module docstring."""

    verdict: list[str]
    caveats: list[str]
    rows: list[Row]
    metrics: list[str]
    target_names: list[str]
    codecs: list[str]
    speed: dict[str, tuple[float, float]]
    n_images: int
    confidence: float = 0.95
    #: Codec label → how it is named to people (:func:`qualitykit.rundir.display_name`: a learned
    #: codec with its model id, ``neural (qk-hyperprior-v1)``).
    names: dict[str, str] = field(default_factory=dict)

    def display(self, label: str) -> str:
        """The name of the codec labelled ``label`` in every sentence, row and legend."""
        return self.names.get(label) or display_name(label)

    def __str__(self) -> str:
        """The answer as ``qk bench`` prints it (:func:`render_text`, 100 columns)."""
        return render_text(self)

    def __repr__(self) -> str:
        first = self.verdict[0] if self.verdict else "no verdict"
        return (f"<Answer: {len(self.codecs)} codecs, {len(self.metrics)} metrics, {self.n_images} images — {first} "
                "(print() it for the matrix and the caveats)>")  # fmt: skip

    def matrix_frame(self) -> pd.DataFrame:
        """The pairwise matrix as text: one row per pair (``"AVIF vs JPEG"``), a column per metric (BD-rate, % bytes,
        with the interval) and per target (Δ bytes, %), and the encode/decode ms per megapixel of both codecs."""
        rows = {}
        for r in self.rows:
            cells = {m.upper(): r.cells[m].short() for m in self.metrics}
            cells |= {f"@{t}": r.targets[t].short() for t in self.target_names}
            if r.encode and r.decode:
                cells["enc / dec ms/MP"] = f"{r.encode[0]:.0f}/{r.decode[0]:.0f} vs {r.encode[1]:.0f}/{r.decode[1]:.0f}"
            rows[f"{self.display(r.codec_label)} vs {self.display(r.anchor_label)}"] = cells
        return pd.DataFrame.from_dict(rows, orient="index")

    def _repr_html_(self) -> str:
        """Notebooks: the verdict, the matrix and the caveats, as on the report's first screen."""
        from html import escape

        verdict = "".join(f"<p>{'<b>' * (i == 0)}{escape(s)}{'</b>' * (i == 0)}</p>" for i, s in enumerate(self.verdict))
        matrix = ""
        if self.rows:
            matrix = (f"<p><small>BD-rate of the first codec against the second, % bytes at equal quality (negative: "
                      f"smaller files), {pct(self.confidence)} interval; † = over part of the range only</small></p>"
                      + self.matrix_frame().to_html(escape=True))  # fmt: skip
        caveats = "<ul>" + "".join(f"<li>{escape(c)}</li>" for c in self.caveats) + "</ul>" if self.caveats else ""
        return f"<div>{verdict}{matrix}{caveats}</div>"


def _cell(row: pd.Series | None) -> Cell:
    if row is None:
        return Cell(None, reason="not computed")
    if pd.isna(row["bd_rate"]):
        return Cell(None, reason=str(row["reason"]), detail=str(row["detail"] or ""), images=str(row["excluded_note"]))
    unit = row.get("unit") or ""
    over = fmt_range(row["range_lo"], row["range_hi"], unit) if not pd.isna(row["range_lo"]) else ""
    return Cell(
        float(row["bd_rate"]), None if pd.isna(row["ci_low"]) else float(row["ci_low"]),
        None if pd.isna(row["ci_high"]) else float(row["ci_high"]), "", str(row["detail"] or ""), over,
        bool(row["partial"]), str(row["excluded_note"]),
    )  # fmt: skip


def _speed(run: Run, table: pd.DataFrame | None = None) -> dict[str, tuple[float, float]]:
    table = speed_table(run.results) if table is None else table
    return {run.label(r.codec_id): (float(r.encode_ms_mpx), float(r.decode_ms_mpx)) for r in table.itertuples()}


def _span(values: list[float]) -> str:
    a, b = min(values), max(values)
    return f"{a:.0f} %" if round(a) == round(b) else f"{a:.0f}–{b:.0f} %"


def _list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def answer(run: Run, bd: BDTable, targets: TargetSummary | None = None, speed: pd.DataFrame | None = None) -> Answer:
    """The answer of ``run`` from its all-pairs BD table ``bd`` (``bd_table(run, anchor=None)``), its targets
    and its :func:`~qualitykit.analysis.aggregate.speed_table` (computed when not given)."""
    codecs = [run.label(c) for c in run.codec_ids]
    names = {c: run.display(c) for c in codecs}
    display = names.__getitem__
    metrics = list(bd.settings["metrics"]) if bd.settings.get("metrics") else list(run.metrics)
    confidence = bd.settings["bootstrap"]["confidence"]
    speed = _speed(run, speed)
    cells = {(r["anchor_label"], r["codec_label"], r["metric"]): r for r in bd.summary.to_dict("records")} if len(bd.summary) else {}

    def cell(test: str, anchor: str, metric: str) -> Cell:
        return _cell(cells.get((anchor, test, metric)))

    target_names = list(dict.fromkeys(targets.savings["target"])) if targets is not None and len(targets.savings) else []

    def tcell(test: str, anchor: str, target: str) -> Cell:
        s = targets.saving(target, test, anchor) if targets is not None else None
        if s is None or pd.isna(s["delta"]):
            return Cell(None, reason="no image where both reach it" if s is not None else "not computed")
        return Cell(float(s["delta"]), float(s["ci_low"]), float(s["ci_high"]), images=str(s["note"]))

    rows = []
    for a, b in combinations(codecs, 2):
        wins = sum(cell(a, b, m).ok and cell(a, b, m).value < 0 for m in metrics)
        losses = sum(cell(a, b, m).ok and cell(a, b, m).value > 0 for m in metrics)
        x, y = (b, a) if losses > wins else (a, b)
        rows.append(Row(
            x, y, {m: cell(x, y, m) for m in metrics}, {t: tcell(x, y, t) for t in target_names},
            (speed[x][0], speed[y][0]) if x in speed and y in speed else None,
            (speed[x][1], speed[y][1]) if x in speed and y in speed else None,
        ))  # fmt: skip
    verdict = _verdict(codecs, metrics, cell, speed, confidence, targets, target_names, tcell, display)
    verdict += _demonstration_model(run)
    caveats = _caveats(run, bd, rows, metrics, display)
    return Answer(verdict, caveats, rows, metrics, target_names, codecs, speed, len(run.images), confidence, names)


def _demonstration_model(run: Run) -> list[str]:
    """A warning on the first screen when the run's learned codec is qk's bundled demonstration model."""
    from ..codecs.neural import BUNDLED_MODEL

    bundled = [c for c in run.codecs if model_of(c) == BUNDLED_MODEL]
    if not bundled:
        return []
    return [f"Caution: {display_name(bundled[0])} is qk's bundled {BUNDLED_MODEL}, a tiny demonstration model (trained "
            "for 32 minutes on 186 photographs): its numbers say nothing about learned codecs in general. To measure a real "
            "one, run e.g. --codecs neural:cheng2020-anchor (CompressAI's zoo; weights download once) or "
            "neural:ckpt=PATH, learned:MODEL for your own (docs/neural.md)."]  # fmt: skip


def _verdict(codecs, metrics, cell, speed, confidence, targets, target_names, tcell, display) -> list[str]:  # noqa: ANN001
    if len(codecs) < 2:
        return [f"Only one codec ({display(codecs[0]) if codecs else 'none'}) has results: nothing to compare."]
    return (_bd_verdict(codecs, metrics, cell, speed, confidence, display)
            + _target_verdicts(codecs, confidence, targets, target_names, tcell, display))  # fmt: skip


def _bd_verdict(codecs, metrics, cell, speed, confidence, display) -> list[str]:  # noqa: ANN001
    """The BD-rate sentences: which codec has the fewest bytes against every other, on which metrics, its cost."""
    winners: dict[str, str | None] = {}
    unknown: dict[str, list[str]] = {}  # metric → "X vs Y" pairs of the winner without a number
    for m in metrics:
        # the codec with fewer bytes than every other it has a number against (and at least one number)
        cands = []
        for c in codecs:
            known = [o for o in codecs if o != c and cell(c, o, m).ok]
            if known and all(cell(c, o, m).value < 0 for o in known):
                cands.append((len(known), -codecs.index(c), c))
        winners[m] = max(cands)[2] if cands else None
        if winners[m] is not None:
            unknown[m] = [o for o in codecs if o != winners[m] and not cell(winners[m], o, m).ok]
    counts: dict[str, list[str]] = {}
    for m, w in winners.items():
        if w is not None:
            counts.setdefault(w, []).append(m)
    out = []
    if not counts:
        out.append("No codec gives the smallest files against every other codec on any metric"
                   + (" (see the matrix for each pair)." if any(cell(a, b, m).ok for a in codecs for b in codecs if a != b for m in metrics) else
                      ": no BD-rate could be computed (the reasons are in the matrix)."))  # fmt: skip
    else:
        # a metric counts for a codec only where it has fewer bytes than *every* other codec; a metric where it
        # beats every codec it has a number against, but some pair has no number, is said apart with those pairs
        full = {c: [m for m in ms if not unknown[m]] for c, ms in counts.items()}
        best = max(counts, key=lambda c: (len(full[c]), len(counts[c]), -codecs.index(c)))
        ms = full[best] or counts[best]
        partial = [m for m in counts[best] if unknown[m]]
        if full[best]:
            on = f"on {_list([m.upper() for m in ms])}" + (f" ({len(ms)} of {len(metrics)} metrics)" if len(metrics) > 1 else "")
        else:
            on = f"on {_list([m.upper() for m in ms])} against the codecs it could be compared with (on no metric against all)"
        parts = []
        for o in codecs:
            if o == best:
                continue
            vals = [cell(best, o, m) for m in ms if cell(best, o, m).ok]
            if not vals:
                parts.append(f"no number against {display(o)}")
                continue
            if len(vals) == 1 and vals[0].ci_low is not None:
                v = vals[0]
                parts.append(f"{-v.value:.0f} % smaller than {display(o)} ({pct(confidence)} CI {-v.ci_high:.0f}–{-v.ci_low:.0f} %)")
            else:
                parts.append(f"{_span([-v.value for v in vals])} smaller than {display(o)}")
        sentence = f"{display(best)} gives the smallest files at equal quality {on}: " + "; ".join(parts)
        sentence += " (BD-rate" + ("; the span covers the metrics)" if len(ms) > 1 else ")") + "."
        out.append(sentence)
        if partial and full[best]:
            gaps = [f"{display(o)} on {m.upper()}" for m in partial for o in unknown[m]]
            out.append(f"On {_list([m.upper() for m in partial])} {display(best)} has fewer bytes than every codec with a "
                       f"number, but {len(gaps)} pair{'s have' if len(gaps) != 1 else ' has'} no number "
                       f"(against {_list(gaps)}): not counted above.")  # fmt: skip
        elif partial:
            gaps = [f"{display(o)} on {m.upper()}" for m in partial for o in unknown[m]]
            out.append(f"No number against {_list(gaps)}.")
        others = [f"{display(w)} on {_list([m.upper() for m in ml])}" for w, ml in counts.items() if w != best]
        none = [m.upper() for m, w in winners.items() if w is None]
        if others:
            out.append("The smallest files are from " + "; ".join(others) + ".")
        if none:
            out.append(f"On {_list(none)} no codec is smallest against every other (see the matrix).")
        if best in speed:
            e, d = speed[best]
            rest = [f"{display(o)} {speed[o][0]:.0f} and {speed[o][1]:.0f}" for o in codecs if o != best and o in speed]
            out.append(f"Cost: {display(best)} takes {e:.0f} ms per megapixel to encode and {d:.0f} ms to decode"
                       + (f" ({'; '.join(rest)})." if rest else "."))  # fmt: skip
    return out


def _target_verdicts(codecs, confidence, targets, target_names, tcell, display) -> list[str]:  # noqa: ANN001
    """One sentence per equal-quality target: the codec with the fewest bytes reaching it, against every other."""
    out = []
    for t in target_names:
        reached = {c: targets.totals[(targets.totals["target"] == t) & (targets.totals["codec_label"] == c)] for c in codecs}
        totals = {c: r["total_bytes"].iloc[0] for c, r in reached.items() if len(r) and not pd.isna(r["total_bytes"].iloc[0])}
        if not totals:
            continue
        best = min(totals, key=totals.get)
        parts = []
        for o in codecs:
            if o == best:
                continue
            c = tcell(best, o, t)
            if c.ok:
                parts.append(f"{-c.value:.0f} % fewer bytes than {display(o)} ({pct(confidence)} CI {-c.ci_high:.0f}–{-c.ci_low:.0f} %)")
        metric, value = t.split("=", 1)
        short = [f"{display(c)} {int(r['images'].iloc[0] - r['reached'].iloc[0])}" for c, r in reached.items()
                 if len(r) and r["reached"].iloc[0] < r["images"].iloc[0]]  # fmt: skip
        text = f"Per image at {metric.upper()} = {value} (the smallest file reaching it): {display(best)} needs " + "; ".join(parts)
        if short:
            text += f" (images that do not reach the target: {', '.join(short)})"
        out.append(text + ".")
    return out


def _caveats(run: Run, bd: BDTable, rows: list[Row], metrics: list[str], display) -> list[str]:  # noqa: ANN001
    out = []
    n = len(run.images)
    used = [int(v) for v in bd.summary["corpus_images"]] if len(bd.summary) else [n]
    fewest = min(used) if used else n
    if fewest < FEW_IMAGES:
        out.append(f"The intervals come from {fewest}{' of ' + str(n) if fewest != n else ''} image{'s' * (n != 1)}: "
                   f"with fewer than {FEW_IMAGES}, "
                   "a bootstrap interval is rough; use a larger corpus (e.g. --dataset kodak) before quoting it.")  # fmt: skip
    for name, why in run.manifest.metrics_unavailable.items():  # the first clause; the whole reason is in Run details
        out.append(f"Metric {name.upper()} was not computed: {why.split('; ')[0]}.")
    for spec, why in run.manifest.codecs_unavailable.items():
        out.append(f"Codec {spec} did not run: {why}")
    if bd.outliers:
        out.append("Left out of every corpus curve as rate outliers (their own per-image values are kept): "
                   + "; ".join(f"{k}: {v}" for k, v in bd.outliers.items()) + ".")  # fmt: skip
    if len(bd.summary):
        for m in metrics:
            notes = bd.summary.loc[(bd.summary["metric"] == m) & (bd.summary["excluded"] != ""), "excluded"]
            extra = {part for text in notes for part in text.split("; ") if part.split(": ", 1)[0] not in bd.outliers}
            if extra:
                shown = sorted(extra)
                out.append(f"{m.upper()}: {len(shown)} image{'s' * (len(shown) != 1)} excluded for this metric only — "
                           + "; ".join(shown[:4]) + (" …" if len(shown) > 4 else "") + ".")  # fmt: skip
    partial = [(r, m, c) for r in rows for m, c in r.cells.items() if c.partial]
    if partial:
        r, m, c = partial[0]
        out.append(f"{len(partial)} number{'s hold' if len(partial) > 1 else ' holds'} over part of the quality range only "
                   f"(marked †; e.g. {display(r.codec_label)} vs {display(r.anchor_label)} on {m.upper()}: over {c.over} only).")  # fmt: skip
    missing = [(r, m, c) for r in rows for m, c in r.cells.items() if not c.ok]
    if missing:
        r, m, c = missing[0]
        out.append(f"{len(missing)} pair × metric cell{'s have' if len(missing) > 1 else ' has'} no number "
                   f"(e.g. {display(r.codec_label)} vs {display(r.anchor_label)} on {m.upper()}: {c.reason}).")  # fmt: skip
    errors = run.manifest.errors
    load = sorted({e.image for e in errors if e.stage == "load" and e.image})
    if load:
        out.append(f"{len(load)} file{'s' * (len(load) != 1)} could not be read and {'are' if len(load) != 1 else 'is'} not in the corpus: "
                   + ", ".join(load[:5]) + (" …" if len(load) > 5 else "") + ".")  # fmt: skip
    other = [e for e in errors if e.stage not in ("load",) and not e.stage.startswith("metric ")]
    if other:
        out.append(f"{len(other)} encode/decode failure{'s were' if len(other) != 1 else ' was'} recorded (see Run details).")
    return out


# ---------------------------------------------------------------- plain text (the end of `qk bench`)


def render_text(ans: Answer, width: int = 100) -> str:
    """The verdict, the matrix and the caveats as plain text, at most ``width`` columns wide."""
    wrap = lambda s, ind="": textwrap.fill(s, width, initial_indent=ind, subsequent_indent=" " * len(ind))  # noqa: E731
    out = [wrap(s) for s in ans.verdict]
    if ans.rows:
        names = [m.upper() for m in ans.metrics] + [f"@{t}" for t in ans.target_names]
        display = ans.display
        first = max(len("pair"), *(len(f"{display(r.codec_label)} vs {display(r.anchor_label)}") for r in ans.rows)) + 1
        col = 19
        speed_w = 24
        per_line = max(1, (width - first - speed_w) // col)
        out.append("")
        out.append(f"BD-rate of the first codec against the second, % bytes at equal quality (negative = smaller files),"
                   f" {ans.confidence:.0%} interval; † = over part of the range only"[: width * 2])  # fmt: skip
        out[-1] = wrap(out[-1])
        for start in range(0, len(names), per_line):
            chunk = list(range(start, min(len(names), start + per_line)))
            last = start + per_line >= len(names)
            head = "pair".ljust(first) + "".join(names[i][: col - 1].rjust(col) for i in chunk)
            if last:
                head += "enc / dec ms/MP".rjust(speed_w)
            out.append(head)
            for r in ans.rows:
                cells = [*(r.cells[m] for m in ans.metrics), *(r.targets[t] for t in ans.target_names)]
                line = f"{display(r.codec_label)} vs {display(r.anchor_label)}".ljust(first)
                for i in chunk:
                    line += cells[i].short()[: col - 1].rjust(col)
                if last and r.encode:
                    line += f"{r.encode[0]:.0f}/{r.decode[0]:.0f} vs {r.encode[1]:.0f}/{r.decode[1]:.0f}".rjust(speed_w)
                out.append(line)
    if ans.caveats:
        out.append("")
        out += [wrap(c, "! ") for c in ans.caveats]
    return "\n".join(out)


def cell_dict(c: Cell) -> dict[str, Any]:
    return {"value": c.value, "ci_low": c.ci_low, "ci_high": c.ci_high, "reason": c.reason, "over": c.over,
            "partial": c.partial, "images": c.images}  # fmt: skip
