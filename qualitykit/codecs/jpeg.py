"""JPEG through Pillow and libjpeg-turbo."""

from __future__ import annotations

from typing import Any

from . import register
from ._pillow import PillowCodec, pillow_versions
from .base import Setting

_SUBSAMPLING = {"444": 0, "422": 1, "420": 2}


@register
class JPEG(PillowCodec):
    """Baseline JPEG (JFIF) from libjpeg-turbo via Pillow.

    Settings (every one passed to the encoder explicitly, so results do not move
    with Pillow's defaults): ``subsampling`` 444/422/420 (default 420),
    ``optimize`` Huffman tables (default off), ``progressive`` (default off).
    Quality is libjpeg's 1–100 scale with the standard IJG quantisation tables.
    """

    name = "jpeg"
    format = "JPEG"
    extension = "jpg"
    description = "JPEG (libjpeg-turbo via Pillow)"
    settings = {
        "subsampling": Setting("420", choices=tuple(_SUBSAMPLING), help="chroma subsampling"),
        "optimize": Setting(False, help="optimised Huffman tables"),
        "progressive": Setting(False, help="progressive scans"),
    }
    #: Spans about 25.5–37.5 dB PSNR on Kodak, like the other built-in codecs' ladders, so BD-rates have overlap.
    ladder = (10, 15, 25, 40, 55, 70, 82, 90)
    quality_range = (1, 100)
    quality_integer = True

    def save_params(self, quality: float) -> dict[str, Any]:
        return {
            "quality": int(round(quality)),
            "subsampling": _SUBSAMPLING[self.options["subsampling"]],
            "optimize": self.options["optimize"],
            "progressive": self.options["progressive"],
        }

    def versions(self) -> dict[str, str]:
        return pillow_versions("libjpeg_turbo")
