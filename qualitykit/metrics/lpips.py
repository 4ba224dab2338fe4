"""LPIPS (Zhang et al. 2018) through the ``lpips`` package: ``lpips`` (AlexNet) and ``lpips-vgg`` (VGG16).

Conventions: RGB uint8 scaled to [-1, 1] (``x / 127.5 - 1``), the v0.1 linear
layers shipped inside ``lpips``, spatial mean of each layer's weighted squared
feature difference, summed over layers. Lower is better; 0 for identical
images. Each reference runs through the backbone once for all its distorted images, those
in batches layer by layer, huge images tile by tile, to float noise of ``lpips``'s own forward pass
(:mod:`._lpips_compute`); one model per network and device is built per process and
reused.

Two assets (:mod:`qualitykit.assets`): the linear layers, bundled in the ``lpips`` package, and the
ImageNet backbone (:mod:`qualitykit.metrics.backbones`), recognised by the content of its feature
tensors — torchvision's ``alexnet-owt-7be5be79.pth`` / ``vgg16-397923af.pth`` or a features-only
file, in ``$QK_WEIGHTS_DIR`` or torch's hub cache. It is downloaded only when ``lpips`` is asked for
by name (``--metrics lpips``; :meth:`_LPIPS.fetch`); without it (offline) the metric is unavailable,
saying which file to fetch and where to put it (``qk weights``).

>>> from qualitykit.metrics import get_metric
>>> value = get_metric("lpips", device="cpu")(ref, dist)  # doctest: +SKIP
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib.metadata import version as package_version
from importlib.util import find_spec
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from .. import assets
from ..assets import Asset
from . import _lpips_compute as _fast
from . import register
from ..device import resolve_device
from .backbones import ALEXNET, VGG16
from .base import Metric, Reference, by_reference, group_by_shape

if TYPE_CHECKING:
    import torch

#: The v0.1 linear layers inside the ``lpips`` package (0.1.4), by network.
LINEAR = {
    net: Asset(
        f"lpips-{net}-v0.1",
        f"LPIPS v0.1 linear layers for {net} (bundled in the lpips package)",
        sha256=sha,
        bundled=assets.bundled_in("lpips", "weights", "v0.1", f"{net}.pth"),
    )
    for net, sha in (
        ("alex", "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0"),
        ("vgg", "a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868"),
    )
}
BACKBONES = {"alex": ALEXNET, "vgg": VGG16}
for _net, _metric in (("alex", "lpips"), ("vgg", "lpips-vgg")):
    assets.register(LINEAR[_net], used_by=_metric)
    assets.register(BACKBONES[_net], used_by=_metric)


def build_lpips(net: str) -> torch.nn.Module:
    """The LPIPS v0.1 network for ``net`` (``alex``/``vgg``): lpips's linear layers and the located
    ImageNet backbone in the modules of :mod:`._lpips_network` (``lpips.LPIPS``'s, built without
    importing torchvision), in eval mode.

    Raises :class:`~qualitykit.errors.Unavailable` when an asset is missing; never downloads.
    """
    import torch

    from ._lpips_network import LPIPSNetwork

    linear = torch.load(assets.require(LINEAR[net]), map_location="cpu", weights_only=True)
    return LPIPSNetwork(net, assets.load_part(BACKBONES[net]), linear)


@functools.lru_cache(maxsize=None)
def _shared_model(net: str, device: str) -> torch.nn.Module:
    return build_lpips(net).to(device)


class _LPIPS(Metric):
    """LPIPS with the backbone ``net``; see the module docstring.

    ``model`` replaces the network (an ``lpips.LPIPS``; tests inject a seeded
    random backbone this way); by default each process builds one per network
    and device and every instance shares it.
    """

    uses_torch = True
    extra = "learned"

    net: ClassVar[str]
    higher_is_better = False
    range = (0.0, None)
    #: Most pixels per batch (bounds memory: activations grow with batch × H × W).
    batch_pixels: ClassVar[int]
    #: Pairs above this many pixels run tile by tile (memory bounded by one tile); at or below it,
    #: whole (Kodak, 1080p for AlexNet): the untiled pass, ``memory_per_pixel`` applies.
    tile_above: ClassVar[int]
    #: Largest tile core, px per side; tiles add a 96-px margin (alex, vgg) on sides inside the image.
    tile_core: ClassVar[int]

    def __init__(self, device: str = "auto", model: torch.nn.Module | None = None) -> None:
        super().__init__(device)
        self.model = model

    @classmethod
    def available(cls) -> str | None:
        if find_spec("lpips") is None:
            return "the lpips package is missing; pip install lpips"
        for asset in (LINEAR[cls.net], BACKBONES[cls.net]):
            if assets.locate(asset) is None:
                return assets.why_missing(asset)
        return None

    @classmethod
    def fetch(cls) -> None:
        """Download the backbone into torch's hub cache when it is missing (needs the network)."""
        assets.fetch(BACKBONES[cls.net])

    @property
    def version(self) -> str:  # type: ignore[override]
        """``2+lpips-<package version>-v0.1+<backbone asset>-<tensor sha256 prefix>``, or ``…+custom``
        for an injected model."""
        backbone = BACKBONES[self.net]
        which = "custom" if self.model is not None else f"{backbone.name}-{backbone.sha256[:8]}"
        return f"2+lpips-{package_version('lpips')}-v0.1+{which}"

    def _network(self, device: str) -> torch.nn.Module:
        return self.model.to(device) if self.model is not None else _shared_model(self.net, device)

    def _compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        """Distorted images of one size run in backbone batches of at most :attr:`batch_pixels`
        pixels, each reference (the same array object) once for all its distorted images; pairs
        above :attr:`tile_above` pixels run tile by tile. See :mod:`._lpips_compute`."""
        import torch

        device = resolve_device(self.device)
        model = self._network(device)
        out = np.empty(len(refs), dtype=np.float64)
        if not _fast.supported(model):  # not an lpips v0.1 model with linear heads: run it as it is
            for i in range(len(refs)):
                x, y = (_to_unit_range([a[i]], device) for a in (refs, dists))
                with torch.inference_mode():
                    out[i] = float(model(x, y).mean())
            return out
        table = _fast.input_table(model)
        tileable = _fast.geometry(model) is not None
        for (h, w, *_), idx in group_by_shape(refs).items():
            if not (tileable and h * w > self.tile_above):
                out[idx] = _fast.untiled_values(model, [refs[i] for i in idx], [dists[i] for i in idx], table, device,
                                                self.batch_pixels)  # fmt: skip
                continue
            for same in by_reference(refs, idx):
                out[same] = _fast.tiled_values(model, refs[same[0]], [dists[i] for i in same], table, device, self.tile_core)
        return out


def _to_unit_range(images: Sequence[np.ndarray], device: str) -> torch.Tensor:
    """``(N, 3, H, W)`` float32 in [-1, 1] from uint8 RGB, as ``lpips.im2tensor``."""
    import torch

    return torch.from_numpy((np.stack(images).transpose(0, 3, 1, 2) / 127.5 - 1.0).astype(np.float32)).to(device)


@register
class LPIPSAlex(_LPIPS):
    """LPIPS v0.1 with the AlexNet backbone (the paper's default); RGB in [-1, 1], lower is better."""

    name = "lpips"
    net = "alex"
    min_side = 32
    batch_pixels = 768 * 512  # larger batches ran slower on the CPU (activations leave the caches)
    tile_above = 4_000_000
    tile_core = 1536
    description = "LPIPS v0.1, AlexNet, RGB in [-1, 1]"
    reference = Reference(
        "lpips LPIPS(net='alex', version='0.1')", "0.1.4", 1e-6, "8 Kodak pairs (JPEG)",
        "tests/test_metrics_lpips.py::test_shared_imagenet_backbones_equal_lpips_on_kodak", "on the same backbone file",
    )
    #: Measured 82-91 B/px untiled (768x512, 2048x1536; lpips.LPIPS itself: 290). Keeping a reference's
    #: features for all its distorted images, peak RSS (ru_maxrss of one process, one thread, after a
    #: warm-up call) rises 47 B/px above the images and the model for 4 images of one 2048x1536
    #: reference (29 B/px without). Above ``tile_above`` (4 MP) tiles of at most 1728x1728 px bound
    #: the work: 302 MiB above the images for 2 images of a 6000x4000 one, measured the same way.
    memory_per_pixel = 96.0


@register
class LPIPSVGG(_LPIPS):
    """LPIPS v0.1 with the VGG16 backbone; RGB in [-1, 1], lower is better."""

    name = "lpips-vgg"
    net = "vgg"
    min_side = 16
    default = False  # seconds of CPU per Kodak pair (benchmarks/bench_metrics.py)
    batch_pixels = 768 * 512
    tile_above = 600_000
    tile_core = 768
    description = "LPIPS v0.1, VGG16, RGB in [-1, 1]"
    reference = Reference(
        "lpips LPIPS(net='vgg', version='0.1')", "0.1.4", 1e-6, "2 Kodak pairs (JPEG)",
        "tests/test_metrics_lpips.py::test_shared_imagenet_backbones_equal_lpips_on_kodak", "on the same backbone file",
    )
    #: Measured 1071 B/px untiled (768x512; lpips.LPIPS itself: 2689). Above ``tile_above`` (0.6 MP)
    #: tiles of at most 960x960 px bound a pair to ~0.6 GiB (576 MiB measured on 1536x1024).
    memory_per_pixel = 1100.0
