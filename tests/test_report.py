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
    table = json.loads((synthetic / "bdrate.json").read_text())
    assert table["settings"]["bootstrap"]["resamples"] == 50 and len(table["summary"]) == 8


def test_report_is_one_self_contained_file(page):
    assert not re.findall(r'(?:src|href)="(?!data:image/png;base64,|#)', page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert page.count("<script") == 1
    assert page.count('src="data:image/png;base64,') >= 4 + 4  # 4 RD plots, a reference crop per compared image
    assert len(page) < 4_000_000


def test_names_from_files_are_escaped(page):
    assert EVIL_NAME not in page
    assert html.escape(EVIL_NAME) in page


def test_headline_in_plain_words(page):
    text = text_of(page)
    assert "AVIF needs 30 % fewer bytes than JPEG for the same PSNR (95% CI 30–30 % fewer)." in text
    assert "WEBP needs 20 % fewer bytes than JPEG for the same LPIPS" in text


def test_tables_carry_reasons_and_method(page):
    text = text_of(page)
    assert "mean over 5 of 6 images; 1 skipped: non-monotonic" in text
    assert "n/a: non-monotonic" in text  # per-image cell of the broken curve
    assert "PCHIP" in text and "log10(bpp)" in text and "50 resamples, seed 0" in text
    assert "Encode ms (median)" in text and "jpeg:optimize=0:progressive=0:subsampling=420" in text
    assert "Full manifest (JSON)" in text


def test_comparisons_say_when_no_bitstream_is_stored(page):
    # a synthetic run has no cache: each crop says why it is missing instead of inventing one
    assert "the run's bitstream is no longer in the cache, so no crop" in text_of(page)


def test_real_run_crops_decode_the_stored_bitstreams(tmp_path):
    run_dir = real_run(tmp_path / "real" / "run")
    run = Run.load(run_dir)
    page = write_report(run_dir, tmp_path / "out", n_boot=20).read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 1 + 2 * 3  # one RD plot; per image a reference, 2 codecs
    text = text_of(page)
    # each crop names the exact bitstream the run measured
    for image in run.images:
        rows = run.results[run.results["image"] == image]
        assert any(f"decoded from the run's {b}-byte bitstream" in text for b in rows["bytes"])
    assert text.count("decoded from the run's") == 2 * 2  # 2 images × 2 codecs
    assert "WEBP needs" in text and "for the same PSNR" in text
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
    assert "than WEBP for the same" in text_of((tmp_path / "r" / "index.html").read_text(encoding="utf-8"))
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
        browser.open((synthetic / "index.html").as_uri())
        body = browser.js("JSON.stringify(document.body.dataset)")
        assert json.loads(body) == {"ready": "1", "brokenImages": "0"}  # and no jsErrors
        text = browser.js("document.body.innerText")
        assert "AVIF needs 30 % fewer bytes than JPEG for the same PSNR" in text
        assert browser.js("document.querySelectorAll('#bdrate tbody tr').length") == 8
        assert browser.js("[...document.querySelectorAll('#plots img')].filter(i => i.naturalWidth > 600).length") == 4
        assert browser.js("document.scripts.length") == 1  # the image named <script>... stayed text
        assert EVIL_NAME in text

        first_image = "document.querySelector('#images tbody tr td').textContent"
        browser.js("document.querySelector('#images th').click()")
        assert browser.js(first_image) == EVIL_NAME  # '<' sorts before 'i'
        browser.js("document.querySelector('#images th').click()")
        assert browser.js(first_image) == "img05.png"

        layers = "[...document.querySelectorAll('#cmp-0 + p + .cmp .wipe img.top')].map(i => i.hidden)"
        assert browser.js(layers) == [False, True, True]
        browser.js("document.querySelectorAll('#cmp-0 + p + .cmp input[type=radio]')[2].click()")
        assert browser.js(layers) == [True, True, False]
        browser.js(
            "const r = document.querySelector('#cmp-0 + p + .cmp input[type=range]');"
            "r.value = 20; r.dispatchEvent(new Event('input'))"
        )
        assert browser.js("document.querySelector('#cmp-0 + p + .cmp .wipe').style.getPropertyValue('--pos')") == "20%"

        browser.screenshot(tmp_path / "report.png")
        assert (tmp_path / "report.png").stat().st_size > 50_000
        assert not browser.problems()
    finally:
        browser.close()


def test_single_codec_run_still_reports(tmp_path, synthetic):
    run_dir = shutil.copytree(synthetic, tmp_path / "run")
    results = pd.read_csv(run_dir / "results.csv")
    results[results["codec_id"].str.startswith("jpeg:")].to_csv(run_dir / "results.csv", index=False)
    text = text_of(write_report(run_dir, n_boot=5, comparisons=1).read_text(encoding="utf-8"))
    assert "no codec besides the anchor JPEG" in text and "Rate–quality curves" in text
