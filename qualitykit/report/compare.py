"""Visual comparisons: the reference crop next to each codec's decoded crop at about the same bpp.

The decoded images are not stored by a run; they are re-created by encoding the source image
again with the row's codec id and quality (the encoders are deterministic) and the byte count
is checked against the row's ``bytes``. Crops are taken at full resolution from the most
detailed region of the reference and kept as PNG (lossless), so the report stays small.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ..codecs import codec_from_spec
from ..errors import BadInput, Unavailable


@dataclass
class Crop:
    """One codec's decoded crop (``png`` is ``None`` when it could not be made; ``note`` says why)."""

    label: str
    row: dict
    png: bytes | None = None
    note: str = ""


@dataclass
class Comparison:
    """Reference crop and codec crops of one image; ``note`` explains a missing reference."""

    image: str
    box: tuple[int, int, int, int] | None = None  # x, y, width, height of the crop
    reference: bytes | None = None
    crops: list[Crop] = field(default_factory=list)
    note: str = ""


def detail_box(image: np.ndarray, size: int) -> tuple[int, int, int, int]:
    """``(x, y, w, h)`` of the ``size``×``size`` window (clipped to the image) with the most gradient energy."""
    h, w = image.shape[:2]
    cw, ch = min(size, w), min(size, h)
    luma = image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    energy = np.abs(np.diff(luma, axis=0, append=luma[-1:])) + np.abs(np.diff(luma, axis=1, append=luma[:, -1:]))
    integral = np.pad(energy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    step = max(1, size // 8)
    ys, xs = np.arange(0, h - ch + 1, step), np.arange(0, w - cw + 1, step)
    sums = (
        integral[ys[:, None] + ch, xs[None, :] + cw]
        - integral[ys[:, None], xs[None, :] + cw]
        - integral[ys[:, None] + ch, xs[None, :]]
        + integral[ys[:, None], xs[None, :]]
    )
    iy, ix = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(xs[ix]), int(ys[iy]), cw, ch


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def closest_rows(rows: pd.DataFrame, codec_ids: list[str], target_bpp: float) -> dict[str, dict]:
    """For each codec id, its row of ``rows`` (one image) whose bpp is closest to ``target_bpp`` in log scale."""
    out = {}
    for cid in codec_ids:
        mine = rows[rows["codec"] == cid]
        if not mine.empty:
            out[cid] = mine.iloc[int(np.argmin(np.abs(np.log(mine["bpp"].to_numpy() / target_bpp))))].to_dict()
    return out


def compare_image(
    image: str, source: dict | None, rows: dict[str, dict], labels: dict[str, str], size: int = 256
) -> Comparison:
    """Build the comparison of one image from its manifest entry ``source`` and the chosen ``rows`` per codec id."""
    cmp = Comparison(image)
    path = Path(source["path"]) if source and source.get("path") else None
    if path is None or not path.is_file():
        cmp.note = f"The source image {path or image} is gone, so no visual comparison could be made."
        return cmp
    data = path.read_bytes()
    if source.get("sha256") and hashlib.sha256(data).hexdigest() != source["sha256"]:
        cmp.note = f"The source image {path} changed since the run (sha256 differs), so no visual comparison."
        return cmp
    with Image.open(io.BytesIO(data)) as im:
        ref = np.asarray(im.convert("RGB"))
    cmp.box = x, y, w, h = detail_box(ref, size)
    cmp.reference = _png(ref[y : y + h, x : x + w])
    for cid, row in rows.items():
        crop = Crop(labels[cid], row)
        try:
            codec, _ = codec_from_spec(cid)
            encoded = codec.encode(ref, float(row["quality"]))
            decoded = codec.decode(encoded)
        except (BadInput, Unavailable) as exc:
            crop.note = f"could not re-encode: {exc}"
        else:
            crop.png = _png(decoded[y : y + h, x : x + w])
            expected = int(row["bytes"])
            crop.note = (
                f"re-encoded: {len(encoded)} bytes, same as the run"
                if len(encoded) == expected
                else f"re-encoded: {len(encoded)} bytes, but the run measured {expected}: "
                "this encoder or its settings differ from the run's, so this crop may not match the numbers"
            )
        cmp.crops.append(crop)
    return cmp
