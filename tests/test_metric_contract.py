"""The metric contract, checked for every registered metric (built-in or plugin).

A metric that cannot run here is skipped with the reason it gave, so ``pytest -ra`` lists what
was not checked and why. Entry-point plugins are included: the registry scans them when this
module is collected (:func:`test_contract_tests_pick_up_an_installed_plugin` installs one and
runs this file again).
"""

from __future__ import annotations

import io
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
from qualitykit.metrics.base import MetricInfo

from .conftest import WEIGHTS

ROOT = Path(__file__).resolve().parents[1]
NAMES = registry.names()


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
    assert cls.unit in ("", "dB") and cls.description and cls.reference, "describe the convention and what it equals"
    assert cls.saturation is None or (lo is None or lo <= cls.saturation) and (hi is None or cls.saturation <= hi)
    assert isinstance(cls.min_side, int) and cls.min_side >= 1 and cls.memory_per_pixel > 0
    m = metric(name)
    info = m.info()
    assert info.version and info.name == name
    assert MetricInfo.from_dict(info.to_dict()) == info  # what a manifest records reads back the same


@pytest.mark.parametrize("name", NAMES)
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


@pytest.mark.parametrize("name", NAMES)
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


def test_contract_tests_pick_up_an_installed_plugin(tmp_path):
    info = tmp_path / "site" / "qk_fake_metric-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: qk-fake-metric\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[qualitykit.metrics]\nfake-mae = tests.fake_metrics:MeanAbsoluteError\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(Path(__file__)), "-k", "fake-mae", "-rA"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    passed = [line for line in done.stdout.splitlines() if line.startswith("PASSED") and "[fake-mae]" in line]
    assert len(passed) == 4, done.stdout[-3000:]
    assert "fake-mae" not in registry.names()  # this process's registry never saw it
