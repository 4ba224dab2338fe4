"""LPIPS: qk's preprocessing, batching and backbone loading against ``lpips.LPIPS`` called directly.

Nothing downloads (conftest refuses it). Batching and preprocessing use a seeded random backbone;
the real ImageNet backbones come from ``../shared/weights`` (features-only files, recognised by the
content of their tensors), and the reference builds ``lpips.LPIPS`` its own way from the same file.
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
import torchvision

from qualitykit import assets
from qualitykit.errors import Unavailable
from qualitykit.metrics import available_metrics, get_metric, registry
from qualitykit.metrics import lpips as qk_lpips

from .conftest import tolerance

FEATURE_FILES = {"alex": "alexnet-features-imagenet1k-v1.pth", "vgg": "vgg16-features-imagenet1k-v1.pth"}


@pytest.fixture(autouse=True)
def fresh_models() -> Iterator[None]:
    qk_lpips._shared_model.cache_clear()
    yield
    qk_lpips._shared_model.cache_clear()


@pytest.fixture
def empty_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty ``TORCH_HOME`` and no ``QK_WEIGHTS_DIR``: no backbone anywhere."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(assets.ENV, raising=False)
    return tmp_path / "torch"


def random_lpips(net: str, seed: int = 0) -> torch.nn.Module:
    """``lpips.LPIPS`` with the shipped v0.1 linear layers and a seeded random backbone."""
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return lpips.LPIPS(pretrained=True, net=net, pnet_rand=True, verbose=False)


def reference_lpips(net: str, weights_dir: Path, monkeypatch: pytest.MonkeyPatch) -> torch.nn.Module:
    """``lpips.LPIPS(net=…)`` as a user builds it, with torchvision's constructor loading the
    features-only file the documented way (``features.load_state_dict(..., strict=True)``)."""
    arch = {"alex": "alexnet", "vgg": "vgg16"}[net]
    real = getattr(torchvision.models, arch)

    def pretrained(*args, **kwargs):
        model = real(weights=None)
        state = torch.load(weights_dir / FEATURE_FILES[net], map_location="cpu", weights_only=True)
        model.features.load_state_dict(state, strict=True)
        return model

    with monkeypatch.context() as m, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        m.setattr(torchvision.models, arch, pretrained)
        return lpips.LPIPS(net=net, version="0.1", verbose=False)


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


@pytest.mark.parametrize(("name", "net"), [("lpips", "alex"), pytest.param("lpips-vgg", "vgg", marks=pytest.mark.slow)])
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
        for part in (backbone.filename, backbone.url, str(checkpoints), assets.ENV, f"qk weights --download {backbone.name}"):
            assert part in why
        with pytest.raises(Unavailable, match=backbone.filename):
            get_metric(name)
    report = available_metrics()
    assert report["lpips"] and report["psnr"] is None and report["ssim"] is None


@pytest.mark.slow
@pytest.mark.parametrize(("name", "net", "picks"), [("lpips", "alex", range(8)), ("lpips-vgg", "vgg", (0, 3))])
def test_shared_imagenet_backbones_equal_lpips_on_kodak(shared_weights, kodak_pairs, monkeypatch, name, net, picks):
    """The real backbones from ../shared/weights: qk equals ``lpips.LPIPS`` on Kodak (kodim04 is portrait)."""
    pairs = [kodak_pairs[i] for i in picks]
    assert registry.get(name).available() is None
    metric = get_metric(name, device="cpu")
    ours = metric.compute([p[0] for p in pairs], [p[1] for p in pairs])
    reference = reference_lpips(net, shared_weights, monkeypatch)
    np.testing.assert_allclose(ours, [direct(reference, r, d) for r, d in pairs], rtol=0, atol=tolerance(name))
    assert len(set(np.round(ours, 4))) == len(pairs)
    backbone = qk_lpips.BACKBONES[net]
    assert assets.locate(backbone) == shared_weights / FEATURE_FILES[net]
    assert metric.version == f"2+lpips-{version('lpips')}-v0.1+{backbone.name}-{backbone.sha256[:8]}"


def test_torchvision_full_file_under_any_name_is_recognised(shared_weights, monkeypatch, tmp_path, photo_pairs):
    """torchvision's layout (``features.N.*`` plus the classifier) under an unrelated name serves
    like the features-only file: same asset, same values."""
    ref, dist = photo_pairs[2]
    from_shared = get_metric("lpips", device="cpu")(ref, dist)
    qk_lpips._shared_model.cache_clear()
    full = torchvision.models.alexnet(weights=None)
    full.features.load_state_dict(torch.load(shared_weights / FEATURE_FILES["alex"], weights_only=True))
    folder = tmp_path / "offline"
    folder.mkdir()
    torch.save(full.state_dict(), folder / "my-alexnet.bin")
    monkeypatch.setenv(assets.ENV, str(folder))
    assert assets.locate(qk_lpips.BACKBONES["alex"]) == folder / "my-alexnet.bin"
    assert get_metric("lpips", device="cpu")(ref, dist) == pytest.approx(from_shared, abs=1e-7)


def test_file_with_the_torchvision_name_but_other_tensors_is_not_used(empty_cache: Path, monkeypatch, tmp_path) -> None:
    """A name proves nothing: a random AlexNet, or a truncated download, saved as torchvision's file."""
    supplied = tmp_path / "offline"
    supplied.mkdir()
    monkeypatch.setenv(assets.ENV, str(supplied))
    torch.manual_seed(1)
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), supplied / "alexnet-owt-7be5be79.pth")
    (supplied / "vgg16-397923af.pth").write_bytes(b"truncated")
    for name in ("lpips", "lpips-vgg"):
        why = registry.get(name).available()
        assert why is not None and f"{supplied}/" in why and "holds other tensors" in why, why
        with pytest.raises(Unavailable, match="holds other tensors"):
            get_metric(name)


def test_one_model_per_process(shared_weights, monkeypatch: pytest.MonkeyPatch) -> None:
    builds = []
    real = qk_lpips.build_lpips
    monkeypatch.setattr(qk_lpips, "build_lpips", lambda net: builds.append(net) or real(net))
    image = np.zeros((64, 64, 3), np.uint8)
    for _ in range(3):
        get_metric("lpips", device="cpu")(image, image)
    assert builds == ["alex"]
