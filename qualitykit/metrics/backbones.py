"""The ImageNet backbones of the deep metrics (LPIPS, DISTS), as content-recognised assets.

Each is torchvision's IMAGENET1K_V1 convolution stack (``features``), recognised by the
tensor-content hash of those tensors (:mod:`qualitykit.assets`): torchvision's own download
(``alexnet-owt-7be5be79.pth``, ``vgg16-397923af.pth``, classifier included) and a features-only
state dict (keys ``0.weight``, …) serve alike, under any file name. Networks are always built
with ``weights=None`` and filled from the located file, so torchvision never downloads.
"""

from __future__ import annotations

from ..assets import Asset

ALEXNET = Asset(
    "alexnet-features",
    "AlexNet ImageNet-1k v1 features (torchvision)",
    filename="alexnet-owt-7be5be79.pth",
    url="https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
    sha256="5f42afbc4c556e78c75305e9043fe36467b8ab4eda92d6a6bf034afd7167ec68",
    part="features",
)
VGG16 = Asset(
    "vgg16-features",
    "VGG16 ImageNet-1k v1 features (torchvision)",
    filename="vgg16-397923af.pth",
    url="https://download.pytorch.org/models/vgg16-397923af.pth",
    sha256="f8e64ec525648c184191c137e51b0fc408608e46edda5308ccc1526760f34db1",
    part="features",
)
