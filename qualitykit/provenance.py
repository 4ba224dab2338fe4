"""What a run records about where its numbers came from."""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

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
