"""Lossy WebP through Pillow and libwebp."""

from __future__ import annotations

from typing import Any

from . import register
from ._pillow import PillowCodec, pillow_versions
from .base import Setting


@register
class WebP(PillowCodec):
    """Lossy WebP (VP8, 4:2:0) from libwebp via Pillow.

    Settings: ``method`` 0 (fast) … 6 (slowest, best), default 4 — passed
    explicitly because Pillow's default has changed between versions. Quality is
    libwebp's 0–100 scale.
    """

    name = "webp"
    format = "WEBP"
    extension = "webp"
    description = "WebP lossy (libwebp via Pillow)"
    settings = {"method": Setting(4, range=(0, 6), help="effort: 0 fast … 6 slowest, best")}
    #: Spans about 25.5–37.5 dB PSNR on Kodak, like the other built-in codecs' ladders, so BD-rates have overlap.
    ladder = (5, 10, 20, 35, 50, 65, 78, 86)
    quality_range = (0, 100)
    quality_integer = True

    def save_params(self, quality: float) -> dict[str, Any]:
        return {"quality": int(round(quality)), "method": self.options["method"], "lossless": False}

    def versions(self) -> dict[str, str]:
        return pillow_versions("webp")
