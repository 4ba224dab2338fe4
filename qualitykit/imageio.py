"""Reading source images as RGB uint8."""

from __future__ import annotations

import os
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import BadInput


def load_rgb(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as an ``(H, W, 3)`` uint8 RGB array.

    Grey images are replicated to three channels; an alpha channel is dropped
    (codecs here are compared on colour only). 16-bit images are rejected
    rather than silently quantised. Raises :class:`~qualitykit.errors.BadInput` naming the file and
    the problem for anything that is not a readable 8-bit image.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.load()
                if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                    raise BadInput(f"{path}: {im.mode} ({im.width}x{im.height}) is not 8-bit; convert it to 8-bit RGB first")
                return np.asarray(im.convert("RGB"))
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except UnidentifiedImageError:
        raise BadInput(f"{path}: not an image file Pillow can read") from None
    except (OSError, SyntaxError, Image.DecompressionBombWarning) as exc:
        raise BadInput(f"{path}: unreadable image ({exc})") from None
