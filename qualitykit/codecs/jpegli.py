"""JPEG from Google's jpegli encoder through ``pyjpegli``.

``pyjpegli`` (BSD-3, wheels with jpegli compiled in, 0.3.x) is the one Python binding of
jpegli on PyPI; imagecodecs has none. It exposes quality only: no subsampling (always 4:2:0),
no progressive switch, no XYB or distance. For those, run ``cjpegli`` (built from the jpegli
or libjxl sources) through the external-command codec (docs/external-codecs.md).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from . import register
from ._pillow import pillow_versions
from .base import Codec, Setting

try:
    import pyjpegli
except ImportError:  # reported by available()
    pyjpegli = None  # type: ignore[assignment]


@register
class Jpegli(Codec):
    """Baseline-compatible JPEG (4:2:0, adaptive quantisation) from jpegli via pyjpegli.

    Quality is jpegli's libjpeg-compatible 1–100 scale. ``decoder`` picks the decoder whose
    pixels are scored: ``turbo`` (libjpeg-turbo via Pillow, default: what browsers and most
    software use) or ``jpegli`` (jpegli's own decoder, which decodes at higher precision and
    gives slightly better pixels from the same file) — the file is the same either way.
    """

    name = "jpegli"
    extension = "jpg"
    description = "JPEG (jpegli via pyjpegli)"
    settings = {"decoder": Setting("turbo", choices=("turbo", "jpegli"), help="decoder whose pixels are scored")}
    #: ≈ 25.5–37.5 dB PSNR on Kodak (benchmarks/calibrate_ladders.py).
    ladder = (5, 15, 28, 51, 62, 73, 83, 90)
    quality_range = (1, 100)
    quality_integer = True

    @classmethod
    def available(cls) -> str | None:
        if pyjpegli is None:
            return "needs pyjpegli: pip install 'qualitykit[codecs]' (or pip install pyjpegli)"
        return None

    def encode(self, image: np.ndarray, q: float) -> bytes:
        h, w = image.shape[:2]
        return pyjpegli.encode(np.ascontiguousarray(image), w, h, quality=int(q))

    def decode(self, data: bytes) -> np.ndarray:
        if self.options["decoder"] == "jpegli":
            rgb, w, h = pyjpegli.decode(data)
            return np.frombuffer(rgb, np.uint8).reshape(h, w, 3).copy()
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as im:
            return np.asarray(im.convert("RGB"))

    def versions(self) -> dict[str, str]:
        out = {"pyjpegli": pyjpegli.__version__}
        if self.options["decoder"] == "turbo":
            out.update(pillow_versions("libjpeg_turbo"))
        return out
