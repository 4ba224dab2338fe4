"""Named metric sets: one name in ``--metrics`` that stands for several metrics, expanded at plan time.

The sets are data (:data:`METRIC_SETS`); ``qk metrics`` lists them. A set's members that cannot run
here are left out with their reason, like any metric named in ``--metrics``.

>>> expand(["psnr", "jpeg-ai", "vif"])[:4]
['psnr', 'ms-ssim-pyiqa', 'vif', 'fsim']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class MetricSet:
    """``members``: qk metric names, in report order; ``description``: what the set is and how it
    departs from its source's conventions; ``source``: the documents it follows."""

    members: tuple[str, ...]
    description: str
    source: str


METRIC_SETS: dict[str, MetricSet] = {
    "jpeg-ai": MetricSet(
        members=("ms-ssim-pyiqa", "vif", "fsim", "nlpd", "psnr-hvsm", "vmaf", "psnr-y"),
        description=(
            "JPEG AI's objective metrics (MS-SSIM, VIF, FSIM, NLPD, PSNR-HVS-M, VMAF, PSNR-Y) as qk computes "
            "them; IW-SSIM is missing (not in pyiqa 0.1.16), and qk's luma is Y of YIQ / BT.601 where JPEG AI "
            "converts to BT.709 YCbCr: see docs/metrics.md"
        ),
        source="JPEG AI CTC (ISO/IEC JTC 1/SC 29/WG 1 N92048 and later) and its Quality Assessment Framework",
    ),
}


def expand(names: Sequence[str]) -> list[str]:
    """``names`` with every set name replaced by its members, in order, each metric once."""
    out: dict[str, None] = {}
    for name in names:
        for member in METRIC_SETS[name].members if name in METRIC_SETS else (name,):
            out[member] = None
    return list(out)
