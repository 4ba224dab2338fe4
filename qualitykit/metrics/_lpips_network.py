"""The LPIPS v0.1 network, built without importing ``lpips`` or torchvision.

Importing ``lpips`` imports torchvision, whose ``ops`` import ``torch._dynamo``: 2.2 s of every
worker process's start on this machine, for two module definitions. This module defines the
same modules under the same names — torchvision's AlexNet / VGG16 ``features`` layers (same
types, sizes and order), cut into ``slice1 … slice5`` exactly where ``lpips.pretrained_networks``
cuts them, lpips's ``ScalingLayer`` constants and its five 1×1 linear heads (``NetLinLayer``
without the dropout, which is the identity in eval mode) — and fills them from the same files:
the ImageNet backbone and the v0.1 linear weights shipped inside the ``lpips`` package. Same
modules, same weights, same operations: ``tests/test_metrics_lpips.py`` checks the values
against ``lpips.LPIPS`` itself built by its own code on Kodak.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

#: torchvision's ``features`` layers: ``(out channels, kernel, stride, padding)`` convolutions
#: (each followed by an in-place ReLU) and ``("pool", kernel, stride)`` max-poolings.
ARCHITECTURES: dict[str, list[tuple]] = {
    "alex": [(64, 11, 4, 2), ("pool", 3, 2), (192, 5, 1, 2), ("pool", 3, 2), (384, 3, 1, 1), (256, 3, 1, 1),
             (256, 3, 1, 1)],
    "vgg": [(64, 3, 1, 1), (64, 3, 1, 1), ("pool", 2, 2), (128, 3, 1, 1), (128, 3, 1, 1), ("pool", 2, 2),
            (256, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1), ("pool", 2, 2), (512, 3, 1, 1), (512, 3, 1, 1),
            (512, 3, 1, 1), ("pool", 2, 2), (512, 3, 1, 1), (512, 3, 1, 1), (512, 3, 1, 1)],
}  # fmt: skip
#: Where ``lpips.pretrained_networks`` cuts ``features`` into its five slices (layer indices).
CUTS = {"alex": (0, 2, 5, 8, 10, 12), "vgg": (0, 4, 9, 16, 23, 30)}


def _features(net: str) -> list[nn.Module]:
    layers: list[nn.Module] = []
    channels = 3
    for spec in ARCHITECTURES[net]:
        if spec[0] == "pool":
            layers.append(nn.MaxPool2d(kernel_size=spec[1], stride=spec[2]))
        else:
            out, kernel, stride, padding = spec
            layers += [nn.Conv2d(channels, out, kernel_size=kernel, stride=stride, padding=padding), nn.ReLU(inplace=True)]
            channels = out
    return layers


class ScalingLayer(nn.Module):
    """lpips's input normalisation: ``(x − shift) / scale`` per channel, constants as lpips has them."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("shift", torch.Tensor([-0.030, -0.088, -0.188])[None, :, None, None])
        self.register_buffer("scale", torch.Tensor([0.458, 0.448, 0.450])[None, :, None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.shift) / self.scale


class LPIPSNetwork(nn.Module):
    """What :mod:`._lpips_compute` reads of an ``lpips.LPIPS`` v0.1 model: ``scaling_layer``,
    ``net.slice1 … slice5``, ``lins`` (1×1 convolutions without bias), ``L`` and the flags
    ``version``, ``lpips``, ``spatial``. In eval mode, without gradients."""

    version = "0.1"
    lpips = True
    spatial = False

    def __init__(self, net: str, features: Mapping[str, torch.Tensor], linear: Mapping[str, torch.Tensor]) -> None:
        """``features``: the backbone's ``features`` tensors, keys ``0.weight``, …; ``linear``: lpips's
        ``weights/v0.1/<net>.pth`` (keys ``lin<k>.model.1.weight``)."""
        super().__init__()
        self.scaling_layer = ScalingLayer()
        self.net = nn.Module()
        layers, cuts = _features(net), CUTS[net]
        for k in range(len(cuts) - 1):
            part = nn.Sequential()
            for i in range(cuts[k], cuts[k + 1]):
                part.add_module(str(i), layers[i])
            setattr(self.net, f"slice{k + 1}", part)
        self.L = len(cuts) - 1
        self.lins = nn.ModuleList()
        for k in range(self.L):
            weight = linear[f"lin{k}.model.1.weight"]
            self.lins.append(nn.Conv2d(weight.shape[1], 1, kernel_size=1, stride=1, padding=0, bias=False))
        state = {}
        for key in self.state_dict():
            if key.startswith("net."):  # net.slice<k>.<i>.weight -> features' <i>.weight
                state[key] = features[key.split(".", 2)[2]]
            elif key.startswith("lins."):
                state[key] = linear[f"lin{key.split('.')[1]}.model.1.weight"]
        self.load_state_dict({**self.state_dict(), **state}, strict=True)
        self.requires_grad_(False)
        self.eval()
