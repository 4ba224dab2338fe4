"""Small file-system helpers every layer shares: content hashes, atomic writes, the cache home.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
>>> atomic_write_text(p, "hello")
>>> sha256_file(p)[:12]
'2cf24dba5fb0'
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from pathlib import Path

from .errors import StorageError


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_home() -> Path:
    """``$XDG_CACHE_HOME/qualitykit``, default ``~/.cache/qualitykit``: where qk keeps its cache and data."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qualitykit"


def storage_error(path: str | os.PathLike[str], exc: OSError, doing: str = "write") -> StorageError:
    """A :class:`StorageError` naming ``path`` and saying plainly what went wrong (full disk, permissions)."""
    if exc.errno == errno.ENOSPC:
        what = "the disk is full"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        what = "permission denied (read-only or not yours)"
    else:
        what = exc.strerror or str(exc)
    return StorageError(f"cannot {doing} {path}: {what}")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Readers see the old file or the new one, never a truncated one; on failure (full disk)
    the temporary file is removed and a :class:`~qualitykit.errors.StorageError` names ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise storage_error(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise storage_error(path, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))
