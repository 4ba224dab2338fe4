"""Plots with matplotlib, drawn on bare ``Figure`` objects (Agg; no pyplot state, no display).

* RD plots: the corpus-mean curve of every codec (mean bpp and mean score over the images at each
  codec point), rate on a **log** axis (BD-rate integrates log-rate, so equal horizontal gaps mean
  equal rate ratios), units on both axes. SSIM-like scores (every metric whose ``MetricInfo.plot_in_db``
  is true: SSIM, MS-SSIM in all their conventions) are drawn in dB, −10·log10(1 − x), which spreads the top of the scale where codecs
  differ (0.99 → 20 dB, 0.999 → 30 dB); the tables and BD-rates keep the metric's own scale.
* The per-image BD-rate strip plot: one dot per image for every pair and metric, with the
  corpus value as a bar, so that one image driving a corpus mean is visible.

Colours are fixed per codec **family** (JPEG is always the same blue in every report); several
codecs of one family get shades of it and their own marker.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Mapping, Sequence

from typing import TYPE_CHECKING

import matplotlib.colors
import numpy as np

if TYPE_CHECKING:  # matplotlib's figure and axes modules: imported only when a plot is drawn (0.5 s)
    from matplotlib.figure import Figure

Curve = tuple[np.ndarray, np.ndarray]

#: One colour per codec family, the same in every report.
FAMILY_COLORS = {
    "jpeg": "#1f5fbf",
    "mozjpeg": "#17a2b8",
    "jpegli": "#5b3fb0",
    "webp": "#2e9d3a",
    "avif": "#d62728",
    "jxl": "#8e44ad",
    "heic": "#ff8c1a",
    "jpeg2000": "#8c564b",
    "neural": "#e0479e",
    "learned": "#b5a300",
}
_FALLBACK = ["#7f7f7f", "#17becf", "#bcbd22", "#393b79", "#637939", "#843c39", "#7b4173", "#3182bd"]
MARKERS = ["o", "s", "^", "D", "v", "P"]
#: Metrics drawn in dB, −10·log10(1 − x).
#: Bump when the drawing changes: cached plots made by older code are not reused.
PLOT_VERSION = "3"


def family_color(family: str) -> str:
    """The colour of a codec family; unknown families get a stable colour from their name."""
    return FAMILY_COLORS.get(family) or _FALLBACK[zlib.crc32(family.encode()) % len(_FALLBACK)]


def _shade(color: str, k: int) -> str:
    """The ``k``-th variant of ``color``: the colour itself, then darker and lighter shades."""
    if k == 0:
        return color
    r, g, b = matplotlib.colors.to_rgb(color)
    f = [0.6, 1.35, 0.4, 1.6][(k - 1) % 4]
    mix = (lambda c: c * f) if f < 1 else (lambda c: c + (1 - c) * (f - 1))
    return matplotlib.colors.to_hex(tuple(min(1.0, max(0.0, mix(c))) for c in (r, g, b)))


def _family_ranks(codecs: Sequence[tuple[str, str]] | Sequence[str]) -> dict[str, tuple[str, int]]:
    """Label → (family, n): the label is the n-th codec of its family (from 0); a bare label is its own family."""
    seen: dict[str, int] = {}
    out = {}
    for item in codecs:
        label, family = (item, item.split(":")[0]) if isinstance(item, str) else item
        out[label] = (family, seen.get(family, 0))
        seen[family] = out[label][1] + 1
    return out


def codec_colors(codecs: Sequence[tuple[str, str]] | Sequence[str]) -> dict[str, str]:
    """Label → colour for ``(label, family)`` pairs (a bare label is its own family), fixed by family."""
    return {label: _shade(family_color(family), k) for label, (family, k) in _family_ranks(codecs).items()}


def codec_markers(codecs: Sequence[tuple[str, str]] | Sequence[str]) -> dict[str, str]:
    """Label → marker: the n-th codec of a family gets the n-th marker."""
    return {label: MARKERS[k % len(MARKERS)] for label, (_, k) in _family_ranks(codecs).items()}


def to_db(values: np.ndarray) -> np.ndarray:
    """−10·log10(1 − x): SSIM-like scores in dB (1.0 → inf, kept out of the plot)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return -10 * np.log10(1 - np.asarray(values, dtype=np.float64))


def axis_label(metric: str, unit: str, higher_is_better: bool, in_db: bool = False) -> str:
    """``PSNR (dB, higher is better)``; metrics plotted in dB (``MetricInfo.plot_in_db``) name the transform."""
    better = "higher is better" if higher_is_better else "lower is better"
    if in_db:  # two lines: one would be longer than the axis
        return f"{metric.upper()} in dB: −10·log10(1 − x)\n({better})"
    return f"{metric.upper()} ({unit + ', ' if unit else 'score, '}{better})"


def _log_rate_axis(ax: object) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")  # type: ignore[attr-defined]
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))  # type: ignore[attr-defined]
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # type: ignore[attr-defined]
    ax.xaxis.set_minor_formatter(NullFormatter())  # type: ignore[attr-defined]


def rd_figure(
    curves: Mapping[str, Curve],
    metric: str,
    higher_is_better: bool,
    colors: Mapping[str, str],
    n_images: int,
    unit: str = "",
    markers: Mapping[str, str] | None = None,
    names: Mapping[str, str] | None = None,
    in_db: bool = False,
) -> Figure:
    """One RD plot: bpp on a log x axis, ``metric`` on y (as −10·log10(1 − score) dB when ``in_db``,
    the metric's ``plot_in_db``), a line per codec label (named in the legend by ``names``, e.g.
    ``neural (qk-hyperprior-v1)``; default the label)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.0), dpi=96, layout="constrained")
    ax = fig.add_subplot()
    for label, (bpp, value) in curves.items():
        y = to_db(value) if in_db else np.asarray(value, dtype=np.float64)
        keep = np.isfinite(bpp) & np.isfinite(y) & (bpp > 0)
        order = np.argsort(bpp[keep])
        ax.plot(bpp[keep][order], y[keep][order], "-", marker=(markers or {}).get(label, "o"), color=colors[label],
                label=(names or {}).get(label, label), ms=4, lw=1.6)  # fmt: skip
    _log_rate_axis(ax)
    ax.set_xlabel("rate: bits per pixel (bpp, log scale)")
    ax.set_ylabel(axis_label(metric, unit, higher_is_better, in_db))
    ax.set_title(f"{metric.upper()} vs rate, mean over {n_images} image{'s' * (n_images != 1)}", fontsize=11)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(frameon=False, fontsize=9)
    return fig


#: Panels per row of the strip plot: wider grids crowd their titles and tick labels (at most 11.5 in, the page's width).
STRIP_COLUMNS = 4


def strip_figure(values: Mapping[str, Mapping[str, tuple[np.ndarray, float | None]]], metrics: Sequence[str]) -> Figure:
    """Per-image BD-rates: one panel per metric, one row per pair (``values[pair][metric] = (per-image, corpus)``).

    Dots are images (jittered vertically), the bar is the corpus-curve BD-rate; values beyond
    ±150 % are drawn at the edge as open markers so the panel stays readable. Panels are laid out
    :data:`STRIP_COLUMNS` to a row, each at least 2.6 in wide, with at most 4 ticks on its x axis.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    pairs = list(values)
    n = len(metrics)
    cols = min(n, STRIP_COLUMNS)
    rows = -(-n // cols)
    label_in = 0.075 * max((len(p) for p in pairs), default=4) + 0.3  # room for the pair names left of the first column
    width = min(2.6 * cols + label_in, 11.5)
    panel_h = 0.42 * len(pairs) + 0.75
    fig = Figure(figsize=(width, panel_h * rows + 0.45), dpi=96, layout="constrained")
    grid = fig.subplots(rows, cols, sharey=True, squeeze=False)
    rng = np.random.default_rng(0)
    lim = 150.0
    for k, ax in enumerate(grid.flat):
        if k >= n:
            ax.set_visible(False)
            continue
        metric = metrics[k]
        for y, pair in enumerate(pairs):
            each, corpus = values[pair].get(metric, (np.array([]), None))
            each = np.asarray(each, dtype=np.float64)
            each = each[np.isfinite(each)]
            jitter = y + rng.uniform(-0.18, 0.18, each.size)
            inside = np.abs(each) <= lim
            ax.plot(each[inside], jitter[inside], "o", ms=3.2, alpha=0.6, color="#1d2330", mec="none")
            ax.plot(np.clip(each[~inside], -lim, lim), jitter[~inside], "o", ms=4, mfc="none", color="#c0392b")
            if corpus is not None and np.isfinite(corpus):
                ax.plot([np.clip(corpus, -lim, lim)] * 2, [y - 0.32, y + 0.32], "-", color="#d62728", lw=2.2)
        ax.axvline(0, color="#888", lw=0.8)
        ax.set_title(metric.upper(), fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
        ax.tick_params(axis="x", labelsize=8.5)
        ax.grid(True, axis="x", alpha=0.25)
    grid[0, 0].set_yticks(range(len(pairs)), pairs, fontsize=9)
    grid[0, 0].set_ylim(len(pairs) - 0.5, -0.5)
    fig.supxlabel("BD-rate per image (%): first codec of the pair against the second", fontsize=9)
    return fig


def figure_key(*parts: object) -> str:
    """A content hash for a plot's inputs (arrays by value), to reuse a cached drawing."""
    h = hashlib.sha256(PLOT_VERSION.encode())
    for p in parts:
        if isinstance(p, np.ndarray):
            h.update(np.ascontiguousarray(p, dtype=np.float64).tobytes())
        else:
            h.update(repr(p).encode())
        h.update(b"|")
    return h.hexdigest()[:32]


def safe_stem(stem: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)
