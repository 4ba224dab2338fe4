"""PSNR on RGB."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import register
from .base import Metric, Reference

#: PSNR reported for identical images (MSE = 0), so that corpus means stay finite.
PSNR_CAP_DB = 100.0


def psnr_rgb(ref: np.ndarray, dist: np.ndarray) -> float:
    """PSNR in dB of two ``(H, W, 3)`` uint8 RGB images.

    One MSE over every sample of R, G and B together (not a mean of per-channel
    PSNRs), peak 255 — CompressAI's ``psnr-rgb``. Identical images give
    :data:`PSNR_CAP_DB` (100 dB) instead of infinity, and any value is capped there.
    """
    diff = ref.astype(np.float64) - dist.astype(np.float64)
    mse = float(np.mean(diff * diff))
    if mse == 0.0:
        return PSNR_CAP_DB
    return min(PSNR_CAP_DB, 10.0 * np.log10(255.0**2 / mse))


@register
class PSNR(Metric):
    __doc__ = psnr_rgb.__doc__
    name = "psnr"
    higher_is_better = True
    version = "1"
    description = "PSNR, RGB, one MSE over all channels, peak 255, dB"
    range = (0.0, PSNR_CAP_DB)
    unit = "dB"
    aliases = ("psnr-rgb",)
    reference = Reference(
        "CompressAI compute_metrics 'psnr-rgb'", "1.2.8", 1e-5, "3 crops of astronaut at JPEG q=10/40/80 and Kodak kodim04 at q=30",
        "tests/test_metrics_rgb.py::test_psnr_and_ms_ssim_equal_compressai",
        "CompressAI accumulates the MSE in float32 (qk in float64): typically 1e-7 dB apart",
    )
    memory_per_pixel = 48.0

    def _compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        return np.array([psnr_rgb(r, d) for r, d in zip(refs, dists)], dtype=np.float64)
