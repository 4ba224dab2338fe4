"""Content-addressed cache of encodes and scores in one SQLite file (WAL).

An encode is keyed by (image sha256, codec id, ``q``, codec library versions): the same bytes
can only come out of the same inputs. A score is keyed by (encode key, metric name, metric
version). Rows are only ever inserted (``INSERT OR IGNORE``), each write its own short
transaction, so a process killed at any moment leaves complete rows only and a rerun skips them.

One process writes a run's rows: the run's driver (:mod:`qualitykit.runner`); workers send it
their results. Three concerns share the file, one class each: :class:`Store` (encodes and
scores), :class:`Leases` (``store.leases``: coordination between runs) and :class:`FileHashes`
(``store.file_hashes``).

Runs sharing a cache coordinate through **leases**: before computing an item, a run claims its
encode key for a while (renewed as it works); another run finding the key claimed waits for the
result instead of computing it again. A lease names its owner process (host, pid, start time:
:class:`~qualitykit.processes.ProcessId`): a lease whose owner is known to be gone — same host,
and the pid is dead or now another process — is taken over at once; otherwise (another host) it
is taken over when it expires. File hashes are cached by (path, size, mtime, inode), so a rerun
does not read every image again to hash it.

A cache file that SQLite cannot read is moved aside (``<name>.corrupt-<time>``) and rebuilt,
with a message (:attr:`Store.recovered`); a full disk or an unwritable file raises
:class:`~qualitykit.errors.StorageError` naming the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import BadInput, StorageError
from .fsutil import cache_home, sha256_file
from .processes import ProcessId

SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS encodes (
    key TEXT PRIMARY KEY,
    image_sha256 TEXT NOT NULL,
    codec_id TEXT NOT NULL,
    q REAL NOT NULL,
    versions TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    encode_s REAL NOT NULL,
    decode_s REAL NOT NULL,
    bitstream BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS scores (
    encode_key TEXT NOT NULL REFERENCES encodes(key),
    metric TEXT NOT NULL,
    version TEXT NOT NULL,
    score REAL,
    created REAL NOT NULL,
    PRIMARY KEY (encode_key, metric, version)
);
CREATE TABLE IF NOT EXISTS file_hashes (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    encode_key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires REAL NOT NULL
);
"""
#: Seconds a claim on an item lasts unless renewed; an owner that died frees its items after this.
LEASE_SECONDS = 60.0


def default_cache_path() -> Path:
    """``$QK_CACHE``, else ``~/.cache/qualitykit/cache.sqlite``."""
    env = os.environ.get("QK_CACHE")
    return Path(env) if env else cache_home() / "cache.sqlite"


def encode_key(image_sha256: str, codec_id: str, q: float, versions: Mapping[str, object]) -> str:
    """The content address of one encode."""
    blob = json.dumps([image_sha256, codec_id, float(q), dict(sorted(versions.items()))], separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class Encode:
    """One cached encode: the bitstream and what was measured when it was made (sizes in pixels,
    ``bytes`` the file length, times in seconds of wall clock). ``key`` is its
    :func:`encode_key`."""

    key: str
    width: int
    height: int
    bytes: int
    encode_s: float
    decode_s: float
    bitstream: bytes


class Store:
    """The cache file. Open one per process (a connection must not cross a fork)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path else default_cache_path()
        #: A sentence saying the file was unreadable and moved aside, or ``None``.
        self.recovered: str | None = None
        if self.path.is_dir():
            raise BadInput(f"--cache {self.path} is a directory; give a file path such as {self.path / 'cache.sqlite'}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the cache folder {self.path.parent}: {exc.strerror}") from None
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            if not _is_corrupt(exc):
                raise self._error(exc, "open") from None
            aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
            for suffix in ("", "-wal", "-shm"):
                part = Path(str(self.path) + suffix)
                if part.exists():
                    part.rename(Path(str(aside) + suffix))
            self.recovered = f"cache {self.path} was unreadable ({exc}); moved it to {aside} and started a new one"
            self._db = self._open()
        #: Leases between runs sharing this cache.
        self.leases = Leases(self)
        #: Cached sha256 of image files.
        self.file_hashes = FileHashes(self)

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=120, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout = 120000")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version < SCHEMA_VERSION and db.execute("SELECT 1 FROM sqlite_master WHERE name='encodes'").fetchone():
                _migrate(db, version)
            db.executescript(SCHEMA)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("SELECT COUNT(*) FROM encodes WHERE rowid = (SELECT MAX(rowid) FROM encodes)").fetchone()
        except BaseException:
            db.close()
            raise
        return db

    def _error(self, exc: sqlite3.Error, doing: str) -> StorageError:
        text = str(exc)
        if "full" in text:
            return StorageError(f"cannot {doing} the cache {self.path}: the disk is full; free space and rerun")
        if "readonly" in text or "read-only" in text:
            return StorageError(f"cannot {doing} the cache {self.path}: it is read-only; give --cache a writable file")
        if _is_corrupt(exc):
            return StorageError(f"cache {self.path} is damaged ({text}); delete it or move it aside, then rerun")
        return StorageError(f"cannot {doing} the cache {self.path}: {text}")

    @contextlib.contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self._error(exc, doing) from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ encodes and scores

    def get_encode(self, key: str) -> Encode | None:
        with self._guard("read"):
            row = self._db.execute(
                "SELECT key, width, height, bytes, encode_s, decode_s, bitstream FROM encodes WHERE key = ?", (key,)
            ).fetchone()
        return Encode(*row) if row else None

    def get_encodes(self, keys: Iterable[str]) -> dict[str, Encode]:
        """Cached encodes among ``keys``, without their bitstreams (``bitstream`` is ``b""``)."""
        out = {}
        for chunk, marks in _chunks(keys):
            with self._guard("read"):
                rows = self._db.execute(
                    f"SELECT key, width, height, bytes, encode_s, decode_s FROM encodes WHERE key IN ({marks})", chunk
                ).fetchall()
            out.update((row[0], Encode(*row, bitstream=b"")) for row in rows)
        return out

    def put_encode(self, image_sha256: str, codec_id: str, q: float, versions: Mapping[str, object], encode: Encode) -> str:
        """Store ``encode`` of image ``image_sha256`` by ``codec_id`` at ``q`` under the key computed
        from those inputs (:func:`encode_key`), and return it. Raises :class:`ValueError` when
        ``encode.key`` says otherwise: the bitstream would be filed under another item's address."""
        key = encode_key(image_sha256, codec_id, q, versions)
        if encode.key != key:
            raise ValueError(f"encode of {codec_id} q={q} carries key {encode.key}, but its inputs give {key}")
        with self._guard("write"):
            self._db.execute(
                "INSERT OR IGNORE INTO encodes VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (key, image_sha256, codec_id, float(q), json.dumps(dict(sorted(versions.items()))),
                 encode.width, encode.height, encode.bytes, encode.encode_s, encode.decode_s, encode.bitstream,
                 time.time()),
            )  # fmt: skip
        return key

    def get_scores(self, keys: Iterable[str], metrics: Mapping[str, str]) -> dict[tuple[str, str], float]:
        """Cached scores as ``{(encode key, metric): score}`` for metrics given as ``{name: version}``."""
        out = {}
        for chunk, marks in _chunks(keys if metrics else ()):
            with self._guard("read"):
                rows = self._db.execute(
                    f"SELECT encode_key, metric, version, score FROM scores WHERE encode_key IN ({marks})", chunk
                ).fetchall()
            for key, metric, version, score in rows:
                if metrics.get(metric) == version:
                    out[(key, metric)] = float("nan") if score is None else score
        return out

    def put_scores(self, rows: Iterable[tuple[str, str, str, float]]) -> None:
        """Store ``(encode key, metric, version, score)`` rows in one transaction."""
        now = time.time()
        with self._guard("write"), self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR IGNORE INTO scores VALUES (?,?,?,?,?)", [(k, m, v, float(x), now) for k, m, v, x in rows]
            )

    def counts(self) -> dict[str, int]:
        """Row counts, and how many rows would be duplicates (always 0 by construction)."""
        with self._guard("read"):
            enc = self._db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM encodes").fetchone()
            sc = self._db.execute(
                "SELECT COUNT(*), COUNT(DISTINCT encode_key || '|' || metric || '|' || version) FROM scores"
            ).fetchone()
        return {"encodes": enc[0], "scores": sc[0], "duplicates": (enc[0] - enc[1]) + (sc[0] - sc[1])}


class FileHashes:
    """The sha256 of image files, remembered by (path, size, mtime, inode) in the cache file."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, path: Path, stat: os.stat_result) -> str | None:
        """The cached sha256 of ``path`` if its size, mtime and inode are unchanged, else ``None``."""
        with self._store._guard("read"):
            row = self._store._db.execute(
                "SELECT sha256 FROM file_hashes WHERE path = ? AND size = ? AND mtime_ns = ? AND inode = ?",
                (str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino),
            ).fetchone()
        return row[0] if row else None

    def put(self, path: Path, stat: os.stat_result, sha256: str) -> None:
        with self._store._guard("write"):
            self._store._db.execute(
                "INSERT OR REPLACE INTO file_hashes VALUES (?,?,?,?,?)",
                (str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino, sha256),
            )

    def sha256(self, path: Path, stat: os.stat_result) -> str:
        """The sha256 of ``path`` (whose ``stat`` was just taken): cached, or read and remembered."""
        digest = self.get(path, stat)
        if digest is None:
            digest = sha256_file(path)
            self.put(path, stat, digest)
        return digest


def new_owner() -> str:
    """A lease owner name for this process: ``host:pid:start time:token`` (the token tells apart
    two runs of one process)."""
    me = ProcessId.current()
    return f"{me.host}:{me.pid}:{me.started or '?'}:{uuid.uuid4().hex[:8]}"


def owner_process(owner: str) -> ProcessId | None:
    """The process an owner name of :func:`new_owner` names; ``None`` for a name in another format."""
    parts = owner.rsplit(":", 3)
    if len(parts) != 4 or not parts[1].isdigit():
        return None
    host, pid, started, _ = parts
    return ProcessId(host, int(pid), None if started == "?" else started)


class Leases:
    """Claims on encode keys between runs sharing the cache (see the module docstring).

    An owner is a name made by :func:`new_owner`; a lease lasts ``seconds`` unless renewed, and
    a lease whose owner process is gone is free at once.
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def claim(self, keys: Iterable[str], owner: str, seconds: float = LEASE_SECONDS) -> set[str]:
        """Claim every key not held by another live owner; return the keys ``owner`` now holds."""
        keys = list(keys)
        now = time.time()
        db = self._store._db
        with self._store._guard("write"), db:
            db.execute("BEGIN IMMEDIATE")
            held: dict[str, str] = {}
            for chunk, marks in _chunks(keys):
                held.update(db.execute(
                    f"SELECT encode_key, owner FROM leases WHERE encode_key IN ({marks}) AND owner != ? AND expires > ?",
                    [*chunk, owner, now],
                ).fetchall())  # fmt: skip
            gone = {o for o in set(held.values()) if (p := owner_process(o)) is not None and p.is_gone()}
            mine = [k for k in keys if k not in held or held[k] in gone]
            db.executemany("INSERT OR REPLACE INTO leases VALUES (?,?,?)", [(k, owner, now + seconds) for k in mine])
        return set(mine)

    def renew(self, owner: str, seconds: float = LEASE_SECONDS) -> None:
        """Extend every lease of ``owner``."""
        with self._store._guard("write"):
            self._store._db.execute("UPDATE leases SET expires = ? WHERE owner = ?", (time.time() + seconds, owner))

    def release(self, keys: Iterable[str] | None, owner: str) -> None:
        """Give up ``owner``'s leases on ``keys`` (all of them when ``keys`` is ``None``)."""
        db = self._store._db
        with self._store._guard("write"):
            if keys is None:
                db.execute("DELETE FROM leases WHERE owner = ?", (owner,))
                return
            for chunk, marks in _chunks(keys):
                db.execute(f"DELETE FROM leases WHERE owner = ? AND encode_key IN ({marks})", [owner, *chunk])


def _chunks(keys: Iterable[str], size: int = 500) -> Iterator[tuple[list[str], str]]:
    keys = list(keys)
    for start in range(0, len(keys), size):
        chunk = keys[start : start + size]
        yield chunk, ",".join("?" * len(chunk))


def _is_corrupt(exc: sqlite3.Error) -> bool:
    text = str(exc)
    return "not a database" in text or "malformed" in text or "file is encrypted" in text


def _migrate(db: sqlite3.Connection, version: int) -> None:
    """Bring a cache written by qualitykit 0.1 (schema 0) to :data:`SCHEMA_VERSION`, keeping every row."""
    if version < 2:
        db.execute("ALTER TABLE encodes RENAME COLUMN quality TO q")
        if db.execute("SELECT 1 FROM sqlite_master WHERE name='metric_values'").fetchone():
            db.execute("ALTER TABLE metric_values RENAME COLUMN value TO score")
            db.execute("ALTER TABLE metric_values RENAME TO scores")
