"""Reports of a finished run: the answer first (verdict, caveats, pairwise matrix), then the evidence.

>>> from qualitykit.report import write_report
>>> write_report("runs/kodak", anchor="jpeg")          # doctest: +SKIP
PosixPath('runs/kodak/index.html')

The page, top to bottom: the verdict in plain words, the conditions it holds under (few images,
metrics asked for but not computed, images excluded per metric, rate outliers, partial ranges),
the codec-pair × metric matrix with intervals and speed per megapixel; then equal-quality targets
(when the run has them), every BD-rate with its range and images, RD plots (log rate), the
per-image BD-rate distribution, speed, per-image values, visual comparisons and run details.
Plots and crops are drawn once: a report of the same results reuses them (:mod:`.assets`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..analysis import bd_table
from ..analysis.aggregate import rd_points_all, speed_table
from ..analysis.answer import Answer, answer, display
from ..analysis.bdrate import MIN_OVERLAP, Method
from ..analysis.targets import summarize_targets
from ..equal_quality import read_targets
from ..errors import QKError
from ..fsutil import atomic_write_text
from ..rundir import Run
from ..store import Store
from . import html
from .assets import AssetCache
from .crops import closest_rows, compare_image
from .plots import codec_colors, codec_markers, figure_key, rd_figure, safe_stem, save_figure, strip_figure


def _plot(assets: AssetCache, out: Path, stem: str, key: str, make, svg: bool) -> bytes:  # noqa: ANN001
    """Write ``plots/<stem>.png`` (and ``.svg``) from the asset cache or by drawing; return the PNG bytes."""
    stem = safe_stem(stem)
    holder: dict[str, object] = {}

    def figure():  # noqa: ANN202
        if "fig" not in holder:
            holder["fig"] = make()
        return holder["fig"]

    def draw_png() -> bytes:
        import io

        buf = io.BytesIO()
        figure().savefig(buf, format="png")
        return buf.getvalue()

    def draw_svg() -> bytes:
        import io

        buf = io.BytesIO()
        figure().savefig(buf, format="svg")
        return buf.getvalue()

    out.mkdir(parents=True, exist_ok=True)
    png = assets.get(f"plot-{key}.png", draw_png)
    (out / f"{stem}.png").write_bytes(png)
    if svg:
        (out / f"{stem}.svg").write_bytes(assets.get(f"plot-{key}.svg", draw_svg))
    return png


def write_report(run_dir: str | Path, out_dir: str | Path | None = None, anchor: str | None = "jpeg", **options) -> Path:  # noqa: ANN003
    """Write ``index.html`` (self-contained), ``bdrate.json`` and ``plots/``; return the HTML path.

    Options as :func:`build_report`.
    """
    return build_report(run_dir, out_dir, anchor, **options)[0]


def build_report(
    run_dir: str | Path,
    out_dir: str | Path | None = None,
    anchor: str | None = "jpeg",
    *,
    method: Method = "pchip",
    min_overlap: float = MIN_OVERLAP,
    n_boot: int = 1000,
    seed: int = 0,
    comparisons: int = 4,
    crop: int = 256,
    svg: bool = True,
    profile: dict[str, float] | None = None,
) -> tuple[Path, Answer]:
    """Write ``index.html`` (self-contained), ``bdrate.json`` and ``plots/``; return the HTML path and
    the :class:`~qualitykit.analysis.answer.Answer` the page opens with.

    ``out_dir`` defaults to ``run_dir``. ``anchor`` (label, spec, id or family; default ``jpeg``,
    else the first codec) orders the detailed tables and picks the rate of the visual
    comparisons; the verdict and the matrix cover every pair. ``method`` and ``min_overlap`` are
    as in :func:`qualitykit.analysis.bd_rate`; ``n_boot`` and ``seed`` drive the bootstrap
    intervals. Visual comparisons (``crop``×``crop`` px, full resolution) are made for the first
    ``comparisons`` images, by decoding the run's bitstreams from its cache. ``profile``, when
    given, receives the seconds spent in each step.
    """
    times = profile if profile is not None else {}
    t0 = time.perf_counter()
    run = Run.load(run_dir)
    out = Path(out_dir) if out_dir is not None else run.path
    out.mkdir(parents=True, exist_ok=True)
    try:
        anchor_id = run.resolve_codec(anchor or "jpeg")
    except QKError:
        if anchor not in (None, "jpeg") or not run.codec_ids:
            raise
        anchor_id = run.codec_ids[0]  # no JPEG in this run: the first codec
    anchor_label = run.label(anchor_id)
    bd = bd_table(run, None, method=method, min_overlap=min_overlap, n_boot=n_boot, seed=seed)
    bd.settings["report_anchor"] = anchor_label
    targets = read_targets(run.path)
    tsum = summarize_targets(targets, n_boot, seed) if targets is not None and len(targets) else None
    speed = speed_table(run.results)
    ans = answer(run, bd, tsum, speed)
    atomic_write_text(out / "bdrate.json", json.dumps(bd.to_dict(), indent=2))
    times["analysis"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    assets = AssetCache.beside(run.manifest.cache)
    families = [(run.label(c.id), c.name) for c in run.codecs]
    colors, markers = codec_colors(families), codec_markers(families)
    labels = {cid: run.label(cid) for cid in run.codec_ids}
    images = run.images
    used = [i for i in images if i not in bd.outliers]
    plots = []
    points = {cid: rd_points_all(run.results, cid, list(run.metrics), used) for cid in run.codec_ids}
    for metric, info in run.metrics.items():
        curves = {labels[cid]: points[cid][metric].corpus() for cid in run.codec_ids}
        key = figure_key("rd", metric, info.higher_is_better, info.unit, info.plot_in_db, len(used), sorted(colors.items()),
                         sorted(markers.items()), *[(k, *v) for k, v in curves.items()])  # fmt: skip
        png = _plot(assets, out / "plots", f"rd-{metric}", key,
                    lambda curves=curves, metric=metric, info=info: rd_figure(
                        curves, metric, info.higher_is_better, colors, len(used), info.unit, markers, info.plot_in_db), svg)  # fmt: skip
        plots.append(f"<figure>{html.img(png, f'{metric} vs bpp')}</figure>")
    strip = ""
    if ans.rows and len(bd.per_image):
        per = bd.per_image
        values = {}
        for r in ans.rows:
            name = f"{display(r.codec)} vs {display(r.other)}"
            mine = per[(per["anchor_label"] == r.other) & (per["codec_label"] == r.codec)]
            values[name] = {
                m: (mine.loc[mine["metric"] == m, "bd_rate"].to_numpy(dtype=float), r.cells[m].value) for m in ans.metrics
            }
        key = figure_key("strip", ans.metrics, *[(k, *[(m, *v) for m, v in d.items()]) for k, d in values.items()])
        png = _plot(assets, out / "plots", "bd-per-image", key, lambda: strip_figure(values, ans.metrics), svg)
        strip = (f"<figure>{html.img(png, 'per-image BD-rates')}</figure><p class=\"note\">One dot per image: the BD-rate "
                 "of that image's own curves (first codec of the pair against the second); the red bar is the corpus "
                 "number of the matrix. A corpus number far from most dots is driven by a few images; open circles "
                 "at the edge are beyond ±150 %.</p>")  # fmt: skip
    times["plots"] = time.perf_counter() - t0

    t0 = time.perf_counter()
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
            cmp = compare_image(sources[image], closest_rows(rows, run.codec_ids, target), store, crop, assets)
            cmp_html.append(html.comparison_section(cmp, index, list(run.metrics)))
    finally:
        if store is not None:
            store.close()
    if len(images) > comparisons:
        cmp_html.append(f'<p class="note">Comparisons are shown for the first {comparisons} of {len(images)} images.</p>')
    assets.prune()
    times["crops"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    man, ds = run.manifest, run.manifest.dataset
    swatches = " ".join(f"{html._swatch(colors[lab])}{html.esc(html.display_codec(lab))}" for lab in labels.values())
    intro = (
        f'<p class="sub">{len(images)} images of <b>{html.esc(ds.name)}</b> · {swatches} · metrics '
        f"{html.esc(', '.join(m.upper() for m in run.metrics))} · run {html.esc(man.created)}, qualitykit "
        f"{html.esc(man.qualitykit_version)}</p>"
    )
    first = html.first_screen(ans, colors)
    if bd.summary.empty:
        first += f'<p class="warn">The run has no two codecs with results (or no metric): no BD-rate.</p>'
    sections = [("answer", "The answer", first)]
    if tsum is not None:
        sections.append(("targets", "Equal quality, per image", html.targets_section(tsum, ans.rows, colors, ans.confidence)))
    sections += [
        ("bdrate", "BD-rate of every pair", html.bd_section(bd, ans.rows, anchor_label, colors) if not bd.summary.empty else ""),
        ("plots", "Rate–quality curves", f'<div class="plots">{"".join(plots)}</div>'
         '<p class="note">Rate on a log axis (BD-rate averages log-rate). SSIM and MS-SSIM (and their luma versions) '
         "are drawn in dB, −10·log10(1 − x), which spreads the top of the scale; tables keep their own scale."
         + (f" Rate outliers left out of the curves: {html.esc(', '.join(bd.outliers))}." if bd.outliers else "") + "</p>"),
        ("distribution", "Per-image BD-rates", strip or '<p class="note">No pair to show.</p>'),
        ("speed", "Speed", html.speed_section(speed, labels, colors)),
        ("images", "Per image", html.per_image_section(bd, anchor_label, shown, images) if not bd.summary.empty else ""),
        ("compare", "Visual comparison", "".join(cmp_html)),
        ("run", "Run details", html.manifest_section(run, bd)),
    ]  # fmt: skip
    path = out / "index.html"
    atomic_write_text(path, html.render(f"Codec report: {ds.name}", sections, intro))
    times["html"] = time.perf_counter() - t0
    return path, ans


__all__ = ["build_report", "write_report"]
