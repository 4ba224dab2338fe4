"""Where PyTorch work runs: one rule for metrics and codecs.

``auto`` means CUDA when PyTorch sees a GPU, else the CPU; ``cpu`` and ``cuda`` are taken as
given, and ``cuda`` without a GPU is refused up front (:func:`check_device`) instead of
failing item by item.

>>> resolve_device("cpu")
'cpu'
"""

from __future__ import annotations

import os
import sys

from .errors import BadInput, Unavailable
from .extras import missing_extra

DEVICES = ("auto", "cpu", "cuda")


def no_gpu_driver() -> bool:
    """True when this Linux machine certainly has no GPU PyTorch could use (no NVIDIA or ROCm driver
    loaded), known without importing PyTorch."""
    return not any(os.path.exists(p) for p in ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/kfd"))


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when a GPU is visible, else ``cpu``; ``cpu``/``cuda`` pass through.

    Where no GPU driver is loaded, ``auto`` is ``cpu`` without importing PyTorch (seconds saved).
    """
    if device not in DEVICES:
        raise BadInput(f"device {device!r}: use one of {', '.join(DEVICES)}")
    if device != "auto":
        return device
    if sys.platform.startswith("linux") and no_gpu_driver() and "torch" not in sys.modules:
        return "cpu"
    if missing_extra("learned"):  # no PyTorch here: nothing can run on a GPU
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def check_device(device: str) -> str:
    """:func:`resolve_device`, raising :class:`~qualitykit.errors.Unavailable` for ``cuda`` without a GPU."""
    resolved = resolve_device(device)
    if resolved == "cuda":
        missing = missing_extra("learned")
        if missing:
            raise Unavailable(f"--device cuda {missing}")
        import torch

        if not torch.cuda.is_available():
            raise Unavailable("--device cuda: PyTorch sees no CUDA GPU here; use --device auto or cpu")
    return resolved
