"""DISTS: qk against the ``dists-pytorch`` package's own ``DISTS()`` on the same VGG16 weights.

The reference is built the way the package documents (``DISTS()``: α/β read by the package itself),
with torchvision's VGG16 constructor loading ../shared/weights' features-only file the documented
way; nothing downloads (conftest refuses it).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from qualitykit import assets
from qualitykit.errors import Unavailable
from qualitykit.fsutil import sha256_file
from qualitykit.metrics import get_metric, registry
from qualitykit.metrics import dists as qk_dists

from .conftest import tolerance


@pytest.fixture(autouse=True)
def fresh_models() -> Iterator[None]:
    qk_dists._shared_model.cache_clear()
    yield
    qk_dists._shared_model.cache_clear()


def reference_dists(weights_dir: Path, monkeypatch: pytest.MonkeyPatch) -> torch.nn.Module:
    from DISTS_pytorch import DISTS

    real = torchvision.models.vgg16

    def vgg16(*args, **kwargs):
        model = real(weights=None)
        state = torch.load(weights_dir / "vgg16-features-imagenet1k-v1.pth", map_location="cpu", weights_only=True)
        model.features.load_state_dict(state, strict=True)
        return model

    with monkeypatch.context() as m:
        m.setattr(torchvision.models, "vgg16", vgg16)
        return DISTS().eval()  # load_weights=True: the package reads its own α/β


def direct(model: torch.nn.Module, ref: np.ndarray, dist: np.ndarray) -> float:
    from torchvision.transforms.functional import to_tensor

    with torch.no_grad():
        return float(model(to_tensor(ref.copy())[None], to_tensor(dist.copy())[None]).item())


def test_package_reads_the_alpha_beta_qk_registers() -> None:
    """The package loads α/β from ``sys.prefix/weights.pt`` (its data file); qk uses the copy inside the
    package folder: same bytes, the asset's sha256."""
    assert assets.locate(qk_dists.ALPHA_BETA) is not None
    assert sha256_file(Path(sys.prefix) / "weights.pt") == qk_dists.ALPHA_BETA.sha256


@pytest.mark.slow  # the fast tier compares DISTS with the package in the ladder test below
def test_equal_to_dists_pytorch_on_photos(shared_weights, photo_pairs, monkeypatch) -> None:
    pairs = [*photo_pairs[:3], (photo_pairs[3][0][:97, :131].copy(), photo_pairs[3][1][:97, :131].copy())]
    metric = get_metric("dists", device="cpu")
    ours = metric.compute([p[0] for p in pairs], [p[1] for p in pairs])
    reference = reference_dists(shared_weights, monkeypatch)
    np.testing.assert_allclose(ours, [direct(reference, r, d) for r, d in pairs], rtol=0, atol=tolerance("dists"))
    assert len(set(np.round(ours, 4))) == len(pairs) and ((0 < ours) & (ours < 1)).all()
    assert metric(pairs[0][0], pairs[0][0]) == pytest.approx(0.0, abs=1e-6)
    assert metric.version == f"1+dists-pytorch-0.1+vgg16-features-{qk_dists.VGG16.sha256[:8]}"


def test_a_reference_with_several_distorted_images_runs_once(shared_weights, photo_pairs, monkeypatch) -> None:
    """A ladder (one reference object, several distorted images, in batches of 2): VGG16 runs on the
    reference once, and every value equals the package's own on that pair."""
    from .conftest import jpeg_roundtrip

    ref = photo_pairs[0][0]
    dists = [jpeg_roundtrip(ref, q) for q in (10, 30, 60)]
    metric = get_metric("dists", device="cpu")
    monkeypatch.setattr(qk_dists.DISTS, "batch_pixels", 2 * ref.shape[0] * ref.shape[1])
    model = qk_dists._shared_model("cpu")
    batch_sizes = []
    real = model.forward_once
    monkeypatch.setattr(model, "forward_once", lambda x: batch_sizes.append(x.shape[0]) or real(x))
    ours = metric.compute([ref] * 3, dists)
    assert batch_sizes == [1, 2, 1], "the reference once, then the distorted images two by two"
    reference = reference_dists(shared_weights, monkeypatch)
    np.testing.assert_allclose(ours, [direct(reference, ref, d) for d in dists], rtol=0, atol=1e-6)
    assert ours[0] > ours[1] > ours[2] > 0


@pytest.mark.slow
def test_equal_to_dists_pytorch_on_kodak(shared_weights, kodak_pairs, monkeypatch) -> None:
    pairs = [kodak_pairs[i] for i in (0, 3, 7)]  # kodim04 is portrait
    ours = get_metric("dists", device="cpu").compute([p[0] for p in pairs], [p[1] for p in pairs])
    reference = reference_dists(shared_weights, monkeypatch)
    np.testing.assert_allclose(ours, [direct(reference, r, d) for r, d in pairs], rtol=0, atol=1e-6)


def test_unavailable_without_backbone(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(assets.ENV, raising=False)
    why = registry.get("dists").available()
    assert why and "vgg16-397923af.pth" in why and "https://download.pytorch.org/models/vgg16-397923af.pth" in why
    with pytest.raises(Unavailable, match="qk weights --download vgg16-features"):
        get_metric("dists")
    assert not registry.get("dists").higher_is_better and registry.get("dists").default is False
