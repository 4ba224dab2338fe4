"""Text placement in matplotlib figures: every label, tick label and title inside the figure, none overlapping another."""

from __future__ import annotations

from itertools import combinations

from matplotlib.figure import Figure


def _texts(fig: Figure) -> list[tuple[str, object]]:
    """(name, Text artist) of every visible piece of text a reader must be able to read: titles, axis labels, tick labels."""
    out = []
    for t in (fig._suptitle, fig._supxlabel, fig._supylabel):  # noqa: SLF001 (matplotlib keeps them there)
        if t is not None and t.get_text():
            out.append((f"figure:{t.get_text()}", t))
    for i, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        for t in (ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label):  # noqa: SLF001
            if t.get_text():
                out.append((f"axes{i}:{t.get_text()}", t))
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks():
                label = tick.label1
                if label.get_visible() and label.get_text() and lo <= tick.get_loc() <= hi:
                    out.append((f"axes{i}:tick {label.get_text()}", label))
    return out


def text_problems(fig: Figure) -> list[str]:
    """Texts that stick out of the figure (clipped when saved) or overlap one another; empty when the figure reads well."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # place everything as savefig does (constrained layout included)
    renderer = canvas.get_renderer()
    page = fig.bbox
    boxes = [(name, t.get_window_extent(renderer)) for name, t in _texts(fig)]
    out = []
    for name, b in boxes:
        if b.x0 < page.x0 - 0.5 or b.y0 < page.y0 - 0.5 or b.x1 > page.x1 + 0.5 or b.y1 > page.y1 + 0.5:
            out.append(f"{name!r} is cut off by the figure's edge")
    for (n1, b1), (n2, b2) in combinations(boxes, 2):
        if b1.overlaps(b2) and min(b1.x1, b2.x1) - max(b1.x0, b2.x0) > 0.5 and min(b1.y1, b2.y1) - max(b1.y0, b2.y0) > 0.5:
            out.append(f"{n1!r} overlaps {n2!r}")
    return out
