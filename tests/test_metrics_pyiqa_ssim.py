"""``ssim-pyiqa`` and ``ms-ssim-pyiqa`` equal pyiqa's default ``ssim`` and ``ms_ssim`` run on the same images.

pyiqa's own ``ssim_arch`` builds them as ``create_metric`` does, without pyiqa's heavy package
``__init__`` (:mod:`tests.pyiqa_reference`).
"""

from __future__ import annotations


import numpy as np
import pytest
import torch

from qualitykit.errors import BadInput
from qualitykit.metrics import evaluate, get_metric
from qualitykit.metrics.pyiqa_ssim import PYIQA_VERSION

from .conftest import tolerance
from .pyiqa_reference import pyiqa_nets as load_pyiqa_nets


@pytest.fixture(scope="module")
def pyiqa_nets() -> dict[str, torch.nn.Module]:
    return load_pyiqa_nets(["ssim_arch"], ("ssim", "ms_ssim"), PYIQA_VERSION)  # ssim_arch registers SSIM and MS_SSIM


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
