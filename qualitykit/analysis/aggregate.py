"""From the results table to rate–quality curves and per-codec summaries.

Convention (CompressAI's): the corpus value at a codec point (codec × q) is the mean
of the per-image values, for bpp and for each metric alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import UnknownName


@dataclass(frozen=True)
class RDPoints:
    """One codec's points for one metric: rows are ``images``, columns the ladder's ``q`` values.

    ``bpp`` and ``scores`` are ``(n_images, n_points)`` arrays, NaN where a point is missing.
    """

    images: list[str]
    q: np.ndarray
    bpp: np.ndarray
    scores: np.ndarray

    def corpus(self, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Corpus curve ``(bpp, score)``: mean over ``rows`` (default every image) at each codec point.

        A point that any of those images lacks is NaN (a mean over fewer images would mix corpora).
        """
        bpp, scores = (self.bpp, self.scores) if rows is None else (self.bpp[rows], self.scores[rows])
        return bpp.mean(axis=0), scores.mean(axis=0)

    def image(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Curve ``(bpp, score)`` of image number ``i``."""
        return self.bpp[i], self.scores[i]


def rd_points(results: pd.DataFrame, codec_id: str, metric: str, images: Sequence[str]) -> RDPoints:
    """Points of ``codec_id`` for ``metric``, one row per name in ``images`` (all-NaN where absent)."""
    rows = results[results["codec_id"] == codec_id]
    if rows.empty:
        raise UnknownName(f"no results for codec {codec_id!r}")
    table = rows.pivot(index="image", columns="q", values=["bpp", metric]).reindex(list(images))
    return RDPoints(
        list(images),
        table["bpp"].columns.to_numpy(dtype=np.float64),
        table["bpp"].to_numpy(dtype=np.float64),
        table[metric].to_numpy(dtype=np.float64),
    )


def speed_table(results: pd.DataFrame) -> pd.DataFrame:
    """Per codec id: points, median encode/decode seconds per image and median megapixels per second."""
    mpx = results["width"] * results["height"] / 1e6
    frame = results.assign(encode_mpx_s=mpx / results["encode_s"], decode_mpx_s=mpx / results["decode_s"])
    return (
        frame.groupby("codec_id", sort=False)
        .agg(
            points=("bpp", "size"),
            encode_s=("encode_s", "median"),
            decode_s=("decode_s", "median"),
            encode_mpx_s=("encode_mpx_s", "median"),
            decode_mpx_s=("decode_mpx_s", "median"),
        )
        .reset_index()
    )
