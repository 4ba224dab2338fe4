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
from ..analysis.answer import Answer, answer
from ..analysis.bdrate import MIN_OVERLAP, Method
from ..analysis.targets import summarize_targets
from ..equal_quality import read_targets
from ..errors import QKError
from ..rundir import BDRATE, INDEX, PLOTS, Run, write_report_file
from ..store import Store
from . import html
from .assets import AssetCache
from .crops import closest_rows, compare_image
from .plots import codec_colors, codec_markers, figure_key, rd_figure, safe_stem, strip_figure


def _plot(assets: AssetCache, out: Path, stem: str, key: str, make, svg: bool) -> bytes:  # noqa: ANN001
    """Write ``plots/<stem>.png`` (and ``.svg``) under ``out`` from the asset cache or by drawing; return the PNG bytes."""
    stem = safe_stem(stem)
    holder: dict[str, object] = {}

    def draw(fmt: str) -> bytes:
        import io

        if "fig" not in holder:
            holder["fig"] = make()
        buf = io.BytesIO()
        holder["fig"].savefig(buf, format=fmt)  # type: ignore[attr-defined]
        return buf.getvalue()

    png = assets.get(f"plot-{key}.png", lambda: draw("png"))
    write_report_file(out, f"{PLOTS}/{stem}.png", png)
    if svg:
        write_report_file(out, f"{PLOTS}/{stem}.svg", assets.get(f"plot-{key}.svg", lambda: draw("svg")))
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
    page = _Page(run, Path(out_dir) if out_dir is not None else run.path, svg)  # type: ignore[arg-type]
    page.analyse(anchor, method, min_overlap, n_boot, seed)
    times["analysis"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    plots, strip = page.rd_plots(), page.strip_plot()
    times["plots"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    shown = {image: i for i, image in enumerate(run.images[:comparisons])}
    cmp_html = page.comparisons(shown, crop)
    if len(run.images) > comparisons:
        cmp_html.append(f'<p class="note">Comparisons are shown for the first {comparisons} of {len(run.images)} images.</p>')
    page.assets.prune()
    times["crops"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    path = write_report_file(page.out, INDEX, page.render(plots, strip, cmp_html, shown))
    times["html"] = time.perf_counter() - t0
    return path, page.ans


class _Page:
    """The state one report shares between its steps: the run, where it goes, its analysis, its colours."""

    def __init__(self, run: Run, out: Path, svg: bool) -> None:
        self.run, self.out, self.svg = run, out, svg
        self.assets = AssetCache.beside(run.manifest.cache)
        families = [(run.label(c.id), c.name) for c in run.codecs]
        self.colors, self.markers = codec_colors(families), codec_markers(families)
        self.labels = {cid: run.label(cid) for cid in run.codec_ids}

    def analyse(self, anchor: str | None, method: Method, min_overlap: float, n_boot: int, seed: int) -> None:
        """Anchor, BD-rate table (written as ``bdrate.json``), targets, speed and the answer."""
        run = self.run
        try:
            self.anchor_id = run.resolve_codec(anchor or "jpeg")
        except QKError:
            if anchor not in (None, "jpeg") or not run.codec_ids:
                raise
            self.anchor_id = run.codec_ids[0]  # no JPEG in this run: the first codec
        self.anchor_label = run.label(self.anchor_id)
        bd = self.bd = bd_table(run, None, method=method, min_overlap=min_overlap, n_boot=n_boot, seed=seed)
        bd.settings["report_anchor"] = self.anchor_label
        targets = read_targets(run.path)
        self.tsum = summarize_targets(targets, n_boot, seed) if targets is not None and len(targets) else None
        self.speed = speed_table(run.results)
        self.ans = answer(run, bd, self.tsum, self.speed)
        write_report_file(self.out, BDRATE, json.dumps(bd.to_dict(), indent=2))

    def rd_plots(self) -> list[str]:
        """One rate–quality figure per metric (rate outliers left out)."""
        run, colors, markers, labels = self.run, self.colors, self.markers, self.labels
        used = [i for i in run.images if i not in self.bd.outliers]
        plots = []
        points = {cid: rd_points_all(run.results, cid, list(run.metrics), used) for cid in run.codec_ids}
        for metric, info in run.metrics.items():
            curves = {labels[cid]: points[cid][metric].corpus() for cid in run.codec_ids}
            key = figure_key("rd", metric, info.higher_is_better, info.unit, info.plot_in_db, len(used), sorted(colors.items()),
                             sorted(markers.items()), sorted(self.ans.names.items()), *[(k, *v) for k, v in curves.items()])  # fmt: skip
            png = _plot(self.assets, self.out, f"rd-{metric}", key,
                        lambda curves=curves, metric=metric, info=info: rd_figure(
                            curves, metric, info.higher_is_better, colors, len(used), info.unit, markers, self.ans.names, info.plot_in_db), self.svg)  # fmt: skip
            plots.append(f"<figure>{html.img(png, f'{metric} vs bpp')}</figure>")
        return plots

    def strip_plot(self) -> str:
        """The per-image BD-rate strip figure with its note, or ``""`` when there is no pair."""
        ans, bd = self.ans, self.bd
        if not (ans.rows and len(bd.per_image)):
            return ""
        per = bd.per_image
        values = {}
        for r in ans.rows:
            name = f"{ans.display(r.codec_label)} vs {ans.display(r.anchor_label)}"
            mine = per[(per["anchor_label"] == r.anchor_label) & (per["codec_label"] == r.codec_label)]
            values[name] = {
                m: (mine.loc[mine["metric"] == m, "bd_rate"].to_numpy(dtype=float), r.cells[m].value) for m in ans.metrics
            }
        key = figure_key("strip", ans.metrics, *[(k, *[(m, *v) for m, v in d.items()]) for k, d in values.items()])
        png = _plot(self.assets, self.out, "bd-per-image", key, lambda: strip_figure(values, ans.metrics), self.svg)
        return (f"<figure>{html.img(png, 'per-image BD-rates')}</figure><p class=\"note\">One dot per image: the BD-rate "
                "of that image's own curves (first codec of the pair against the second); the red bar is the corpus "
                "number of the matrix. A corpus number far from most dots is driven by a few images; open circles "
                "at the edge are beyond ±150 %.</p>")  # fmt: skip

    def comparisons(self, shown: dict[str, int], crop: int) -> list[str]:
        """Visual comparisons of the ``shown`` images at the anchor's median rate, decoded from the run's cache."""
        run = self.run
        sources = {i.image: i for i in run.manifest.dataset.images}
        cache = run.manifest.cache
        store = Store(cache) if cache and Path(cache).is_file() else None
        cmp_html = []
        try:
            for image, index in shown.items():
                rows = run.results[run.results["image"] == image]
                anchor_bpp = np.sort(rows.loc[rows["codec_id"] == self.anchor_id, "bpp"].to_numpy())
                target = float(anchor_bpp[len(anchor_bpp) // 2]) if anchor_bpp.size else float(rows["bpp"].median())
                cmp = compare_image(sources[image], closest_rows(rows, run.codec_ids, target), store, crop, self.assets)
                cmp_html.append(html.comparison_section(cmp, index, list(run.metrics), self.ans.names))
        finally:
            if store is not None:
                store.close()
        return cmp_html

    def render(self, plots: list[str], strip: str, cmp_html: list[str], shown: dict[str, int]) -> str:
        """The page's HTML, sections in order."""
        run, bd, ans, colors, labels, anchor_label = self.run, self.bd, self.ans, self.colors, self.labels, self.anchor_label
        man, ds, images = run.manifest, run.manifest.dataset, run.images
        swatches = " ".join(f"{html._swatch(colors[lab])}{html.esc(ans.display(lab))}" for lab in labels.values())
        intro = (
            f'<p class="sub">{len(images)} images of <b>{html.esc(ds.name)}</b> · {swatches} · metrics '
            f"{html.esc(', '.join(m.upper() for m in run.metrics))} · run {html.esc(man.created)}, qualitykit "
            f"{html.esc(man.qualitykit_version)}</p>"
        )
        first = html.first_screen(ans, colors)
        if bd.summary.empty:
            first += '<p class="warn">The run has no two codecs with results (or no metric): no BD-rate.</p>'
        sections = [("answer", "The answer", first)]
        if self.tsum is not None:
            sections.append(("targets", "Equal quality, per image", html.targets_section(self.tsum, ans.rows, colors, ans.confidence, ans.names)))
        sections += [
            ("bdrate", "BD-rate of every pair", html.bd_section(bd, ans.rows, anchor_label, colors, ans.names) if not bd.summary.empty else ""),
            ("plots", "Rate–quality curves", f'<div class="plots">{"".join(plots)}</div>'
             '<p class="note">Rate on a log axis (BD-rate averages log-rate). SSIM and MS-SSIM (and their luma versions) '
             "are drawn in dB, −10·log10(1 − x), which spreads the top of the scale; tables keep their own scale."
             + (f" Rate outliers left out of the curves: {html.esc(', '.join(bd.outliers))}." if bd.outliers else "") + "</p>"),
            ("distribution", "Per-image BD-rates", strip or '<p class="note">No pair to show.</p>'),
            ("speed", "Speed", html.speed_section(self.speed, labels, colors, ans.names)),
            ("images", "Per image", html.per_image_section(bd, anchor_label, shown, images, ans.names) if not bd.summary.empty else ""),
            ("compare", "Visual comparison", "".join(cmp_html)),
            ("run", "Run details", html.manifest_section(run, bd)),
        ]  # fmt: skip
        return html.render(f"Codec report: {ds.name}", sections, intro)


__all__ = ["build_report", "write_report"]
