"""qualitykit — perceptual quality evaluation for image codecs: how much smaller, at the same visual quality?

The Python API (:mod:`qualitykit.api`) does everything ``qk`` does:

>>> import qualitykit
>>> result = qualitykit.bench(codecs=["jpeg", "avif"], metrics=["psnr", "ms-ssim"])  # doctest: +SKIP
>>> result.summary(), result.report                                                 # doctest: +SKIP
"""

from ._version import __version__
from .api import BenchResult, bd_curves, bd_table, bench, compare, gate, report, save_baseline, summary  # noqa: E402
from .errors import QKError  # noqa: E402

__all__ = [
    "BenchResult", "QKError", "__version__", "bd_curves", "bd_table", "bench", "compare", "gate", "report",
    "save_baseline", "summary",
]  # fmt: skip
