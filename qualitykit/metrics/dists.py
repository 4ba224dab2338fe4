"""DISTS (Ding et al. 2020, "Image Quality Assessment: Unifying Structure and Texture Similarity") through ``dists-pytorch``.

Conventions: RGB scaled to [0, 1], normalised with the ImageNet mean and standard deviation inside
the model; VGG16 features with L2 pooling in place of max pooling; per stage, structure (means) and
texture (correlations) similarities weighted by the learned α/β; ``DISTS = 1 − Σ``. The image is
used at its own size (no resizing). Lower is better; 0 for identical images, range [0, 1].

Which implementation: ``dists-pytorch`` 0.1 is the authors' own package; it ships α/β inside its
wheel (``DISTS_pytorch/weights.pt``, 12 KB, sha256 ``f5e65c96…`` — the same file pyiqa downloads
as ``DISTS_weights-f5e65c96.pth``), so DISTS runs offline with the VGG16 backbone alone; pyiqa's
default ``dists`` computes the same thing. piq's ``DISTS`` instead downloads α/β from a GitHub
release at construction (no offline use) and resizes images to 256 px on the short side before
scoring — another number.

Assets (:mod:`qualitykit.assets`): α/β, bundled in ``dists-pytorch``; the VGG16 ImageNet features
(:mod:`qualitykit.metrics.backbones`), shared with ``lpips-vgg``, downloaded only when ``dists`` is
asked for by name. The package's constructor calls ``torchvision.models.vgg16(pretrained=True)``
(a download when torchvision's file is not cached); qk builds it with ``weights=None`` instead
and loads the located features and α/β itself. Scoring runs the package's network
(``forward_once``) and its score formula in the same arithmetic (:func:`_scores`), with each
reference through VGG16 once for all its distorted images (``DISTS.forward`` runs both images of
every pair): equal to the package to 1e-6 (``tests/test_metrics_dists.py``).
"""

from __future__ import annotations

import contextlib
import functools
import threading
import types
from collections.abc import Iterator, Sequence
from importlib.metadata import version as package_version
from importlib.util import find_spec
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from .. import assets
from ..assets import Asset
from . import register
from ..device import resolve_device
from .backbones import VGG16
from .base import Metric, Reference, batches, by_reference

if TYPE_CHECKING:
    import torch

ALPHA_BETA = assets.register(
    Asset(
        "dists-alpha-beta",
        "DISTS α/β weights (bundled in the dists-pytorch package)",
        sha256="f5e65c96230b7f6ca995691647d482237e4cab8a50c5c4a5784f219ef0748218",
        bundled=assets.bundled_in("DISTS_pytorch", "weights.pt"),
    ),
    used_by="dists",
)
assets.register(VGG16, used_by="dists")

_construct = threading.Lock()


@contextlib.contextmanager
def _vgg16_without_download() -> Iterator[None]:
    """Within the block, ``dists-pytorch``'s ``models.vgg16(pretrained=True)`` builds VGG16 with ``weights=None``."""
    import torchvision
    from DISTS_pytorch import DISTS_pt

    real = DISTS_pt.models
    DISTS_pt.models = types.SimpleNamespace(vgg16=lambda *args, **kwargs: torchvision.models.vgg16(weights=None))
    try:
        yield
    finally:
        DISTS_pt.models = real


def build_dists() -> torch.nn.Module:
    """``DISTS_pytorch.DISTS`` with the located VGG16 features and the bundled α/β, in eval mode.

    Raises :class:`~qualitykit.errors.Unavailable` when an asset is missing; never downloads.
    """
    import torch
    from DISTS_pytorch import DISTS_pt

    alpha_beta = torch.load(assets.require(ALPHA_BETA), map_location="cpu", weights_only=True)
    features = assets.load_part(VGG16)
    with _construct, _vgg16_without_download():
        model = DISTS_pt.DISTS(load_weights=False)
    state = model.state_dict()
    # stage<k>.<i> is torchvision's features[i]; the L2-pooling filters and the ImageNet mean/std are the model's own
    for key in state:
        stage, _, rest = key.partition(".")
        if stage.startswith("stage") and rest in features:
            state[key] = features[rest]
    state["alpha"], state["beta"] = alpha_beta["alpha"], alpha_beta["beta"]
    model.load_state_dict(state)
    return model.eval()


@functools.lru_cache(maxsize=None)
def _shared_model(device: str) -> torch.nn.Module:
    return build_dists().to(device)


@register
class DISTS(Metric):
    """DISTS (see the module docstring); RGB in [0, 1], lower is better, 0 for identical images.

    ``model`` replaces the network (tests inject one); by default each process builds one per
    device and every instance shares it.
    """

    uses_torch = True
    extra = "learned"

    name = "dists"
    higher_is_better = False
    range = (0.0, 1.0)
    min_side = 32
    default = False  # seconds of CPU per Kodak pair, like lpips-vgg (VGG16; benchmarks/bench_metrics.py)
    description = "DISTS, VGG16 + α/β of dists-pytorch, RGB in [0, 1], no resizing"
    reference = Reference(
        "dists-pytorch DISTS()", "0.1", 1e-6, "4 photos (JPEG), one 131×97 px",
        "tests/test_metrics_dists.py::test_equal_to_dists_pytorch_on_photos", "on the same backbone file",
    )
    memory_per_pixel = 2400.0
    #: Most pixels of distorted images per batch (bounds memory: their VGG16 features, beside the reference's).
    batch_pixels: ClassVar[int] = 2 * 768 * 512

    def __init__(self, device: str = "auto", model: torch.nn.Module | None = None) -> None:
        super().__init__(device)
        self.model = model

    @classmethod
    def available(cls) -> str | None:
        if find_spec("DISTS_pytorch") is None:
            return "the dists-pytorch package is missing; pip install dists-pytorch"
        for asset in (ALPHA_BETA, VGG16):
            if assets.locate(asset) is None:
                return assets.why_missing(asset)
        return None

    @classmethod
    def fetch(cls) -> None:
        """Download the VGG16 backbone into torch's hub cache when it is missing (needs the network)."""
        assets.fetch(VGG16)

    @property
    def version(self) -> str:  # type: ignore[override]
        """``1+dists-pytorch-<version>+<backbone asset>-<tensor sha256 prefix>``, or ``…+custom``."""
        which = "custom" if self.model is not None else f"{VGG16.name}-{VGG16.sha256[:8]}"
        return f"1+dists-pytorch-{package_version('dists-pytorch')}+{which}"

    def _compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        """Each reference (the same array object) runs through VGG16 once for all its distorted
        images, those in batches of at most :attr:`batch_pixels` pixels; then ``DISTS.forward``'s
        formula (:func:`_scores`)."""
        import torch

        device = resolve_device(self.device)
        model = self.model.to(device) if self.model is not None else _shared_model(device)
        out = np.empty(len(refs), dtype=np.float64)
        with torch.no_grad():
            for same in by_reference(refs):
                # np.stack copies: torch must not wrap a read-only array
                reference = model.forward_once(_to_unit(np.stack([refs[same[0]]]), device))
                for chunk in batches([dists[i] for i in same], self.batch_pixels):
                    idx = [same[j] for j in chunk]
                    distorted = model.forward_once(_to_unit(np.stack([dists[i] for i in idx]), device))
                    out[idx] = _scores(model, reference, distorted).double().cpu().numpy()
        return out


def _scores(model: torch.nn.Module, reference: Sequence[torch.Tensor], distorted: Sequence[torch.Tensor]) -> torch.Tensor:
    """``DISTS_pytorch.DISTS.forward``'s score from ``forward_once`` features, in its arithmetic and
    order: one reference (batch 1) against ``n`` distorted images; shape ``(n,)``."""
    import torch

    c1 = c2 = 1e-6
    w_sum = model.alpha.sum() + model.beta.sum()
    alpha = torch.split(model.alpha / w_sum, model.chns, dim=1)
    beta = torch.split(model.beta / w_sum, model.chns, dim=1)
    dist1 = dist2 = 0
    for k in range(len(model.chns)):
        x, y = reference[k], distorted[k]
        x_mean = x.mean([2, 3], keepdim=True)
        y_mean = y.mean([2, 3], keepdim=True)
        s1 = (2 * x_mean * y_mean + c1) / (x_mean**2 + y_mean**2 + c1)
        dist1 = dist1 + (alpha[k] * s1).sum(1, keepdim=True)
        x_var = ((x - x_mean) ** 2).mean([2, 3], keepdim=True)
        y_var = ((y - y_mean) ** 2).mean([2, 3], keepdim=True)
        xy_cov = (x * y).mean([2, 3], keepdim=True) - x_mean * y_mean
        s2 = (2 * xy_cov + c2) / (x_var + y_var + c2)
        dist2 = dist2 + (beta[k] * s2).sum(1, keepdim=True)
    return 1 - (dist1 + dist2).reshape(-1)


def _to_unit(images: np.ndarray, device: str) -> torch.Tensor:
    """``(N, 3, H, W)`` float32 in [0, 1] from ``(N, H, W, 3)`` uint8 RGB (torchvision's ``to_tensor``)."""
    import torch

    return torch.from_numpy(images).to(device).permute(0, 3, 1, 2).float().div(255)
