"""Reading images as RGB uint8."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, UnidentifiedImageError


def load_rgb(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as an ``(H, W, 3)`` uint8 RGB array (Pillow).

    Grey and palette images are expanded to RGB; alpha is dropped. Raises
    ``ValueError`` naming the file and the problem when it cannot be read.
    """
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image Pillow can read") from None
    except (OSError, SyntaxError) as exc:
        raise ValueError(f"{path}: unreadable image ({exc})") from None
