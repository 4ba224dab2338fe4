"""Reading source images as 8-bit RGB, with one stated policy for everything that is not.

Codecs and metrics compare ``(H, W, 3)`` uint8 sRGB images. A file that is something else is
converted by these rules, and the conversion is recorded per image (the run manifest's
``conversion``) so that no change to the pixels is silent:

=============================  ===============================================================
file                           what qk compares
=============================  ===============================================================
EXIF orientation ≠ 1           the image as displayed (the rotation/flip applied)
grey, grey + alpha, palette    expanded to RGB (grey replicated to R, G and B)
alpha channel, all opaque      RGB (the alpha channel carries nothing)
alpha channel, some non-opaque composited over white (255, 255, 255), as on a web page
16-bit per channel             8-bit, the high byte (``v >> 8``), as Pillow reads 16-bit RGB
CMYK, YCbCr, LAB, float        converted by Pillow to RGB
animated (GIF, WebP, APNG)     the first frame (``animated, N frames: frame 1 scored``)
ICC profile                    ignored: pixel values are taken as sRGB
=============================  ===============================================================

Images larger than ``max_pixels`` (default: Pillow's decompression-bomb limit, about 89.5
megapixels) are refused before decoding; raise the limit deliberately with ``max_pixels``
(``qk bench --max-pixels``). Anything unreadable raises :class:`~qualitykit.errors.BadInput`
naming the file and the problem.

>>> image = load_image("photo.png")            # doctest: +SKIP
>>> image.pixels.shape, image.conversion       # doctest: +SKIP
((3024, 4032, 3), 'EXIF orientation 6 applied')
"""

from __future__ import annotations

import errno
import io
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import BadInput

#: Pillow's decompression-bomb threshold (pixels), qk's default limit.
DEFAULT_MAX_PIXELS = int(Image.MAX_IMAGE_PIXELS or 89_478_485)
WHITE = (255, 255, 255)


@dataclass(frozen=True)
class Header:
    """What the file says about itself without decoding: displayed size in pixels, Pillow mode, EXIF orientation."""

    width: int
    height: int
    mode: str
    orientation: int


@dataclass(frozen=True)
class SourcePixels:
    """A decoded image: ``pixels`` ``(H, W, 3)`` uint8 RGB and ``conversion``, what was done to get them ('' if nothing)."""

    pixels: np.ndarray
    conversion: str


def check_regular_file(path: str | os.PathLike[str]) -> Path:
    """``path`` if it is a regular file (following links); else :class:`BadInput` saying what it is
    (missing, a broken link or a link loop, unreadable, a folder, a FIFO...)."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise BadInput(f"{path}: broken symbolic link (points to {os.readlink(path)})") from None
        raise BadInput(f"{path}: no such file") from None
    except PermissionError:
        raise BadInput(f"{path}: permission denied") from None
    except OSError as exc:  # e.g. a symbolic link loop (ELOOP), a name too long, an I/O error
        what = "symbolic link loop" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
        raise BadInput(f"{path}: {what}") from None
    if stat.S_ISDIR(st.st_mode):
        raise BadInput(f"{path}: is a folder, not an image file")
    if not stat.S_ISREG(st.st_mode):
        kind = "FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else "socket" if stat.S_ISSOCK(st.st_mode) else "device or special file"
        raise BadInput(f"{path}: is a {kind}, not an image file")
    return path


def _open(path: Path, data: bytes | None = None) -> Image.Image:
    try:
        return Image.open(path if data is None else io.BytesIO(data))
    except PermissionError:
        raise BadInput(f"{path}: permission denied") from None
    except UnidentifiedImageError:
        raise BadInput(f"{path}: not an image file Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadInput(f"{path}: unreadable image ({exc})") from None


def read_header(path: str | os.PathLike[str], max_pixels: int | None = None, data: bytes | None = None) -> Header:
    """Size (as displayed, after EXIF orientation), mode and orientation of an image file, without decoding it.

    ``data``, when given, is the file's content (read elsewhere, e.g. by the driver of a
    cluster run); ``path`` then only names the file in messages.
    Raises :class:`BadInput` when the file is not a readable image or exceeds ``max_pixels``.
    """
    path = check_regular_file(path) if data is None else Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with _guard_bomb(), _open(path, data) as im:
            try:
                orientation = int(im.getexif().get(0x0112, 1) or 1)
            except Exception:  # a broken EXIF block: the pixels are still usable
                orientation = 1
            w, h = im.size
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    limit = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    if w * h > limit:
        raise BadInput(
            f"{path}: {w}x{h} = {w * h / 1e6:.1f} megapixels, above the limit of {limit / 1e6:.1f} megapixels "
            "(decompression-bomb guard); pass --max-pixels to allow larger images"
        )
    return Header(w, h, im.mode, orientation)


class _guard_bomb:
    """Let qk's own ``max_pixels`` check replace Pillow's global bomb limit while a file is opened."""

    def __enter__(self) -> None:
        self.saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None

    def __exit__(self, *exc: object) -> None:
        Image.MAX_IMAGE_PIXELS = self.saved


def load_image(path: str | os.PathLike[str], max_pixels: int | None = None, data: bytes | None = None) -> SourcePixels:
    """Decode ``path`` to 8-bit RGB by the module's policy; return the pixels and what was converted.

    ``data``, when given, is the file's content; ``path`` then only names the file in messages.
    """
    header = read_header(path, max_pixels, data)
    path = Path(path)
    notes = []
    with _guard_bomb():
        try:
            with _open(path, data) as im:
                wide = any(";16" in str(t.args) for t in getattr(im, "tile", []) or [])
                frames = getattr(im, "n_frames", 1)
                if frames > 1:
                    notes.append(f"animated, {frames} frames: frame 1 scored")
                im.load()
                if header.orientation != 1:
                    im = ImageOps.exif_transpose(im)
                    notes.append(f"EXIF orientation {header.orientation} applied")
                pixels = _to_rgb(im, notes, wide, str(path))
        except BadInput:
            raise
        except (OSError, SyntaxError, ValueError) as exc:
            raise BadInput(f"{path}: unreadable image ({exc})") from None
    return SourcePixels(pixels, "; ".join(notes))


def load_rgb(path: str | os.PathLike[str], max_pixels: int | None = None) -> np.ndarray:
    """Just the pixels of :func:`load_image`."""
    return load_image(path, max_pixels).pixels


def _to_rgb(im: Image.Image, notes: list[str], wide: bool = False, name: str | None = None) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im)
        if arr.dtype == np.int32:  # Pillow's "I" mode: some 16-bit grey files load this way
            arr = arr.clip(0, 65535)
        notes.append("16-bit → 8-bit, high byte (v >> 8)")
        notes.append("grey replicated to RGB")
        return np.repeat((arr.astype(np.uint16) >> 8).astype(np.uint8)[..., None], 3, axis=2)
    if wide:  # 16-bit RGB(A): Pillow keeps the high byte of each sample while decoding
        notes.append("16-bit → 8-bit, high byte (v >> 8)")
    if mode == "F":
        raise BadInput(f"{name or getattr(im, 'filename', '') or 'image'}: 32-bit float pixels (mode F) have no defined 8-bit scale; convert to 8-bit RGB first")
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        notes.append("palette expanded to RGB")
        mode = im.mode
    if mode in ("LA", "PA", "RGBa", "La"):
        if mode in ("LA", "La"):
            notes.append("grey replicated to RGB")
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode == "RGBA":
        alpha = np.asarray(im.getchannel("A"))
        if alpha.min() == 255:
            notes.append("alpha channel fully opaque, dropped")
            return np.asarray(im.convert("RGB"))
        background = Image.new("RGBA", im.size, (*WHITE, 255))
        notes.append(f"alpha composited over white ({(alpha < 255).mean():.1%} of pixels not opaque)")
        return np.asarray(Image.alpha_composite(background, im).convert("RGB"))
    if mode in ("L", "1"):
        notes.append("grey replicated to RGB")
    elif mode != "RGB":
        notes.append(f"{mode} converted to RGB by Pillow")
    return np.asarray(im.convert("RGB"))
