"""``ssim-pyiqa`` and ``ms-ssim-pyiqa`` equal pyiqa's default ``ssim`` and ``ms_ssim`` run on the same images.

pyiqa is installed without its dependencies (``pip install --no-deps pyiqa==0.1.16``, as ``.ci/run``
does): ``import pyiqa`` pulls OpenCV, transformers, timm and more, and its requirements would move
numpy to 2.x. Its SSIM module needs only torch, numpy and scipy, so the test registers bare package
objects for ``pyiqa``, ``pyiqa.utils`` and ``pyiqa.archs`` (their ``__init__`` files are what import
the heavy stack) and then imports pyiqa's own ``ssim_arch``, default configurations and registry,
building each metric exactly as ``create_metric`` does: the ``metric_opts`` of its default config.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from qualitykit.errors import BadInput
from qualitykit.metrics import evaluate, get_metric
from qualitykit.metrics.pyiqa_ssim import PYIQA_VERSION

from .conftest import tolerance


@pytest.fixture(scope="module")
def pyiqa_nets() -> dict[str, torch.nn.Module]:
    spec = importlib.util.find_spec("pyiqa")
    if spec is None or spec.origin is None:
        pytest.skip("pyiqa is not installed: pip install --no-deps pyiqa==0.1.16 (.ci/run does)")
    root = Path(spec.origin).parent
    saved = {k: v for k, v in sys.modules.items() if k == "pyiqa" or k.startswith("pyiqa.")}
    for name, folder in (("pyiqa", root), ("pyiqa.utils", root / "utils"), ("pyiqa.archs", root / "archs")):
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]
        sys.modules[name] = package
    try:
        importlib.import_module("pyiqa.archs.ssim_arch")  # registers SSIM and MS_SSIM
        configs = importlib.import_module("pyiqa.default_model_configs").DEFAULT_CONFIGS
        registry = importlib.import_module("pyiqa.utils.registry").ARCH_REGISTRY
        version = (root / "version.py").read_text()
    finally:
        for name in [k for k in sys.modules if k == "pyiqa" or k.startswith("pyiqa.")]:
            del sys.modules[name]
        sys.modules.update(saved)
    assert f"__version__ = version = '{PYIQA_VERSION}'" in version, "qk reproduces pyiqa " + PYIQA_VERSION
    nets = {}
    for name in ("ssim", "ms_ssim"):
        options = dict(configs[name]["metric_opts"])
        nets[name] = registry.get(options.pop("type"))(**options).eval()
    return nets


def pyiqa_scores(nets, ref: np.ndarray, dist: np.ndarray) -> dict[str, float]:
    """pyiqa on one pair: RGB in [0, 1] float32 as its image loader (torchvision ``to_tensor``) gives it."""
    from torchvision.transforms.functional import to_tensor

    x, y = to_tensor(dist.copy())[None], to_tensor(ref.copy())[None]
    with torch.no_grad():
        return {"ssim-pyiqa": nets["ssim"](x, y).item(), "ms-ssim-pyiqa": nets["ms_ssim"](x, y).item()}


def _check(nets, pairs) -> None:
    names = ["ssim-pyiqa", "ms-ssim-pyiqa"]
    ours = evaluate([get_metric(n, device="cpu") for n in names], [p[0] for p in pairs], [p[1] for p in pairs])
    for i, (ref, dist) in enumerate(pairs):
        expected = pyiqa_scores(nets, ref, dist)
        for name in names:
            assert ours[name][i] == pytest.approx(expected[name], abs=tolerance(name)), (name, i)
    assert len(set(np.round(ours["ssim-pyiqa"], 6))) == len(pairs)


def test_equal_to_pyiqa_on_photos_of_even_and_odd_sizes(pyiqa_nets, photo_pairs) -> None:
    pairs = [*photo_pairs, *((r[:171, :201].copy(), d[:171, :201].copy()) for r, d in photo_pairs[:2])]
    _check(pyiqa_nets, pairs)  # 201×171: MS-SSIM pads odd sides at every scale


@pytest.mark.slow
def test_equal_to_pyiqa_on_kodak(pyiqa_nets, kodak_pairs) -> None:
    _check(pyiqa_nets, kodak_pairs[:8])  # kodim04 is portrait: two batches. pyiqa takes ~7 s per pair here


def test_not_pytorch_msssim_and_not_ffmpeg_luma(photo_pairs) -> None:
    """The three SSIM conventions qk offers give different numbers on the same pair."""
    ref, dist = photo_pairs[1]
    values = {n: get_metric(n, device="cpu")(ref, dist) for n in ("ssim", "ssim-pyiqa", "ssim-y")}
    assert len({round(v, 4) for v in values.values()}) == 3, values


def test_identical_images_and_small_images(photo_pairs) -> None:
    ref = photo_pairs[0][0]
    assert get_metric("ssim-pyiqa", device="cpu")(ref, ref) == pytest.approx(1.0, abs=1e-12)
    assert get_metric("ms-ssim-pyiqa", device="cpu")(ref, ref) == pytest.approx(1.0, abs=1e-12)
    small = ref[:160, :200].copy()
    with pytest.raises(BadInput, match="200x160 px; needs at least 161"):
        get_metric("ms-ssim-pyiqa", device="cpu")(small, small)
