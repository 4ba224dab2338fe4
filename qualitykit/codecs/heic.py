"""HEIC (HEVC still image in HEIF) through ``pillow-heif`` (libheif + x265, decoded by libde265)."""

from __future__ import annotations

import io

import numpy as np

from . import register
from .base import Codec, Setting

try:
    import pillow_heif
except ImportError:  # reported by available()
    pillow_heif = None  # type: ignore[assignment]

PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")


@register
class HEIC(Codec):
    """HEIC: one HEVC (Main / Main 4:4:4) intra image in a HEIF file, from libheif's x265 encoder.

    Quality is libheif's 0–100 scale (mapped to x265's CRF by libheif). Settings: ``subsampling``
    420 (default, what phones write)/422/444 (called ``chroma`` up to qk 0.2; the old name is
    still accepted, with a warning); x265 ``preset`` ultrafast … placebo, default
    ``slow`` and ``tune`` psnr/ssim/grain/fastdecode, default ``ssim`` — both libheif's own
    defaults, passed explicitly so the id says what made the bitstream. No grid tiling (one
    coded image however large; Apple's 512×512 grid is not used). Colour: BT.601 full-range
    YCbCr with an nclx box (pillow-heif's default), decoded to RGB by libheif.
    """

    name = "heic"
    extension = "heic"
    description = "HEIC (libheif + x265 via pillow-heif)"
    settings = {
        "subsampling": Setting("420", choices=("420", "422", "444"), help="chroma subsampling"),
        "preset": Setting("slow", choices=PRESETS, help="x265 speed preset"),
        "tune": Setting("ssim", choices=("psnr", "ssim", "grain", "fastdecode"), help="x265 tuning"),
    }
    renamed = {"chroma": "subsampling"}  # the name every other codec uses
    #: ≈ 25.5–37.5 dB PSNR on Kodak (benchmarks/calibrate_ladders.py).
    ladder = (13, 19, 24, 30, 33, 38, 44, 52)
    quality_range = (0, 100)
    quality_integer = True

    @classmethod
    def available(cls) -> str | None:
        if pillow_heif is None:
            return "needs pillow-heif: pip install 'qualitykit[codecs]' (or pip install pillow-heif)"
        info = pillow_heif.libheif_info()
        if not info.get("HEIF"):
            return f"libheif {info.get('libheif')} here has no HEVC encoder"
        if not any("libde265" in d or "ffmpeg" in d for d in info.get("decoders", {})):
            return f"libheif {info.get('libheif')} here has no HEVC decoder"
        return None

    def encode(self, image: np.ndarray, q: float) -> bytes:
        h, w = image.shape[:2]
        buf = io.BytesIO()
        params = {"preset": self.options["preset"], "tune": self.options["tune"]}
        pillow_heif.encode(
            "RGB", (w, h), np.ascontiguousarray(image).tobytes(), buf, quality=int(q),
            chroma=self.options["subsampling"], enc_params=params, tile_size=0, save_nclx_profile=True,
        )  # fmt: skip
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        return np.asarray(heif.to_pillow().convert("RGB"))

    def versions(self) -> dict[str, str]:
        info = pillow_heif.libheif_info()
        return {
            "pillow_heif": pillow_heif.__version__,
            "libheif": info["libheif"],
            "encoder": info.get("HEIF", ""),
            "decoder": "; ".join(info.get("decoders", {}).values()),
        }
