"""The CI quality gate: identical reruns pass, worse quality per byte fails, mismatched inputs are refused."""

import json
import shutil
import subprocess
import sys
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
import pytest

import qualitykit
from qualitykit.codecs import registry
from qualitykit.codecs.jpeg import JPEG

LADDER = "q=10/20/30/40/50/60"


class NoisyJPEG(JPEG):
    """JPEG that adds seeded Gaussian noise before encoding: worse quality per byte as ``sigma`` grows."""

    name = "noisyjpeg"
    settings = {**JPEG.settings, "sigma": 0.0}

    def encode(self, image: np.ndarray, q: float) -> bytes:
        if self.options["sigma"]:
            noise = np.random.default_rng(0).normal(0, self.options["sigma"], image.shape)
            image = np.clip(image + noise, 0, 255).astype(np.uint8)
        return super().encode(image, q)


@pytest.fixture(autouse=True, scope="module")
def _noisyjpeg():
    """NoisyJPEG is a codec for this module's tests only: registered here, gone afterwards."""
    with registry.temporarily(NoisyJPEG):
        yield


def qk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qualitykit", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def baseline_made_once(tmp_path_factory, astronaut):
    """The jpeg+webp run on the small corpus, its cache and its saved baseline: made once for the module
    (one bench, one ``qk baseline save``); each test gets its own copy (:func:`baseline`)."""
    from .conftest import write_small_corpus

    base = tmp_path_factory.mktemp("gate-baseline")
    corpus = write_small_corpus(base / "corpus", astronaut)
    run = base / "base-run"
    qualitykit.bench(corpus, [f"jpeg:{LADDER}", f"webp:{LADDER}"], ["psnr", "ssim"], out=run, jobs=1, cache=base / "cache.sqlite",
                     report=False)  # fmt: skip
    path = base / "quality" / "baseline.json"
    assert qk("baseline", "save", str(run), "--to", str(path)).returncode == 0
    return base


@pytest.fixture
def baseline(baseline_made_once, small_corpus, cache, tmp_path):
    """This test's copy of the baseline run (``tmp_path/base-run``), its baseline file, and the cache
    that run filled (at ``cache``: runs of the same codecs find their scores there, as they did when
    each test made its own)."""
    shutil.copytree(baseline_made_once / "base-run", tmp_path / "base-run")
    for f in baseline_made_once.glob("cache.sqlite*"):  # the database (and its WAL) and the report's asset cache
        (shutil.copytree if f.is_dir() else shutil.copy2)(f, cache.parent / f.name.replace("cache.sqlite", cache.name))
    path = tmp_path / "quality" / "baseline.json"
    path.parent.mkdir()
    shutil.copy2(baseline_made_once / "quality" / "baseline.json", path)
    return path


def test_baseline_file_is_small_and_diff_friendly(baseline):
    text = baseline.read_text()
    data = json.loads(text)
    assert data["format"] == "qualitykit-baseline/2" and len(data["rows"]) == 4 * 12
    assert set(data["metrics"]) == {"psnr", "ssim"} and len(data["dataset"]["images"]) == 4
    assert all(c["versions"] for c in data["codecs"])
    row_lines = [line for line in text.splitlines() if line.startswith('  {"image"')]
    assert data["metrics"]["psnr"]["unit"] == "dB" and data["metrics"]["ssim"]["higher_is_better"] is True
    assert len(row_lines) == 48  # one line per point: a change shows as a changed line


def test_identical_rerun_passes(baseline, small_corpus, tmp_path):
    res = qk("gate", "--baseline", str(baseline), "--dataset", str(small_corpus), "--cache", str(tmp_path / "c2.sqlite"),
             "--out", str(tmp_path / "rerun"), "--junit", str(tmp_path / "gate.xml"), "--json", str(tmp_path / "gate.json"))  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert "gate: PASS" in res.stdout
    cells = json.loads((tmp_path / "gate.json").read_text())["cells"]
    assert len(cells) == 4 and all(c["verdict"] == "within noise" and abs(c["bd_rate"]) < 1e-9 for c in cells)
    suite = ET.parse(tmp_path / "gate.xml").getroot()
    assert suite.get("tests") == "4" and suite.get("failures") == "0"


def _run(corpus, codecs, cache, out, metrics=("psnr", "ssim")) -> Any:
    return qualitykit.bench(corpus, codecs, list(metrics), out=out, jobs=1, cache=cache)


def test_worse_quality_for_the_same_bytes_fails_and_names_codec_metric_bd_rate(small_corpus, cache, tmp_path):
    _run(small_corpus, [f"noisyjpeg:{LADDER}"], cache, tmp_path / "base")
    baseline = tmp_path / "baseline.json"
    assert qk("baseline", "save", str(tmp_path / "base"), "--to", str(baseline)).returncode == 0
    _run(small_corpus, [f"noisyjpeg:sigma=3:{LADDER}"], cache, tmp_path / "noisy")
    md = tmp_path / "summary.md"
    # judging an existing run needs no codec: the gate reads the run directory only
    res = qk("gate", "--baseline", str(baseline), "--run", str(tmp_path / "noisy"), "--junit", str(tmp_path / "gate.xml"),
             "--markdown", str(md))  # fmt: skip
    assert res.returncode == 1, res.stdout + res.stderr
    fail_lines = [line for line in res.stdout.splitlines() if line.split()[2:3] == ["REGRESSED"]]
    assert len(fail_lines) == 2 and all(line.startswith("noisyjpeg:sigma=3 ") for line in fail_lines)
    assert any(" psnr " in line and "BD-rate +" in line for line in fail_lines)
    assert "settings changed" in res.stdout  # sigma=0 → sigma=3 is reported
    suite = ET.parse(tmp_path / "gate.xml").getroot()
    failures = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert {c.get("name") for c in failures} == {"psnr", "ssim"}
    assert all("noisyjpeg" in c.find("failure").get("message") for c in failures)
    assert "❌ regressed" in md.read_text()


def test_mismatched_dataset_is_refused_with_the_difference(baseline, small_corpus, cache, tmp_path):
    (small_corpus / "crop3.png").unlink()
    from PIL import Image

    Image.fromarray(np.full((176, 200, 3), 7, np.uint8)).save(small_corpus / "crop0.png")
    _run(small_corpus, [f"jpeg:{LADDER}", f"webp:{LADDER}"], cache, tmp_path / "other")
    res = qk("gate", "--baseline", str(baseline), "--run", str(tmp_path / "other"))
    assert res.returncode == 2
    assert "missing from the current run: crop3.png" in res.stderr and "different content (sha256): crop0.png" in res.stderr


def test_missing_codec_and_version_drift_are_refused(baseline, small_corpus, cache, tmp_path):
    _run(small_corpus, [f"jpeg:{LADDER}"], cache, tmp_path / "jpeg-only")
    res = qk("gate", "--baseline", str(baseline), "--run", str(tmp_path / "jpeg-only"))
    assert res.returncode == 2 and "codec(s) webp of the baseline are not in the current run" in res.stderr
    data = json.loads(baseline.read_text())
    data["codecs"][0]["versions"]["libjpeg_turbo"] = "2.0.0"
    data["metrics"]["psnr"]["version"] = "0"
    drifted = tmp_path / "drifted.json"
    drifted.write_text(json.dumps(data))
    _run(small_corpus, [f"jpeg:{LADDER}", f"webp:{LADDER}"], cache, tmp_path / "both")
    res = qk("gate", "--baseline", str(drifted), "--run", str(tmp_path / "both"))
    assert res.returncode == 2
    assert "libjpeg_turbo 2.0.0 → " in res.stderr and "metric psnr version 0 (baseline)" in res.stderr
    res = qk("gate", "--baseline", str(drifted), "--run", str(tmp_path / "both"), "--allow-version-drift")
    assert res.returncode == 0 and "note: jpeg: library versions differ" in res.stdout


def test_improvement_is_reported_and_tolerance_per_metric(small_corpus, cache, tmp_path):
    _run(small_corpus, [f"noisyjpeg:sigma=3:{LADDER}"], cache, tmp_path / "base")
    baseline = tmp_path / "baseline.json"
    qk("baseline", "save", str(tmp_path / "base"), "--to", str(baseline))
    _run(small_corpus, [f"noisyjpeg:{LADDER}"], cache, tmp_path / "better")
    from qualitykit.gate import gate, load_baseline
    from qualitykit.rundir import Run

    result = gate(load_baseline(baseline), Run.load(tmp_path / "better"), per_metric={"ssim": 1000.0})
    verdicts = dict(zip(result.cells["metric"], result.cells["verdict"]))
    assert verdicts["psnr"] == "improved" and verdicts["ssim"] == "within noise" and result.exit_code == 0


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: [d], "holds a JSON list, not an object"),
        (lambda d: {**d, "rows": [{**d["rows"][0], "bytes": 0}, *d["rows"][1:]]}, "row 1, column bytes = 0: must be a whole number > 0"),
        (lambda d: {**d, "rows": [{**d["rows"][0], "bytes": -5}, *d["rows"][1:]]}, "row 1, column bytes = -5"),
        (lambda d: {**d, "rows": [{k: v for k, v in d["rows"][0].items() if k != "bytes"}, *d["rows"][1:]]}, "row 1 lacks bytes"),
        (lambda d: {**d, "rows": [d["rows"][0], {k: v for k, v in d["rows"][1].items() if k != "psnr"}, *d["rows"][2:]]},
         "row 2 lacks psnr (a missing score is written as null)"),
        (lambda d: {**d, "rows": [{**d["rows"][0], "psnr": "abc"}, *d["rows"][1:]]}, "row 1, column psnr = 'abc': is not a number"),
        (lambda d: {**d, "rows": [{**d["rows"][0], "ssim": 3.5}, *d["rows"][1:]]}, "row 1, column ssim = 3.5: is above the ssim range"),
        (lambda d: {k: v for k, v in d.items() if k != "dataset"}, "field 'dataset' is missing"),
        (lambda d: {**d, "rows": [*d["rows"], d["rows"][0]]}, "appears twice"),
        (lambda d: {**d, "rows": [{**d["rows"][0], "image": "other.png"}, *d["rows"][1:]]}, "column image = 'other.png': is not an image of the baseline"),
    ],
)
def test_a_damaged_baseline_is_refused_with_exit_2(baseline, tmp_path, damage, message):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(damage(json.loads(baseline.read_text()))))
    res = qk("gate", "--baseline", str(bad), "--run", str(tmp_path / "base-run"))
    assert res.returncode == 2 and message in res.stderr and str(bad) in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and "KeyError" not in res.stderr


def test_a_nan_score_in_the_baseline_is_refused(baseline, tmp_path):
    text = baseline.read_text()
    first = text.index('"psnr": ') + len('"psnr": ')
    bad = tmp_path / "nan.json"
    bad.write_text(text[:first] + "NaN" + text[text.index(",", first):])
    res = qk("gate", "--baseline", str(bad), "--run", str(tmp_path / "base-run"))
    assert res.returncode == 2 and "NaN is not a number JSON allows" in res.stderr


def test_codecs_the_baseline_lacks_are_reported_and_json_stdout_is_only_json(small_corpus, cache, tmp_path):
    _run(small_corpus, [f"jpeg:{LADDER}"], cache, tmp_path / "base")
    baseline = tmp_path / "baseline.json"
    assert qk("baseline", "save", str(tmp_path / "base"), "--to", str(baseline)).returncode == 0
    _run(small_corpus, [f"jpeg:{LADDER}", f"webp:{LADDER}"], cache, tmp_path / "more")
    res = qk("gate", "--baseline", str(baseline), "--run", str(tmp_path / "more"), "--json", "-")
    assert res.returncode == 0
    out = json.loads(res.stdout)  # nothing but JSON on stdout
    assert out["not_gated"] == ["webp"] and "not gated: webp" in res.stderr
    res = qk("gate", "--baseline", str(baseline), "--run", str(tmp_path / "more"), "--require-all")
    assert res.returncode == 2 and "not gated: webp" in res.stdout


@pytest.mark.parametrize(
    "bd, ci, tolerance, expected",
    [(-1.8, (-4.28, 0.70), 1.0, "within noise"),  # the interval reaches past zero: not an improvement
     (-3.0, (-4.0, -1.5), 1.0, "improved"), (-3.0, (-4.0, -0.5), 1.0, "within noise"),
     (2.5, (1.2, 3.9), 1.0, "regressed"), (2.5, (0.4, 3.9), 1.0, "within noise"), (0.3, (0.1, 0.6), 0.0, "regressed"),
     (2.5, (None, None), 1.0, "regressed"), (None, (None, None), 1.0, "not measured")],  # fmt: skip
)
def test_a_verdict_needs_the_whole_interval_beyond_the_tolerance(bd, ci, tolerance, expected):
    from qualitykit.gate.verdict import verdict

    assert verdict(bd, *ci, tolerance) == expected


def _cell(verdict: str, bd: float | None, lo: float | None, hi: float | None) -> dict:
    return {"codec_label": "avif", "codec_id": "avif:x", "metric": "psnr", "bd_rate": bd, "ci_low": lo, "ci_high": hi,
            "tolerance": 1.0, "verdict": verdict, "reason": "" if bd is not None else "no overlap", "detail": "", "images": ""}  # fmt: skip


@pytest.mark.parametrize(
    "cell, line, code",
    [(_cell("improved", -3.0, -4.0, -1.5), "avif             psnr       IMPROVED", 0),
     (_cell("regressed", 2.5, 1.2, 3.9), "avif             psnr       REGRESSED", 1),
     (_cell("within noise", -1.8, -4.28, 0.70), "avif             psnr       WITHIN NOISE", 0)],  # fmt: skip
)
def test_each_gate_verdict_word_prints_with_its_interval(cell, line, code):
    import pandas as pd

    from qualitykit.gate import GateResult, to_markdown, to_text

    result = GateResult(pd.DataFrame([cell]))
    text = to_text(result)
    assert line in text and f"95 % CI {cell['ci_low']:+.2f} … {cell['ci_high']:+.2f} %" in text
    assert result.exit_code == code and "within noise: the interval reaches into ±tolerance" in text
    assert cell["verdict"] in to_markdown(result)
