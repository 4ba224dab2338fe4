"""LPIPS compute path (``qualitykit.metrics._lpips_compute``): equal to ``lpips.LPIPS`` called directly,
tiled equal to untiled, and the tile plan exact by construction.

Backbones: the ImageNet features of ``../shared/weights`` when present (realistic activations),
else a seeded random backbone; lpips's own v0.1 linear layers either way. Nothing is downloaded.
"""

from __future__ import annotations

import itertools
import os
import warnings

import lpips
import numpy as np
import pytest
import torch

from qualitykit.metrics import registry
from qualitykit.metrics import _lpips_compute as fast

from .conftest import SHARED
from .conftest import jpeg_roundtrip as jpeg

FEATURES = {"alex": "alexnet-features-imagenet1k-v1.pth", "vgg": "vgg16-features-imagenet1k-v1.pth"}
NAMES = {"alex": "lpips", "vgg": "lpips-vgg"}


def model_for(net: str, **kwargs) -> torch.nn.Module:
    """``lpips.LPIPS`` v0.1 with the shared ImageNet features when present, else a seeded random backbone."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(pretrained=True, net=net, pnet_rand=True, verbose=False, **kwargs)
    path = SHARED / "weights" / FEATURES[net]
    if path.is_file():
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.net.load_state_dict({k: state[k.split(".", 1)[1]] for k in model.net.state_dict()})
    return model.eval()


def direct(model: torch.nn.Module, ref: np.ndarray, dist: np.ndarray) -> float:
    with torch.no_grad():
        return float(model(lpips.im2tensor(ref), lpips.im2tensor(dist)).item())


def photographic(height: int, width: int, photo: np.ndarray) -> np.ndarray:
    tile = np.concatenate([photo, photo[::-1]], axis=0)
    tile = np.concatenate([tile, tile[:, ::-1]], axis=1)
    reps = (-(-height // tile.shape[0]), -(-width // tile.shape[1]), 1)
    return np.ascontiguousarray(np.tile(tile, reps)[:height, :width])


@pytest.fixture(scope="module")
def alex() -> torch.nn.Module:
    return model_for("alex")


def test_input_table_is_lpips_preprocessing(alex, astronaut) -> None:
    """The lookup table gives, bit for bit, ``ScalingLayer(lpips.im2tensor(image))``."""
    image = astronaut[:64, :80]
    with torch.no_grad():
        expected = alex.scaling_layer(lpips.im2tensor(image))
    got = fast.to_input([image], fast.input_table(alex), "cpu")
    assert torch.equal(got, expected)


@pytest.mark.slow
def test_equals_lpips_on_kodak(alex, kodak_pairs) -> None:
    metric = registry.get("lpips")(device="cpu", model=alex)
    ours = metric.compute([p[0] for p in kodak_pairs], [p[1] for p in kodak_pairs])
    expected = np.array([direct(alex, r, d) for r, d in kodak_pairs])
    assert np.abs(ours - expected).max() <= 1e-6
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=0)


@pytest.mark.slow
def test_vgg_equals_lpips_on_kodak(kodak_pairs) -> None:
    model = model_for("vgg")
    pairs = kodak_pairs[:1]  # VGG16 costs seconds per Kodak pair
    ours = registry.get("lpips-vgg")(device="cpu", model=model).compute([p[0] for p in pairs], [p[1] for p in pairs])
    np.testing.assert_allclose(ours, [direct(model, r, d) for r, d in pairs], rtol=1e-6, atol=0)


def test_batch_equals_one_by_one(alex, photo_pairs) -> None:
    metric = registry.get("lpips")(device="cpu", model=alex)
    sizes = [(96, 128), (64, 64), (96, 128), (64, 64), (40, 200)]
    pairs = [(r[:h, :w], d[:h, :w]) for (r, d), (h, w) in zip(photo_pairs, sizes)]
    batched = metric.compute([p[0] for p in pairs], [p[1] for p in pairs])
    np.testing.assert_allclose(batched, [metric(r, d) for r, d in pairs], rtol=1e-6, atol=0)
    np.testing.assert_allclose(batched, [direct(alex, r, d) for r, d in pairs], rtol=1e-6, atol=0)


def test_each_reference_runs_once_for_all_its_distorted_images(alex, photo_pairs, monkeypatch) -> None:
    """References shared by several pairs (the same array object, as the runner passes a ladder)
    run through the backbone once, kept across batches, mixed with other references in a batch;
    every value still equals lpips's own."""
    a, b, c = (r[:96, :128].copy() for r, _ in photo_pairs[:3])
    refs = [a, a, b, a, c, c, b]
    dists = [jpeg(r, q) for r, q in zip(refs, (10, 30, 20, 60, 15, 40, 80))]
    metric = registry.get("lpips")(device="cpu", model=alex)
    monkeypatch.setattr(type(metric), "batch_pixels", 2 * 96 * 128)  # batches: (a, a), (a, b), (b, c), (c)
    runs = []
    real = fast.reference_features
    monkeypatch.setattr(fast, "reference_features", lambda model, x: runs.append(x.shape[0]) or real(model, x))
    ours = metric.compute(refs, dists)
    np.testing.assert_allclose(ours, [direct(alex, r, d) for r, d in zip(refs, dists)], rtol=1e-6, atol=0)
    assert sum(runs) == 3, f"references through the backbone: {runs}"


def test_tiles_of_a_reference_run_once_for_all_its_distorted_images(alex, astronaut, monkeypatch) -> None:
    ref = photographic(517, 803, astronaut)
    dists = [jpeg(ref, q) for q in (20, 50, 80)]
    cls = registry.get("lpips")
    metric = cls(device="cpu", model=alex)
    monkeypatch.setattr(cls, "tile_above", 10**12)
    whole = [metric(ref, d) for d in dists]
    monkeypatch.setattr(cls, "tile_above", 0)
    monkeypatch.setattr(cls, "tile_core", 256)
    runs = []
    real = fast.reference_features
    monkeypatch.setattr(fast, "reference_features", lambda model, x: runs.append(x.shape[0]) or real(model, x))
    np.testing.assert_allclose(metric.compute([ref] * 3, dists), whole, rtol=1e-6, atol=0)
    assert len(runs) == len(list(fast.tiles(517, 803, 256, alex))) == 12


def tiled_and_untiled(name: str, model: torch.nn.Module, ref: np.ndarray, dist: np.ndarray, core: int,
                      monkeypatch: pytest.MonkeyPatch) -> tuple[float, float]:  # fmt: skip
    cls = registry.get(name)
    metric = cls(device="cpu", model=model)
    monkeypatch.setattr(cls, "tile_above", 10**12)
    whole = metric(ref, dist)
    monkeypatch.setattr(cls, "tile_above", 0)
    monkeypatch.setattr(cls, "tile_core", core)
    return metric(ref, dist), whole


@pytest.mark.parametrize(
    ("height", "width", "core"),
    [(1000, 1400, 512), (517, 803, 256), (300, 1500, 256)],
)
@pytest.mark.slow  # the fast tier: the 517x803 tiling in test_tiles_of_a_reference_run_once_for_all_its_distorted_images
def test_tiled_equals_untiled(alex, astronaut, monkeypatch, height: int, width: int, core: int) -> None:
    """Tiles of a photograph-like image, with small last tiles and odd sizes: the untiled value to 1e-6."""
    ref = photographic(height, width, astronaut)
    dist = jpeg(ref, 30)
    tiled, whole = tiled_and_untiled("lpips", alex, ref, dist, core, monkeypatch)
    assert tiled == pytest.approx(whole, rel=1e-6)
    assert len(list(fast.tiles(height, width, core, alex))) > 4


@pytest.mark.slow
def test_vgg_tiled_equals_untiled(astronaut, monkeypatch) -> None:
    model = model_for("vgg")
    ref = photographic(300, 330, astronaut)
    dist = jpeg(ref, 30)
    tiled, whole = tiled_and_untiled("lpips-vgg", model, ref, dist, 176, monkeypatch)
    assert tiled == pytest.approx(whole, rel=1e-6)
    assert len(list(fast.tiles(300, 330, 176, model))) == 4


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_tile_plan_partitions_every_layer_and_stays_inside_its_tile(net: str) -> None:
    """For every layer the tiles' owned outputs partition the map, each owned output's receptive
    field lies inside its tile (or reaches only past a true image border), tiles start on the stride."""
    model = model_for(net) if net == "vgg" else model_for("alex")
    layers = fast.geometry(model)
    assert layers is not None and layers[-1].stride == 16 and fast.margin(layers) == 96
    for size in (33, 160, 161, 500, 1023, 1024, 1025, 3001):
        for core in (64, 256, 1000):
            sizes = fast.output_sizes(model, size)
            spans = fast.spans(size, core, layers, sizes)
            for k, (ly, n) in enumerate(zip(layers, sizes)):
                owned = [s.owned[k] for s in spans]
                assert owned[0][0] == 0 and owned[-1][1] == n
                assert all(a[1] == b[0] for a, b in itertools.pairwise(owned))  # contiguous, disjoint
                for s, (first, last) in zip(spans, owned):
                    assert s.start % 16 == 0
                    if first < last:
                        lo, hi = ly.stride * first + ly.offset, ly.stride * (last - 1) + ly.offset + ly.field
                        assert lo >= s.start or s.start == 0
                        assert hi <= s.stop or s.stop == size


def test_models_it_does_not_reproduce_run_as_they_are(photo_pairs) -> None:
    """An lpips model without linear heads (``lpips=False``) is run through its own forward."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(pretrained=False, net="alex", lpips=False, pnet_rand=True, verbose=False)
    assert not fast.supported(model)
    metric = registry.get("lpips")(device="cpu", model=model)
    ref, dist = photo_pairs[1]
    assert metric(ref, dist) == pytest.approx(direct(model, ref, dist), rel=1e-6)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through /proc")
def test_one_torch_thread_starts_no_thread(alex, astronaut) -> None:
    """With ``torch.set_num_threads(1)`` (the runner's setting for N workers on N cores) the torch
    metrics start no thread of their own: no OpenMP/MKL pool, no inter-op pool."""
    from qualitykit.metrics import evaluate, get_metric

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        metrics = [get_metric("ssim", device="cpu"), get_metric("ms-ssim", device="cpu")]
        metrics.append(registry.get("lpips")(device="cpu", model=alex))
        ref, dist = astronaut[:300, :300], jpeg(astronaut[:300, :300], 30)
        threads = len(os.listdir("/proc/self/task"))
        evaluate(metrics, [ref], [dist])
        assert len(os.listdir("/proc/self/task")) == threads
    finally:
        torch.set_num_threads(before)
