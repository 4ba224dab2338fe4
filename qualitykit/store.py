"""Content-addressed cache of encodes and metric values in one SQLite file (WAL).

An encode is keyed by (image sha256, codec id, quality, codec library versions):
the same bytes can only come out of the same inputs. A metric value is keyed by
(encode key, metric name, metric version). Every write is its own short
transaction with ``INSERT OR IGNORE``, so a process killed at any moment leaves
only complete rows, a rerun finds and skips them, and processes sharing the
file at once never duplicate a row.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .fsutil import cache_home

SCHEMA = """
CREATE TABLE IF NOT EXISTS encodes (
    key TEXT PRIMARY KEY,
    image_sha256 TEXT NOT NULL,
    codec_id TEXT NOT NULL,
    quality REAL NOT NULL,
    versions TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    encode_s REAL NOT NULL,
    decode_s REAL NOT NULL,
    bitstream BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS metric_values (
    encode_key TEXT NOT NULL REFERENCES encodes(key),
    metric TEXT NOT NULL,
    version TEXT NOT NULL,
    value REAL,
    created REAL NOT NULL,
    PRIMARY KEY (encode_key, metric, version)
);
"""


def default_cache_path() -> Path:
    """``$QK_CACHE``, else ``~/.cache/qualitykit/cache.sqlite``."""
    env = os.environ.get("QK_CACHE")
    if env:
        return Path(env)
    return cache_home() / "cache.sqlite"


def encode_key(image_sha256: str, codec_id: str, quality: float, versions: Mapping[str, str]) -> str:
    """The content address of one encode."""
    blob = json.dumps([image_sha256, codec_id, float(quality), dict(sorted(versions.items()))], separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class Encode:
    """One cached encode: the bitstream and what was measured when it was made."""

    key: str
    width: int
    height: int
    bytes: int
    encode_s: float
    decode_s: float
    bitstream: bytes


class Store:
    """The cache file; open one per process (connections are not shared across forks)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=120, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 120000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_encode(self, key: str) -> Encode | None:
        row = self._db.execute(
            "SELECT key, width, height, bytes, encode_s, decode_s, bitstream FROM encodes WHERE key = ?", (key,)
        ).fetchone()
        return Encode(*row) if row else None

    def get_encodes(self, keys: Iterable[str]) -> dict[str, Encode]:
        """Cached encodes among ``keys``, without their bitstreams (``bitstream`` is ``b""``)."""
        keys = list(keys)
        out = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                f"SELECT key, width, height, bytes, encode_s, decode_s FROM encodes WHERE key IN ({marks})", chunk
            ):
                out[row[0]] = Encode(*row, bitstream=b"")
        return out

    def put_encode(
        self, image_sha256: str, codec_id: str, quality: float, versions: Mapping[str, str], encode: Encode
    ) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO encodes VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (encode.key, image_sha256, codec_id, float(quality), json.dumps(dict(sorted(versions.items()))),
             encode.width, encode.height, encode.bytes, encode.encode_s, encode.decode_s, encode.bitstream,
             time.time()),
        )  # fmt: skip

    def get_metrics(self, keys: Iterable[str], metrics: Mapping[str, str]) -> dict[tuple[str, str], float]:
        """Cached values as ``{(encode key, metric): value}`` for metrics given as ``{name: version}``."""
        keys = list(keys)
        out = {}
        for start in range(0, len(keys) if metrics else 0, 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, metric, version, value in self._db.execute(
                f"SELECT encode_key, metric, version, value FROM metric_values WHERE encode_key IN ({marks})", chunk
            ):
                if metrics.get(metric) == version:
                    out[(key, metric)] = float("nan") if value is None else value
        return out

    def put_metrics(self, rows: Iterable[tuple[str, str, str, float]]) -> None:
        """Store ``(encode key, metric, version, value)`` rows in one transaction."""
        now = time.time()
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR IGNORE INTO metric_values VALUES (?,?,?,?,?)",
                [(k, m, v, float(x), now) for k, m, v, x in rows],
            )

    def counts(self) -> dict[str, int]:
        """Row counts, and how many rows would be duplicates (always 0 by construction)."""
        enc = self._db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM encodes").fetchone()
        met = self._db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT encode_key || '|' || metric || '|' || version) FROM metric_values"
        ).fetchone()
        return {"encodes": enc[0], "metric_values": met[0], "duplicates": (enc[0] - enc[1]) + (met[0] - met[1])}
