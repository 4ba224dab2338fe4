"""SSIM and MS-SSIM as pyiqa computes them by default: ``ssim-pyiqa`` and ``ms-ssim-pyiqa``.

pyiqa (``pyiqa.create_metric("ssim")`` / ``"ms_ssim"``, version 0.1.16) is what many learned-codec
and restoration papers report as "SSIM". Its defaults, reproduced here in PyTorch (batched, CPU or
GPU; pyiqa is not imported):

- **Luma**: Y of YIQ, ``Y = 0.299 R + 0.587 G + 0.114 B`` on RGB scaled to [0, 1] in float32,
  times 255, rounded to integers — full range 0–255. Not MATLAB's ``rgb2ycbcr`` (limited range
  16–235; pyiqa switched its default away from it), and not the limited-range Y of the ``-y``
  metrics (ffmpeg/libvmaf).
- **SSIM**: 11×11 Gaussian window, σ = 1.5 (MATLAB ``fspecial``, stored in float32), valid region
  only (filtered through the FFT here, same values to float64 rounding), K1 = 0.01, K2 = 0.03, data range 255, in float64; the contrast-structure term is clipped
  at 0 (pyiqa's ReLU), no downsampling (``downsample=False``), mean over the map.
- **MS-SSIM**: 5 scales with the weights of Wang et al. (2003) (0.0448, 0.2856, 0.3001, 0.2363,
  0.1333, as float32), product form; between scales a 2×2 average pool that pads an odd side with
  one zero row/column (counted in the average). Needs at least 161 px per side.

Higher is better; 1 for identical images. Which name: the numbers equal pyiqa's default
``ssim``/``ms_ssim``, and neither is MATLAB's (no ``rgb2ycbcr``, no downsampling), so the name says
pyiqa.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from . import register
from ..device import resolve_device
from .base import Metric, Reference, batches

if TYPE_CHECKING:
    import torch

#: The pyiqa release whose defaults these metrics reproduce (a test runs it).
PYIQA_VERSION = "0.1.16"
#: Rows of the RGB → YIQ matrix; pyiqa keeps the Y row (all three rows enter its float32 matmul).
YIQ = ((0.299, 0.587, 0.114), (0.5959, -0.2746, -0.3213), (0.2115, -0.5227, 0.3112))
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_CHECKED_ON = "5 photos at JPEG q=10–95 (one 201×171 px) and 8 Kodak pairs"


def luma(images: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` uint8 RGB → ``(N, 1, H, W)`` float64 integer-valued Y of YIQ, as pyiqa computes it."""
    import torch

    x = images.float() / 255  # what torchvision's to_tensor hands pyiqa
    yiq = torch.matmul(x.permute(0, 2, 3, 1), torch.tensor(YIQ, device=x.device).t()).permute(0, 3, 1, 2)
    return (yiq[:, :1] * 255).round().double()


@functools.lru_cache(maxsize=None)
def _window_values() -> np.ndarray:
    """MATLAB's ``fspecial('gaussian', 11, 1.5)``, rounded to float32 as pyiqa stores it."""
    ax = np.arange(11) - 5.0
    h = np.exp(-(ax[:, None] ** 2 + ax[None, :] ** 2) / (2 * 1.5**2))
    h[h < np.finfo(h.dtype).eps * h.max()] = 0
    return (h / h.sum()).astype(np.float32)


def _filter_valid(maps: torch.Tensor) -> torch.Tensor:
    """Each ``(H, W)`` plane of ``maps`` filtered with the window over the valid region (``conv2d``
    without padding), through the FFT: float64 ``conv2d`` has no fast path on CPUs (0.6 s per
    Kodak plane, against 0.03 s here); the results agree to 1e-15 relative, float64 rounding."""
    import torch

    k = _window_values().shape[0]
    h, w = maps.shape[-2:]
    window = torch.from_numpy(_window_values()).to(maps).flip((0, 1))
    spectrum = torch.fft.rfft2(maps) * torch.fft.rfft2(window, s=(h, w))
    return torch.fft.irfft2(spectrum, s=(h, w))[..., k - 1 :, k - 1 :]


def _ssim_cs(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: mean SSIM and mean contrast-structure term of two ``(N, 1, H, W)`` float64 planes."""
    import torch

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_x, mu_y, xx, yy, xy = _filter_valid(torch.cat([x, y, x * x, y * y, x * y], dim=1)).unbind(1)
    var_x, var_y, cov = xx - mu_x**2, yy - mu_y**2, xy - mu_x * mu_y
    cs = torch.relu((2 * cov + c2) / (var_x + var_y + c2))
    ssim = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * cs
    return ssim.mean((1, 2)), cs.mean((1, 2))


def ssim_pyiqa(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """SSIM per image of two ``(N, 1, H, W)`` float64 luma planes (see the module docstring)."""
    return _ssim_cs(x, y)[0]


def ms_ssim_pyiqa(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """MS-SSIM per image of two ``(N, 1, H, W)`` float64 luma planes (see the module docstring)."""
    import torch
    import torch.nn.functional as F

    weights = torch.tensor(MS_SSIM_WEIGHTS, dtype=torch.float32).to(x)
    css = []
    for _ in weights:
        ssim, cs = _ssim_cs(x, y)
        css.append(cs)
        pad = (x.shape[2] % 2, x.shape[3] % 2)
        x, y = F.avg_pool2d(x, 2, padding=pad), F.avg_pool2d(y, 2, padding=pad)
    cs_all = torch.stack(css[:-1])  # (4, N): the last scale contributes its SSIM, not its cs
    return torch.prod(cs_all ** weights[:-1, None], dim=0) * ssim ** weights[-1]


class _PyiqaSSIM(Metric):
    extra = "learned"
    higher_is_better = True
    uses_torch = True  # both compute in PyTorch, on ``device``
    plot_in_db = True
    version = f"1+pyiqa-{PYIQA_VERSION}"
    #: Most pixels per batch; five float64 maps, their spectra and the filtered maps take ~200 bytes per pixel.
    batch_pixels: ClassVar[int] = 4 * 768 * 512
    memory_per_pixel = 240.0

    def _fn(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        import torch

        device = resolve_device(self.device)
        out = np.empty(len(refs), dtype=np.float64)
        for chunk in batches(refs, self.batch_pixels):
            planes = [
                luma(torch.from_numpy(np.stack([images[i] for i in chunk])).to(device).permute(0, 3, 1, 2))
                for images in (refs, dists)
            ]
            with torch.no_grad():
                out[chunk] = self._fn(*planes).cpu().numpy()
        return out


@register
class SSIMPyiqa(_PyiqaSSIM):
    """SSIM as pyiqa's default ``ssim`` (module docstring); higher is better, 1 for identical images."""

    name = "ssim-pyiqa"
    min_side = 11
    description = "SSIM as pyiqa's default 'ssim': full-range Y (YIQ), 11×11 Gaussian, valid region, no downsampling"
    range = (0.0, 1.0)
    reference = Reference(
        "pyiqa create_metric('ssim')", PYIQA_VERSION, 1e-9, _CHECKED_ON, "tests/test_metrics_pyiqa_ssim.py::_check"
    )

    def _fn(self, x, y):
        return ssim_pyiqa(x, y)


@register
class MSSSIMPyiqa(_PyiqaSSIM):
    """MS-SSIM as pyiqa's default ``ms_ssim`` (module docstring); higher is better, 1 for identical images."""

    name = "ms-ssim-pyiqa"
    min_side = 161
    description = "MS-SSIM as pyiqa's default 'ms_ssim': full-range Y (YIQ), 5 scales, product form"
    range = (0.0, 1.0)
    reference = Reference(
        "pyiqa create_metric('ms_ssim')", PYIQA_VERSION, 1e-9, _CHECKED_ON, "tests/test_metrics_pyiqa_ssim.py::_check"
    )

    def _fn(self, x, y):
        return ms_ssim_pyiqa(x, y)
