import json
import subprocess
import sys

import pytest

from qualitykit.cli import COMMANDS, build_parser, main


def qk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qualitykit", *args], capture_output=True, text=True, timeout=600)


def test_every_help_shows_an_example(capsys):
    for argv in [[], *([c] for c in COMMANDS)]:
        with pytest.raises(SystemExit):
            main([*argv, "--help"])
        assert "example" in capsys.readouterr().out, argv


def test_codecs_and_metrics_lists():
    out = qk("codecs").stdout
    for name in ("jpeg", "webp", "avif"):
        assert f"{name}" in out
    assert "libjpeg_turbo" in out and "ladder: q=" in out
    out = qk("metrics").stdout
    assert "psnr " in out and "higher is better" in out and "ffmpeg: " in out and "lpips" in out


def test_metrics_table_states_conventions_and_references():
    from qualitykit.metrics import registry

    out = qk("metrics").stdout
    header = out.splitlines()[0].split()
    assert header[:5] == ["metric", "here", "direction", "range", "unit"] and "default" in header and "equals" in header
    rows = {line.split()[0]: line for line in out.splitlines()[2:] if line and not line.startswith(" ")}
    for name in registry.names():
        cls = registry.get(name)
        assert cls.reference.summary(cls.unit) in rows[name], name  # what it equals, version, tolerance
        assert f"checked on {cls.reference.checked_on}" in out, name
        assert ("yes" if cls.default else "no (opt-in)") in rows[name]
        assert f"  {name}: {cls.description}" in out
    assert "lower is better" in rows["dists"] and "no (opt-in)" in rows["dists"] and "yes" in rows["psnr-hvsm"]
    assert "BT.601 limited range, yuv444p" in out


@pytest.mark.parametrize("option, what", [("--metrics", "metric"), ("--codecs", "codec")])
def test_an_empty_list_names_its_option(tmp_path, option, what):
    res = qk("bench", option, " , ", "--out", str(tmp_path / "r"), "--cache", str(tmp_path / "c"))
    assert res.returncode == 2 and f"{option} ' , ': no {what} given" in res.stderr, res.stderr


def test_bad_codec_is_a_usage_error(tmp_path):
    res = qk("bench", "--codecs", "jpeg,nosuch", "--out", str(tmp_path / "r"), "--cache", str(tmp_path / "c"))
    assert res.returncode == 2 and "unknown codec 'nosuch'" in res.stderr


def test_bench_prints_a_summary_and_writes_the_run(small_corpus, tmp_path):
    res = qk("bench", "--dataset", str(small_corpus), "--codecs", "jpeg:q=30/60,webp:q=50", "--metrics", "psnr,ssim-y",
             "--out", str(tmp_path / "run"), "--cache", str(tmp_path / "c.sqlite"), "--jobs", "2")  # fmt: skip
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["images", "bpp", "psnr", "ssim-y"]
    assert any(line.startswith("jpeg") and float(line.split()[1]) == 30 for line in lines)
    assert "12 items (12 encoded, 24 scores computed" in res.stdout
    # it ends with the answer: the verdict, the pairwise matrix and the caveats, readable in 100 columns
    answer = res.stdout[res.stdout.index("=" * 100) :]
    assert "pair" in answer and ("JPEG vs WEBP" in answer or "WEBP vs JPEG" in answer)
    assert "The intervals come from 4 images" in answer
    assert max(len(line) for line in answer.splitlines()) <= 100
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert [c["label"] for c in manifest["codecs"]] == ["jpeg", "webp"]


@pytest.mark.slow
def test_default_bench_on_the_builtin_corpus(tmp_path):
    res = qk("bench", "--out", str(tmp_path / "run"), "--cache", str(tmp_path / "c.sqlite"))
    assert res.returncode == 0, res.stderr
    assert "72 items" in res.stdout
    for codec in ("jpeg", "webp", "avif"):
        assert any(line.startswith(codec) for line in res.stdout.splitlines())
    header = res.stdout.splitlines()[0].split()
    assert {"bpp", "psnr", "ms-ssim", "psnr-y", "ssim-y", "ms-ssim-y", "vmaf"} <= set(header)


def test_parser_builds():
    assert build_parser().prog == "qk"


@pytest.mark.slow
def test_bench_with_the_perceptual_metrics_works_offline(small_corpus, tmp_path, shared_weights):
    """``qk bench --metrics ssimulacra2,butteraugli,dists,lpips`` in a fresh process with no network
    (an empty torch hub cache; the backbones from ``$QK_WEIGHTS_DIR``): every metric scores every item."""
    import shutil

    import pandas as pd

    if not shutil.which("butteraugli_main"):
        pytest.skip("butteraugli_main not installed (Debian: apt-get install libjxl-devtools; .ci/run installs it)")
    res = qk("bench", "--dataset", str(small_corpus), "--codecs", "jpeg:q=40/80", "--metrics", "ssimulacra2,butteraugli,dists,lpips",
             "--jobs", "1", "--cache", str(tmp_path / "c.sqlite"), "--out", str(tmp_path / "run"), "--no-report", "-q")  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    table = pd.read_csv(tmp_path / "run" / "results.csv")
    assert len(table) == 8
    for metric in ("ssimulacra2", "butteraugli", "dists", "lpips"):
        assert table[metric].notna().all(), metric
