"""What a run records about where its numbers came from, and which process ran it (:func:`this_process`,
:func:`process_gone`: a record left by a process that has ended tells so)."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from .processes import ProcessId

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
    """Who runs now, as a manifest records it: ``host``, ``pid`` and ``started`` (the process's start
    time, which tells it from a later process reusing the pid; :class:`qualitykit.processes.ProcessId`)."""
    return asdict(ProcessId.current())


def process_gone(owner: dict[str, Any]) -> bool:
    """Whether the process ``owner`` (:func:`this_process` of another run) is known to have ended. Only a
    process of this host can be known gone; one on another host, or with no pid, counts as alive."""
    pid, started = owner.get("pid"), owner.get("started")
    if not isinstance(pid, int):
        return False
    return ProcessId(str(owner.get("host")), pid, None if started is None else str(started)).is_gone()
