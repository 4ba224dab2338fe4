import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qualitykit.cli import COMMANDS, build_parser, main


def qk(*args: str, columns: int | None = None) -> subprocess.CompletedProcess:
    """``python -m qualitykit ARGS``; ``columns`` sets the terminal width it sees (``$COLUMNS``)."""
    env = {**os.environ, "COLUMNS": str(columns)} if columns else None
    return subprocess.run([sys.executable, "-m", "qualitykit", *args], capture_output=True, text=True, timeout=600, env=env)


def test_every_help_shows_an_example(capsys):
    for argv in [[], *([c] for c in COMMANDS)]:
        with pytest.raises(SystemExit):
            main([*argv, "--help"])
        assert "example" in capsys.readouterr().out, argv


@pytest.fixture(scope="module")
def metrics_listing() -> str:
    """``qk metrics``'s output (one process for the module: listing asks every metric whether it runs here)."""
    res = qk("metrics")
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_codecs_and_metrics_lists(metrics_listing):
    out = qk("codecs").stdout
    for name in ("jpeg", "webp", "avif"):
        assert f"{name}" in out
    assert "libjpeg_turbo" in out and "ladder: q=" in out
    out = metrics_listing
    assert "psnr " in out and "higher is better" in out and "ffmpeg: " in out and "lpips" in out


def test_metrics_table_states_conventions_and_references(metrics_listing):
    from qualitykit.metrics import registry

    out = metrics_listing
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
    args = ["bench", "--dataset", str(small_corpus), "--codecs", "jpeg:q=30/60,webp:q=50", "--metrics", "psnr,ssim-y",
            "--cache", str(tmp_path / "c.sqlite"), "--jobs", "2"]  # fmt: skip
    res = qk(*args, "--out", str(tmp_path / "run"), columns=100)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["images", "bpp", "psnr", "ssim-y"]
    assert any(line.startswith("jpeg") and float(line.split()[1]) == 30 for line in lines)
    assert "12 items; this run computed 12 encodes and 24 scores.\n" in res.stdout  # nothing came from the cache
    # it ends with the answer: the verdict, the pairwise matrix and the caveats, readable in 100 columns
    answer = res.stdout[res.stdout.index("=" * 100) :]
    assert "pair" in answer and ("JPEG vs WEBP" in answer or "WEBP vs JPEG" in answer)
    assert "The intervals come from 4 images" in answer
    assert max(len(line) for line in res.stdout.splitlines() if not line.startswith(("results: ", "report: "))) <= 100
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert [c["label"] for c in manifest["codecs"]] == ["jpeg", "webp"]
    again = qk(*args, "--out", str(tmp_path / "again"), columns=100)
    assert "12 items; this run computed 0 encodes and 0 scores, the rest came from the cache" in again.stdout


@pytest.fixture(scope="module")
def terminal_cache(tmp_path_factory) -> Path:
    """One cache for both terminal widths: the second run prints the same table from the first's scores."""
    return tmp_path_factory.mktemp("terminal") / "c.sqlite"


@pytest.mark.slow  # the fast tier: test_bench_prints_a_summary_and_writes_the_run's 100 columns
@pytest.mark.parametrize("columns", [80, 100])
def test_bench_output_fits_the_terminal(small_corpus, tmp_path, terminal_cache, columns):
    """Every line of `qk bench` (the table per codec point with every default metric, the answer) fits the terminal."""
    res = qk("bench", "--dataset", str(small_corpus), "--codecs", "jpeg:q=30/60,webp:q=40/70", "--out", str(tmp_path / "run"),
             "--cache", str(terminal_cache), "--jobs", "2", "--target", "ssim=0.9", columns=columns)  # fmt: skip
    assert res.returncode in (0, 1), res.stderr
    lines = [line for line in res.stdout.splitlines() if not line.startswith(("results: ", "report: "))]  # paths are paths
    assert max(len(line) for line in lines) <= columns, max(lines, key=len)
    metrics = json.loads((tmp_path / "run" / "manifest.json").read_text())["metrics"]
    assert len(metrics) > 8  # the default set: a table that did not fit before (158 characters)
    table = res.stdout[: res.stdout.index(" items; this run computed")]
    words = {word for line in table.splitlines() for word in line.split()}
    assert {m["name"] for m in metrics} <= words  # folded, not cut: every metric is still a column
    assert "=" * columns in res.stdout and "pair" in res.stdout


@pytest.mark.slow
def test_default_bench_on_the_builtin_corpus(tmp_path):
    res = qk("bench", "--out", str(tmp_path / "run"), "--cache", str(tmp_path / "c.sqlite"))
    assert res.returncode == 0, res.stderr
    assert "72 items" in res.stdout
    for codec in ("jpeg", "webp", "avif"):
        assert any(line.startswith(codec) for line in res.stdout.splitlines())
    lines = res.stdout.splitlines()  # the table folds to the terminal: a header line above each "codec_label q" line
    header = {word for above, line in zip(lines, lines[1:]) if line.startswith("codec_label") for word in above.split()}
    assert {"bpp", "psnr", "ms-ssim", "psnr-y", "ssim-y", "ms-ssim-y", "vmaf"} <= header


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


# ---------------------------------------------------------------- bad data: every reader refuses it, naming file, row, column


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    from .rundir_fixtures import synthetic_run

    run = synthetic_run(tmp_path_factory.mktemp("bad-data") / "run")
    baseline = run.parent / "baseline.json"
    assert qk("baseline", "save", str(run), "--to", str(baseline)).returncode == 0
    return run


def _damaged(good: Path, tmp: Path, row: int, column: str, value: str) -> Path:
    """A copy of ``good`` with ``results.csv``'s data row ``row`` (0-based) set to ``value`` in ``column``."""
    import shutil

    import pandas as pd

    bad = tmp / "bad"
    shutil.copytree(good, bad)
    table = pd.read_csv(bad / "results.csv", dtype=str, keep_default_na=False)
    table.loc[row, column] = value
    table.to_csv(bad / "results.csv", index=False)
    return bad


def _slow(*values):
    """A parameter of the slow tier: five ``qk`` processes per bad value add up; the fast tier keeps one
    bad value of each kind (a float, a whole number, a score, a codec)."""
    return pytest.param(*values, marks=pytest.mark.slow)


@pytest.mark.parametrize(
    "column, value, message",
    [("bpp", "0", "column bpp = 0.0: must be a finite number > 0"),
     _slow("bpp", "", "column bpp = empty: must be a finite number > 0"),
     _slow("bpp", "nan", "column bpp = empty: must be a finite number > 0"),
     _slow("bytes", "-5", "column bytes = -5: must be a whole number > 0"),
     ("bytes", "12.5", "column bytes = 12.5: must be a whole number > 0"),
     _slow("width", "0", "column width = 0: must be a whole number > 0"),
     _slow("psnr", "abc", "column psnr = 'abc': is not a number"),
     ("psnr", "inf", "column psnr = inf: is not a finite psnr score"),
     _slow("ms-ssim", "1.7", "column ms-ssim = 1.7: is above the ms-ssim range 0–1"),
     ("codec_id", "mystery:q=1", "column codec_id = 'mystery:q=1': is not a codec of the run's manifest")],  # fmt: skip
)
def test_bad_run_data_is_refused_by_every_reader(good_run, tmp_path, column, value, message):
    bad = _damaged(good_run, tmp_path, 4, column, value)
    where = f"{bad / 'results.csv'}: row 5 (line 6), {message}"
    for argv in (["gate", "--baseline", str(good_run.parent / "baseline.json"), "--run", str(bad)], ["report", str(bad)],
                 ["bdrate", str(bad)], ["claim", str(bad), "avif vs jpeg 25..35 %"], ["baseline", "save", str(bad), "--to",
                 str(tmp_path / "b.json")]):  # fmt: skip
        res = qk(*argv)
        assert res.returncode == 2, (argv, res.stdout, res.stderr)
        assert where in res.stderr and "Traceback" not in res.stderr, (argv, res.stderr)


def test_bad_run_data_is_refused_by_the_python_api(good_run, tmp_path):
    import qualitykit
    from qualitykit.errors import BadInput

    bad = _damaged(good_run, tmp_path, 0, "bpp", "0")
    for call in (lambda: qualitykit.bd_table(bad), lambda: qualitykit.check_claims(bad, "avif vs jpeg 25..35 %"),
                 lambda: qualitykit.report(bad)):  # fmt: skip
        with pytest.raises(BadInput, match=r"results\.csv: row 1 \(line 2\), column bpp = 0\.0"):
            call()


def test_results_and_manifest_must_agree_on_metrics(good_run, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(good_run, bad)
    text = (bad / "results.csv").read_text().splitlines()
    text[0] = text[0].replace(",lpips", ",dists")  # a column the manifest does not declare, and lpips without one
    (bad / "results.csv").write_text("\n".join(text) + "\n")
    res = qk("report", str(bad))
    assert res.returncode == 2 and "column(s) dists are not metrics of the run's manifest" in res.stderr


def test_cli_messages_name_what_is_wrong(tmp_path):
    res = qk("bdrate", str(tmp_path / "no-such-run"))
    assert res.returncode == 2 and f"{tmp_path / 'no-such-run'}: no such run directory or curve file" in res.stderr
    res = qk("bench", "kodak")
    assert res.returncode == 2 and "qk bench: error: unexpected argument kodak; did you mean --dataset kodak?" in res.stderr
    assert "usage: qk [-h]" not in res.stderr


def offline(monkeypatch, tmp_path):
    """No weights anywhere qk looks, and every download fails as it does without a network."""
    import torch.hub

    def unreachable(url, *args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("QK_WEIGHTS_DIR", raising=False)
    monkeypatch.setattr(torch.hub, "download_url_to_file", unreachable)


def test_a_run_where_no_metric_can_be_computed_stops_at_plan_time(small_corpus, tmp_path, monkeypatch, capsys):
    offline(monkeypatch, tmp_path)
    code = main(["bench", "--dataset", str(small_corpus), "--codecs", "jpeg:q=50", "--metrics", "lpips",
                 "--out", str(tmp_path / "run"), "--cache", str(tmp_path / "c.sqlite")])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith("qk bench: error: no metric asked for can be computed here, so nothing can be scored:\n  lpips: ")
    assert "alexnet-owt-7be5be79.pth" in err and "QK_WEIGHTS_DIR" in err and "network unreachable" in err
    assert not (tmp_path / "run").exists()  # no empty run folder, no report with empty sections


def test_a_run_where_no_codec_can_run_stops_at_plan_time_naming_the_weights(small_corpus, tmp_path, monkeypatch, capsys):
    offline(monkeypatch, tmp_path)
    code = main(["bench", "--dataset", str(small_corpus), "--codecs", "neural:cheng2020-anchor", "--metrics", "psnr",
                 "--out", str(tmp_path / "run"), "--cache", str(tmp_path / "c.sqlite")])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "Empty DataFrame" not in err
    assert err.startswith("qk bench: error: no codec asked for can run here, so nothing can be encoded:\n  neural:cheng2020-anchor: ")
    where = str(tmp_path / "torch" / "hub" / "checkpoints" / "cheng2020-anchor-1-dad2ebff.pth.tar")
    assert where in err and "QK_WEIGHTS_DIR" in err  # the file, and where it goes
    assert not (tmp_path / "run").exists()
