"""The core install (no ``[learned]`` extra): the CI-gate path runs with PyTorch unimportable.

Each test runs ``python -m qualitykit`` in a subprocess whose import system hides PyTorch and
everything built on it — ``find_spec`` answers ``None`` and ``import`` raises
``ModuleNotFoundError``, exactly as where they were never installed — then checks that
``qk bench`` on the built-in corpus, ``qk report``, ``qk baseline save`` and ``qk gate`` work, that
the default metric set says which metrics it left out and why, that a learned metric or codec asked
for by name is refused before any work with the extra to install, and that PyTorch was never loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "qualitykit" / "data" / "sample"
#: Top-level modules of the ``[learned]`` extra (and the test-only packages built on PyTorch).
HIDDEN = ("torch", "torchvision", "lpips", "compressai", "DISTS_pytorch", "pytorch_msssim", "pyiqa")
#: Hide ``HIDDEN`` from every finder, run qk's CLI, then report whether PyTorch got loaded anyway.
#: (CPU workers are forked: they inherit the hiding, so an import there fails the item, and the run.)
RUNNER = f"""
import sys
HIDDEN = {HIDDEN!r}
class Hide:
    def __init__(self, inner):
        self.inner = inner
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            return None
        find = getattr(self.inner, "find_spec", None)
        return find(name, path, target) if find else None
    def __getattr__(self, attr):
        return getattr(self.inner, attr)
sys.meta_path[:] = [Hide(f) for f in sys.meta_path]
from qualitykit.cli import main
try:
    code = main(sys.argv[1:])
finally:
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in HIDDEN)
    print("LOADED:" + ",".join(loaded), file=sys.stderr)
sys.exit(code)
"""


def qk_without_torch(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QK_CACHE": str(tmp_path / "cache.sqlite")}
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, *args], capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path
    )
    assert "LOADED:\n" in done.stderr, f"PyTorch or a package built on it was imported:\n{done.stderr[-2000:]}"
    return done


def test_hiding_works(tmp_path):
    """The harness itself: a command that needs PyTorch fails as it would where it is not installed."""
    done = subprocess.run(
        [sys.executable, "-c", RUNNER.replace("from qualitykit.cli import main", "import torch"), "--help"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode != 0 and "No module named 'torch'" in done.stderr


@pytest.mark.slow
def test_bench_report_baseline_gate_without_torch(tmp_path):
    """The CI gate's whole job on the built-in corpus, as docs/examples/quality-gate.yml runs it."""
    run = tmp_path / "run"
    done = qk_without_torch(tmp_path, "bench", "--codecs", "jpeg:q=20/40/60/80,webp:q=20/40/60/80", "--metrics",
                            "psnr,ssim,ms-ssim,psnr-y", "--out", str(run))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "error [" not in done.stderr  # no item failed (a worker importing PyTorch would)
    assert (run / "index.html").is_file() and (run / "results.csv").is_file()
    header = (run / "results.csv").read_text().splitlines()[0].split(",")
    assert {"psnr", "ssim", "ms-ssim", "psnr-y"} <= set(header)  # SSIM/MS-SSIM: numpy, no PyTorch
    done = qk_without_torch(tmp_path, "report", str(run))
    assert done.returncode == 0, done.stderr
    done = qk_without_torch(tmp_path, "baseline", "save", str(run), "--to", str(tmp_path / "baseline.json"))
    assert done.returncode == 0, done.stderr
    md = tmp_path / "gate.md"
    done = qk_without_torch(tmp_path, "gate", "--baseline", str(tmp_path / "baseline.json"), "--run", str(run),
                            "--markdown", str(md), "--json", str(tmp_path / "gate.json"))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "|" in md.read_text()  # the markdown table a CI job summary shows
    assert json.loads((tmp_path / "gate.json").read_text())


@pytest.mark.slow  # a whole qk bench in a fresh process; the fast tier: the plan-time refusals below
def test_default_metric_set_leaves_learned_metrics_out_and_says_why(tmp_path):
    """The default set adapts: the classical metrics run, each learned one is named with the extra to install."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    Image.open(SAMPLE / "chelsea.png").crop((100, 50, 300, 250)).save(corpus / "chelsea-crop.png")  # 200x200: quick
    run = tmp_path / "run"
    done = qk_without_torch(tmp_path, "bench", "--dataset", str(corpus), "--codecs", "jpeg:q=50", "--out", str(run))
    assert done.returncode == 0, done.stderr
    assert "error [" not in done.stderr  # no item failed (SSIMULACRA 2 importing PyTorch would)
    header = (run / "results.csv").read_text().splitlines()[0].split(",")
    assert {"psnr", "ssim", "ms-ssim", "psnr-y", "vmaf", "ssimulacra2"} <= set(header)  # SSIMULACRA 2: numpy
    for learned in ("lpips", "ssim-pyiqa", "ms-ssim-pyiqa"):
        assert f"skipped metric {learned} not computed: needs PyTorch" in done.stderr
    assert "pip install 'qualitykit[learned]'" in done.stderr


@pytest.mark.parametrize(
    "args, what",
    [
        (("--codecs", "jpeg:q=50", "--metrics", "psnr,lpips"), "metric lpips"),
        (("--codecs", "jpeg:q=50", "--metrics", "dists"), "metric dists"),
        (("--codecs", "jpeg:q=50,neural", "--metrics", "psnr"), "codec neural"),
    ],
)
def test_learned_metric_or_codec_by_name_is_refused_at_plan_time(tmp_path, args, what):
    done = qk_without_torch(tmp_path, "bench", *args, "--out", str(tmp_path / "run"))
    assert done.returncode == 2
    assert f"error: {what} needs PyTorch" in done.stderr and "pip install 'qualitykit[learned]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run" / "results.csv").exists()  # refused before any work


@pytest.mark.parametrize("path", ["docs/examples/quality-gate.yml", ".github/workflows/quality-gate.yml"])
def test_gate_workflows_use_the_core_install_cache_qk_and_summarise(path):
    """The CI workflows: the core install (no extra, not editable), qk's SQLite cache kept by actions/cache,
    the gate's markdown table in the job summary; this repository's own runs only with a committed baseline."""
    yaml = pytest.importorskip("yaml")
    job = yaml.safe_load((ROOT / path).read_text())["jobs"]["gate"]
    steps = job["steps"]
    installs = [s["run"] for s in steps if "pip install" in s.get("run", "")]
    assert len(installs) == 1 and "[" not in installs[0] and " -e " not in installs[0]
    (cache,) = [s for s in steps if s.get("uses", "").startswith("actions/cache@")]
    assert job["env"]["QK_CACHE"].startswith("${{ github.workspace }}/" + cache["with"]["path"] + "/")
    assert "restore-keys" in cache["with"]
    (gate,) = [s["run"] for s in steps if "qk gate" in s.get("run", "")]
    assert '--markdown "$GITHUB_STEP_SUMMARY"' in gate
    if path.startswith(".github"):
        guarded = [s for s in steps if s.get("uses", "") != "actions/checkout@v4"]
        assert all("hashFiles('quality/baseline.json')" in s.get("if", "") for s in guarded)


def test_get_metric_names_the_missing_extra(monkeypatch):
    """In-process, the Python API says the same as the CLI: the metric, PyTorch, the extra to install."""
    from qualitykit import extras
    from qualitykit.errors import MissingExtra
    from qualitykit.metrics import get_metric

    monkeypatch.setitem(extras.EXTRAS, "learned", ("qk_no_such_module_for_this_test", "PyTorch"))
    with pytest.raises(MissingExtra, match=r"metric lpips needs PyTorch .*pip install 'qualitykit\[learned\]'"):
        get_metric("lpips")
    assert get_metric("ssim", device="cpu").name == "ssim"  # no extra needed: numpy without PyTorch
    assert get_metric("ssimulacra2").name == "ssimulacra2"  # numpy too
