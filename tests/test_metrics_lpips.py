"""LPIPS: qk's preprocessing, batching and backbone loading against ``lpips.LPIPS`` called directly.

No test downloads anything: the ImageNet backbones are not needed (a seeded random
backbone stands in), and ``torch.hub`` downloads are made to fail loudly.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import lpips
import numpy as np
import pytest
import torch

from qualitykit import weights
from qualitykit.metrics import available_metrics, get_metric, registry
from qualitykit.errors import Unavailable
from qualitykit.metrics import lpips as qk_lpips


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(url, *args, **kwargs):
        raise AssertionError(f"a test tried to download {url}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


@pytest.fixture
def empty_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """An empty ``TORCH_HOME`` and no ``QK_WEIGHTS_DIR``: no backbone anywhere."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(weights.ENV, raising=False)
    qk_lpips._shared_model.cache_clear()
    yield tmp_path / "torch"
    qk_lpips._shared_model.cache_clear()


def random_lpips(net: str, seed: int = 0) -> torch.nn.Module:
    """``lpips.LPIPS`` with the shipped v0.1 linear layers and a seeded random backbone."""
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return lpips.LPIPS(pretrained=True, net=net, pnet_rand=True, verbose=False)


def mixed_pairs(photo_pairs):
    """Crops of three kinds of size, interleaved, so that batching must regroup and restore the order."""
    pairs = []
    for i, (r, d) in enumerate(photo_pairs):
        for h, w in ((96, 128), (64 + 8 * i, 96), (48, 40)):  # the middle one is a size of its own each
            pairs.append((r[:h, :w].copy(), d[:h, :w].copy()))
    return pairs


def direct(model: torch.nn.Module, ref: np.ndarray, dist: np.ndarray) -> float:
    """One pair through ``lpips`` itself, with its own [-1, 1] conversion (``lpips.im2tensor``)."""
    with torch.no_grad():
        return float(model(lpips.im2tensor(ref), lpips.im2tensor(dist)).item())


@pytest.mark.parametrize(("name", "net"), [("lpips", "alex"), ("lpips-vgg", "vgg")])
def test_equals_lpips_called_directly(photo_pairs, name: str, net: str) -> None:
    model = random_lpips(net)
    metric = registry.get(name)(device="cpu", model=model)
    pairs = mixed_pairs(photo_pairs)
    ours = metric.compute([p[0] for p in pairs], [p[1] for p in pairs])
    expected = [direct(model, r, d) for r, d in pairs]
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)
    assert ours.dtype == np.float64 and len(set(np.round(ours, 5))) > len(pairs) // 2
    assert metric(pairs[0][0], pairs[0][0]) == 0.0
    assert metric.version.endswith("+custom") and not metric.higher_is_better


def test_batches_are_split_by_pixel_budget(photo_pairs, monkeypatch: pytest.MonkeyPatch) -> None:
    model = random_lpips("alex")
    metric = qk_lpips.LPIPSAlex(device="cpu", model=model)
    refs, dists = [p[0] for p in photo_pairs], [p[1] for p in photo_pairs]
    whole = metric.compute(refs, dists)
    monkeypatch.setattr(qk_lpips.LPIPSAlex, "batch_pixels", 2 * 288 * 384)  # 5 pairs -> batches of 2, 2, 1
    np.testing.assert_allclose(metric.compute(refs, dists), whole, rtol=1e-5, atol=1e-6)


def test_missing_backbone_is_unavailable_with_instructions(empty_cache: Path) -> None:
    checkpoints = empty_cache / "hub" / "checkpoints"
    for name, backbone in (("lpips", qk_lpips.BACKBONES["alex"]), ("lpips-vgg", qk_lpips.BACKBONES["vgg"])):
        why = registry.get(name).available()
        assert why is not None
        for part in (backbone.filename, backbone.url, str(checkpoints), weights.ENV, "qk weights --download"):
            assert part in why
        with pytest.raises(Unavailable, match=backbone.filename):
            get_metric(name)
    report = available_metrics()
    assert report["lpips"] and report["psnr"] is None and report["ssim"] is None


def test_backbone_from_cache_matches_lpips_loading_it(empty_cache: Path, photo_pairs) -> None:
    """A (seeded random) torchvision AlexNet file in the hub cache: qk's loader and lpips's own
    (torchvision reading the cached file) must build the same network."""
    import torchvision

    checkpoints = empty_cache / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.manual_seed(1)
    torch.save(torchvision.models.alexnet().state_dict(), checkpoints / qk_lpips.BACKBONES["alex"].filename)
    assert registry.get("lpips").available() is None
    metric = get_metric("lpips", device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reference = lpips.LPIPS(net="alex", verbose=False)  # torchvision finds the cached file: no download
    pairs = photo_pairs[:3]
    ours = metric.compute([p[0] for p in pairs], [p[1] for p in pairs])
    np.testing.assert_allclose(ours, [direct(reference, r, d) for r, d in pairs], rtol=1e-5, atol=1e-6)
    assert metric.version == f"1+lpips-{version('lpips')}-v0.1+{qk_lpips.BACKBONES['alex'].filename}"


def test_one_model_per_process(empty_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision

    monkeypatch.setenv(weights.ENV, str(empty_cache / "elsewhere"))
    (empty_cache / "elsewhere").mkdir(parents=True)
    torch.save(torchvision.models.alexnet().state_dict(), empty_cache / "elsewhere" / "alexnet-owt-7be5be79.pth")
    builds = []
    real = qk_lpips.build_lpips
    monkeypatch.setattr(qk_lpips, "build_lpips", lambda net: builds.append(net) or real(net))
    image = np.zeros((64, 64, 3), np.uint8)
    for _ in range(3):
        get_metric("lpips", device="cpu")(image, image)
    assert builds == ["alex"]


def test_real_imagenet_weights_match_lpips(photo_pairs) -> None:
    """With torchvision's real AlexNet file cached (``qk weights --download``), qk equals lpips's own model."""
    backbone = qk_lpips.BACKBONES["alex"]
    if weights.locate(backbone) is None:
        pytest.skip(f"{backbone.filename} is not cached here: {weights.missing_message(backbone)}")
    ref, dist = photo_pairs[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reference = lpips.LPIPS(net="alex", verbose=False)
    assert get_metric("lpips", device="cpu")(ref, dist) == pytest.approx(direct(reference, ref, dist), rel=1e-5)


def test_unreadable_backbone_file_names_it(empty_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    supplied = empty_cache.parent / "offline"
    supplied.mkdir()
    (supplied / "alexnet-owt-7be5be79.pth").write_bytes(b"truncated")
    monkeypatch.setenv(weights.ENV, str(supplied))
    image = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(Unavailable, match=r"offline/alexnet-owt-7be5be79\.pth is not torchvision's"):
        get_metric("lpips", device="cpu")(image, image)
