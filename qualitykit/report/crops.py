"""Visual comparisons: the reference crop next to each codec's decoded crop at about the same bpp.

Each decoded crop comes from the **stored bitstream** the run measured (the cache holds every
encode under the row's ``encode_key``), decoded again by the row's codec: the pixels shown are
exactly the pixels that were scored. When the cache no longer holds a bitstream (a different
``--cache``, a deleted file) the crop says so instead. Crops are taken at full resolution from
the most detailed region of the reference and kept as PNG (lossless), so the report stays small.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from PIL import Image

from ..codecs import codec_from_spec
from ..errors import QKError
from ..fsutil import sha256_file
from ..imageio import load_rgb
from ..rundir import SourceImage
from ..store import Store
from .assets import AssetCache


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
    luma = image.astype(np.float32).mean(axis=2)
    energy = np.abs(np.diff(luma, axis=0, append=luma[-1:])) + np.abs(np.diff(luma, axis=1, append=luma[:, -1:]))
    integral = np.pad(energy.astype(np.float64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
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


def png(pixels: np.ndarray) -> bytes:
    """``pixels`` as a PNG file."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def closest_rows(rows: pd.DataFrame, codec_ids: list[str], target_bpp: float) -> dict[str, dict]:
    """For each codec id, its row of ``rows`` (one image) whose bpp is closest to ``target_bpp`` in log scale."""
    out = {}
    for cid in codec_ids:
        mine = rows[rows["codec_id"] == cid]
        if not mine.empty:
            out[cid] = mine.iloc[int(np.argmin(np.abs(np.log(mine["bpp"].to_numpy() / target_bpp))))].to_dict()
    return out


def compare_image(
    source: SourceImage, rows: dict[str, dict], store: Store | None, size: int = 256, assets: AssetCache | None = None
) -> Comparison:
    """The comparison of one image from its manifest entry and the chosen row per codec id.

    ``store`` is the run's cache (``None`` when it is gone): each crop decodes the row's bitstream
    from it. ``assets`` keeps finished crops under the bitstream's key and the crop box, so a
    report of the same results draws nothing again (the bitstream must still be in ``store``).
    """
    assets = assets or AssetCache(None)
    cmp = Comparison(source.image)
    try:
        if sha256_file(source.path) != source.sha256:
            cmp.note = f"The source image {source.path} changed since the run (sha256 differs), so no visual comparison."
            return cmp
        ref: list[np.ndarray] = []

        def reference() -> np.ndarray:
            if not ref:
                ref.append(load_rgb(source.path))
            return ref[0]

        box = assets.get(f"box-{source.sha256[:32]}-{size}", lambda: ",".join(map(str, detail_box(reference(), size))).encode())
        cmp.box = x, y, w, h = tuple(int(v) for v in box.decode().split(","))  # type: ignore[assignment]
        cmp.reference = assets.get(f"ref-{source.sha256[:32]}-{x}-{y}-{w}-{h}", lambda: png(reference()[y : y + h, x : x + w]))
    except (OSError, QKError):
        cmp.note = f"The source image {source.path} is gone, so no visual comparison could be made."
        return cmp
    for cid, row in rows.items():
        crop = Crop(row["codec_label"], row)
        key = row.get("encode_key") if isinstance(row.get("encode_key"), str) else None
        encode = store.get_encode(key) if store is not None and key else None
        if encode is None:
            crop.note = "the run's bitstream is no longer in the cache, so no crop"
        else:
            def draw(encode=encode, cid=cid) -> bytes:
                return png(codec_from_spec(cid)[0].decode(encode.bitstream)[y : y + h, x : x + w])

            try:
                crop.png = assets.get(f"crop-{hashlib.sha256(key.encode()).hexdigest()[:32]}-{x}-{y}-{w}-{h}", draw)
            except Exception as exc:  # a codec missing here, or one that fails to decode its own file
                crop.note = f"could not decode the run's bitstream here ({type(exc).__name__}: {exc})"
            else:
                crop.note = f"decoded from the run's {encode.bytes}-byte bitstream"
        cmp.crops.append(crop)
    return cmp
