"""AVIF (AV1 still image) through Pillow's native support or ``pillow-avif-plugin``."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from PIL import features

from . import register
from ._pillow import PillowCodec, pillow_versions
from ..errors import BadInput, Unavailable

_SUBSAMPLING = {"444": "4:4:4", "422": "4:2:2", "420": "4:2:0"}


def _backend() -> ModuleType | None:
    """The module exposing libavif: Pillow's own ``PIL._avif`` (Pillow ≥ 11.2) or the plugin's."""
    if features.check("avif"):
        from PIL import _avif

        return _avif
    try:
        import pillow_avif  # noqa: F401  (registers the AVIF format with Pillow)
        from pillow_avif import _avif
    except ImportError:
        return None
    return _avif


@register
class AVIF(PillowCodec):
    """AVIF from libavif with the libaom encoder (decoded by whatever libavif picks, usually dav1d).

    Settings: ``speed`` 0 (slowest, best) … 10, default 6; ``subsampling``
    444/422/420, default 420; ``encoder`` default ``aom``. Quality is libavif's
    0–100 scale (mapped to AV1 quantisers by libavif). Colour is encoded as
    BT.601 full-range YUV (Pillow's default), decoded back to RGB by libavif.
    Encoding uses one thread per process: ``qk`` parallelises across images.
    """

    name = "avif"
    format = "AVIF"
    extension = "avif"
    description = "AVIF (libavif + libaom via Pillow)"
    settings = {"speed": 6, "subsampling": "420", "encoder": "aom"}
    #: Spans about 25.5–37.5 dB PSNR on Kodak, like the other built-in codecs' ladders, so BD-rates have overlap.
    ladder = (15, 22, 30, 38, 46, 55, 65, 75)
    quality_range = (0, 100)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if self.options["subsampling"] not in _SUBSAMPLING:
            raise BadInput(f"avif: subsampling={self.options['subsampling']!r}; use one of 444, 422, 420")

    @classmethod
    def available(cls) -> str | None:
        avif = _backend()
        if avif is None:
            return "Pillow has no AVIF support here: upgrade Pillow (≥ 11.2 has it built in) or pip install pillow-avif-plugin"
        if not avif.encoder_codec_available("aom"):
            return "libavif here was built without the aom encoder"
        return None

    def save_params(self, quality: float) -> dict[str, Any]:
        return {
            "quality": int(round(quality)),
            "speed": self.options["speed"],
            "subsampling": _SUBSAMPLING[self.options["subsampling"]],
            "codec": self.options["encoder"],
            "max_threads": 1,
        }

    def encode(self, image, quality):  # type: ignore[override]
        if _backend() is None:
            raise Unavailable(self.available() or "AVIF unavailable")
        return super().encode(image, quality)

    def versions(self) -> dict[str, str]:
        avif = _backend()
        out = pillow_versions()
        if avif is not None:
            out["libavif"] = avif.libavif_version
            out["avif_codecs"] = avif.codec_versions()
        return out
