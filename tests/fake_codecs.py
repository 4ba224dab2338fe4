"""Tiny codecs for tests: a plugin codec (entry point ``qualitykit.codecs``) and a learned model.

Both are real codecs in miniature: the bytes they return are a complete file (header + payload)
that decodes with nothing else, and more quality costs more bytes.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from qualitykit.codecs.base import Codec, Setting

MAGIC = b"QKFK"


def _pack(image: np.ndarray, bits: int, level: int) -> bytes:
    h, w = image.shape[:2]
    kept = (image >> (8 - bits)).astype(np.uint8)
    return MAGIC + struct.pack(">HHB", h, w, bits) + zlib.compress(kept.tobytes(), level)


def _unpack(data: bytes) -> np.ndarray:
    if data[:4] != MAGIC or len(data) < 9:
        raise ValueError("not a fake-codec file")
    h, w, bits = struct.unpack(">HHB", data[4:9])
    kept = np.frombuffer(zlib.decompress(data[9:]), np.uint8).reshape(h, w, 3)
    return ((kept.astype(np.uint16) << (8 - bits)) + (1 << (7 - bits)) if bits < 8 else kept).astype(np.uint8)


class FakePlugin(Codec):
    """Keeps the top ``q`` bits of every sample, deflated at ``level``."""

    name = "fakeplug"
    extension = "qkf"
    description = "test plugin codec (bit-depth reduction + deflate)"
    settings = {"level": Setting(6, range=(1, 9), help="zlib level")}
    ladder = (2, 3, 4, 5)
    quality_range = (1, 8)
    quality_integer = True

    def encode(self, image: np.ndarray, q: float) -> bytes:
        return _pack(image, int(q), self.options["level"])

    def decode(self, data: bytes) -> np.ndarray:
        return _unpack(data)

    def versions(self) -> dict[str, str]:
        return {"zlib": zlib.ZLIB_VERSION}


class TinyLearned:
    """A 'learned' model in the plugin interface of ``qualitykit.codecs.learned``."""

    name = "tiny-learned-v1"
    qualities = (1, 2, 3, 4)

    def compress(self, image: np.ndarray, quality: int) -> bytes:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        return _pack(image, 1 + int(quality), 9)

    def decompress(self, data: bytes) -> np.ndarray:
        return _unpack(data)

    def versions(self) -> dict[str, str]:
        return {"weights": "none (test model)"}


class StatefulLearned(TinyLearned):
    """Cheats: keeps the image shape outside the bytes. qk must catch it (fresh-instance decode)."""

    name = "stateful"

    def compress(self, image: np.ndarray, quality: int) -> bytes:
        self.shape = image.shape
        return _pack(image, 1 + int(quality), 9)[9:]

    def decompress(self, data: bytes) -> np.ndarray:
        h, w, _ = self.shape
        return _unpack(MAGIC + struct.pack(">HHB", h, w, 2) + data)
