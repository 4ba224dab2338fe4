"""Finding an ffmpeg whose build includes the ``libvmaf`` filter.

One mechanism chooses the binary: the environment variable ``QK_FFMPEG``.
When it is set, that path is the only candidate — if it is missing or lacks
libvmaf, the libvmaf metrics are unavailable and say why (an explicit choice
never silently falls back to another build, whose libvmaf may score
differently). When it is unset, the candidates are the binary shipped inside the
``imageio-ffmpeg`` wheel (built with libvmaf), then ``ffmpeg`` on ``PATH``
(Debian's has no libvmaf); the first that lists the filter wins.

The CLI's ``--ffmpeg PATH`` calls :func:`set_ffmpeg`, which sets ``QK_FFMPEG``
in this process's environment, so worker processes (fork or spawn) inherit the
choice. :func:`describe` says which binary is used and why the others were not.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass, field

ENV = "QK_FFMPEG"


@dataclass(frozen=True)
class FFmpegChoice:
    """The chosen binary (``path`` is ``None`` when none fits), where it came from, and the candidates rejected."""

    path: str | None
    source: str
    rejected: list[str] = field(default_factory=list)

    def reason(self) -> str:
        return "; ".join(self.rejected) or "no ffmpeg found"


def set_ffmpeg(path: str | os.PathLike[str] | None) -> None:
    """Use the ffmpeg at ``path`` for every libvmaf metric, in this process and the workers it starts.

    ``None`` clears the choice (back to imageio-ffmpeg, then ``PATH``).
    """
    if path is None:
        os.environ.pop(ENV, None)
    else:
        os.environ[ENV] = os.fspath(path)


def has_libvmaf(path: str) -> bool:
    try:
        res = subprocess.run([path, "-hide_banner", "-filters"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return any(line.split()[1:2] == ["libvmaf"] for line in res.stdout.splitlines() if line.strip())


def _candidates(env: str | None) -> list[tuple[str, str | None]]:
    if env:
        return [(f"${ENV}", env)]
    out: list[tuple[str, str | None]] = []
    try:
        import imageio_ffmpeg

        out.append(("imageio-ffmpeg", imageio_ffmpeg.get_ffmpeg_exe()))
    except Exception as exc:  # not installed, or no binary for this platform
        out.append((f"imageio-ffmpeg ({exc})", None))
    out.append(("PATH", shutil.which("ffmpeg")))
    return out


@functools.lru_cache(maxsize=None)
def _find(env: str | None) -> FFmpegChoice:
    rejected: list[str] = []
    for source, path in _candidates(env):
        if not path:
            rejected.append(f"{source}: not found")
        elif not os.path.exists(path):
            rejected.append(f"{source}: {path} does not exist")
        elif not has_libvmaf(path):
            rejected.append(f"{source}: {path} has no libvmaf filter")
        else:
            return FFmpegChoice(path, source, rejected)
    return FFmpegChoice(None, "", rejected)


def find_ffmpeg() -> FFmpegChoice:
    """The ffmpeg to use for libvmaf metrics, per ``$QK_FFMPEG`` or the default candidates (cached per value)."""
    return _find(os.environ.get(ENV) or None)


def describe() -> str:
    """One line per candidate: the ffmpeg used (and where it came from), then each one rejected, with why.

    >>> print(describe())  # doctest: +SKIP
    ffmpeg: /…/imageio_ffmpeg/binaries/ffmpeg-linux-x86_64-v9.0.2 (imageio-ffmpeg)
    """
    choice = find_ffmpeg()
    if choice.path:
        lines = [f"ffmpeg: {choice.path} ({choice.source})"]
    else:
        lines = [f"ffmpeg: none with libvmaf; install imageio-ffmpeg or set {ENV} (qk --ffmpeg PATH)"]
    return "\n".join(lines + [f"  skipped {r}" for r in choice.rejected])
