"""From the results table to rate–quality curves and per-codec summaries.

Convention (CompressAI's): the corpus value at a codec point (codec × q) is the mean
of the per-image values, for bpp and for each metric alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
    return rd_points_all(results, codec_id, [metric], images)[metric]


def rd_points_all(results: pd.DataFrame, codec_id: str, metrics: Sequence[str], images: Sequence[str]) -> dict[str, RDPoints]:
    """:func:`rd_points` of ``codec_id`` for every metric in ``metrics`` at once (one pass over the table)."""
    rows = results[results["codec_id"] == codec_id]
    if rows.empty:
        raise UnknownName(f"no results for codec {codec_id!r}")
    images = list(images)
    q = np.unique(rows["q"].to_numpy(dtype=np.float64))
    i = pd.Index(images).get_indexer(rows["image"])
    j = np.searchsorted(q, rows["q"].to_numpy(dtype=np.float64))
    keep = i >= 0
    i, j = i[keep], j[keep]

    def grid(column: str) -> np.ndarray:
        out = np.full((len(images), q.size), np.nan)
        out[i, j] = rows[column].to_numpy(dtype=np.float64)[keep]
        return out

    bpp = grid("bpp")
    return {m: RDPoints(images, q, bpp, grid(m)) for m in metrics}


def speed_table(results: pd.DataFrame) -> pd.DataFrame:
    """Per codec id: points, median encode/decode seconds per image, median megapixels per second and
    median milliseconds per megapixel (``encode_ms_mpx``, ``decode_ms_mpx``: the cost to put next to a saving)."""
    mpx = results["width"] * results["height"] / 1e6
    frame = results.assign(
        encode_mpx_s=mpx / results["encode_s"], decode_mpx_s=mpx / results["decode_s"],
        encode_ms_mpx=1e3 * results["encode_s"] / mpx, decode_ms_mpx=1e3 * results["decode_s"] / mpx,
    )  # fmt: skip
    return (
        frame.groupby("codec_id", sort=False)
        .agg(
            points=("bpp", "size"),
            encode_s=("encode_s", "median"),
            decode_s=("decode_s", "median"),
            encode_mpx_s=("encode_mpx_s", "median"),
            decode_mpx_s=("decode_mpx_s", "median"),
            encode_ms_mpx=("encode_ms_mpx", "median"),
            decode_ms_mpx=("decode_ms_mpx", "median"),
        )
        .reset_index()
    )


# ---------------------------------------------------------------- which images a comparison uses

#: An image whose bpp is this many times above (or below 1/this of) the corpus median at the same codec points is a rate outlier.
OUTLIER_FACTOR = 10.0


@dataclass(frozen=True)
class Selection:
    """Which images and points a comparison of two point sets uses, and why the others are left out.

    ``rows``: indices of the images in the corpus curves (and the only ones the bootstrap draws
    from); ``anchor_cols``/``test_cols``: the codec points kept; ``excluded``: image → reason;
    ``notes``: points left out.
    """

    rows: np.ndarray
    anchor_cols: np.ndarray
    test_cols: np.ndarray
    excluded: dict[str, str]
    notes: list[str]

    def note(self, n_images: int) -> str:
        """``"23 of 24 images; 1 excluded: too small for MS-SSIM (small.png)"``."""
        text = f"{len(self.rows)} of {n_images} images"
        if self.excluded:
            groups: dict[str, list[str]] = {}
            for image, why in self.excluded.items():
                groups.setdefault(why, []).append(image)
            parts = [f"{why} ({', '.join(names[:3])}{' …' if len(names) > 3 else ''})" for why, names in groups.items()]
            text += f"; {len(self.excluded)} excluded: " + "; ".join(parts)
        return text


def select(
    anchor: RDPoints, test: RDPoints, excluded: Mapping[str, str] | None = None, why: Mapping[str, str] | None = None
) -> Selection:
    """The images and points a comparison of ``anchor`` and ``test`` (same images, same order) uses.

    Images in ``excluded`` (image → reason, e.g. rate outliers) are left out first. A codec point
    is kept when at least half of the remaining images have it (bpp and score); an image lacking
    any kept point of either side is then excluded, for this comparison only, with the reason
    ``why[image]`` when given (e.g. "too small for MS-SSIM") or "no score at N point(s)". The
    same images make both corpus curves, so the two curves always describe the same corpus.
    """
    excluded = dict(excluded or {})
    why = why or {}
    candidates = np.array([img not in excluded for img in anchor.images], dtype=bool)
    notes: list[str] = []
    cols = []
    for side, pts in (("anchor", anchor), ("test", test)):
        have = np.isfinite(pts.bpp) & np.isfinite(pts.scores)
        enough = have[candidates].sum(axis=0) * 2 >= max(1, int(candidates.sum()))
        for q, n in zip(pts.q[~enough], have[candidates][:, ~enough].sum(axis=0)):
            notes.append(f"{side} point q={q:g} left out: only {int(n)} of {int(candidates.sum())} images have it")
        cols.append(enough)
    lacking = np.zeros(len(anchor.images), dtype=int)
    for pts, keep in zip((anchor, test), cols):
        have = np.isfinite(pts.bpp[:, keep]) & np.isfinite(pts.scores[:, keep])
        lacking += (~have).sum(axis=1)
    for i, image in enumerate(anchor.images):
        if candidates[i] and lacking[i]:
            excluded[image] = why.get(image) or f"no score at {lacking[i]} point(s)"
    rows = np.flatnonzero(candidates & (lacking == 0))
    return Selection(rows, cols[0], cols[1], {k: v for k, v in excluded.items() if k in anchor.images}, notes)


def rate_outliers(results: pd.DataFrame, factor: float = OUTLIER_FACTOR) -> dict[str, str]:
    """Images whose rate is far outside the corpus: image → reason.

    For each codec point (codec × ``q``) an image's bpp is divided by the median bpp of all
    images at that point; an image whose median ratio is above ``factor`` or below
    ``1/factor`` is an outlier (a 1×1 image spends ~600 bytes of headers on one pixel: thousands
    of bpp where photographs need 0.1–3). Natural photographs stay well inside: on Kodak the
    ratio spans about 0.4–2. Needs at least 3 images (a median of two says nothing).
    """
    if results.empty or results["image"].nunique() < 3:
        return {}
    median = results.groupby(["codec_id", "q"])["bpp"].transform("median")
    ratio = (results["bpp"] / median).groupby(results["image"], sort=False).median()
    out = {}
    for image, r in ratio.items():
        if r > factor or r < 1 / factor:
            w, h = results.loc[results["image"] == image, ["width", "height"]].iloc[0]
            out[str(image)] = f"rate outlier ({int(w)}×{int(h)} px, {r:.3g}× the corpus median bpp)"
    return out


def metric_refusals(errors: Sequence[Any], metric: str) -> dict[str, str]:
    """Image → short reason, from a run's errors, for images the metric could not score."""
    out = {}
    for e in errors:
        if e.image is None or e.stage != f"metric {metric}":
            continue
        msg = e.message
        size = re.search(r"(\d+)x(\d+) px", msg)
        if "needs at least" in msg:
            out[e.image] = f"too small for {metric.upper()}" + (f" ({size[1]}×{size[2]} px)" if size else "")
        elif "memory limit" in msg:
            out[e.image] = f"too large to score with {metric.upper()} within the memory limit"
        else:
            out[e.image] = f"{metric.upper()} failed: {msg.split(': ', 1)[-1][:80]}"
    return out
