"""The HTML report: files written, self-contained, escaped, readable; visual comparisons; a headless-browser check."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from qualitykit.cli import main
from qualitykit.report import write_report
from qualitykit.rundir import Run
from .cdp_pipe import Browser
from .rundir_fixtures import EVIL_NAME, real_run, synthetic_run

CHROMIUM = Path("/usr/bin/chromium")


def text_of(page: str) -> str:
    """Visible-ish text of an HTML page: tags dropped, entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    return synthetic_run(tmp_path_factory.mktemp("syn") / "run")


@pytest.fixture(scope="module")
def page(synthetic) -> str:
    return write_report(synthetic, n_boot=50).read_text(encoding="utf-8")


def test_files_are_written_into_the_run_dir_by_default(synthetic, page):
    assert (synthetic / "index.html").is_file()
    for metric in ("psnr", "ms-ssim", "vmaf", "lpips"):
        assert (synthetic / "plots" / f"rd-{metric}.png").stat().st_size > 1000
        assert (synthetic / "plots" / f"rd-{metric}.svg").is_file()
    assert (synthetic / "plots" / "bd-per-image.png").stat().st_size > 1000
    table = json.loads((synthetic / "bdrate.json").read_text())
    assert table["settings"]["bootstrap"]["resamples"] == 50 and len(table["summary"]) == 6 * 4  # every ordered pair


def test_report_is_one_self_contained_file(page):
    assert not re.findall(r'(?:src|href)="(?!data:image/png;base64,|#)', page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert page.count("<script") == 1
    assert page.count('src="data:image/png;base64,') >= 4 + 1 + 4  # 4 RD plots, the per-image plot, 4 reference crops
    assert len(page) < 4_000_000


def test_names_from_files_are_escaped(page):
    assert EVIL_NAME not in page
    assert html.escape(EVIL_NAME) in page


def first_screen(page: str) -> str:
    """Text of the answer section: the verdict, the caveats and the matrix."""
    return text_of(page[page.index('<section id="answer">') : page.index("<nav>")])


def test_first_screen_answers_in_plain_words(page):
    first = first_screen(page)
    # the verdict: which codec, on which metrics, by how much against each other codec, at what cost
    assert re.search(r"AVIF gives the smallest files at equal quality on PSNR, MS-SSIM, VMAF and LPIPS \(4 of 4 metrics\): "
                     r"30 % smaller than JPEG; 1\d(–1\d)? % smaller than WEBP \(BD-rate", first)  # fmt: skip
    assert "Cost: AVIF takes" in first and "ms per megapixel to encode" in first
    # the caveat: 6 images make rough intervals
    assert "The intervals come from 6 images: with fewer than 10, a bootstrap interval is rough" in first
    # the matrix: every pair of the 3 codecs, a number and an interval per metric
    assert page.count('<table class="matrix">') == 1 and "AVIF vs JPEG" in first and "WEBP vs JPEG" in first
    assert "AVIF vs WEBP" in first and "-30.0 %" in first and "Encode ms / MP" in first
    matrix = page[page.index('<table class="matrix">') : page.index("</table>", page.index('<table class="matrix">'))]
    assert matrix.count("<tr>") == 1 + 3 and matrix.count('class="cell good"') == 3 * 4


def test_unavailable_metrics_and_excluded_images_are_on_the_first_screen(tmp_path, synthetic):
    run_dir = shutil.copytree(synthetic, tmp_path / "run")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["metrics_unavailable"] = {"lpips-vgg": "its VGG16 weights are not cached (no network); see qk weights"}
    manifest["errors"] = [{"image": "img02.png", "codec_id": None, "q": None, "stage": "metric ms-ssim",
                           "message": "/x/img02.png: BadInput: ms-ssim: image is 150x120 px; needs at least 161 px on each side"}]  # fmt: skip
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    results = pd.read_csv(run_dir / "results.csv")
    results.loc[results["image"] == "img02.png", "ms-ssim"] = float("nan")
    results.to_csv(run_dir / "results.csv", index=False)
    first = first_screen(write_report(run_dir, n_boot=20, comparisons=0).read_text(encoding="utf-8"))
    assert "Metric LPIPS-VGG was not computed: its VGG16 weights are not cached" in first
    assert "MS-SSIM: 1 image excluded for this metric only — img02.png: too small for MS-SSIM (150×120 px)." in first


def test_tables_carry_reasons_and_method(page):
    text = text_of(page)
    assert "mean over 5 of 6 images; 1 skipped: non-monotonic" in text
    assert "n/a: non-monotonic" in text  # per-image cell of the broken curve
    assert "PCHIP" in text and "log10(bpp)" in text and "50 resamples, seed 0" in text
    assert "of the narrower" in text and "6 of 6 images" in text  # every BD number with its range and images
    assert "Encode ms/MP" in text and "Encode ms (median)" in text and "jpeg:optimize=0:progressive=0:subsampling=420" in text
    assert "Full manifest (JSON)" in text


def test_plots_have_a_log_rate_axis_units_and_stable_family_colours():
    from qualitykit.report.plots import FAMILY_COLORS, axis_label, codec_colors

    a = codec_colors([("avif", "avif"), ("jpeg", "jpeg")])
    b = codec_colors([("jpeg", "jpeg"), ("webp", "webp"), ("avif:speed=4", "avif"), ("avif", "avif")])
    assert a["jpeg"] == b["jpeg"] == FAMILY_COLORS["jpeg"] and a["avif"] == b["avif:speed=4"] == FAMILY_COLORS["avif"]
    assert b["avif"] != b["avif:speed=4"]  # a second codec of a family: a shade of the family's colour
    assert axis_label("psnr", "dB", True) == "PSNR (dB, higher is better)"
    assert axis_label("ms-ssim", "", True, in_db=True).startswith("MS-SSIM in dB: −10·log10(1 − x)")
    assert axis_label("lpips", "", False) == "LPIPS (score, lower is better)"


def test_comparisons_say_when_no_bitstream_is_stored(page):
    # a synthetic run has no cache: each crop says why it is missing instead of inventing one
    assert "the run's bitstream is no longer in the cache, so no crop" in text_of(page)


def test_real_run_crops_decode_the_stored_bitstreams(tmp_path):
    run_dir = real_run(tmp_path / "real" / "run")
    run = Run.load(run_dir)
    page = write_report(run_dir, tmp_path / "out", n_boot=20).read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 1 + 1 + 2 * 3  # one RD plot, the per-image plot; per image a reference, 2 codecs
    text = text_of(page)
    # each crop names the exact bitstream the run measured
    for image in run.images:
        rows = run.results[run.results["image"] == image]
        assert any(f"decoded from the run's {b}-byte bitstream" in text for b in rows["bytes"])
    assert text.count("decoded from the run's") == 2 * 2  # 2 images × 2 codecs
    assert "gives the smallest files at equal quality on PSNR" in text
    # a second report of the same results draws nothing again: plots and crops come from the asset cache
    from qualitykit.report.assets import AssetCache

    assets = AssetCache.beside(run.manifest.cache)
    before = sorted(p.name for p in assets.folder.iterdir())
    again = write_report(run_dir, tmp_path / "out2", n_boot=20).read_text(encoding="utf-8")
    assert sorted(p.name for p in assets.folder.iterdir()) == before
    assert again.count('src="data:image/png;base64,') == page.count('src="data:image/png;base64,')
    # the true size of every dataset image (not "None×None")
    for i in run.manifest.dataset.images:
        assert f"{i.width}×{i.height}" in text and i.width == 256 and i.height == 192


def test_missing_source_is_reported_not_fatal(tmp_path, synthetic):
    run_dir = shutil.copytree(synthetic, tmp_path / "run")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["dataset"]["images"][1]["path"] = str(tmp_path / "gone.png")
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    text = text_of(write_report(run_dir, n_boot=5, comparisons=2).read_text(encoding="utf-8"))
    assert f"The source image {tmp_path / 'gone.png'} is gone" in text
    assert "Comparisons are shown for the first 2 of 6 images." in text


def test_cli_report(tmp_path, synthetic, capsys):
    assert main(["report", str(synthetic), "--out", str(tmp_path / "r"), "--bootstrap", "5", "--anchor", "webp"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "r" / "index.html")
    text = text_of((tmp_path / "r" / "index.html").read_text(encoding="utf-8"))
    bd = text[text.index("BD-rate of every pair") :]
    assert bd.index("vs WEBP") < bd.index("AVIF vs JPEG")  # the anchor's pairs come first
    assert main(["report", str(tmp_path / "nothing")]) == 2 and "not found" in capsys.readouterr().err


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium package (apt-get install -y chromium)")
    return CHROMIUM


@pytest.mark.browser
def test_browser_check_sees_script_errors(tmp_path, chromium):
    (tmp_path / "bad.html").write_text("<p>x</p><script>console.error('boom'); undefinedFunction();</script>")
    browser = Browser(chromium, tmp_path / "profile")
    try:
        browser.open((tmp_path / "bad.html").as_uri())
        found = browser.problems()
    finally:
        browser.close()
    assert len(found) == 2 and "boom" in found[0] and "undefinedFunction" in found[1]


@pytest.mark.browser
def test_report_renders_and_works_in_headless_chromium(tmp_path, synthetic, page, chromium):
    browser = Browser(chromium, tmp_path / "profile")
    try:
        browser.open((synthetic / "index.html").as_uri(), width=1280, height=900)
        body = browser.js("JSON.stringify(document.body.dataset)")
        assert json.loads(body) == {"ready": "1", "brokenImages": "0"}  # and no jsErrors
        text = browser.js("document.body.innerText")
        # the first screen (the 1280×900 viewport) shows the verdict and the matrix
        assert "AVIF gives the smallest files at equal quality" in text
        verdict_top = browser.js("document.querySelector('.verdict').getBoundingClientRect().top")
        matrix_top = browser.js("document.querySelector('table.matrix').getBoundingClientRect().top")
        assert 0 < verdict_top < matrix_top < 900
        assert browser.js("document.querySelectorAll('table.matrix tbody tr').length") == 3
        # nothing wider than the page at 1280 px: no horizontal scroll, every table inside <main>
        assert browser.js("document.documentElement.scrollWidth") <= 1280
        overflowing = browser.js(
            "(() => { const m = document.querySelector('main').getBoundingClientRect().right;"
            " return [...document.querySelectorAll('table, img, pre')].filter(e => e.getBoundingClientRect().right > m + 0.5)"
            ".map(e => e.tagName + ' in #' + (e.closest('section') || {}).id); })()"
        )
        assert overflowing == []
        assert browser.js("document.querySelectorAll('#bdrate tbody tr').length") == 3 * 4
        assert browser.js("[...document.querySelectorAll('#plots img')].filter(i => i.naturalWidth > 500).length") == 4
        assert browser.js("document.scripts.length") == 1  # the image named <script>... stayed text
        assert EVIL_NAME in text

        first_image = "document.querySelector('#images tbody tr td').textContent"
        browser.js("document.querySelector('#images th').click()")
        assert browser.js(first_image) == EVIL_NAME  # '<' sorts before 'i'
        browser.js("document.querySelector('#images th').click()")
        assert browser.js(first_image) == "img05.png"

        browser.js("window.scrollTo(0, 0)")
        browser.screenshot(tmp_path / "first-screen.png", full_page=False)
        browser.screenshot(tmp_path / "report.png")
        assert (tmp_path / "report.png").stat().st_size > 50_000
        assert (tmp_path / "first-screen.png").stat().st_size > 20_000
        assert not browser.problems()
    finally:
        browser.close()


@pytest.mark.browser
def test_visual_comparison_works_in_headless_chromium(tmp_path, chromium):
    # crops need the run's bitstreams: a real run (the synthetic one has none, so it has no layers to switch)
    run_dir = real_run(tmp_path / "real" / "run")
    page = write_report(run_dir, n_boot=20)
    browser = Browser(chromium, tmp_path / "profile")
    try:
        browser.open(page.as_uri())
        layers = "[...document.querySelectorAll('#cmp-0 + p + .cmp .wipe img.top')].map(i => i.hidden)"
        assert browser.js(layers) == [False, True]
        browser.js("document.querySelectorAll('#cmp-0 + p + .cmp input[type=radio]')[1].click()")
        assert browser.js(layers) == [True, False]
        browser.js(
            "const r = document.querySelector('#cmp-0 + p + .cmp input[type=range]');"
            "r.value = 20; r.dispatchEvent(new Event('input'))"
        )
        assert browser.js("document.querySelector('#cmp-0 + p + .cmp .wipe').style.getPropertyValue('--pos')") == "20%"
        assert browser.js("document.documentElement.scrollWidth") <= 1280
        assert not browser.problems()
    finally:
        browser.close()


def test_single_codec_run_still_reports(tmp_path, synthetic):
    run_dir = shutil.copytree(synthetic, tmp_path / "run")
    results = pd.read_csv(run_dir / "results.csv")
    results[results["codec_id"].str.startswith("jpeg:")].to_csv(run_dir / "results.csv", index=False)
    text = text_of(write_report(run_dir, n_boot=5, comparisons=1).read_text(encoding="utf-8"))
    assert "Only one codec (JPEG) has results: nothing to compare." in text and "Rate–quality curves" in text


def test_a_learned_codec_is_named_by_its_model_in_rows_legends_and_the_first_screen(tmp_path, synthetic):
    from qualitykit.report.plots import rd_figure

    run_dir = shutil.copytree(synthetic, tmp_path / "run")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["codecs"][2]["settings"]["model"] = "qk-hyperprior-v1"  # the AVIF curves, as if the bundled model made them
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    page = write_report(run_dir, n_boot=20, comparisons=0).read_text(encoding="utf-8")
    first = first_screen(page)
    assert "avif (qk-hyperprior-v1) gives the smallest files at equal quality" in first
    assert "Caution: avif (qk-hyperprior-v1) is qk's bundled qk-hyperprior-v1, a tiny demonstration model" in first
    assert "avif (qk-hyperprior-v1) vs JPEG" in first and "AVIF vs" not in text_of(page)
    curves = {"avif": (pd.Series([0.2, 0.4]).to_numpy(), pd.Series([30.0, 33.0]).to_numpy())}
    fig = rd_figure(curves, "psnr", True, {"avif": "#123456"}, 1, "dB", names={"avif": "avif (qk-hyperprior-v1)"})
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["avif (qk-hyperprior-v1)"]


def test_words_a_person_would_write(page):
    """No Python values in Run details, no legend for a column the page does not have, overlap cells in words."""
    text = text_of(page)
    assert "Δ bytes per image" not in text  # the synthetic run has no equal-quality target
    assert "· only" not in text and re.search(r"overlap \d+% of the narrower range, \d+% of both", text)
    details = text_of(page[page.index('<section id="run">') : page.index("Full manifest (JSON)")])
    for python in (" None ", " True ", " False ", "0.3333", "(0.0, ", "null", "{"):
        assert python not in f" {details} ", python
    assert "min_overlap ⅓" in details and " higher 0–100 dB " in details


def test_human_values():
    from qualitykit.report.html import human, human_number, human_range

    assert [human_range(None, 100.0), human_range(0.0, None), human_range(0.0, 100.0), human_range(-1.0, 1.0)] == [
        "≤ 100", "≥ 0", "0–100", "−1 to 1"]  # fmt: skip
    assert [human_number(1 / 3), human_number(100.0), human_number(0.95), human_number(True)] == ["⅓", "100", "0.95", "yes"]
    assert human(None) == "—" and human([10.0, 30.0]) == "10, 30" and human({"vmaf": 99.5}) == "vmaf 99.5"
