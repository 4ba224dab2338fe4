"""Reports of a finished run: RD plots, BD-rate tables and one self-contained HTML file.

>>> from qualitykit.report import write_report
>>> write_report("runs/kodak", anchor="jpeg")          # doctest: +SKIP
PosixPath('runs/kodak/index.html')
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..analysis import bd_table
from ..analysis.aggregate import rd_points, speed_table
from ..analysis.bdrate import MIN_OVERLAP, Method
from ..fsutil import atomic_write_text
from ..rundir import Run
from ..store import Store
from . import html
from .crops import closest_rows, compare_image
from .plots import codec_colors, rd_figure, save_figure


def write_report(
    run_dir: str | Path,
    out_dir: str | Path | None = None,
    anchor: str = "jpeg",
    *,
    method: Method = "pchip",
    min_overlap: float = MIN_OVERLAP,
    n_boot: int = 1000,
    seed: int = 0,
    comparisons: int = 4,
    crop: int = 256,
) -> Path:
    """Write ``index.html`` (self-contained), ``bdrate.json`` and ``plots/rd-<metric>.png|svg``; return the HTML path.

    ``out_dir`` defaults to ``run_dir``. ``anchor`` is the codec label, spec, id or family the
    others are compared with; ``method`` and ``min_overlap`` are as in
    :func:`qualitykit.analysis.bd_rate`; ``n_boot`` and ``seed`` drive the bootstrap CIs. Visual
    comparisons (``crop``×``crop`` px, full resolution) are made for the first ``comparisons``
    images of the dataset, by decoding the run's bitstreams from its cache.
    """
    run = Run.load(run_dir)
    out = Path(out_dir) if out_dir is not None else run.path
    out.mkdir(parents=True, exist_ok=True)
    bd = bd_table(run, anchor, method=method, min_overlap=min_overlap, n_boot=n_boot, seed=seed)
    atomic_write_text(out / "bdrate.json", json.dumps(bd.to_dict(), indent=2))

    labels = {cid: run.label(cid) for cid in run.codec_ids}
    colors = codec_colors(list(labels.values()))
    images = run.images
    plots = []
    for metric, info in run.metrics.items():
        curves = {labels[cid]: rd_points(run.results, cid, metric, images).corpus() for cid in run.codec_ids}
        png = save_figure(rd_figure(curves, metric, info.higher_is_better, colors, len(images)), out / "plots", f"rd-{metric}")
        plots.append(f"<figure>{html.img(png, f'{metric} vs bpp')}</figure>")

    anchor_id = bd.settings["anchor_id"]
    sources = {i.image: i for i in run.manifest.dataset.images}
    shown = {image: i for i, image in enumerate(images[:comparisons])}
    cache = run.manifest.cache
    store = Store(cache) if cache and Path(cache).is_file() else None
    cmp_html = []
    try:
        for image, index in shown.items():
            rows = run.results[run.results["image"] == image]
            anchor_bpp = np.sort(rows.loc[rows["codec_id"] == anchor_id, "bpp"].to_numpy())
            target = float(anchor_bpp[len(anchor_bpp) // 2]) if anchor_bpp.size else float(rows["bpp"].median())
            cmp = compare_image(sources[image], closest_rows(rows, run.codec_ids, target), store, crop)
            cmp_html.append(html.comparison_section(cmp, index, list(run.metrics)))
    finally:
        if store is not None:
            store.close()
    if len(images) > comparisons:
        cmp_html.append(
            f'<p class="note">Comparisons are shown for the first {comparisons} of {len(images)} images.</p>'
        )

    man, ds = run.manifest, run.manifest.dataset
    anchor_name = html.esc(html.display_codec(bd.settings["anchor_label"]))
    intro = (
        f'<p class="sub">{len(images)} images of dataset <b>{html.esc(ds.name)}</b>, '
        f"{len(labels)} codecs, anchor <b>{anchor_name}</b>. Run {html.esc(man.created)}, "
        f"qualitykit {html.esc(man.qualitykit_version)}.</p>"
    )
    errors = man.errors
    if errors:
        intro += f'<p class="warn">{len(errors)} encode/decode/metric failure(s) were recorded; see Run details.</p>'
    if bd.summary.empty:
        nothing = f'<p class="warn">The run has no codec besides the anchor {anchor_name} or no metric: no BD-rate.</p>'
        headline = bd_html = per_image = nothing
    else:
        headline = html.headline(bd, colors) + (
            '<p class="note">Bjøntegaard delta rate (BD-rate): the average difference in file size at equal '
            "quality, from the mean rate–quality curves over all images.</p>"
        )
        bd_html, per_image = html.bd_section(bd, colors), html.per_image_section(bd, shown, images)
    sections = [
        ("headline", "In short", headline),
        ("bdrate", "BD-rate", bd_html),
        ("plots", "Rate–quality curves", f'<div class="plots">{"".join(plots)}</div>'),
        ("speed", "Speed", html.speed_section(speed_table(run.results), labels, colors)),
        ("images", "Per image", per_image),
        ("compare", "Visual comparison", "".join(cmp_html)),
        ("run", "Run details", html.manifest_section(run, bd)),
    ]
    path = out / "index.html"
    atomic_write_text(path, html.render(f"Codec report: {ds.name}", sections, intro))
    return path


__all__ = ["write_report"]
