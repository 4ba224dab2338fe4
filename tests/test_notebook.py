"""The notebook path: every result object reads well as ``repr``, as ``str`` and as HTML, and what a notebook needs is at ``qualitykit.*``."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import qualitykit


@pytest.fixture(scope="module")
def result(tmp_path_factory, astronaut):
    from PIL import Image

    folder = tmp_path_factory.mktemp("corpus")
    for i, (y, x) in enumerate([(0, 0), (300, 0), (0, 300), (250, 300)]):
        Image.fromarray(astronaut[y : y + 176, x : x + 200]).save(folder / f"crop{i}.png")
    out = tmp_path_factory.mktemp("run") / "run"
    return qualitykit.bench(folder, ["jpeg:q=20/40/60/80", "webp:q=20/40/60/80"], ["psnr", "ssim"], out=out, jobs=1,
                            cache=out.parent / "cache.sqlite")  # fmt: skip


def no_python_reprs(text: str) -> None:
    """No dataclass or numpy noise: ``Answer(verdict=[...``, ``Cell(value=``, ``np.float64(``, long float tails."""
    assert not re.search(r"\w+\(\w+=", text), text[:400]
    assert "np.float64" not in text and not re.search(r"\d\.\d{9,}", text)


def test_bench_result_reads_in_a_notebook(result):
    text = repr(result)
    assert text.startswith("<BenchResult: 32 items: 4 images of corpus0 × codecs jpeg, webp; metrics psnr, ssim")
    assert f"run_dir {result.run_dir}" in text and "report " in text and "status complete" in text
    no_python_reprs(text)
    page = result._repr_html_()
    assert "<b>BenchResult</b>" in page and "<table" in page and "psnr" in page
    assert "smallest files at equal quality" in page  # the answer, as the report opens with it


def test_answer_prints_as_qk_bench_does(result):
    ans = qualitykit.answer(result.run_dir, n_boot=50)
    assert str(ans) == qualitykit.render_text(ans) and "pair" in str(ans) and "vs" in str(ans)
    assert max(len(line) for line in qualitykit.render_text(ans, 80).splitlines()) <= 80
    assert repr(ans).startswith("<Answer: 2 codecs, 2 metrics, 4 images — ") and "print()" in repr(ans)
    no_python_reprs(repr(ans))
    page = ans._repr_html_()
    assert page.count("<tr") == 2 and "PSNR" in page and "<li>The intervals come from 4 images" in page  # header + 1 pair
    frame = ans.matrix_frame()
    assert list(frame.columns[:2]) == ["PSNR", "SSIM"] and len(frame) == 1


def test_bd_table_and_claims_read_in_a_notebook(result):
    bd = qualitykit.bd_table(result.run_dir, anchor=None, n_boot=50)
    assert repr(bd) == "<BDTable: 2 codec pairs × 2 metrics (every ordered pair), 0 without a number; .summary, .per_image, .to_dict()>"
    assert bd._repr_html_().count("<tr") == 1 + 4
    check = qualitykit.check_claims(result.run_dir, "webp vs jpeg 10..30 % at equal psnr")
    assert repr(check).startswith("<ClaimCheck: 1 row>\nWEBP vs JPEG: 10..30 % smaller (claimed)") and str(check) == check.text()
    page = check._repr_html_()
    assert "WEBP vs JPEG: 10..30 %" in page and "exceeded" in page
    no_python_reprs(repr(check))


def test_a_notebook_needs_only_the_top_level_names():
    for name in ("bench", "answer", "render_text", "bd_table", "check_claims", "report", "summary", "BenchResult", "QKError"):
        assert name in qualitykit.__all__ and hasattr(qualitykit, name), name


def test_qualitykit_report_stays_the_function_after_a_bench(result):
    """Importing the package qualitykit.report (bench does) must not replace the function qualitykit.report."""
    assert callable(qualitykit.report)
    assert qualitykit.report(result.run_dir, n_boot=20) == result.run_dir / "index.html"


def test_qualitykit_report_stays_the_function_after_its_subpackage_is_imported():
    """``from qualitykit.report import write_report`` in a notebook cell must not turn
    ``qualitykit.report(...)`` into a module."""
    script = "import qualitykit\nimport qualitykit.report.html\nprint(callable(qualitykit.report))"
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "True"
