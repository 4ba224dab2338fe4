"""JPEG XL through ``imagecodecs`` (libjxl).

Why ``imagecodecs`` and not ``pillow-jxl-plugin``: imagecodecs exposes libjxl's own knobs —
butteraugli ``distance`` (the scale libjxl, cjxl and benchmark_xl use), ``effort`` and
``decodingspeed`` — and reports the libjxl version it was built with, which goes into
:meth:`JPEGXL.versions` and so into cache keys and manifests. The Pillow plugin only takes a
JPEG-style quality and does not say which libjxl it carries. imagecodecs is a large wheel
(≈ 75 MB installed), so it is in the ``qualitykit[codecs]`` extra, not the default install.
"""

from __future__ import annotations


import numpy as np

from . import register
from .base import Codec, Setting

try:
    import imagecodecs
except ImportError:  # reported by available()
    imagecodecs = None  # type: ignore[assignment]


def _missing(feature: str) -> str | None:
    if imagecodecs is None:
        return "needs imagecodecs: pip install 'qualitykit[codecs]' (or pip install imagecodecs)"
    codec = getattr(imagecodecs, feature.upper(), None)
    if codec is None or not codec.available:
        return f"this imagecodecs {imagecodecs.__version__} was built without {feature}"
    return None


@register
class JPEGXL(Codec):
    """Lossy JPEG XL (VarDCT, XYB colour — libjxl's defaults for lossy RGB), a bare codestream.

    ``q=`` is libjxl's butteraugli **distance**: 1.0 is "visually lossless", larger is smaller
    and worse (0.05–25 allowed). A ladder is therefore written from the largest distance to the
    smallest, i.e. from fewest to most bytes, like every other codec's ladder. (cjxl's
    ``--quality`` Q maps to distance 0.1 + (100 − Q) × 0.09 for Q ≥ 30.) Settings: ``effort``
    1 (fastest) … 10 (slowest), default 7 as in cjxl; ``decodingspeed`` 0 (best compression)
    … 4, default 0. One thread per encode: ``qk`` parallelises across images.
    """

    name = "jxl"
    extension = "jxl"
    description = "JPEG XL (libjxl via imagecodecs)"
    settings = {
        "effort": Setting(7, range=(1, 10), help="1 fastest … 10 slowest, best"),
        "decodingspeed": Setting(0, range=(0, 4), help="0 best compression … 4 fastest decoding"),
    }
    #: Butteraugli distances from fewest to most bytes; ≈ 25.5–37.5 dB PSNR on Kodak (benchmarks/calibrate_ladders.py).
    ladder = (15.0, 9.7, 6.3, 4.4, 3.5, 2.6, 1.8, 1.1)
    quality_range = (0.05, 25.0)

    @classmethod
    def available(cls) -> str | None:
        return _missing("jpegxl")

    def encode(self, image: np.ndarray, q: float) -> bytes:
        return bytes(imagecodecs.jpegxl_encode(
            np.ascontiguousarray(image), distance=float(q), effort=self.options["effort"],
            decodingspeed=self.options["decodingspeed"], usecontainer=False, numthreads=1,
        ))  # fmt: skip

    def decode(self, data: bytes) -> np.ndarray:
        out = imagecodecs.jpegxl_decode(data, numthreads=1)
        if out.ndim == 2:
            out = np.repeat(out[:, :, None], 3, axis=2)
        return np.ascontiguousarray(out[:, :, :3])

    def versions(self) -> dict[str, str]:
        return {"imagecodecs": imagecodecs.__version__, "libjxl": imagecodecs.jpegxl_version().split()[-1]}
