"""Finding an ffmpeg whose build includes the ``libvmaf`` filter.

Candidates, in order: ``$QK_FFMPEG`` (a path), the binary shipped inside the
``imageio-ffmpeg`` wheel (built with libvmaf), then ``ffmpeg`` on ``PATH``
(Debian's has no libvmaf). The first that lists the filter wins; the others are
reported with the reason they were skipped (``qk metrics`` prints both).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FFmpegChoice:
    path: str | None
    source: str
    rejected: list[str] = field(default_factory=list)

    def reason(self) -> str:
        return "; ".join(self.rejected) or "no ffmpeg found"


def _candidates() -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    env = os.environ.get("QK_FFMPEG")
    if env:
        out.append(("$QK_FFMPEG", env))
    try:
        import imageio_ffmpeg

        out.append(("imageio-ffmpeg", imageio_ffmpeg.get_ffmpeg_exe()))
    except Exception as exc:  # not installed, or no binary for this platform
        out.append((f"imageio-ffmpeg ({exc})", None))
    out.append(("PATH", shutil.which("ffmpeg")))
    return out


def has_libvmaf(path: str) -> bool:
    try:
        res = subprocess.run([path, "-hide_banner", "-filters"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return any(line.split()[1:2] == ["libvmaf"] for line in res.stdout.splitlines() if line.strip())


@functools.lru_cache(maxsize=None)
def find_ffmpeg(override: str | None = None) -> FFmpegChoice:
    """The ffmpeg to use for libvmaf metrics (``override`` first, then the candidates above)."""
    rejected: list[str] = []
    candidates = ([("--ffmpeg", override)] if override else []) + _candidates()
    for source, path in candidates:
        if not path:
            rejected.append(f"{source}: not found")
        elif not os.path.exists(path):
            rejected.append(f"{source}: {path} does not exist")
        elif not has_libvmaf(path):
            rejected.append(f"{source}: {path} has no libvmaf filter")
        else:
            return FFmpegChoice(path, source, rejected)
    return FFmpegChoice(None, "", rejected)
