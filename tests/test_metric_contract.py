"""The metric contract, checked for every registered metric (built-in or plugin).

A metric that cannot run here is skipped with the reason it gave, so ``pytest -ra`` lists what
was not checked and why. Entry-point plugins are included: the registry scans them when this
module is collected (:func:`test_contract_tests_pick_up_an_installed_plugin` installs one and
runs this file again).
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from qualitykit.errors import BadInput
from qualitykit.metrics import registry
from qualitykit.metrics.base import MetricInfo, Reference

from .conftest import WEIGHTS

ROOT = Path(__file__).resolve().parents[1]
#: The ``pyiqa:NAME`` adapter, with pyiqa metrics that need no weights (without pyiqa they skip, saying so).
PYIQA_ADAPTED = ["pyiqa:psnr", "pyiqa:ssimc", "pyiqa:mad"]
NAMES = registry.names() + PYIQA_ADAPTED
#: The metrics whose computing tests take seconds each on a CPU (pyiqa's MAD 7 s, DISTS, LPIPS-VGG, VIF,
#: CW-SSIM, ColorVideoVDP, ...): in the slow tier (``-m slow``); the fast tier computes every other metric
#: (the classical ones, ssim-pyiqa, fsim, butteraugli, psnr-hvsm: PyTorch and binaries included), and checks
#: every metric's metadata and input validation.
HEAVY = {"pyiqa:mad", "pyiqa:ssimc", "dists", "lpips", "lpips-vgg", "vif", "cw-ssim", "cvvdp", "ms-ssim-pyiqa",
         "vsi", "nlpd"}  # fmt: skip


def computing(names: list[str]) -> list:
    """``names`` as parameters, the :data:`HEAVY` ones marked slow."""
    return [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in names]


@pytest.fixture(autouse=True)
def imagenet_backbones(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deep metrics (LPIPS, DISTS) find their backbones in ../shared/weights when it is there
    (nothing downloads in tests); without it they skip, saying which file is missing."""
    if (WEIGHTS / "vgg16-features-imagenet1k-v1.pth").is_file():
        monkeypatch.setenv("QK_WEIGHTS_DIR", str(WEIGHTS))


def metric(name: str):
    cls = registry.get(name)
    why = cls.why_unavailable()  # a missing extra (the core install: no PyTorch) first, then the metric's own reason
    if why:
        pytest.skip(f"{name} unavailable here: {why}")
    return cls(device="cpu")


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    """A real photograph (224 × 256, big enough for every metric) and its JPEG at q=30."""
    from skimage import data

    ref = np.ascontiguousarray(data.astronaut()[60:284, 120:376])
    buf = io.BytesIO()
    Image.fromarray(ref).save(buf, "JPEG", quality=30)
    return ref, np.asarray(Image.open(buf).convert("RGB"))


@pytest.mark.parametrize("name", NAMES)
def test_declares_its_metadata(name):
    cls = registry.get(name)
    assert isinstance(cls.higher_is_better, bool)
    lo, hi = cls.range
    assert lo is None or hi is None or lo < hi
    assert cls.unit in ("", "dB", "JOD") and cls.description, "describe the convention"
    assert cls.saturation is None or (lo is None or lo <= cls.saturation) and (hi is None or cls.saturation <= hi)
    assert isinstance(cls.min_side, int) and cls.min_side >= 1 and cls.memory_per_pixel > 0
    m = metric(name)
    info = m.info()
    assert info.version and info.name == name
    assert MetricInfo.from_dict(info.to_dict()) == info  # what a manifest records reads back the same


@pytest.mark.parametrize("name", computing(NAMES))
def test_identical_images_score_best_and_scores_are_in_range(name, pair):
    m = metric(name)
    ref, dist = pair
    same, worse = m.compute([ref, ref], [ref.copy(), dist])
    assert math.isfinite(same) and math.isfinite(worse)
    assert (same >= worse) if m.higher_is_better else (same <= worse)
    lo, hi = m.range
    slack = 1e-6  # float32 noise: DISTS of identical images is -1.2e-7 in the reference implementation too
    for v in (same, worse):
        assert (lo is None or v >= lo - slack) and (hi is None or v <= hi + slack), (v, m.range)


@pytest.mark.parametrize("name", computing(NAMES))
def test_a_batch_equals_one_pair_at_a_time(name, pair):
    m = metric(name)
    ref, dist = pair
    flipped = np.ascontiguousarray(dist[:, ::-1])
    batch = m.compute([ref, ref[:, ::-1].copy(), ref], [dist, flipped, ref.copy()])
    alone = [m(ref, dist), m(np.ascontiguousarray(ref[:, ::-1]), flipped), m(ref, ref.copy())]
    np.testing.assert_allclose(batch, alone, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_bad_pairs_are_refused_with_a_named_error(name, pair):
    m = metric(name)
    ref, dist = pair
    with pytest.raises(BadInput, match="shapes differ"):
        m.compute([ref], [dist[:-2]])
    tiny = ref[: max(1, m.min_side - 1), : max(1, m.min_side - 1)]
    if m.min_side > 1:
        with pytest.raises(BadInput, match=f"needs at least {m.min_side} px"):
            m.compute([tiny], [tiny.copy()])


@pytest.mark.parametrize("name", NAMES)
def test_every_batch_is_validated_once_before_the_kernel(name, pair):
    """Unequal lengths (``zip`` would drop the extra image), a wrong dtype or channel count are refused
    by :meth:`Metric.compute` before the kernel runs, whatever the metric; so is a shared pass."""
    m = metric(name)
    ref, dist = pair
    with pytest.raises(BadInput, match=r"2 reference image\(s\) but 1 distorted"):
        m.compute([ref, ref], [dist])
    with pytest.raises(BadInput, match="uint8"):
        m.compute([ref], [dist.astype(np.float32)])
    with pytest.raises(BadInput, match=r"\(H, W, 3\)"):
        m.compute([ref[..., :2]], [dist[..., :2]])
    with pytest.raises(BadInput, match="distorted image"):
        type(m).compute_family([m], [ref], [dist, dist])


def test_a_metric_that_defines_compute_is_refused():
    """The kernel is ``_compute``; ``compute`` stays the one validating entry point."""
    from qualitykit.metrics.base import Metric

    with pytest.raises(TypeError, match="implement the kernel _compute"):

        class Unchecked(Metric):  # noqa: F841
            def compute(self, refs, dists):
                return np.zeros(len(refs))


#: Run in a fresh interpreter: each metric computes under a TorchFunctionMode that counts the torch
#: functions it calls. (Importing torch is not computing with it: the psnr-hvsm package imports torch
#: for a backend qk does not use.)
_USES_TORCH_PROBE = r"""
import json, sys
import numpy as np
import torch
from torch.overrides import TorchFunctionMode
from qualitykit.metrics import registry

class Count(TorchFunctionMode):
    calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        Count.calls += 1
        return func(*args, **(kwargs or {}))

rng = np.random.default_rng(0)
ref = rng.integers(0, 256, (192, 200, 3), dtype=np.uint8)
dist = np.clip(ref.astype(int) + rng.integers(-20, 21, ref.shape), 0, 255).astype(np.uint8)
found = {}
for name in sys.argv[1:]:
    cls = registry.get(name)
    if cls.available():
        found[name] = None
        continue
    Count.calls = 0
    with Count():
        cls(device="cpu").compute([ref], [dist])
    found[name] = Count.calls
print(json.dumps(found))
"""


@pytest.mark.parametrize(
    "names", [pytest.param([n for n in NAMES if n not in HEAVY], id="light"),
              pytest.param(sorted(HEAVY & set(NAMES)), id="heavy", marks=pytest.mark.slow)],
)  # fmt: skip
def test_uses_torch_says_what_each_metric_runs(names):
    """``uses_torch`` decides whether ``--device auto`` sends a metric to the GPU and whether a run
    imports PyTorch, so it must be true exactly for the metrics that compute with it (the light and
    the heavy metrics in two probes: together every metric)."""
    pytest.importorskip("torch")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    if (WEIGHTS / "vgg16-features-imagenet1k-v1.pth").is_file():
        env["QK_WEIGHTS_DIR"] = str(WEIGHTS)
    done = subprocess.run([sys.executable, "-c", _USES_TORCH_PROBE, *names], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    calls = {n: c for n, c in json.loads(done.stdout.strip().splitlines()[-1]).items() if c is not None}
    assert calls, "no metric could run here"
    wrong = {n: c for n, c in calls.items() if registry.get(n).uses_torch != (c > 0)}
    assert not wrong, f"uses_torch disagrees with the torch calls counted while computing: {wrong}"


TORCH_METRICS = [n for n in NAMES if registry.get(n).uses_torch]


@pytest.mark.parametrize("name", TORCH_METRICS)
def test_cpu_and_gpu_agree(name, pair):
    """Every metric that computes with PyTorch gives the CPU's scores on CUDA (pyiqa's
    test_cpu_gpu_consistency); float32 kernels and cuDNN's algorithm choice differ in rounding only."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here")
    cls = registry.get(name)
    if cls.available():
        pytest.skip(f"{name} unavailable here: {cls.available()}")
    ref, dist = pair
    refs, dists = [ref, ref], [dist, ref.copy()]
    cpu = cls(device="cpu").compute(refs, dists)
    gpu = cls(device="cuda").compute(refs, dists)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-4, atol=1e-4, err_msg=name)


@pytest.mark.parametrize("name", NAMES)
def test_reference_is_structured_and_its_test_asserts_its_tolerance(name):
    """qk's table of references (pyiqa's calibration CSV + tolerance dict): every metric states what
    it equals as a :class:`Reference` — implementation, version, a finite tolerance, the images — and
    names the test that proves it. That test (a module-level function) reads the tolerance from the
    registry through ``tolerance()`` instead of writing the figure a second time."""
    import ast

    ref = registry.get(name).reference
    assert isinstance(ref, Reference), f"{name}: reference must be a Reference, not {type(ref).__name__}"
    assert ref.implementation and ref.version and ref.checked_on, ref
    assert ref.tolerance is not None and math.isfinite(ref.tolerance) and ref.tolerance >= 0, ref
    if not registry.get(name).__module__.startswith("qualitykit."):
        return  # a plugin's tests live in its own package
    path, _, function = ref.test.partition("::")
    assert path.startswith("tests/") and function, f"{name}: reference.test must be tests/FILE.py::FUNCTION, got {ref.test!r}"
    tree = ast.parse((ROOT / path).read_text())
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert function in defs, f"{name}: {path} has no function {function}"
    calls = {c.func.id for c in ast.walk(defs[function]) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
    assert "tolerance" in calls, f"{name}: {ref.test} does not read its tolerance from the registry (tolerance(...))"


def test_reference_reads_back_from_a_manifest_and_older_prose_is_kept():
    from qualitykit.metrics.base import Reference

    info = registry.get("psnr").info_for("1")
    assert MetricInfo.from_dict(json.loads(json.dumps(info.to_dict()))) == info
    old = {**info.to_dict(), "reference": "CompressAI 1.2.8 compute_metrics 'psnr-rgb', equal to 1e-9 dB"}
    del old["plot_in_db"]
    read = MetricInfo.from_dict(old)
    assert read.reference == Reference("CompressAI 1.2.8 compute_metrics 'psnr-rgb', equal to 1e-9 dB", "", None, "")
    assert str(read.reference) == old["reference"] and read.plot_in_db is False
    ms = {**registry.get("ms-ssim").info_for("1").to_dict()}
    del ms["plot_in_db"]
    assert MetricInfo.from_dict(ms).plot_in_db is True  # an older manifest: as the metric declares it


def test_readme_metric_table_is_the_generated_one():
    """README's "Metrics and their conventions" table is generated from the references
    (``python -m qualitykit.metrics.table --readme`` rewrites it)."""
    from qualitykit.metrics import table

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert table.readme_with_table(text) == text, "README's metric table is stale: run python -m qualitykit.metrics.table --readme"
    generated = table.markdown()
    for name in registry.names():  # the registered metrics (a made-on-demand pyiqa:NAME has no row)
        cls = registry.get(name)
        if cls.__module__.startswith("qualitykit."):
            assert f"| `{name}`" in generated and cls.reference.summary(cls.unit) in generated


def test_contract_tests_pick_up_an_installed_plugin(tmp_path):
    info = tmp_path / "site" / "qk_fake_metric-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: qk-fake-metric\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[qualitykit.metrics]\nfake-mae = tests.fake_metrics:MeanAbsoluteError\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", str(Path(__file__)), "-k", "fake-mae", "-rA"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    passed = [line for line in done.stdout.splitlines() if line.startswith("PASSED") and "[fake-mae]" in line]
    assert len(passed) == 6, done.stdout[-3000:]
    assert "fake-mae" not in registry.names()  # this process's registry never saw it
