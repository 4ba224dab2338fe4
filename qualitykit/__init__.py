"""qualitykit — perceptual quality evaluation for image codecs.

>>> import qualitykit
>>> df = qualitykit.bench(codecs=["jpeg", "avif"], metrics=["psnr", "ms-ssim"])  # doctest: +SKIP
"""

__version__ = "0.1.0"

from .api import bench, summary  # noqa: E402

__all__ = ["__version__", "bench", "summary"]
