"""JPEG 2000 (Part 1, OpenJPEG) through Pillow."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, features

from . import register
from ._pillow import pillow_versions
from .base import Codec, Setting

#: Raw bits per pixel of an 8-bit RGB image: OpenJPEG's compression ratio is this / the target rate.
RAW_BPP = 24.0


@register
class JPEG2000(Codec):
    """JPEG 2000 from OpenJPEG via Pillow: 9/7 irreversible wavelet, RGB→YCbCr (ICT), one quality layer.

    ``q=`` is the **target rate in bits per pixel** (OpenJPEG's rate control: compression
    ratio = 24 / q for 8-bit RGB; PCRD-opt hits it within a fraction of a percent, headers
    included). Fixed-rate is how JPEG 2000 is run in codec comparisons (e.g. the JPEG AI common
    test conditions' target rates); q=0.5 means 0.5 bpp. Settings: ``resolutions`` — number of
    resolution levels (DWT levels + 1), default 6 as in opj_compress; an image smaller than
    2^(n−1) pixels on a side gets as many as it allows (OpenJPEG refuses more); ``codeblock``
    size 16/32/64 (default 64×64); ``progression`` LRCP (default)/RLCP/RPCL/PCRL/CPRL;
    ``container`` j2k (bare codestream, default) or jp2 (adds the JP2 boxes, ~100 bytes).
    """

    name = "jpeg2000"
    extension = "j2k"
    description = "JPEG 2000 (OpenJPEG via Pillow)"
    settings = {
        "resolutions": Setting(6, range=(1, 32), help="resolution levels (DWT levels + 1)"),
        "codeblock": Setting(64, choices=(16, 32, 64), help="code-block size"),
        "progression": Setting("LRCP", choices=("LRCP", "RLCP", "RPCL", "PCRL", "CPRL")),
        "container": Setting("j2k", choices=("j2k", "jp2")),
    }
    #: Target bits per pixel; ≈ 25.5–37.5 dB PSNR on Kodak (benchmarks/calibrate_ladders.py).
    ladder = (0.16, 0.24, 0.38, 0.53, 0.66, 0.87, 1.2, 1.7)
    quality_range = (0.01, 12.0)

    @classmethod
    def available(cls) -> str | None:
        if not features.check("jpg_2000"):
            return "Pillow here was built without OpenJPEG (JPEG 2000)"
        return None

    def encode(self, image: np.ndarray, q: float) -> bytes:
        h, w = image.shape[:2]
        levels = min(self.options["resolutions"], max(1, min(h, w).bit_length()))
        block = self.options["codeblock"]
        buf = io.BytesIO()
        Image.fromarray(image, "RGB").save(
            buf, format="JPEG2000", quality_mode="rates", quality_layers=[RAW_BPP / float(q)],
            irreversible=True, mct=1, num_resolutions=levels, codeblock_size=(block, block),
            progression=self.options["progression"], no_jp2=self.options["container"] == "j2k",
        )  # fmt: skip
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data), formats=["JPEG2000"]) as im:
            return np.asarray(im.convert("RGB"))

    def versions(self) -> dict[str, str]:
        return pillow_versions("jpg_2000")
