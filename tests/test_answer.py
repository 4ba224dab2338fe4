"""The answer (verdict, matrix, caveats) in plain words, and as the plain text `qk bench` ends with."""

from __future__ import annotations

import pytest

from qualitykit.analysis import Run, bd_table
from qualitykit.analysis.answer import answer, render_text, speed_ratio
from .rundir_fixtures import synthetic_run


@pytest.fixture(scope="module")
def ans(tmp_path_factory):
    run = Run.load(synthetic_run(tmp_path_factory.mktemp("ans") / "run"))
    return answer(run, bd_table(run, None, n_boot=50))


def test_the_verdict_names_the_codec_the_metrics_the_margins_and_the_cost(ans):
    first = ans.verdict[0]
    assert first.startswith("AVIF gives the smallest files at equal quality on PSNR, MS-SSIM, VMAF and LPIPS (4 of 4 metrics)")
    assert "30 % smaller than JPEG" in first and "smaller than WEBP" in first
    assert ans.verdict[1].startswith("Cost: AVIF takes") and "ms per megapixel to encode" in ans.verdict[1]


def test_matrix_rows_put_the_smaller_codec_first(ans):
    pairs = [(r.codec, r.other) for r in ans.rows]
    assert pairs == [("webp", "jpeg"), ("avif", "jpeg"), ("avif", "webp")]
    cell = ans.rows[1].cells["psnr"]
    assert cell.value == pytest.approx(-30.0) and cell.sign == -1 and cell.over.endswith("dB")


def test_plain_text_fits_100_columns_and_keeps_the_caveats(ans):
    text = render_text(ans, 100)
    assert max(map(len, text.splitlines())) <= 100
    assert "AVIF vs JPEG" in text and "-30.0 (-30…-30)" in text
    assert "! The intervals come from 6 images" in text
    narrow = render_text(ans, 60)  # columns wrap into blocks rather than overflow
    assert max(map(len, narrow.splitlines())) <= 60 + 24


def test_speed_ratio_words():
    assert speed_ratio(180, 12) == "15× slower" and speed_ratio(3, 12) == "4× faster" and speed_ratio(10, 10.5) == "about as fast"
