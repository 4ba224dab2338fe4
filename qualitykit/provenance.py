"""What a run records about where its numbers came from, and which process ran it (:func:`this_process`,
:func:`process_gone`: a record left by a process that has ended tells so)."""

from __future__ import annotations

import os
import platform
import socket
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

#: Python distributions whose versions every manifest lists when installed.
PACKAGES = (
    "numpy", "pandas", "pillow", "pillow-avif-plugin", "torch", "torchvision", "pytorch-msssim",
    "lpips", "dists-pytorch", "psnr-hvsm", "compressai", "imageio-ffmpeg", "bjontegaard", "matplotlib",
    "scikit-image", "pyiqa", "scipy", "cvvdp",
)  # fmt: skip


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def machine() -> dict[str, str | int | None]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu": cpu,
        "cpus": os.cpu_count(),
    }


def gpu() -> str | None:
    """The CUDA device name when PyTorch sees one, else ``None``."""
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def this_process() -> dict[str, Any]:
    """Who runs now: ``host``, ``pid`` and the process's ``started`` time (seconds since the epoch; with
    the pid it tells a live process from a later one that reuses its pid)."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": _process_start(os.getpid())}


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch, Linux ``/proc``), ``None`` when unknown."""
    try:
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime"))
        return round(boot + ticks / os.sysconf("SC_CLK_TCK"), 1)
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def process_gone(owner: dict[str, Any]) -> bool:
    """Whether the process ``owner`` (:func:`this_process` of another run) has ended. Only a process of
    this host can be known gone; one on another host, or with no pid, counts as alive."""
    pid = owner.get("pid")
    if owner.get("host") != socket.gethostname() or not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        pass
    started = owner.get("started")
    now = _process_start(pid)
    return started is not None and now is not None and abs(now - started) > 1.0  # the pid was reused
