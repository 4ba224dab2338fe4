"""RGB metrics equal CompressAI's reference computation (``compressai.utils.bench.codecs.compute_metrics``)."""

import numpy as np
import pytest
from PIL import Image

from qualitykit.metrics import evaluate, get_metric
from qualitykit.errors import BadInput
from qualitykit.metrics.psnr import PSNR_CAP_DB

from .conftest import jpeg_roundtrip as jpeg
from .conftest import kodak_or_skip, tolerance


def compressai_reference(ref: np.ndarray, dist: np.ndarray) -> dict[str, float]:
    codecs = pytest.importorskip("compressai.utils.bench.codecs")
    return codecs.compute_metrics(dist, ref, metrics=["psnr-rgb", "ms-ssim-rgb"], max_val=255)


def test_psnr_and_ms_ssim_equal_compressai(astronaut):
    refs = [astronaut, astronaut[:300, :400], astronaut[100:400, 50:250]]
    dists = [jpeg(r, q) for r, q in zip(refs, (10, 40, 80))]
    values = evaluate([get_metric("psnr"), get_metric("ms-ssim", device="cpu")], refs, dists)
    for i, (r, d) in enumerate(zip(refs, dists)):
        expected = compressai_reference(r, d)
        # CompressAI accumulates the MSE in float32, qk in float64: they agree to ~1e-7 dB.
        assert values["psnr"][i] == pytest.approx(expected["psnr-rgb"], abs=tolerance("psnr"))
        assert values["ms-ssim"][i] == pytest.approx(expected["ms-ssim-rgb"], abs=tolerance("ms-ssim"))


def test_on_kodak_too():
    kodak = kodak_or_skip()
    ref = np.asarray(Image.open(kodak / "kodim04.png").convert("RGB"))  # a portrait image
    dist = jpeg(ref, 30)
    expected = compressai_reference(ref, dist)
    assert get_metric("psnr")(ref, dist) == pytest.approx(expected["psnr-rgb"], abs=tolerance("psnr"))
    assert get_metric("ms-ssim", device="cpu")(ref, dist) == pytest.approx(expected["ms-ssim-rgb"], abs=tolerance("ms-ssim"))


def test_ssim_equals_pytorch_msssim_per_image(astronaut):
    import torch
    from pytorch_msssim import ssim

    dist = jpeg(astronaut, 20)
    x = torch.from_numpy(astronaut).permute(2, 0, 1)[None].float()
    y = torch.from_numpy(dist).permute(2, 0, 1)[None].float()
    assert get_metric("ssim", device="cpu")(astronaut, dist) == pytest.approx(ssim(x, y, data_range=255).item(), abs=tolerance("ssim"))


def test_batches_of_mixed_sizes_match_single_pairs(astronaut):
    refs = [astronaut[:200, :300], astronaut[:256, :256], astronaut[200:400, 100:400]]
    dists = [jpeg(r, 25) for r in refs]
    m = get_metric("ms-ssim", device="cpu")
    batched = m.compute(refs, dists)
    single = [m(r, d) for r, d in zip(refs, dists)]
    np.testing.assert_allclose(batched, single, atol=1e-6)


def test_identical_images_give_finite_documented_values(astronaut):
    assert get_metric("psnr")(astronaut, astronaut) == PSNR_CAP_DB
    assert get_metric("ms-ssim", device="cpu")(astronaut, astronaut) == pytest.approx(1.0)


def test_ms_ssim_rejects_small_images_clearly(astronaut):
    small = astronaut[:160, :300]
    with pytest.raises(BadInput, match="300x160 px; needs at least 161"):
        get_metric("ms-ssim", device="cpu")(small, small)
    with pytest.raises(BadInput, match="shapes differ"):
        get_metric("psnr")(astronaut, astronaut[:100])


def test_metric_metadata():
    for name in ("psnr", "ssim", "ms-ssim"):
        m = get_metric(name)
        assert m.higher_is_better and m.version and m.description
