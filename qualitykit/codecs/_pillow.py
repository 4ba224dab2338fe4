"""Shared plumbing of the codecs that Pillow implements (JPEG, WebP, AVIF)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, features

import PIL

from .base import Codec


def pillow_versions(*features_: str) -> dict[str, str]:
    """Pillow's version plus the version of each named Pillow feature (e.g. ``libjpeg_turbo``)."""
    out = {"pillow": PIL.__version__}
    for name in features_:
        version = features.version(name)
        if version:
            out[name] = version
    return out


class PillowCodec(Codec):
    """A codec that Pillow writes with ``Image.save(format=..., **params)``."""

    format: str

    def save_params(self, quality: float) -> dict[str, Any]:
        """Keyword arguments for ``Image.save`` at ``quality``; every one explicit."""
        raise NotImplementedError

    def encode(self, image: np.ndarray, q: float) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(image, "RGB").save(buf, format=self.format, **self.save_params(q))
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data), formats=[self.format]) as im:
            return np.asarray(im.convert("RGB"))
