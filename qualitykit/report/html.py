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
from ..rundir import Run
from .crops import Comparison

Cell = str | tuple[str, float | None]  # HTML, or (HTML, sort key)


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def display_codec(label: str) -> str:
    """``avif`` → ``AVIF``; labels with settings (``avif:speed=4``) stay as written."""
    return label if ":" in label else label.upper()


def _num(value: float | None, fmt: str = "{:.1f}") -> Cell:
    if value is None or pd.isna(value):
        return ("—", None)
    return (esc(fmt.format(value)), float(value))


def table(headers: Sequence[str], rows: Iterable[Sequence[Cell]], sortable: bool = False) -> str:
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


def _bytes_phrase(v: float) -> str:
    if round(abs(v)) == 0:
        return "about as many bytes as"
    return f"{abs(v):.0f} % {'fewer' if v < 0 else 'more'} bytes than"


def _ci_phrase(lo: float, hi: float, confidence: float) -> str:
    level = f"{confidence:.0%} CI"
    if hi < 0:
        return f"{level} {-hi:.0f}–{-lo:.0f} % fewer"
    if lo > 0:
        return f"{level} {lo:.0f}–{hi:.0f} % more"
    return f"{level} from {-lo:.0f} % fewer to {hi:.0f} % more"


def headline(bd: BDTable, colors: Mapping[str, str]) -> str:
    """One plain-words sentence per test codec and metric."""
    anchor = display_codec(bd.settings["anchor_label"])
    confidence = bd.settings["bootstrap"]["confidence"]
    items = []
    for r in bd.summary.itertuples():
        codec, metric = display_codec(r.codec_label), r.metric.upper()
        style = f' style="--c:{esc(colors[r.codec_label])}"'
        if pd.isna(r.bd_rate):
            text = f"{codec} vs {anchor} on {metric}: no BD-rate, {r.reason} ({r.detail})."
            items.append(f'<li class="na"{style}>{esc(text)}</li>')
            continue
        text = (
            f"<b>{esc(codec)}</b> needs <b>{esc(_bytes_phrase(r.bd_rate))}</b> {esc(anchor)} for the same {esc(metric)}"
        )
        if not pd.isna(r.ci_low):
            text += f" ({esc(_ci_phrase(r.ci_low, r.ci_high, confidence))})"
        items.append(f"<li{style}>{text}.</li>")
    return '<ul class="headline">' + "".join(items) + "</ul>"


def _reason_cell(value: float | None, reason: str | None, detail: str, fmt: str = "{:+.1f} %") -> Cell:
    if value is None or pd.isna(value):
        return (f'<span title="{esc(detail)}">n/a: {esc(reason)}</span>', None)
    return _num(value, fmt)


def bd_section(bd: BDTable, colors: Mapping[str, str]) -> str:
    """The BD-rate table, with reasons for missing cells and the method line."""
    s = bd.settings
    rows = []
    for r in bd.summary.itertuples():
        ci = "—" if pd.isna(r.ci_low) else f"{r.ci_low:+.1f} … {r.ci_high:+.1f} %"
        notes = "; ".join(n for n in (r.detail, r.ci_note if pd.isna(r.bd_rate) else f"CI from {r.ci_note}") if n)
        rows.append(
            [
                _swatch(colors[r.codec_label]) + esc(r.codec_label),
                esc(r.metric),
                _reason_cell(r.bd_rate, r.reason, r.detail),
                (esc(ci), None if pd.isna(r.ci_low) else r.ci_low),
                _reason_cell(r.image_mean, "none computed", r.images_note),
                esc(r.images_note),
                _reason_cell(r.bd_metric, r.bd_metric_reason, r.bd_metric_detail, "{:+.4g}"),
                "—" if pd.isna(r.bd_rate) else esc(f"{r.points_anchor} / {r.points_test}"),
                f'<span class="note">{esc(notes)}</span>',
            ]
        )
    head = [
        "Codec",
        "Metric",
        "BD-rate (mean curves)",
        f"{s['bootstrap']['confidence']:.0%} CI",
        "Mean of per-image",
        "Images",
        "BD-metric",
        "Points (anchor / test)",
        "Notes",
    ]
    b = s["bootstrap"]
    method = (
        f"Anchor {esc(s['anchor_label'])} (<code>{esc(s['anchor_id'])}</code>). BD-rate: {esc(s['interpolation'])} of "
        f"log{esc(s['log_base'])}(bpp) against quality, {esc(s['integration'])}; {esc(s['range_rule'])}; at least "
        f"{esc(s['min_points'])} points per curve; saturated points ({esc(json.dumps(s['saturation']))}) left out. "
        f"{esc(s['aggregation'])}. CI: {esc(b['interval'])} bootstrap over {esc(b['resampling'])}, "
        f"{esc(b['resamples'])} resamples, seed {esc(b['seed'])}. Negative BD-rate: fewer bytes than the anchor; "
        "BD-metric is test minus anchor in the metric's units (for lower-is-better metrics, negative is better)."
    )
    return table(head, rows, sortable=True) + f'<p class="note">{method}</p>'


def per_image_section(bd: BDTable, comparisons: Mapping[str, int], images: Sequence[str]) -> str:
    """Sortable table: one row per image × test codec, BD-rate per metric, link to the visual comparison."""
    metrics = list(bd.settings["metrics"])
    wide = bd.per_image.set_index(["image", "codec_label", "metric"])
    rows = []
    for image in images:
        for codec in dict.fromkeys(bd.summary["codec_label"]):
            link = (
                f'<a href="#cmp-{comparisons[image]}">compare</a>'
                if image in comparisons
                else '<span class="note">—</span>'
            )
            cells: list[Cell] = [esc(image), esc(codec)]
            for m in metrics:
                r = wide.loc[(image, codec, m)]
                cells.append(_reason_cell(r["bd_rate"], r["reason"], r["detail"]))
            rows.append(cells + [link])
    head = ["Image", "Codec", *(f"BD-rate {m}" for m in metrics), "Visual"]
    return table(head, rows, sortable=True)


def speed_section(speed: pd.DataFrame, labels: Mapping[str, str], colors: Mapping[str, str]) -> str:
    rows = [
        [
            _swatch(colors[labels[r.codec_id]]) + esc(labels[r.codec_id]),
            esc(r.codec_id),
            _num(r.points, "{:.0f}"),
            _num(r.encode_s * 1000, "{:.1f}"),
            _num(r.decode_s * 1000, "{:.1f}"),
            _num(r.encode_mpx_s, "{:.2f}"),
            _num(r.decode_mpx_s, "{:.2f}"),
        ]
        for r in speed.itertuples()
    ]
    head = ["Codec", "Id", "Points", "Encode ms (median)", "Decode ms (median)", "Encode Mpx/s", "Decode Mpx/s"]
    return table(head, rows, sortable=True) + '<p class="note">Per image, wall-clock, as measured by the run.</p>'


def comparison_section(cmp: Comparison, index: int, metrics: Sequence[str]) -> str:
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
            f"<b>{esc(display_codec(c.label))}</b> · q {q:g} · {bpp:.3f} bpp · {esc(values)}"
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


def _dl(items: Mapping[str, Any]) -> str:
    def show(v: Any) -> str:
        return esc(v) if isinstance(v, str | int | float) else f"<code>{esc(json.dumps(v, sort_keys=True))}</code>"

    return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{show(v)}</dd>" for k, v in items.items()) + "</dl>"


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
            [[esc(c.label), esc(c.spec), f"<code>{esc(c.id)}</code>", esc(c.ladder), _dl(c.versions)] for c in m.codecs],
        ),
        "<h3>Metrics</h3>",
        table(
            ["Name", "Version", "Higher is better", "Range", "Unit", "Description", "Equals"],
            [
                [esc(x.name), esc(x.version), esc(x.higher_is_better), esc(x.range), esc(x.unit), esc(x.description), esc(x.reference)]
                for x in m.metrics
            ],  # fmt: skip
        ),
        "<h3>BD-rate method</h3>",
        _dl(bd.settings),
        "<h3>Dataset images</h3>",
        table(
            ["Image", "Size", "Converted", "SHA-256"],
            [
                [esc(i.image), esc(f"{i.width}×{i.height}"), esc(i.conversion or "—"), f"<code>{esc(i.sha256)}</code>"]
                for i in ds.images
            ],
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
    nav = "<nav>" + "".join(f'<a href="#{sid}">{esc(head)}</a>' for sid, head, _ in sections) + "</nav>"
    body = f"<h1>{esc(title)}</h1>{intro}{nav}" + "".join(
        f'<section id="{sid}"><h2>{esc(head)}</h2>{content}</section>' for sid, head, content in sections
    )
    template = Template(files("qualitykit.report").joinpath("templates/report.html").read_text(encoding="utf-8"))
    return template.substitute(title=esc(title), body=body)
