"""A "torture corpus": ordinary photographs beside every kind of odd input qk must survive.

Run it to get the folder and try qk on it yourself::

    python -m tests.torture /tmp/torture && qk bench --dataset /tmp/torture --codecs jpeg:q=30/60

Each entry of :data:`CASES` names a file and what qk must do with it (``convert``: read it as RGB
with the stated conversion; ``skip``: list it as skipped, naming the problem; ``error``: record an
error naming the file, while everything else completes). The corpus also holds a folder link
that loops back to the corpus (``loop-folder``: never followed) and, for a user other than root,
a folder nobody may list (``locked/``).
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

#: file name → (what qk must do, a phrase the conversion note or error message contains)
CASES: dict[str, tuple[str, str]] = {
    "photo-a.png": ("convert", ""),
    "photo-b.png": ("convert", ""),
    "photo-c.png": ("convert", ""),
    "small-150x120.png": ("convert", ""),
    "rgba-half-transparent.png": ("convert", "alpha composited over white"),
    "rgba-opaque.png": ("convert", "alpha channel fully opaque"),
    "rgb16.png": ("convert", "16-bit → 8-bit, high byte"),
    "grey16.png": ("convert", "16-bit → 8-bit, high byte"),
    "grey.png": ("convert", "grey replicated"),
    "palette.png": ("convert", "palette expanded"),
    "cmyk.jpg": ("convert", "CMYK converted"),
    "exif-rotated.jpg": ("convert", "EXIF orientation 6 applied"),
    "corrupt.png": ("error", "not an image file"),
    "truncated.png": ("error", "unreadable image"),
    "fifo.png": ("skip", "FIFO"),
    "dangling.png": ("skip", "broken symbolic link"),
    "folder.png": ("skip", "is a folder"),
    "loop-self.png": ("skip", "symbolic link loop"),
    "loop-a.png": ("skip", "symbolic link loop"),
    "loop-b.png": ("skip", "symbolic link loop"),
    "animated.gif": ("convert", "animated, 3 frames: frame 1 scored"),
    "animated.webp": ("convert", "animated, 3 frames: frame 1 scored"),
}
if os.geteuid() != 0:  # root may list any folder
    CASES["locked/"] = ("skip", "cannot list this folder")


def photo(seed: int, size: tuple[int, int] = (176, 200)) -> np.ndarray:
    """A real photograph crop (scikit-image's samples), ``size`` = (height, width)."""
    from skimage import data

    sources = [data.astronaut(), data.chelsea(), data.coffee()]
    src = sources[seed % len(sources)]
    h, w = size
    return np.ascontiguousarray(src[:h, :w])


def make(folder: str | os.PathLike[str], with_special_files: bool = True) -> Path:
    """Write the torture corpus into ``folder`` (created); return it."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(("photo-a.png", "photo-b.png", "photo-c.png")):
        Image.fromarray(photo(i)).save(root / name)
    Image.fromarray(photo(0, (120, 150))).save(root / "small-150x120.png")
    rgba = np.dstack([photo(1), np.where(np.arange(200)[None, :] < 100, 255, 64).repeat(176, 0).astype(np.uint8)])
    Image.fromarray(rgba, "RGBA").save(root / "rgba-half-transparent.png")
    Image.fromarray(np.dstack([photo(2), np.full((176, 200), 255, np.uint8)]), "RGBA").save(root / "rgba-opaque.png")
    _png16(root / "rgb16.png", photo(0).astype(np.uint16) * 257 + 100)
    Image.fromarray(photo(1)[..., 1].astype(np.uint16) * 257).save(root / "grey16.png")
    Image.fromarray(photo(2)).convert("L").save(root / "grey.png")
    Image.fromarray(photo(0)).convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(root / "palette.png")
    Image.fromarray(photo(1)).convert("CMYK").save(root / "cmyk.jpg", quality=95)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    Image.fromarray(photo(2, (200, 176))).save(root / "exif-rotated.jpg", quality=95, exif=exif)
    (root / "corrupt.png").write_bytes(b"this is not a PNG file")
    good = io.BytesIO()
    Image.fromarray(photo(0)).save(good, "PNG")
    (root / "truncated.png").write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    (root / "folder.png").mkdir(exist_ok=True)
    frames = [Image.fromarray(photo(i)) for i in range(3)]
    frames[0].save(root / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    frames[0].save(root / "animated.webp", save_all=True, append_images=frames[1:], duration=100, lossless=True)
    for link, target in (("loop-self.png", "loop-self.png"), ("loop-a.png", "loop-b.png"), ("loop-b.png", "loop-a.png"), ("loop-folder", ".")):
        if not (root / link).is_symlink():
            os.symlink(target, root / link)
    locked = root / "locked"
    if not locked.exists():
        locked.mkdir()
        Image.fromarray(photo(1)).save(locked / "inside.png")
        locked.chmod(0)
    if with_special_files:
        if not (root / "fifo.png").exists():
            os.mkfifo(root / "fifo.png")
        if not (root / "dangling.png").is_symlink():
            os.symlink(root / "nowhere.png", root / "dangling.png")
    return root


def add_outliers(folder: str | os.PathLike[str]) -> Path:
    """Add images far outside an ordinary corpus: a 1×1 pixel (its file is nearly all header, so its
    bpp is in the thousands). Kept out of :data:`CASES`: the analysis, not the reader, must cope."""
    root = Path(folder)
    Image.fromarray(photo(1)[:1, :1]).save(root / "tiny-1x1.png")
    return root


def _png16(path: Path, rgb16: np.ndarray) -> None:
    """A 16-bit-per-channel RGB PNG (Pillow cannot write one; PyPNG-free: imageio through Pillow's raw encoder)."""
    import zlib
    import struct

    h, w, _ = rgb16.shape
    raw = b"".join(b"\x00" + rgb16[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


if __name__ == "__main__":
    print(make(sys.argv[1] if len(sys.argv) > 1 else "torture-corpus"))
