"""Report drawings made once: plots and crops kept under the hash of everything they are drawn from.

A warm rerun of ``qk bench`` writes a new run directory with the same results; its plots and
crops are byte-identical to the last run's, so they are taken from this cache instead of being
drawn again (matplotlib and PNG encoding are most of a report's time). The key of an asset is a
hash of its inputs (curve values, labels, colours, the bitstream's cache key and the crop box,
and a drawing version), so a changed input always draws anew. The folder sits beside the run's
SQLite cache (``<cache>.report-assets/``); without a cache, or when it cannot be written, assets
are simply drawn every time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

#: Oldest assets are dropped beyond this many files.
MAX_FILES = 4000


class AssetCache:
    """Bytes by key in a folder (``None``: no caching)."""

    def __init__(self, folder: str | os.PathLike[str] | None) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.hits = self.misses = 0
        if self.folder is not None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError:
                self.folder = None

    @classmethod
    def beside(cls, cache: str | None) -> AssetCache:
        """The asset cache of a run whose SQLite cache is ``cache`` (none when it has no cache file)."""
        if not cache or not Path(cache).is_file():
            return cls(None)
        return cls(Path(cache).with_name(Path(cache).name + ".report-assets"))

    def get(self, key: str, make: Callable[[], bytes]) -> bytes:
        """The bytes stored under ``key``, else ``make()`` (then stored)."""
        if self.folder is None:
            return make()
        path = self.folder / key
        try:
            data = path.read_bytes()
            self.hits += 1
            return data
        except OSError:
            pass
        self.misses += 1
        data = make()
        tmp = path.with_name(f".{key}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)
        return data

    def prune(self) -> None:
        """Keep the newest :data:`MAX_FILES` assets."""
        if self.folder is None:
            return
        try:
            files = sorted(self.folder.iterdir(), key=lambda p: p.stat().st_mtime)
            for p in files[: max(0, len(files) - MAX_FILES)]:
                p.unlink(missing_ok=True)
        except OSError:
            pass
