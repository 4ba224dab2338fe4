"""SSIM and MS-SSIM on RGB, in the convention of ``pytorch_msssim`` (as CompressAI reports them)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import register
from ..device import resolve_device
from .base import Metric, group_by_shape


class _TorchRGB(Metric):
    """Runs a ``pytorch_msssim`` function on same-shape batches, on ``device``."""

    uses_torch = True

    batch_size = 16

    def _fn(self, x, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        import torch

        for r, d in zip(refs, dists):
            self.check(r, d)
        device = resolve_device(self.device)
        out = np.empty(len(refs), dtype=np.float64)
        for indices in group_by_shape(refs).values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start : start + self.batch_size]
                x = _to_tensor([refs[i] for i in chunk], device)
                y = _to_tensor([dists[i] for i in chunk], device)
                with torch.no_grad():
                    out[chunk] = self._fn(x, y).double().cpu().numpy()
        return out


def _to_tensor(images: Sequence[np.ndarray], device: str):
    """``(N, 3, H, W)`` float32 in [0, 255]."""
    import torch

    return torch.from_numpy(np.stack(images)).to(device).permute(0, 3, 1, 2).float()


@register
class SSIM(_TorchRGB):
    """SSIM on RGB as ``pytorch_msssim.ssim``: data range 255, 11×11 Gaussian window
    (σ = 1.5), K1 = 0.01, K2 = 0.03, no downsampling, valid-region mean per channel,
    then the mean over R, G, B. Higher is better; 1 for identical images.
    """

    name = "ssim"
    higher_is_better = True
    version = "pytorch_msssim-1"
    min_side = 11
    description = "SSIM, RGB, pytorch_msssim, data range 255"
    range = (-1.0, 1.0)
    reference = "pytorch_msssim 1.0.0 ssim(data_range=255), equal to 1e-6"
    memory_per_pixel = 160.0

    def _fn(self, x, y):
        from pytorch_msssim import ssim

        return ssim(x, y, data_range=255, size_average=False)


@register
class MSSSIM(_TorchRGB):
    """MS-SSIM on RGB as ``pytorch_msssim.ms_ssim`` (CompressAI's ``ms-ssim-rgb``):
    data range 255, 5 scales with the weights of Wang et al. (2003), 11×11 Gaussian
    window, 2×2 average-pool between scales; per channel, then the mean over R, G, B.
    Needs more than 160 px on each side. Higher is better; 1 for identical images.
    """

    name = "ms-ssim"
    higher_is_better = True
    version = "pytorch_msssim-1"
    min_side = 161
    description = "MS-SSIM, RGB, pytorch_msssim, data range 255"
    range = (0.0, 1.0)
    aliases = ("ms-ssim-rgb",)
    reference = "pytorch_msssim 1.0.0 ms_ssim(data_range=255) = CompressAI 'ms-ssim-rgb', equal to 1e-6"
    memory_per_pixel = 200.0

    def _fn(self, x, y):
        from pytorch_msssim import ms_ssim

        return ms_ssim(x, y, data_range=255, size_average=False)
