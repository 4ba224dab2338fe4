"""The neural codec's file format: a small versioned header, then CompressAI's strings.

All integers are big-endian. Layout (version 1)::

    magic        4 bytes   b"QKNC"
    version      u8        1
    model id     u8 length + UTF-8, e.g. "zoo/bmshj2018-hyperprior/mse" (the model: its set of rate points)
    quality      u8        rate point within that model (the zoo's quality index)
    height       u32       image size in pixels, before padding
    width        u32
    pad bottom   u16       rows / columns added (edge replication) to reach the model's stride
    pad right    u16
    shape        u8 count + u32 each: the latent shape ``model.decompress`` needs
    streams      u8 count + u32 byte length each
    crc32        u32       of every byte before it and after it (header + streams)
    streams      the entropy-coded strings, concatenated

The header takes 69 bytes for the bundled model; it counts towards the rate.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from ..errors import BadInput

MAGIC = b"QKNC"
VERSION = 1


@dataclass(frozen=True)
class Frame:
    """Everything in a neural-codec file besides the model weights."""

    model: str
    quality: int
    height: int
    width: int
    pad: tuple[int, int]
    shape: tuple[int, ...]
    streams: tuple[bytes, ...]


def pack(frame: Frame) -> bytes:
    """Serialise ``frame`` to one ``bytes`` object."""
    model = frame.model.encode()
    head = b"".join(
        [
            struct.pack(">4sBB", MAGIC, VERSION, len(model)),
            model,
            struct.pack(">BIIHH", frame.quality, frame.height, frame.width, *frame.pad),
            struct.pack(f">B{len(frame.shape)}I", len(frame.shape), *frame.shape),
            struct.pack(f">B{len(frame.streams)}I", len(frame.streams), *map(len, frame.streams)),
        ]
    )
    body = b"".join(frame.streams)
    return head + struct.pack(">I", zlib.crc32(body, zlib.crc32(head))) + body


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise BadInput(f"truncated neural-codec file: header ends after {len(self.data)} bytes")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def counted(self) -> tuple[int, ...]:
        (count,) = self.take(">B")
        return self.take(f">{count}I")


def unpack(data: bytes) -> Frame:
    """Parse and check a file written by :func:`pack`.

    Raises :class:`BadInput` for a wrong magic or version, a truncated or
    over-long file, or a CRC mismatch (corrupted bytes).
    """
    r = _Reader(bytes(data))
    magic, version, model_len = r.take(">4sBB")
    if magic != MAGIC:
        raise BadInput(f"not a neural-codec file: starts with {magic!r}, expected {MAGIC!r}")
    if version != VERSION:
        raise BadInput(f"neural-codec format version {version}; this qualitykit reads version {VERSION}")
    (model,) = r.take(f">{model_len}s")
    quality, height, width, pad_h, pad_w = r.take(">BIIHH")
    shape = r.counted()
    lengths = r.counted()
    (crc,) = r.take(">I")
    head, body = r.data[: r.pos - 4], r.data[r.pos :]
    if len(body) != sum(lengths):
        raise BadInput(
            f"neural-codec file is {'truncated' if len(body) < sum(lengths) else 'too long'}: "
            f"streams hold {len(body)} bytes, header says {sum(lengths)}"
        )
    if zlib.crc32(body, zlib.crc32(head)) != crc:
        raise BadInput("neural-codec file is corrupted: CRC-32 mismatch")
    offsets = [sum(lengths[:i]) for i in range(len(lengths) + 1)]
    streams = tuple(body[a:b] for a, b in zip(offsets, offsets[1:]))
    return Frame(model.decode(), quality, height, width, (pad_h, pad_w), tuple(shape), streams)
