"""Corpus answers survive odd images: an image a metric cannot score is excluded for that metric only,
and says so; an image whose rate is far outside the corpus is left out of the corpus curves, and named."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import qualitykit
from qualitykit.analysis import Run, bd_table
from qualitykit.analysis.aggregate import rate_outliers
from qualitykit.analysis.answer import answer, render_text
from . import torture
from .rundir_fixtures import synthetic_run

SMALL = "img03.png"
SMALL_MESSAGE = "/data/img03.png: BadInput: ms-ssim: image is 150x120 px; needs at least 161 px on each side"


@pytest.fixture
def run_with_small_image(tmp_path):
    """A synthetic run (exact BD-rates) in which one image has no MS-SSIM score, with the run's error for it."""
    run_dir = synthetic_run(tmp_path / "run", non_monotonic=None)
    results = pd.read_csv(run_dir / "results.csv")
    results.loc[results["image"] == SMALL, "ms-ssim"] = np.nan
    results.to_csv(run_dir / "results.csv", index=False)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["errors"] = [{"image": SMALL, "codec_id": None, "q": None, "stage": "metric ms-ssim", "message": SMALL_MESSAGE}]
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    return Run.load(run_dir)


def test_an_image_a_metric_cannot_score_is_excluded_for_that_metric_only(run_with_small_image):
    s = bd_table(run_with_small_image, "jpeg", n_boot=50).summary.set_index(["codec_label", "metric"])
    ms = s.loc[("avif", "ms-ssim")]
    assert ms["bd_rate"] == pytest.approx(-30.0) and ms["corpus_images"] == 5
    assert ms["excluded_note"] == "5 of 6 images; 1 excluded: too small for MS-SSIM (150×120 px) (img03.png)"
    assert ms["ci_note"] == "50 of 50 resamples"
    psnr = s.loc[("avif", "psnr")]
    assert psnr["corpus_images"] == 6 and psnr["excluded_note"] == "6 of 6 images"


def test_the_answer_states_the_exclusion_on_the_first_screen(run_with_small_image):
    ans = answer(run_with_small_image, bd_table(run_with_small_image, None, n_boot=20))
    text = render_text(ans)
    assert "MS-SSIM: 1 image excluded for this metric only — img03.png: too small for MS-SSIM (150×120 px)." in text.replace("\n", " ").replace("  ", " ")


def test_a_rate_outlier_is_left_out_of_the_corpus_curves_and_named(tmp_path):
    run_dir = synthetic_run(tmp_path / "run", non_monotonic=None)
    results = pd.read_csv(run_dir / "results.csv")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    # a 1x1 image: ~600 bytes of headers whatever the codec, i.e. thousands of bpp, and odd scores
    tiny = results[results["image"] == "img01.png"].copy()
    tiny["image"], tiny["width"], tiny["height"] = "tiny.png", 1, 1
    tiny["bytes"] = 600 + tiny.groupby("codec_id").cumcount()
    tiny["bpp"] = tiny["bytes"] * 8.0
    results = pd.concat([results, tiny], ignore_index=True)
    results.to_csv(run_dir / "results.csv", index=False)
    entry = dict(manifest["dataset"]["images"][1], image="tiny.png", width=1, height=1)
    manifest["dataset"]["images"].append(entry)
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    run = Run.load(run_dir)
    assert list(rate_outliers(run.results)) == ["tiny.png"]
    assert "1×1 px" in rate_outliers(run.results)["tiny.png"]
    kept = bd_table(run, "jpeg", metrics=["psnr"], n_boot=20)
    row = kept.summary.set_index("codec_label").loc["avif"]
    assert row["bd_rate"] == pytest.approx(-30.0) and row["corpus_images"] == 6
    assert "rate outlier" in row["excluded_note"] and "tiny.png" in row["excluded_note"]
    mean_bpp = results.groupby(["codec_id", "q"])["bpp"].mean().max()
    assert mean_bpp > 600  # what a plain mean would have done to the corpus curve
    dragged = bd_table(run, "jpeg", metrics=["psnr"], n_boot=20, outliers=False).summary.set_index("codec_label")
    assert abs(dragged.loc["avif", "bd_rate"] + 30.0) > 5  # and to the BD-rate
    per = kept.per_image.set_index(["image", "codec_label", "metric"])
    assert not per.loc[("tiny.png", "avif", "psnr"), "in_corpus"]


@pytest.mark.slow
def test_torture_corpus_still_gives_an_ms_ssim_bd_rate_and_says_why_images_are_out(tmp_path, cache):
    folder = torture.add_outliers(torture.make(tmp_path / "torture"))
    result = qualitykit.bench(folder, ["jpeg:q=20/40/60/80", "webp:q=10/30/50/70"], ["psnr", "ms-ssim"],
                              out=tmp_path / "run", jobs=2, cache=cache, report=False)  # fmt: skip
    run = result.run()
    n = len(run.images)
    table = bd_table(run, "jpeg", n_boot=100)
    s = table.summary.set_index("metric")
    assert set(table.outliers) == {"tiny-1x1.png"}
    ms = s.loc["ms-ssim"]
    assert not pd.isna(ms["bd_rate"]) and ms["corpus_images"] == n - 2  # small and tiny: no MS-SSIM
    assert "too small for MS-SSIM (150×120 px) (small-150x120.png)" in ms["excluded_note"]
    psnr = s.loc["psnr"]
    assert not pd.isna(psnr["bd_rate"]) and psnr["corpus_images"] == n - 1
    assert "rate outlier" in psnr["excluded_note"]
    text = render_text(answer(run, bd_table(run, None, n_boot=50)))
    assert "tiny-1x1.png" in text and "small-150x120.png" in text
