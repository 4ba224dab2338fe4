"""Named metric sets: one name in ``--metrics`` that stands for several metrics, expanded at plan time.

The sets are data (:data:`METRIC_SETS`); ``qk metrics`` lists them. A set's members that cannot run
here are left out with their reason, like any metric named in ``--metrics``.

>>> expand(["psnr", "jpeg-ai", "vif"])[:4]
['psnr', 'jpeg-ai:ms-ssim', 'jpeg-ai:psnr-y', 'jpeg-ai:psnr-u']
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


#: JPEG AI's objective metrics in the order of its reference software's summary columns
#: (``MetricsFabric.metrics_list``: MS-SSIM, PSNR Y/U/V, VIF, FSIM, NLPD, IW-SSIM, VMAF, PSNR-HVS).
JPEG_AI_MEMBERS = (
    "jpeg-ai:ms-ssim", "jpeg-ai:psnr-y", "jpeg-ai:psnr-u", "jpeg-ai:psnr-v", "jpeg-ai:vif", "fsim",
    "jpeg-ai:nlpd", "jpeg-ai:iw-ssim", "jpeg-ai:vmaf", "jpeg-ai:psnr-hvs",
)  # fmt: skip

METRIC_SETS: dict[str, MetricSet] = {
    "jpeg-ai": MetricSet(
        members=JPEG_AI_MEMBERS,
        description=(
            "JPEG AI's objective metrics in its reference software's conventions (8-bit full-range BT.709 "
            "YCbCr 4:4:4; pixel-domain VIF and NLPD of IQA_pytorch; PSNR-HVS; VMAF of the YCbCr planes): the "
            "jpeg-ai: metrics, each equal to the reference's code; FSIM is qk's fsim (pyiqa FSIMc on RGB, the "
            "reference uses IQA_pytorch's)"
        ),
        source="JPEG AI reference software src/codec/metrics (commit faded723ca95); JPEG AI CTC (WG 1 N92048)",
    ),
}


def expand(names: Sequence[str]) -> list[str]:
    """``names`` with every set name replaced by its members, in order, each metric once."""
    out: dict[str, None] = {}
    for name in names:
        for member in METRIC_SETS[name].members if name in METRIC_SETS else (name,):
            out[member] = None
    return list(out)
