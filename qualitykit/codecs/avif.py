"""AVIF (AV1 still image) through Pillow's native support or ``pillow-avif-plugin``."""

from __future__ import annotations

import functools
import io
from types import ModuleType
from typing import Any

import numpy as np

from PIL import Image, features

from . import register
from ._pillow import PillowCodec, pillow_versions
from ..errors import BadInput, Unavailable
from .base import Setting

_SUBSAMPLING = {"444": "4:4:4", "422": "4:2:2", "420": "4:2:0"}
#: AV1 encoders libavif can be built with (``avif:encoder=``); which ones are compiled in is asked of libavif.
ENCODERS = ("aom", "rav1e", "svt")
#: libaom ``tune`` values for still images: ``iq`` (libaom ≥ 3.12, libavif's default with it), ``ssim``,
#: ``psnr``, ``ssimulacra2`` (libaom ≥ 3.13). Which ones the installed libaom accepts is probed once.
TUNES = ("iq", "ssim", "psnr", "ssimulacra2")


def _backend() -> ModuleType | None:
    """The module exposing libavif: Pillow's own ``PIL._avif`` (in the wheels of Pillow ≥ 11.3) or the plugin's."""
    if features.check("avif"):
        from PIL import _avif

        return _avif
    try:
        import pillow_avif  # noqa: F401  (registers the AVIF format with Pillow)
        from pillow_avif import _avif
    except ImportError:
        return None
    return _avif


def _encoders_here() -> tuple[str, ...]:
    avif = _backend()
    return tuple(e for e in ENCODERS if avif is not None and avif.encoder_codec_available(e))


@functools.cache
def _tunes_here() -> tuple[str, ...]:
    """The ``tune`` values the installed libaom accepts, found by encoding an 8×8 image with each."""
    if "aom" not in _encoders_here():
        return ()
    ok = []
    for tune in TUNES:
        try:
            Image.new("RGB", (8, 8)).save(io.BytesIO(), format="AVIF", codec="aom", speed=10, advanced=[("tune", tune)])
        except (ValueError, OSError, TypeError):  # "Invalid codec-specific option", or no ``advanced`` support
            continue
        ok.append(tune)
    return tuple(ok)


@register
class AVIF(PillowCodec):
    """AVIF from libavif (libaom encoder by default; decoded by whatever libavif picks, usually dav1d).

    Settings: ``speed`` 0 (slowest, best) … 10, default 6; ``subsampling``
    444/422/420, default 420; ``encoder`` aom/rav1e/svt — whichever the installed libavif
    was built with (``qk codecs`` lists them), default ``aom``; ``tune`` (libaom only): ``iq``
    (default; what libavif ≥ 1.2 uses with libaom ≥ 3.12 when none is given, so the default
    bitstream is libavif's own), ``ssim``, ``psnr``, ``ssimulacra2`` — each refused where the
    installed libaom lacks it. Quality is libavif's 0–100 scale (mapped to AV1 quantisers by
    libavif). Colour is encoded as BT.601 full-range YUV (Pillow's default), decoded back to RGB
    by libavif. Encoding uses one thread per process: ``qk`` parallelises across images.
    """

    name = "avif"
    format = "AVIF"
    extension = "avif"
    description = "AVIF (libavif + libaom via Pillow)"
    settings = {
        "speed": Setting(6, range=(0, 10), help="0 slowest, best … 10 fastest"),
        "subsampling": Setting("420", choices=tuple(_SUBSAMPLING), help="chroma subsampling"),
        "encoder": Setting("aom", choices=ENCODERS, available=_encoders_here, help="AV1 encoder inside libavif"),
        "tune": Setting("iq", choices=TUNES, help="libaom tuning (encoder=aom only)"),
    }
    #: Spans about 25.5–37.5 dB PSNR on Kodak, like the other built-in codecs' ladders, so BD-rates have overlap.
    ladder = (15, 22, 30, 38, 46, 55, 65, 75)
    quality_range = (0, 100)
    quality_integer = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if self.options["encoder"] != "aom":
            if "tune" in options and options["tune"] != "iq":
                raise BadInput(f"avif: tune= is a libaom option; encoder={self.options['encoder']} has none")
            self.options["tune"] = "-"  # spelled out in the id: no tuning applies
        elif _backend() is not None and self.options["tune"] not in _tunes_here():
            raise BadInput(f"avif: tune={self.options['tune']} is not supported by the libaom installed here "
                              f"(available here: {', '.join(_tunes_here()) or 'none'})")  # fmt: skip

    @classmethod
    def from_spec(cls, spec: str) -> tuple[Any, tuple[float, ...]]:
        # ``tune=-`` (the id of a non-aom encoder) reads back as "no tune"
        return super().from_spec(spec.replace(":tune=-", ""))

    @classmethod
    def available(cls) -> str | None:
        avif = _backend()
        if avif is None:
            return "Pillow has no AVIF support here: upgrade Pillow (the Linux wheels of ≥ 11.3 have it built in) or pip install pillow-avif-plugin"
        if not avif.encoder_codec_available("aom"):
            return "libavif here was built without the aom encoder"
        return None

    def save_params(self, quality: float) -> dict[str, Any]:
        params = {
            "quality": int(quality),
            "speed": self.options["speed"],
            "subsampling": _SUBSAMPLING[self.options["subsampling"]],
            "codec": self.options["encoder"],
            "max_threads": 1,
        }
        if self.options["encoder"] == "aom":
            params["advanced"] = [("tune", self.options["tune"])]
        return params

    def encode(self, image: np.ndarray, q: float) -> bytes:
        if _backend() is None:
            raise Unavailable(self.available() or "AVIF unavailable")
        return super().encode(image, q)

    def versions(self) -> dict[str, str]:
        avif = _backend()
        out = pillow_versions()
        if avif is not None:
            out["libavif"] = avif.libavif_version
            out["avif_codecs"] = avif.codec_versions()
        return out
