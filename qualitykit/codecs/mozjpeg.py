"""JPEG from Mozilla's mozjpeg encoder through ``jpeglib``.

No Python package binds mozjpeg alone for encoding (``mozjpeg-lossless-optimization`` only
re-packs an existing JPEG, without trellis quantisation, and the npm/PyPI "mozjpeg" wrappers
download binaries at install time). ``jpeglib`` (a maintained research library, MPL-2.0,
wheels with many libjpeg builds compiled in) ships mozjpeg 4.0.3 and encodes from pixels with
mozjpeg's library defaults, so it is used here. A newer mozjpeg ``cjpeg`` binary can be run
through the external-command codec instead (docs/external-codecs.md).
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from . import register
from ._pillow import pillow_versions
from .base import Codec, Setting

try:
    import jpeglib
except ImportError:  # reported by available()
    jpeglib = None  # type: ignore[assignment]

#: The mozjpeg build inside jpeglib that this codec uses.
MOZJPEG = "mozjpeg403"
_SAMPLING = {"420": ((2, 2), (1, 1), (1, 1)), "444": ((1, 1), (1, 1), (1, 1))}


@register
class MozJPEG(Codec):
    """JPEG from mozjpeg 4.0.3 with its defaults: trellis quantisation, progressive scans with
    optimised scan script, optimised Huffman tables, deringing.

    Quality is the libjpeg 1–100 scale applied to mozjpeg's quantisation tables. Settings:
    ``subsampling`` 420 (default)/444; ``tables`` — mozjpeg's base quantisation table set
    0–8, default 3 (mozjpeg's own default, tuned for MS-SSIM; 0 is the IJG/JPEG Annex K set).
    Decoded by libjpeg-turbo via Pillow.
    """

    name = "mozjpeg"
    extension = "jpg"
    description = "JPEG (mozjpeg 4.0.3 via jpeglib)"
    settings = {
        "subsampling": Setting("420", choices=tuple(_SAMPLING), help="chroma subsampling"),
        "tables": Setting(3, range=(0, 8), help="mozjpeg base quantisation table set"),
    }
    #: ≈ 25.5–37.5 dB PSNR on Kodak (benchmarks/calibrate_ladders.py).
    ladder = (14, 21, 35, 53, 66, 77, 86, 92)
    quality_range = (1, 100)
    quality_integer = True

    @classmethod
    def available(cls) -> str | None:
        if jpeglib is None:
            return "needs jpeglib (which ships mozjpeg): pip install 'qualitykit[codecs]' (or pip install jpeglib)"
        if MOZJPEG not in jpeglib.version.versions():
            return f"this jpeglib {jpeglib.__version__} has no {MOZJPEG} build"
        return None

    def encode(self, image: np.ndarray, q: float) -> bytes:
        with tempfile.TemporaryDirectory(prefix="qk-mozjpeg-") as tmp, jpeglib.version(MOZJPEG):
            path = Path(tmp) / "out.jpg"
            jpeg = jpeglib.from_spatial(np.ascontiguousarray(image))
            jpeg.samp_factor = _SAMPLING[self.options["subsampling"]]
            jpeg.write_spatial(str(path), qt=int(q), base_quant_tbl_idx=self.options["tables"])
            return path.read_bytes()

    def decode(self, data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as im:
            return np.asarray(im.convert("RGB"))

    def versions(self) -> dict[str, str]:
        return {"jpeglib": jpeglib.__version__, "mozjpeg": "4.0.3", **pillow_versions("libjpeg_turbo")}
