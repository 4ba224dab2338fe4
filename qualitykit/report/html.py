"""The self-contained HTML report: one file, no network, plots and crops embedded as base64 PNG.

Every string that comes from a run (file names, dataset names, codec specs, messages) goes
through :func:`esc`; the page's Content-Security-Policy allows only inline style, inline
script and ``data:`` images.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Iterable, Mapping, Sequence
from importlib.resources import files
from string import Template
from typing import Any

import pandas as pd

from ..analysis import BDTable
from ..analysis.answer import Answer, Cell, Row, pct, speed_ratio
from ..analysis.targets import TargetSummary
from ..rundir import Run, display_name
from .crops import Comparison

Cell_ = str | tuple[str, float | None]  # HTML, or (HTML, sort key)


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def display_codec(label: str, names: Mapping[str, str] | None = None) -> str:
    """The name of the codec labelled ``label``: ``names[label]`` (:attr:`Answer.names`, learned codecs with their
    model id), else :func:`qualitykit.rundir.display_name` of the label."""
    return (names or {}).get(label) or display_name(label)


def _num(value: float | None, fmt: str = "{:.1f}") -> Cell_:
    if value is None or pd.isna(value):
        return ("—", None)
    return (esc(fmt.format(value)), float(value))


def table(headers: Sequence[str], rows: Iterable[Sequence[Cell_]], sortable: bool = False) -> str:
    """An HTML table; ``headers`` are plain text, cells are HTML or ``(HTML, sort key)`` (right-aligned numbers)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            if isinstance(cell, tuple):
                text, key = cell
                cls = "num" if key is not None else "num na"
                cells.append(f'<td class="{cls}" data-v="{"" if key is None else key}">{text}</td>')
            else:
                cells.append(f"<td>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cls = ' class="sortable"' if sortable else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def img(png: bytes, alt: str, cls: str = "", hidden: bool = False) -> str:
    data = base64.b64encode(png).decode("ascii")
    attrs = (f' class="{cls}"' if cls else "") + (" hidden" if hidden else "")
    return f'<img{attrs} alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def _swatch(color: str) -> str:
    return f'<span class="swatch" style="background:{esc(color)}"></span>'


def _cls_of(c: Cell) -> str:
    if not c.ok:
        return "na"
    return {-1: "good", 1: "bad", 0: "even"}[c.sign]


def matrix_cell(c: Cell, unit: str = " %") -> str:
    """One colour-coded matrix cell: value (with † when partial), interval below, conditions in the tooltip."""
    if not c.ok:
        why = f"{c.reason}: {c.detail}" if c.detail else c.reason
        return f'<td class="cell na" title="{esc(why)}">n/a<small>{esc(c.reason)}</small></td>'
    tip = "; ".join(x for x in (f"over {c.over}" + (" only" if c.partial else "") if c.over else "", c.images) if x)
    return (f'<td class="cell {_cls_of(c)}" title="{esc(tip)}" data-v="{c.value:.6g}">{esc(c.text(unit))}'
            f"<small>{esc(c.interval())}</small></td>")  # fmt: skip


def first_screen(ans: Answer, colors: Mapping[str, str]) -> str:
    """The verdict, the caveats and the pairwise matrix: what a reader sees before scrolling."""
    verdict = "".join(f"<p>{esc(s)}</p>" for s in ans.verdict)
    caveats = ""
    if ans.caveats:
        caveats = '<ul class="caveats">' + "".join(f"<li>{esc(c)}</li>" for c in ans.caveats) + "</ul>"
    return f'<div class="verdict">{verdict}</div>{caveats}{matrix(ans, colors)}'


#: Width of the page's content (``main`` is 1180 px wide with 28 px of padding a side): no table may be wider.
PAGE_PX = 1124


def _text_px(text: str, px_per_char: float = 9.0) -> float:
    """A generous estimate of the rendered width of ``text`` in a bold 14 px header (wide capitals included)."""
    return px_per_char * len(text)


def split_columns(widths: Sequence[float], room: float) -> list[list[int]]:
    """Indices of columns, in order, cut into consecutive groups whose widths sum to at most ``room`` (each group at
    least one column): the tables a wide grid is split into so that none is wider than the page."""
    groups: list[list[int]] = [[]]
    used = 0.0
    for i, w in enumerate(widths):
        if groups[-1] and used + w > room:
            groups.append([])
            used = 0.0
        groups[-1].append(i)
        used += w
    size = -(-len(widths) // len(groups))  # as many tables, as evenly filled, when that fits too
    even = [list(range(i, min(i + size, len(widths)))) for i in range(0, len(widths), size)] if widths else groups
    if len(even) == len(groups) and all(sum(widths[i] for i in g) <= room for g in even):
        return even
    return groups


def matrix(ans: Answer, colors: Mapping[str, str]) -> str:
    """Pairs × metrics (and targets): BD-rate of the first codec against the second, with speed per megapixel.

    Columns that would make the table wider than the page go to a further table with the same rows."""
    if not ans.rows:
        return ""
    columns = [("m", m) for m in ans.metrics] + [("t", t) for t in ans.target_names]
    pair_px = 40 + max(_text_px(f"{ans.display(r.codec_label)} vs {ans.display(r.anchor_label)}", 9.5) for r in ans.rows)
    widths = [max(84.0, _text_px(name) + 14) if kind == "m" else max(136.0, _text_px(name, 8.0) + 14) for kind, name in columns]
    speed_px = 2 * 100.0
    groups = split_columns(widths, PAGE_PX - pair_px)
    if sum(widths[i] for i in groups[-1]) + speed_px > PAGE_PX - pair_px:
        groups.append([])  # encode/decode get a table of their own
    chunks = [[columns[i] for i in g] for g in groups]
    tables = []
    for n, chunk in enumerate(chunks):
        last = n == len(chunks) - 1
        head = ["<th>Pair (first vs second)</th>"]
        head += [f"<th>{esc(name.upper())}<small>BD-rate</small></th>" if kind == "m" else
                 f"<th>{esc(name)}<small>Δ bytes per image</small></th>" for kind, name in chunk]  # fmt: skip
        if last:
            head += ["<th>Encode<small>ms / MP</small></th>", "<th>Decode<small>ms / MP</small></th>"]
        body = []
        for r in ans.rows:
            pair = (f"{_swatch(colors.get(r.codec_label, '#888'))}{esc(ans.display(r.codec_label))} <span class=vs>vs</span> "
                    f"{_swatch(colors.get(r.anchor_label, '#888'))}{esc(ans.display(r.anchor_label))}")  # fmt: skip
            cells = [f'<th scope="row">{pair}</th>']
            cells += [matrix_cell(r.cells[name] if kind == "m" else r.targets[name]) for kind, name in chunk]
            for sp in (r.encode, r.decode) if last else ():
                if sp is None:
                    cells.append('<td class="num">—</td>')
                else:
                    cells.append(f'<td class="num speed">{sp[0]:.0f} vs {sp[1]:.0f}<small>{esc(speed_ratio(*sp))}</small></td>')
            body.append("<tr>" + "".join(cells) + "</tr>")
        tables.append(f'<table class="matrix"><thead><tr>{"".join(head)}</tr></thead><tbody>{"".join(body)}</tbody></table>')
    legend = (
        "Each cell: how many more (+) or fewer (−) bytes the first codec of the pair needs than the second at equal "
        f"quality — BD-rate over the corpus-mean curves, with its {pct(ans.confidence)} bootstrap interval over images "
        "below; green: fewer bytes (the whole interval below 0), red: more, grey: the interval straddles 0. "
        "† = over part of the quality range only (hover a cell for the range, the overlap and the images used). "
        + ("Δ bytes per image: the smallest file reaching the target, per image, totalled over the images both reach. "
           if ans.target_names else "")
        + "Encode/decode: median milliseconds per megapixel, first vs second codec."
    )
    return "".join(tables) + f'<p class="note">{esc(legend)}</p>'


def _reason_cell(value: float | None, reason: str | None, detail: str, fmt: str = "{:+.1f} %") -> Cell_:
    if value is None or pd.isna(value):
        return (f'<span title="{esc(detail)}">n/a: {esc(reason)}</span>', None)
    return _num(value, fmt)


def _over(r: Any) -> str:
    """HTML: the range a number holds over, and the overlap (of the narrower range, of both)."""
    if pd.isna(r.range_lo):
        return "—"
    unit = f" {r.unit}" if r.unit else ""
    text = f'<span class="nw">{esc(f"{r.range_lo:.4g}–{r.range_hi:.4g}{unit}")}</span>'
    where = f"overlap {r.overlap:.0%} of the narrower range, {r.union:.0%} of both" + ("; part of the range only †" if r.partial else "")
    return text + f"<small>{esc(where)}</small>"


def _saturation(limits: Any) -> str:
    """``{"vmaf": 99.5}`` → ``vmaf ≥ 99.5``: the scores a curve's points are left out at."""
    if not isinstance(limits, Mapping) or not limits:
        return "none"
    return ", ".join(f"{m} ≥ {human_number(v)}" for m, v in limits.items())


def bd_section(
    bd: BDTable, rows: Sequence[Row], anchor: str | None, colors: Mapping[str, str], names: Mapping[str, str] | None = None
) -> str:
    """Every pair (as oriented in the matrix, the anchor's pairs first) × metric, with range, images and method."""
    s = bd.settings
    order = sorted(rows, key=lambda r: (anchor not in (r.codec_label, r.anchor_label), 0))
    by = {(r.anchor_label, r.codec_label, r.metric): r for r in bd.summary.itertuples()}
    out = []
    for pair in order:
        test, ref = ((pair.anchor_label, pair.codec_label) if pair.codec_label == anchor
                     else (pair.codec_label, pair.anchor_label))  # fmt: skip
        for m in s["metrics"]:
            r = by.get((ref, test, m))
            if r is None:
                continue
            ci = "—" if pd.isna(r.ci_low) else f"{r.ci_low:+.1f} … {r.ci_high:+.1f} %"
            notes = "; ".join(n for n in (r.detail, r.ci_note if pd.isna(r.bd_rate) else f"CI from {r.ci_note}",
                                           f"per-image {r.images_note}") if n)  # fmt: skip
            out.append([
                '<span class="nw">' + _swatch(colors.get(test, "#888")) + esc(display_codec(test, names)) + " <span class=vs>vs</span> "
                + esc(display_codec(ref, names)) + "</span>",
                esc(r.metric),
                _reason_cell(r.bd_rate, r.reason, r.detail),
                (esc(ci), None if pd.isna(r.ci_low) else r.ci_low),
                _over(r),
                esc(r.excluded_note),
                _reason_cell(r.image_mean, "none computed", r.images_note),
                _reason_cell(r.bd_metric, r.bd_metric_reason, r.bd_metric_detail, "{:+.4g}"),
                f'<span class="note">{esc(notes)}</span>',
            ])  # fmt: skip
    head = ["Pair", "Metric", "BD-rate", f"{s['bootstrap']['confidence']:.0%} CI", "Over (overlap)", "Images",
            "Mean of per-image", "BD-metric", "Notes"]  # fmt: skip
    b = s["bootstrap"]
    method = (
        f"BD-rate: {esc(s['interpolation'])} of log{esc(s['log_base'])}(bpp) against quality, {esc(s['integration'])}; "
        f"{esc(s['range_rule'])}; at least {esc(s['min_points'])} points per curve; saturated points "
        f"({esc(_saturation(s['saturation']))}) left out. {esc(s['aggregation'])}; {esc(s['outliers'])}. CI: "
        f"{esc(b['interval'])} bootstrap over {esc(b['resampling'])}, {esc(b['resamples'])} resamples, seed "
        f"{esc(b['seed'])}. Negative BD-rate: fewer bytes than the second codec; BD-metric is first minus second in "
        "the metric's units (for lower-is-better metrics, negative is better). SSIM-family scores are on their own "
        "scale here (the plots show them in dB). bdrate.json has every ordered pair."
    )
    return table(head, out, sortable=True) + f'<p class="note">{method}</p>'


def per_image_section(
    bd: BDTable, anchor: str, comparisons: Mapping[str, int], images: Sequence[str], names: Mapping[str, str] | None = None
) -> str:
    """Sortable tables: one row per image × codec (against the anchor), BD-rate per metric, link to the visual
    comparison; the metric columns are split over several tables when one would be wider than the page."""
    metrics = list(bd.settings["metrics"])
    rows_of = bd.per_image[bd.per_image["anchor_label"] == anchor] if len(bd.per_image) else bd.per_image
    if rows_of.empty:
        return f'<p class="note">No codec besides {esc(display_codec(anchor, names))}.</p>'
    wide = {(r.image, r.codec_label, r.metric): r for r in rows_of.itertuples(index=False)}
    codecs = list(dict.fromkeys(rows_of["codec_label"]))
    name_px = min(260.0, 20 + max(_text_px(i, 7.5) for i in images))
    codec_px = 20 + max(_text_px(display_codec(c, names), 8.0) for c in [*codecs, f"Codec (vs {display_codec(anchor, names)})"])
    groups = split_columns([max(90.0, _text_px(m, 8.5) + 34) for m in metrics], PAGE_PX - name_px - codec_px - 80)
    tables = []
    for group in groups:
        shown = [metrics[i] for i in group]
        rows = []
        for image in images:
            out = image in bd.outliers
            for codec in codecs:
                link = (
                    f'<a href="#cmp-{comparisons[image]}">compare</a>' if image in comparisons else '<span class="note">—</span>'
                )
                name = esc(image) + (' <span class="flag" title="' + esc(bd.outliers[image]) + '">rate outlier</span>' if out else "")
                cells: list[Cell_] = [name, esc(display_codec(codec, names))]
                for m in shown:
                    r = wide[(image, codec, m)]
                    cell = _reason_cell(r.bd_rate, r.reason, r.detail)
                    if not r.in_corpus and not out:
                        cell = (cell[0] + ' <span class="flag" title="left out of the corpus curves for this metric">excluded</span>', cell[1])
                    cells.append(cell)
                rows.append(cells + [link])
        head = ["Image", f"Codec (vs {display_codec(anchor, names)})", *(m.upper() for m in shown), "Visual"]
        tables.append(table(head, rows, sortable=True))
    intro = (f'<p class="note">BD-rate of each image\'s own curves, % bytes against {esc(display_codec(anchor, names))} at equal '
             "quality (negative: fewer bytes); click a header to sort"
             + (f"; the metrics are split over {len(tables)} tables" if len(tables) > 1 else "") + ".</p>")
    return intro + "".join(tables)


def speed_section(
    speed: pd.DataFrame, labels: Mapping[str, str], colors: Mapping[str, str], names: Mapping[str, str] | None = None
) -> str:
    rows = [
        [
            '<span class="nw">' + _swatch(colors[labels[r.codec_id]]) + esc(display_codec(labels[r.codec_id], names)) + "</span>",
            _num(r.points, "{:.0f}"),
            _num(r.encode_ms_mpx, "{:.1f}"),
            _num(r.decode_ms_mpx, "{:.1f}"),
            _num(r.encode_s * 1000, "{:.1f}"),
            _num(r.decode_s * 1000, "{:.1f}"),
            _num(r.encode_mpx_s, "{:.2f}"),
            _num(r.decode_mpx_s, "{:.2f}"),
        ]
        for r in speed.itertuples()
    ]
    head = ["Codec", "Points", "Encode ms/MP", "Decode ms/MP", "Encode ms (median)", "Decode ms (median)",
            "Encode MP/s", "Decode MP/s"]  # fmt: skip
    return table(head, rows, sortable=True) + (
        '<p class="note">Medians over every encode of the run, wall-clock, per image and per megapixel, as measured by '
        "the run (a cached item keeps the time of its first computation; machine and load are in Run details).</p>"
    )


def _short_list(not_reached: str) -> str:
    """``a.png (why); b.png (why)`` → the same when short, else the names only (reasons are in the per-image table)."""
    if not not_reached:
        return "—"
    items = not_reached.split("; ")
    if len(items) <= 3:
        return not_reached
    return ", ".join(i.split(" (", 1)[0] for i in items) + " (reasons in the per-image table below)"


def targets_section(
    ts: TargetSummary, rows: Sequence[Row], colors: Mapping[str, str], confidence: float, names: Mapping[str, str] | None = None
) -> str:
    """Per target: bytes per codec, savings of each pair with intervals, the per-image choices."""
    parts = [
        '<p class="note">For each image and codec, the smallest file whose score reaches the target, searched over the '
        "codec's quality setting (bisection on its own scale and direction; discrete learned-codec qualities: the "
        "nearest setting at or above the target). Totals are over the images every codec reaches; Δ bytes over the "
        "images both codecs of a pair reach.</p>"
    ]
    for target in dict.fromkeys(ts.totals["target"]):
        tot = ts.totals[ts.totals["target"] == target]
        parts.append(f"<h3>{esc(target)}</h3>")
        parts.append(table(
            ["Codec", "Reached", "Total bytes (common images)", "Mean bpp (reached)", "Not reached"],
            [['<span class="nw">' + _swatch(colors.get(r.codec_label, "#888")) + esc(display_codec(r.codec_label, names)) + "</span>",
              esc(f"{r.reached} of {r.images}"),
              _num(r.total_bytes, "{:,.0f}"), _num(r.mean_bpp, "{:.3f}"),
              f'<span class="note">{esc(_short_list(r.not_reached))}</span>'] for r in tot.itertuples()],
        ))  # fmt: skip
        sav = []
        for r in rows:
            s = ts.saving(target, r.codec_label, r.anchor_label)
            if s is None:
                continue
            ci = "—" if pd.isna(s["ci_low"]) else f"{s['ci_low']:+.1f} … {s['ci_high']:+.1f} %"
            sav.append([
                '<span class="nw">' + esc(display_codec(r.codec_label, names)) + " <span class=vs>vs</span> "
                + esc(display_codec(r.anchor_label, names)) + "</span>",
                _num(s["delta"], "{:+.1f} %"), (esc(ci), None if pd.isna(s["ci_low"]) else s["ci_low"]),
                _num(s["image_median"], "{:+.1f} %"), f'<span class="note">{esc(s["note"])}</span>',
            ])  # fmt: skip
        parts.append(table(["Pair", "Δ bytes (totals)", f"{confidence:.0%} CI", "Median per image", "Images"], sav))
        per = ts.table[ts.table["target"] == target]
        parts.append(
            "<details><summary>Per image: chosen q, bytes and score</summary>"
            + table(
                ["Image", "Codec", "q", "Bytes", "bpp", "Score", "Reached", "Probes", "Note"],
                [[esc(r.image), esc(display_codec(r.codec_label, names)), _num(r.q, "{:g}"), _num(r.bytes, "{:,.0f}"),
                  _num(r.bpp, "{:.3f}"), _num(r.score, "{:.4g}"), esc("yes" if r.reached else "no"),
                  _num(r.probes, "{:.0f}"), f'<span class="note">{esc(r.note)}</span>'] for r in per.itertuples()],
                sortable=True,
            ) + "</details>"
        )  # fmt: skip
    return "".join(parts)


def comparison_section(cmp: Comparison, index: int, metrics: Sequence[str], names: Mapping[str, str] | None = None) -> str:
    """One image: a wipe viewer (decoded left of the line, reference right) and a codec toggle.

    Each crop is embedded once: the decoded crops are stacked over the reference and the toggle
    shows one of them (the first without JavaScript).
    """
    title = f'<h3 id="cmp-{index}">{esc(cmp.image)}</h3>'
    if cmp.reference is None:
        return title + f'<p class="warn">{esc(cmp.note)}</p>'
    x, y, w, h = cmp.box
    layers, choices = [], []
    for c in cmp.crops:
        values = " · ".join(f"{m} {c.row[m]:.4g}" for m in metrics if m in c.row and not pd.isna(c.row[m]))
        q, bpp = c.row["q"], c.row["bpp"]
        caption = (
            f"<b>{esc(display_codec(c.label, names))}</b> · q {q:g} · {bpp:.3f} bpp · {esc(values)}"
            f'<br><span class="note">{esc(c.note)}</span>'
        )
        if c.png is None:
            choices.append(f'<div class="choice warn">{caption}</div>')
            continue
        first = not layers
        layers.append(img(c.png, f"{c.label} decoded", "top", hidden=not first))
        checked = " checked" if first else ""
        choices.append(
            f'<label class="choice"><input type="radio" name="cmp-{index}" value="{len(layers) - 1}"{checked}> '
            f"{caption}</label>"
        )
    viewer = (
        f'<div class="viewer" style="width:{2 * w}px"><div class="wipe">{img(cmp.reference, "reference")}'
        f'{"".join(layers)}<div class="line"></div></div>'
        '<input type="range" min="0" max="100" value="50" aria-label="move the dividing line"></div>'
    )
    where = (
        f"{w}×{h} px crop at ({x}, {y}) from the most detailed region, shown at 2× (pixels enlarged, not smoothed). "
        "Left of the line: the selected codec's decoded image; right: the original. Drag the slider to move the line."
    )
    return title + f'<p class="note">{esc(where)}</p><div class="cmp">{viewer}<div>{"".join(choices)}</div></div>'


#: Fractions written as a person writes them (``min_overlap`` 1/3 → ⅓).
_FRACTIONS = {1 / 3: "⅓", 2 / 3: "⅔", 1 / 2: "½", 1 / 4: "¼", 3 / 4: "¾"}


def human_number(x: float | int) -> str:
    """``100.0`` → ``100``, ``0.3333333333333333`` → ``⅓``, ``-1.0`` → ``−1``, else 4 significant digits."""
    if isinstance(x, bool):
        return "yes" if x else "no"
    x = float(x)
    for value, glyph in _FRACTIONS.items():
        if abs(x - value) < 1e-9:
            return glyph
    text = f"{x:.0f}" if x == round(x) and abs(x) < 1e15 else f"{x:.4g}"
    return text.replace("-", "−")


def human_range(lo: float | None, hi: float | None) -> str:
    """A metric's range as a person writes it: ``0–100``, ``≥ 0``, ``≤ 100``, ``−1 to 1``, ``any``."""
    if lo is None and hi is None:
        return "any"
    if hi is None:
        return f"≥ {human_number(lo)}"
    if lo is None:
        return f"≤ {human_number(hi)}"
    sep = " to " if lo < 0 or hi < 0 else "–"
    return f"{human_number(lo)}{sep}{human_number(hi)}"


def _plain(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool | int | float):
        return human_number(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    return str(value)


def human(value: Any) -> str:
    """HTML of a manifest or settings value, written as a person would: ``yes``/``no``, ``—`` for nothing, numbers
    without float noise, lists joined with commas, mappings as ``key value`` pairs (nested ones as a list)."""
    if isinstance(value, Mapping) and any(isinstance(v, Mapping | list | tuple) for v in value.values()):
        return _dl(value)
    return esc(_plain(value))


def _dl(items: Mapping[str, Any]) -> str:
    return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{human(v)}</dd>" for k, v in items.items()) + "</dl>"


def _bd_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The BD-rate method's settings for reading: metrics with their direction, the pair rule in words."""
    out = dict(settings)
    if isinstance(out.get("metrics"), Mapping):
        out["metrics"] = ", ".join(f"{m} ({'higher' if up else 'lower'} is better)" for m, up in out["metrics"].items())
    if out.get("anchor_label") is None and "anchor_label" in out:
        out["anchor_label"] = "none: every ordered pair"
    out.pop("anchor_id", None) if out.get("anchor_id") is None else None
    return out


def _ladder(ladder: Any) -> str:
    if isinstance(ladder, list | tuple) and all(isinstance(q, int | float) for q in ladder):
        from ..codecs.base import format_quality

        return esc("/".join(format_quality(q) for q in ladder))
    return human(ladder)


def manifest_section(run: Run, bd: BDTable) -> str:
    m = run.manifest
    ds = m.dataset
    parts = [
        _dl(
            {
                "qualitykit": m.qualitykit_version,
                "created": m.created,
                "status": m.status,
                "command": m.command,
                "dataset": f"{ds.name} ({ds.path})",
                "device": m.device,
                "cache": m.cache or "?",
            }
        ),
        "<h3>Codecs</h3>",
        table(
            ["Label", "Spec", "Id", "Ladder (q)", "Versions"],
            [[esc(c.label), esc(c.spec), f"<code>{esc(c.id)}</code>", _ladder(c.ladder), _dl(c.versions)] for c in m.codecs],
        ),
        "<h3>Metrics</h3>",
        table(
            ["Name", "Version", "Better", "Range", "Unit", "Description", "Equals"],
            [
                [esc(x.name), esc(x.version), "higher" if x.higher_is_better else "lower",
                 f'<span class="nw">{esc(human_range(*x.range))}</span>' if isinstance(x.range, list | tuple) and len(x.range) == 2 else human(x.range),
                 human(x.unit), esc(x.description), human(x.reference)]
                for x in m.metrics
            ],  # fmt: skip
        ),
        "<h3>BD-rate method</h3>",
        _dl(_bd_settings(bd.settings)),
        "<h3>Dataset images</h3>",
        table(
            ["Image", "Size", "Converted", "Flag", "SHA-256"],
            [
                [esc(i.image), esc(f"{i.width}×{i.height}"), esc(i.conversion or "—"), esc(bd.outliers.get(i.image, "")),
                 f"<code>{esc(i.sha256)}</code>"]
                for i in ds.images
            ],  # fmt: skip
            sortable=True,
        ),
    ]
    if m.errors:
        keys = ["image", "codec_id", "q", "stage", "message"]
        parts += [
            f"<h3>Errors ({len(m.errors)})</h3>",
            table(keys, [[esc("" if getattr(e, k) is None else getattr(e, k)) for k in keys] for e in m.errors], sortable=True),
        ]
    parts += [
        "<h3>Libraries and machine</h3>",
        _dl({**m.libraries, **{f"machine.{k}": v for k, v in m.machine.items()}}),
        f"<details><summary>Full manifest (JSON)</summary><pre>{esc(json.dumps(m.to_dict(), indent=2, default=str))}</pre></details>",
    ]
    return "".join(parts)


def render(title: str, sections: Sequence[tuple[str, str, str]], intro: str) -> str:
    """Fill the page template: ``sections`` are ``(id, heading, HTML)``; ``intro`` is HTML under the title."""
    nav = "<nav>" + "".join(f'<a href="#{sid}">{esc(head)}</a>' for sid, head, _ in sections[1:]) + "</nav>"
    first, rest = sections[0], sections[1:]
    body = f"<h1>{esc(title)}</h1>{intro}" + f'<section id="{first[0]}"><h2>{esc(first[1])}</h2>{first[2]}</section>'
    body += nav + "".join(f'<section id="{sid}"><h2>{esc(head)}</h2>{content}</section>' for sid, head, content in rest)
    template = Template(files("qualitykit.report").joinpath("templates/report.html").read_text(encoding="utf-8"))
    return template.substitute(title=esc(title), body=body)
