"""Every error qualitykit raises on purpose: one base class, a few meanings.

A :class:`QKError` is a problem with what the user gave or with this machine, never a bug:
its message names the file, setting or name at fault and, where there is one, the fix. The
CLI (:mod:`qualitykit.cli`) prints it as one line, ``qk <command>: error: <message>``, and
exits with :attr:`QKError.exit_code`; any other exception is a bug and keeps its traceback.

=====================  =========================================================  =====
class                  meaning                                                    exit
=====================  =========================================================  =====
:class:`UnknownName`   a codec, metric, setting, corpus or file name is not known  2
:class:`BadInput`      a file, spec or value is malformed or out of range          2
:class:`Unavailable`   it exists but cannot run here (library, weights, GPU)       2
:class:`MissingExtra`  asked for by name, it needs an extra not installed here     2
:class:`Incomparable`  two things cannot be compared (gate, BD-rate)               2
:class:`StorageError`  the cache or an output cannot be read or written            2
=====================  =========================================================  =====

:class:`Interrupted` (a :class:`KeyboardInterrupt`, exit 130) says where an interrupted run was kept.

>>> raise UnknownName("codec", "jpg", ["jpeg", "webp", "avif"])
Traceback (most recent call last):
...
qualitykit.errors.UnknownName: unknown codec 'jpg'; did you mean 'jpeg'? (known: jpeg, webp, avif)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class QKError(Exception):
    """Base of every error qualitykit raises on purpose; ``str(error)`` is the whole message."""

    exit_code = 2


class UnknownName(QKError):
    """A name that is not known; the message suggests the closest known names.

    ``UnknownName(kind, name, known)`` builds the standard message; a single string is used as is.
    """

    def __init__(self, kind: str, name: str | None = None, known: Iterable[str] | None = None) -> None:
        if name is None:
            super().__init__(kind)
            return
        known = list(known or [])
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listing = f" (known: {', '.join(known)})" if known else ""
        super().__init__(f"unknown {kind} {name!r}{hint}{listing}")


class BadInput(QKError):
    """A file, spec, setting or value that is malformed, unreadable or out of range."""


class Unavailable(QKError):
    """Something that exists but cannot run on this machine; the message says what to install or supply."""


class MissingExtra(Unavailable):
    """A codec or metric asked for by name needs a part of the install that is missing (e.g. PyTorch,
    ``pip install 'qualitykit[learned]'``); raised when the run is planned, before any work."""


class Incomparable(QKError):
    """Two runs, curves or a run and a baseline cannot be compared; the message says what differs."""


class StorageError(QKError):
    """The cache or an output location cannot be used (corrupt, full disk, not writable); names the path."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped a run; what finished is kept. ``run_dir`` holds the run written
    with status ``interrupted``; ``done`` of ``total`` items were finished (cached)."""

    def __init__(self, run_dir: object, done: int, total: int) -> None:
        super().__init__(f"interrupted after {done} of {total} items; the run so far is in {run_dir}")
        self.run_dir, self.done, self.total = run_dir, done, total


__all__ = ["BadInput", "Incomparable", "Interrupted", "QKError", "StorageError", "Unavailable", "UnknownName"]
