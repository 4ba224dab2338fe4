"""Colour conversion used by the luma (``-y``) metrics."""

from __future__ import annotations

import numpy as np

#: BT.601 luma weights (ITU-T T.871 / JFIF), the matrix JPEG itself uses.
BT601 = np.array([0.299, 0.587, 0.114])


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """Full-range BT.601 luma of an ``(H, W, 3)`` uint8 RGB image, as ``(H, W)`` uint8.

    ``Y = 0.299 R + 0.587 G + 0.114 B``, rounded to the nearest integer, range
    0–255 (no studio-swing 16–235 scaling). This is the plane handed to libvmaf
    unchanged (raw ``yuv444p``, chroma set to 128), so the ``-y`` metrics are
    libvmaf's own numbers on exactly this plane.
    """
    return np.clip(np.rint(image.astype(np.float64) @ BT601), 0, 255).astype(np.uint8)
