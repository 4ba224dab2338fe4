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
    pairs = [(r.codec_label, r.anchor_label) for r in ans.rows]
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


def _run_with(tmp_path, edit=None):
    """The synthetic run, its manifest edited by ``edit(data)`` and its results by ``edit_results(table)``."""
    import json

    run_dir = synthetic_run(tmp_path / "run")
    if edit is not None:
        data = json.loads((run_dir / "manifest.json").read_text())
        edit(data)
        (run_dir / "manifest.json").write_text(json.dumps(data))
    return run_dir


def test_a_metric_counts_only_where_the_winner_has_a_number_against_every_codec(tmp_path):
    import pandas as pd

    run_dir = _run_with(tmp_path)
    table = pd.read_csv(run_dir / "results.csv")
    table.loc[table["codec_label"] == "webp", ["vmaf", "lpips"]] = float("nan")  # WebP has no VMAF and no LPIPS score
    table.to_csv(run_dir / "results.csv", index=False)
    run = Run.load(run_dir)
    ans = answer(run, bd_table(run, None, n_boot=20))
    first = ans.verdict[0]
    assert first.startswith("AVIF gives the smallest files at equal quality on PSNR and MS-SSIM (2 of 4 metrics)"), first
    gaps = ans.verdict[1]
    assert gaps.startswith("On VMAF and LPIPS AVIF has fewer bytes than every codec with a number, but 2 pairs have no number")
    assert "WEBP on VMAF and WEBP on LPIPS" in gaps and "not counted above" in gaps


def test_a_learned_codec_is_named_by_its_model_and_the_bundled_one_comes_with_a_caution(tmp_path):
    def learned(data):  # the AVIF curves, as if qk's bundled model had made them
        data["codecs"][2]["settings"]["model"] = "qk-hyperprior-v1"

    run = Run.load(_run_with(tmp_path, learned))
    ans = answer(run, bd_table(run, None, n_boot=20))
    assert ans.verdict[0].startswith("avif (qk-hyperprior-v1) gives the smallest files")
    caution = [s for s in ans.verdict if s.startswith("Caution:")]
    assert caution and "tiny demonstration model" in caution[0] and "neural:cheng2020-anchor" in caution[0]
    text = render_text(ans, 100)
    assert "avif (qk-hyperprior-v1) vs JPEG" in text and text.index("Caution:") < text.index("BD-rate of the first codec")
    assert ans.display("avif") == "avif (qk-hyperprior-v1)" and ans.display("jpeg") == "JPEG"


def test_no_caution_without_the_bundled_model(ans):
    assert not any(s.startswith("Caution:") for s in ans.verdict)


def test_display_name_is_one_rule():
    from qualitykit.rundir import CodecEntry, display_name

    def entry(label, **settings):
        return CodecEntry(label, label, label, label.split(":")[0], settings, [1.0], {})

    assert display_name("avif") == "AVIF" and display_name("avif:speed=4") == "avif:speed=4"
    assert display_name(entry("neural", model="qk-hyperprior-v1")) == "neural (qk-hyperprior-v1)"
    assert display_name(entry("neural:cheng2020-anchor", model="cheng2020-anchor")) == "neural:cheng2020-anchor"
    assert display_name(entry("neural", model="ckpt", ckpt="/w/my-model.pth.tar")) == "neural (my-model.pth.tar)"
    assert display_name(entry("jpeg", quality=3)) == "JPEG"
