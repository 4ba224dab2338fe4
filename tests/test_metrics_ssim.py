"""SSIM and MS-SSIM: qk's fused, strip-wise computation against ``pytorch_msssim`` called directly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorch_msssim import ms_ssim, ssim

from qualitykit.errors import BadInput
from qualitykit.metrics import evaluate, get_metric
from qualitykit.metrics import ssim as qk_ssim

from .conftest import jpeg_roundtrip as jpeg

TOL = 1e-6


def reference(ref: np.ndarray, dist: np.ndarray, multiscale: bool = True) -> tuple[float, float | None]:
    """``pytorch_msssim.ssim`` and ``ms_ssim`` (data_range=255, their defaults) on one pair."""
    x, y = (torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].float() for a in (ref, dist))
    with torch.no_grad():
        s = ssim(x, y, data_range=255, size_average=False).item()
        m = ms_ssim(x, y, data_range=255, size_average=False).item() if multiscale else None
    return s, m


def photographic(height: int, width: int, photo: np.ndarray) -> np.ndarray:
    """A ``height × width`` image tiled from mirrored copies of a photograph (real image statistics, any size)."""
    tile = np.concatenate([photo, photo[::-1]], axis=0)
    tile = np.concatenate([tile, tile[:, ::-1]], axis=1)
    reps = (-(-height // tile.shape[0]), -(-width // tile.shape[1]), 1)
    return np.ascontiguousarray(np.tile(tile, reps)[:height, :width])


@pytest.fixture(scope="module")
def kodak_reference(kodak_pairs) -> np.ndarray:
    """``pytorch_msssim``'s (SSIM, MS-SSIM) of every Kodak pair, computed once for both backends' tests."""
    return np.array([reference(r, d) for r, d in kodak_pairs])


@pytest.mark.slow
def test_equals_pytorch_msssim_on_kodak(kodak_pairs, kodak_reference) -> None:
    refs, dists = [p[0] for p in kodak_pairs], [p[1] for p in kodak_pairs]
    values = evaluate([get_metric("ssim", device="cpu"), get_metric("ms-ssim", device="cpu")], refs, dists)
    expected = kodak_reference
    assert np.abs(values["ssim"] - expected[:, 0]).max() <= TOL
    assert np.abs(values["ms-ssim"] - expected[:, 1]).max() <= TOL
    assert len(set(np.round(values["ssim"], 4))) > 20  # really different pairs


@pytest.mark.slow
def test_numpy_backend_equals_pytorch_msssim_on_kodak(kodak_pairs, kodak_reference) -> None:
    """The core install's path (no PyTorch): the same references, the same tolerance."""
    got = np.array([qk_ssim.ssim_family(r, d, backend="numpy") for r, d in kodak_pairs])
    assert np.abs(got - kodak_reference).max() <= TOL


@pytest.mark.parametrize("backend", ["torch", "numpy"])
@pytest.mark.parametrize(
    ("height", "width"),
    [(161, 161), (163, 251), (200, 333), (255, 171), (322, 161), (512, 383), (14, 57), (97, 160), (100, 12)],
)
def test_equals_pytorch_msssim_on_odd_sizes(astronaut, height: int, width: int, backend: str) -> None:
    """Odd sides pool with pytorch_msssim's zero padding at every scale; SSIM alone on small images too.
    Both backends: PyTorch (where installed) and numpy (the core install)."""
    ref = astronaut[37 : 37 + height, 101 : 101 + width]
    dist = jpeg(ref, 20)
    multiscale = min(height, width) > 160
    exp_ssim, exp_ms = reference(ref, dist, multiscale)
    got_ssim, got_ms = qk_ssim.ssim_family(ref, dist, ms_ssim=multiscale, backend=backend)
    assert got_ssim == pytest.approx(exp_ssim, abs=TOL)
    if multiscale:
        assert got_ms == pytest.approx(exp_ms, abs=TOL)


@pytest.mark.parametrize(("height", "width"), [(11, 11), (12, 57), (13, 60), (100, 11)])
def test_tiny_images_agree_to_float32_noise(astronaut, height: int, width: int) -> None:
    """With ≤ 3 output rows (or 1 column) oneDNN runs pytorch_msssim's blur in another summation
    order; a handful of pixels average nothing away, and both sit ~1e-5 from a float64 computation."""
    ref = astronaut[37 : 37 + height, 101 : 101 + width]
    dist = jpeg(ref, 20)
    assert qk_ssim.ssim_family(ref, dist, ms_ssim=False)[0] == pytest.approx(reference(ref, dist, False)[0], abs=5e-5)


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_strip_height_changes_nothing(astronaut, backend: str) -> None:
    """Strips of 8 output rows, of one odd height, and the whole image in one strip agree to float noise."""
    ref = astronaut[:371, :453]
    dist = jpeg(ref, 15)
    whole = qk_ssim.ssim_family(ref, dist, strip_pixels=1 << 30, backend=backend)
    for strip_pixels in (1, 37 * 443, 100_000):
        got = qk_ssim.ssim_family(ref, dist, strip_pixels=strip_pixels, backend=backend)
        assert got == pytest.approx(whole, abs=1e-7)


def test_numpy_and_torch_backends_agree(astronaut) -> None:
    """The numpy path emulates PyTorch's fused multiply-adds: the same values to float noise (often the same bits)."""
    for crop, q in ((astronaut[:300, :301], 30), (astronaut[50:400, 20:500], 70)):
        dist = jpeg(crop, q)
        torch_values = qk_ssim.ssim_family(crop, dist, backend="torch")
        assert qk_ssim.ssim_family(crop, dist, backend="numpy") == pytest.approx(torch_values, abs=1e-7)


@pytest.mark.slow
def test_large_image_in_strips_equals_pytorch_msssim_whole(astronaut) -> None:
    """A 2048×1536 photograph-like image: qk's strips (bounded memory) against pytorch_msssim on the whole image."""
    ref = photographic(1536, 2048, astronaut)
    dist = jpeg(ref, 30)
    exp_ssim, exp_ms = reference(ref, dist)
    got_ssim, got_ms = qk_ssim.ssim_family(ref, dist)
    assert got_ssim == pytest.approx(exp_ssim, abs=TOL)
    assert got_ms == pytest.approx(exp_ms, abs=TOL)
    # and strips ten times taller give the same values
    taller = qk_ssim.ssim_family(ref, dist, strip_pixels=10 * qk_ssim.STRIP_PIXELS)
    assert taller == pytest.approx((got_ssim, got_ms), abs=1e-7)


def test_family_shares_one_pass_and_equals_separate(astronaut, monkeypatch: pytest.MonkeyPatch) -> None:
    refs = [astronaut[:300, :400], astronaut[100:400, 50:250], astronaut[:300, :400]]
    dists = [jpeg(refs[0], 10), jpeg(refs[1], 40), jpeg(refs[2], 80)]
    m_ssim, m_ms = get_metric("ssim", device="cpu"), get_metric("ms-ssim", device="cpu")
    separate = {"ssim": m_ssim.compute(refs, dists), "ms-ssim": m_ms.compute(refs, dists)}
    calls = []
    real = qk_ssim.ssim_family
    monkeypatch.setattr(qk_ssim, "ssim_family", lambda *a, **k: calls.append(k) or real(*a, **k))
    together = evaluate([m_ssim, m_ms], refs, dists)
    assert len(calls) == len(refs) and all(k["ssim"] and k["ms_ssim"] for k in calls)  # one pass per pair
    for name, values in separate.items():
        np.testing.assert_allclose(together[name], values, rtol=0, atol=1e-12)


def test_batch_equals_one_by_one(astronaut) -> None:
    refs = [astronaut[:200, :300], astronaut[:256, :256], astronaut[200:400, 100:400], astronaut[:256, :256]]
    dists = [jpeg(r, q) for r, q in zip(refs, (10, 25, 50, 90))]
    for name in ("ssim", "ms-ssim"):
        m = get_metric(name, device="cpu")
        batched = m.compute(refs, dists)
        np.testing.assert_allclose(batched, [m(r, d) for r, d in zip(refs, dists)], rtol=0, atol=1e-12)
        assert batched.dtype == np.float64 and len(set(batched)) == 4


def test_too_small_for_ms_ssim_still_gets_ssim(astronaut) -> None:
    ref = astronaut[:150, :300]
    values = evaluate([get_metric("ssim", device="cpu"), get_metric("ms-ssim", device="cpu")], [ref], [jpeg(ref, 30)])
    assert isinstance(values["ms-ssim"], BadInput) and "needs at least 161" in str(values["ms-ssim"])
    assert values["ssim"][0] == pytest.approx(reference(ref, jpeg(ref, 30), multiscale=False)[0], abs=TOL)


def test_window_is_pytorch_msssims_bit_for_bit() -> None:
    """qk builds the Gaussian without PyTorch; its float32 taps must be the reference's exactly."""
    from pytorch_msssim.ssim import _fspecial_gauss_1d

    expected = _fspecial_gauss_1d(qk_ssim.WIN_SIZE, qk_ssim.WIN_SIGMA).flatten().numpy()
    assert np.array_equal(qk_ssim._window(), expected)


def test_identical_images_give_one(astronaut) -> None:
    s, m = qk_ssim.ssim_family(astronaut, astronaut)
    assert s == pytest.approx(1.0, abs=1e-6) and m == pytest.approx(1.0, abs=1e-6)


def test_same_bits_for_every_torch_thread_count(astronaut) -> None:
    """Scores must not depend on the worker's thread count (the cache does not key on it): every
    step computes each value the same way however torch splits the work (MKL's batched matrix
    products, once used for the vertical blur, did not)."""
    crops = [astronaut[:176, :200], astronaut[:300, :301]]
    pairs = [(c, jpeg(c, q)) for c, q in zip(crops, (30, 70))]
    before = torch.get_num_threads()
    try:
        results = set()
        for threads in (1, 2, 3, 4):
            torch.set_num_threads(threads)
            results.add(tuple(qk_ssim.ssim_family(r, d) for r, d in pairs))
    finally:
        torch.set_num_threads(before)
    assert len(results) == 1
