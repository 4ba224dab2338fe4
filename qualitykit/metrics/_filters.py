"""Gaussian windows and valid-region blurs shared by the numpy metrics (IW-SSIM, JPEG AI's VIF).

>>> taps = gaussian_taps(11, 1.5)
>>> round(float(taps.sum()), 12), blur_valid(np.ones((20, 30)), taps).shape
(1.0, (10, 20))
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import correlate1d


def gaussian_taps(size: int, sigma: float) -> np.ndarray:
    """The ``size``-tap Gaussian of standard deviation ``sigma`` (odd ``size``), float64, summing to 1:
    its outer product is MATLAB's ``fspecial('gaussian', size, sigma)``."""
    t = np.arange(size) - size // 2
    g = np.exp(-(t * t) / (2.0 * sigma**2))
    return g / g.sum()


def blur_valid(image: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Correlation of a 2-D ``image`` with the separable window ``outer(taps, taps)`` over its valid
    region only (``len(taps) − 1`` rows and columns fewer; MATLAB's ``filter2(..., 'valid')``),
    rows then columns, in float64."""
    half = len(taps) // 2
    rows = correlate1d(image, taps, axis=0, mode="constant")[half : image.shape[0] - half]
    return correlate1d(rows, taps, axis=1, mode="constant")[:, half : image.shape[1] - half]
