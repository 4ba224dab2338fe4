"""Rate–quality plots with matplotlib, drawn on bare ``Figure`` objects (Agg; no pyplot state, no display).

Each plot shows the corpus-mean curve of every codec (mean bpp and mean metric over the
images at each codec point). A codec keeps one colour across every plot of a report.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

Curve = tuple[np.ndarray, np.ndarray]


def codec_colors(labels: Sequence[str]) -> dict[str, str]:
    """A fixed colour per codec label, in order, from matplotlib's ``tab10`` cycle."""
    palette = matplotlib.colormaps["tab10"].colors
    return {label: matplotlib.colors.to_hex(palette[i % len(palette)]) for i, label in enumerate(labels)}


def rd_figure(
    curves: Mapping[str, Curve], metric: str, higher_is_better: bool, colors: Mapping[str, str], n_images: int
) -> Figure:
    """One RD plot: bpp on x, ``metric`` on y, a line with markers per codec label."""
    fig = Figure(figsize=(6.4, 4.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    for label, (bpp, value) in curves.items():
        keep = np.isfinite(bpp) & np.isfinite(value)
        order = np.argsort(bpp[keep])
        ax.plot(bpp[keep][order], value[keep][order], "o-", color=colors[label], label=label, ms=4, lw=1.6)
    ax.set_xlabel("bits per pixel (bpp)")
    ax.set_ylabel(f"{metric.upper()} ({'higher' if higher_is_better else 'lower'} is better)")
    ax.set_title(f"{metric.upper()} vs rate, mean over {n_images} image{'s' * (n_images != 1)}")
    ax.grid(True, alpha=0.3)
    ax.legend(frameon=False)
    return fig


def save_figure(fig: Figure, out_dir: Path, stem: str) -> bytes:
    """Write ``stem.png`` and ``stem.svg`` under ``out_dir``; return the PNG bytes (for embedding)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    (out_dir / f"{stem}.png").write_bytes(buf.getvalue())
    fig.savefig(out_dir / f"{stem}.svg", format="svg")
    return buf.getvalue()
