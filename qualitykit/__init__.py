"""qualitykit — perceptual quality evaluation for image codecs: how much smaller, at the same visual quality?

The Python API (:mod:`qualitykit.api`) does everything ``qk`` does:

>>> import qualitykit
>>> result = qualitykit.bench(codecs=["jpeg", "avif"], metrics=["psnr", "ms-ssim"])  # doctest: +SKIP
>>> result.summary(), result.report                                                 # doctest: +SKIP
"""

from ._version import __version__
from .api import (  # noqa: E402
    BenchResult, answer, bd_curves, bd_matrix, bd_table, bench, check_claims, compare, gate, render_text, report,
    save_baseline, summary,
)  # fmt: skip
from .errors import QKError  # noqa: E402

__all__ = [
    "BenchResult", "QKError", "__version__", "answer", "bd_curves", "bd_matrix", "bd_table", "bench", "check_claims",
    "compare", "gate", "render_text", "report", "save_baseline", "summary",
]  # fmt: skip
