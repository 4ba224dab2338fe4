"""``vif``, ``fsim``, ``nlpd``, ``gmsd``, ``vsi``, ``cw-ssim`` and ``pyiqa:NAME`` equal pyiqa run on the same images.

The reference side is built here, independently of qk's loader: bare package objects for
``pyiqa``, ``pyiqa.utils`` and ``pyiqa.archs`` (their ``__init__`` files import the heavy stack),
then pyiqa's own arch module, default configuration and registry, each metric built as
``create_metric`` builds it and called one pair at a time on what pyiqa's image loader gives it
(torchvision ``to_tensor`` of the RGB image: float32 in [0, 1]), distorted first. qk batches
pairs of one shape; the values must agree to 1e-6.

pyiqa's MATLAB-calibrated official values are checked too, within pyiqa's own tolerance, when its
calibration images are at ``$QK_PYIQA_CALIBRA`` (they are not in the wheel; docs/metrics.md cites them).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from qualitykit.errors import BadInput, UnknownName
from qualitykit.metrics import evaluate, get_metric, registry
from qualitykit.metrics.pyiqa_fr import PYIQA_VERSION

from .conftest import tolerance
from .pyiqa_reference import pyiqa_nets as load_pyiqa_nets

#: qk name → (pyiqa name, arch module)
NAMED = {
    "vif": ("vif", "vif_arch"),
    "fsim": ("fsim", "fsim_arch"),
    "nlpd": ("nlpd", "nlpd_arch"),
    "gmsd": ("gmsd", "gmsd_arch"),
    "vsi": ("vsi", "vsi_arch"),
    "cw-ssim": ("cw_ssim", "ssim_arch"),
}


@pytest.fixture(scope="module")
def pyiqa_nets() -> dict[str, torch.nn.Module]:
    modules = dict.fromkeys([m for _, m in NAMED.values()] + ["mad_arch"])
    return load_pyiqa_nets(modules, [n for n, _ in NAMED.values()] + ["mad"], PYIQA_VERSION)


def pyiqa_score(net: torch.nn.Module, ref: np.ndarray, dist: np.ndarray) -> float:
    from torchvision.transforms.functional import to_tensor

    with torch.no_grad():
        return net(to_tensor(dist.copy())[None], to_tensor(ref.copy())[None]).item()


def _check(nets, names: dict[str, str], pairs) -> dict[str, np.ndarray]:
    ours = evaluate([get_metric(n, device="cpu") for n in names], [p[0] for p in pairs], [p[1] for p in pairs])
    for qk_name, pyiqa_name in names.items():
        assert not isinstance(ours[qk_name], Exception), ours[qk_name]
        for i, (ref, dist) in enumerate(pairs):
            assert ours[qk_name][i] == pytest.approx(pyiqa_score(nets[pyiqa_name], ref, dist), abs=tolerance(qk_name)), (qk_name, i)
        assert len(set(np.round(ours[qk_name], 5))) == len(pairs), qk_name  # the pairs differ; so must the scores
    return ours


@pytest.mark.slow  # the fast tier compares the adapter (pyiqa:mad, pyiqa:gmsd) with pyiqa below
def test_named_metrics_equal_pyiqa_on_photo_crops(pyiqa_nets, photo_pairs) -> None:
    pairs = [(r[:160, :192].copy(), d[:160, :192].copy()) for r, d in photo_pairs[:3]]  # full size: the Kodak test
    ours = _check(pyiqa_nets, {n: p for n, (p, _) in NAMED.items()}, pairs)
    # direction: the q=10 JPEG is the worst of the three pairs on every metric
    for name in NAMED:
        cls = registry.get(name)
        worst = np.argmin(ours[name]) if cls.higher_is_better else np.argmax(ours[name])
        assert worst == 0, (name, ours[name])


def test_adapter_equals_pyiqa_and_takes_pyiqa_metadata(pyiqa_nets, photo_pairs) -> None:
    pairs = [(r[:96, :128].copy(), d[:96, :128].copy()) for r, d in photo_pairs[:3]]
    _check(pyiqa_nets, {"pyiqa:mad": "mad", "pyiqa:gmsd": "gmsd"}, pairs)
    mad, vsi = registry.get("pyiqa:mad"), registry.get("pyiqa:vsi")
    assert (mad.higher_is_better, mad.range) == (False, (0.0, None))  # lower_better; score_range '0, ~inf'
    assert (vsi.higher_is_better, vsi.range) == (True, (0.0, None))  # score_range '0, ~1': a rough end is no bound
    assert get_metric("pyiqa:mad", device="cpu").version == f"1+pyiqa-{PYIQA_VERSION}"


@pytest.mark.slow
def test_named_metrics_equal_pyiqa_on_kodak(pyiqa_nets, kodak_pairs) -> None:
    _check(pyiqa_nets, {n: p for n, (p, _) in NAMED.items()}, kodak_pairs[2:5])  # kodim04 is portrait


def test_identical_images_and_small_images(photo_pairs) -> None:
    ref = photo_pairs[0][0]
    best = {"vif": 1.0, "fsim": 1.0, "nlpd": 0.0, "gmsd": 0.0, "vsi": 1.0, "cw-ssim": 1.0}
    scores = evaluate([get_metric(n, device="cpu") for n in best], [ref], [ref])
    for name, value in best.items():
        assert scores[name][0] == pytest.approx(value, abs=1e-5), name  # float32: VIF gives 0.999997
    small = ref[:40, :50].copy()
    with pytest.raises(BadInput, match="50x40 px; needs at least 64"):
        get_metric("cw-ssim", device="cpu")(small, small)


def test_unknown_and_no_reference_names_are_refused() -> None:
    if importlib.util.find_spec("pyiqa") is None:
        pytest.skip("pyiqa is not installed")
    for name in ("pyiqa:brisque", "pyiqa:no-such-metric"):  # brisque is no-reference
        with pytest.raises(UnknownName, match="unknown pyiqa full-reference metric"):
            registry.get(name)


def test_missing_weights_name_the_file_and_folder(tmp_path, monkeypatch) -> None:
    if importlib.util.find_spec("pyiqa") is None:
        pytest.skip("pyiqa is not installed")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache: nothing to load, nothing downloaded
    why = registry.get("pyiqa:pieapp").available()
    assert why is not None and "PieAPPv0.1-0937b014.pth" in why and str(tmp_path / "hub" / "pyiqa") in why, why
    assert not any(tmp_path.rglob("*.pth"))


#: pyiqa's MATLAB-calibrated official values for its five calibration pairs (I03, I04, I06, I08, I19 of
#: ``ResultsCalibra/{ref_dir,dist_dir}``), from ``ResultsCalibra/results_official.csv`` in
#: github.com/chaofengc/IQA-PyTorch (commit 01ae427f9afd); pyiqa's tests/test_metric_general.py
#: holds its own code to these with ``torch.allclose(atol=1e-2, rtol=1e-2)``.
OFFICIAL = {
    "vif": (0.0172, 0.9891, 0.9924, 0.9103, 0.1745),
    "fsim": (0.689, 0.9702, 0.9927, 0.9575, 0.822),
    "nlpd": (0.561610096893874, 0.019534798560102, 0.015915631543598, 0.302802106557736, 0.432604962261603),
    "gmsd": (0.220347639470143, 0.0005220585050504579, 0.0004482814810014102, 0.134631933046914, 0.204996493556054),
    "vsi": (0.9139, 0.9620, 0.9922, 0.9571, 0.9262),
    "cw-ssim": (0.2763, 0.9996, 1.0, 0.9068, 0.8658),
}


def test_within_pyiqa_tolerance_of_the_official_matlab_values() -> None:
    """The calibration images are not in ../shared (read-only here) nor in the pyiqa wheel; point
    ``QK_PYIQA_CALIBRA`` at a ``ResultsCalibra`` folder of a pyiqa checkout to run this."""
    folder = Path(os.environ.get("QK_PYIQA_CALIBRA", "/nonexistent"))
    if not (folder / "ref_dir" / "I03.bmp").is_file():
        pytest.skip("pyiqa's calibration images not found: set QK_PYIQA_CALIBRA to IQA-PyTorch's ResultsCalibra folder")
    pairs = []
    for image in ("I03", "I04", "I06", "I08", "I19"):
        ref, dist = (np.asarray(Image.open(folder / sub / f"{image}.bmp").convert("RGB")) for sub in ("ref_dir", "dist_dir"))
        pairs.append((ref, dist))
    ours = evaluate([get_metric(n, device="cpu") for n in OFFICIAL], [p[0] for p in pairs], [p[1] for p in pairs])
    for name, official in OFFICIAL.items():
        np.testing.assert_allclose(ours[name], official, atol=1e-2, rtol=1e-2, err_msg=name)
