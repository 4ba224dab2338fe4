"""PSNR-HVS-M (Ponomarenko et al. 2007) through the PyPI ``psnr-hvsm`` package: ``psnr-hvsm``, in dB.

The package is the implementation JPEG AI's evaluation uses; its values reproduce the TID2013
reference data. Conventions, the package's own for 8-bit RGB (its command line and
``compute_all_metrics`` do exactly this):

- **Channel**: luma only. ``Y`` of BT.601 YCbCr for 8-bit signals, studio range
  (``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255``), rounded to 8-bit code values, then
  divided by 255 (``psnr_hvsm.bt601ycbcr``, ``precision="8-bit"``). JPEG AI likewise reports
  PSNR-HVS-M on the luma component.
- **Metric**: 8×8 DCT blocks, contrast-sensitivity weighting and between-coefficient contrast
  masking; ``10·log10(1 / MSE_HVS-M)`` on the normalised plane. Identical images give 100 dB
  (the package's convention).
- **Size**: the package needs sides that are multiples of 8; qk scores the top-left part that is
  (as Ponomarenko's MATLAB code, which visits whole blocks only). At least 8 px per side.

Higher is better. Computed with the package's NumPy backend (its default), batched per image size.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
from collections.abc import Sequence
from importlib.metadata import version as package_version
from types import ModuleType

import numpy as np

from . import register
from .base import Metric, Reference, batches


@functools.lru_cache(maxsize=None)
def psnr_hvsm_numpy() -> ModuleType:
    """``psnr_hvsm.numpy``; the package prints to stdout when its optional PyTorch backend is
    missing (``torch-dct``), which would corrupt ``qk compare --json``: silenced."""
    with contextlib.redirect_stdout(io.StringIO()):
        import psnr_hvsm.numpy
    return psnr_hvsm.numpy


def luma(images: np.ndarray) -> np.ndarray:
    """``(..., H, W, 3)`` uint8 RGB → the package's normalised 8-bit BT.601 Y, cropped to whole 8×8 blocks."""
    h, w = images.shape[-3] // 8 * 8, images.shape[-2] // 8 * 8
    # bt601ycbcr takes one (H, W, 3) image (it moves axis 2 first): stack batches on the height axis
    cropped = images[..., :h, :w, :]
    stacked = cropped.reshape(-1, w, 3)
    y = psnr_hvsm_numpy().bt601ycbcr(stacked)[0]
    return y.reshape(*cropped.shape[:-1])


@register
class PSNRHVSM(Metric):
    """PSNR-HVS-M of luma, dB (see the module docstring); higher is better, 100 for identical images."""

    name = "psnr-hvsm"
    higher_is_better = True
    range = (0.0, 100.0)
    unit = "dB"
    min_side = 8
    description = "PSNR-HVS-M of 8-bit BT.601 Y (studio range), psnr-hvsm package, dB"
    reference = Reference(
        "psnr-hvsm psnr_hvs_hvsm of bt601ycbcr Y", "0.3.0", 1e-9,
        "5 photos at JPEG q=10–95, Kodak pairs", "tests/test_metrics_psnr_hvsm.py::_check",
        "= its compute_all_metrics; JPEG AI's implementation",
    )
    memory_per_pixel = 400.0  # float64 planes, 8×8 tiles, their DCTs and masks for both images
    #: Most pixels per batch.
    batch_pixels = 8 * 768 * 512

    @classmethod
    def available(cls) -> str | None:
        # found, not imported: the package's __init__ imports PyTorch when it is installed (~2 s of
        # every plan); the import happens in the worker that computes the metric
        if importlib.util.find_spec("psnr_hvsm") is None:
            return "the psnr-hvsm package is missing; pip install psnr-hvsm"
        return None

    @property
    def version(self) -> str:  # type: ignore[override]
        return f"1+psnr-hvsm-{package_version('psnr-hvsm')}"

    def _compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        package = psnr_hvsm_numpy()
        out = np.empty(len(refs), dtype=np.float64)
        for chunk in batches(refs, self.batch_pixels):
            y_ref = luma(np.stack([refs[i] for i in chunk]))
            y_dist = luma(np.stack([dists[i] for i in chunk]))
            with np.errstate(divide="ignore", invalid="ignore"):  # the package divides where it then masks
                out[chunk] = package.psnr_hvs_hvsm(y_ref, y_dist, batch=True)[1]
        return out
