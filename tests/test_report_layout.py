"""The report of a small real run with many metrics, looked at: no text of a plot overlaps or is cut off, nothing on
the page at 1280 px is wider than the page, and a screenshot of it is taken (``$QK_SCREENSHOTS``: where to keep it)."""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import qualitykit

from .cdp_pipe import Browser
from .figure_text import text_problems

CHROMIUM = Path("/usr/bin/chromium")
KODAK = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "kodak"
#: Many metrics (every cheap one qk has but LPIPS/DISTS/Butteraugli, which need files): the strip plot gets 12 panels,
#: the matrix and the per-image table 12 columns and a target — what overflowed before.
METRICS = ["psnr", "ssim", "ms-ssim", "ssim-pyiqa", "ms-ssim-pyiqa", "psnr-y", "ssim-y", "ms-ssim-y", "vmaf", "vmaf-neg",
           "psnr-hvsm", "ssimulacra2"]  # fmt: skip


@pytest.fixture(scope="module")
def drawn(tmp_path_factory, astronaut):
    """A real run (three Kodak images when ../shared has them, else crops of a photograph), its report, and every
    matplotlib figure the report drew."""
    from PIL import Image

    corpus = tmp_path_factory.mktemp("kodak", numbered=False)
    if (KODAK / "kodim23.png").is_file():
        for name in ("kodim03.png", "kodim07.png", "kodim23.png"):
            (corpus / name).symlink_to(KODAK / name)
    else:
        for i, (y, x) in enumerate([(0, 0), (300, 0), (0, 300)]):
            Image.fromarray(astronaut[y : y + 176, x : x + 200]).save(corpus / f"crop{i}.png")
    out = tmp_path_factory.mktemp("run") / "run"
    figures = []

    def keep(make):  # noqa: ANN001, ANN202
        def made(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            fig = make(*args, **kwargs)
            figures.append(fig)
            return fig

        return made

    report_module = importlib.import_module("qualitykit.report")  # the package (qualitykit.report is the function)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(report_module, "rd_figure", keep(report_module.rd_figure))
        m.setattr(report_module, "strip_figure", keep(report_module.strip_figure))
        result = qualitykit.bench(
            corpus, ["jpeg:q=20/40/60/85", "webp:q=20/40/60/85", "avif:speed=8:q=25/40/55/75"], METRICS, targets=["ms-ssim=0.95"],
            out=out, jobs=2, cache=out.parent / "cache.sqlite",
        )  # fmt: skip
    assert result.report is not None and not result.errors
    return result, figures


@pytest.mark.slow
def test_no_text_of_any_plot_overlaps_or_is_cut_off(drawn):
    result, figures = drawn
    assert len(figures) == len(METRICS) + 1  # an RD plot per metric and the per-image strip plot
    for fig in figures:
        assert text_problems(fig) == [], fig.axes[0].get_title()
    strip = figures[-1]
    assert sum(ax.get_visible() for ax in strip.axes) == len(METRICS)
    assert strip.get_size_inches()[0] * strip.dpi <= 1124  # fits the page without being scaled down


def test_the_text_check_finds_what_it_is_for():
    """Overlapping x tick labels, colliding titles and a y label longer than its axis are all found."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2), dpi=96)
    left, right = fig.subplots(1, 2)
    left.set_title("SSIM-PYIQA-LONG-TITLE")
    right.set_title("MS-SSIM-PYIQA-LONG-TITLE")
    left.set_xticks(np.arange(8), [f"label {i}" for i in range(8)])
    right.set_ylabel("a y label far longer than the axis it labels (higher is better)")
    found = "\n".join(text_problems(fig))
    assert "'axes0:SSIM-PYIQA-LONG-TITLE' overlaps 'axes1:MS-SSIM-PYIQA-LONG-TITLE'" in found
    assert "'axes0:tick label 0' overlaps 'axes0:tick label 1'" in found
    assert "higher is better)' is cut off by the figure's edge" in found


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium package (apt-get install -y chromium)")
    return CHROMIUM


#: Elements that overflow: a table, image or block wider than <main>, or text cut inside its own box.
OVERFLOWING = """(() => {
  const main = document.querySelector('main').getBoundingClientRect().right;
  const out = [];
  for (const e of document.querySelectorAll('table, img, pre, dl, figure, p, h1, h2, h3, th, td, dd')) {
    const where = e.tagName + ' in #' + ((e.closest('section') || {}).id || 'top') + ': ' + (e.textContent || '').slice(0, 40);
    if (e.getBoundingClientRect().right > main + 0.5) out.push('wider than the page: ' + where);
    else if (getComputedStyle(e).overflowX !== 'visible' && e.tagName !== 'PRE' && e.scrollWidth > e.clientWidth + 1)
      out.push('text cut: ' + where);
  }
  return out;
})()"""


@pytest.mark.slow
@pytest.mark.browser
def test_the_report_fits_1280_px_in_headless_chromium(drawn, chromium, tmp_path):
    result, _ = drawn
    browser = Browser(chromium, tmp_path / "profile")
    try:
        browser.open(result.report.as_uri(), width=1280, height=900)
        assert browser.js("document.body.dataset.ready") == "1"
        assert browser.js("document.documentElement.scrollWidth") <= 1280
        assert browser.js(OVERFLOWING) == []
        # the tables were split, not squeezed: every metric is a column of the matrix and of the per-image tables
        heads = browser.js("[...document.querySelectorAll('table.matrix thead th')].map(t => t.firstChild.textContent)")
        assert {m.upper() for m in METRICS} <= set(heads) and "ms-ssim=0.95" in heads
        assert browser.js("document.querySelectorAll('table.matrix').length") >= 2
        per_image = browser.js("[...document.querySelectorAll('#images thead th')].map(t => t.textContent)")
        assert {m.upper() for m in METRICS} <= set(per_image)
        details = browser.js("document.querySelector('#run').innerText")
        for python in ("None", "True", "False", "0.3333", "(0.0, "):
            assert python not in details.split("Full manifest (JSON)")[0], python
        assert "0–100" in details and "⅓" in details
        browser.screenshot(tmp_path / "report.png")
        browser.js("window.scrollTo(0, 0)")
        browser.screenshot(tmp_path / "first-screen.png", full_page=False)
        assert (tmp_path / "report.png").stat().st_size > 100_000
        assert not browser.problems()
    finally:
        browser.close()
    keep = os.environ.get("QK_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for name in ("report.png", "first-screen.png"):
            shutil.copy(tmp_path / name, Path(keep) / name)
