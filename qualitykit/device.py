"""Where PyTorch work runs: one rule for metrics and codecs.

``auto`` means CUDA when PyTorch sees a GPU, else the CPU; ``cpu`` and ``cuda`` are taken as
given, and ``cuda`` without a GPU is refused up front (:func:`check_device`) instead of
failing item by item.

>>> resolve_device("cpu")
'cpu'
"""

from __future__ import annotations

from .errors import BadInput, Unavailable

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when a GPU is visible, else ``cpu``; ``cpu``/``cuda`` pass through."""
    if device not in DEVICES:
        raise BadInput(f"device {device!r}: use one of {', '.join(DEVICES)}")
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def check_device(device: str) -> str:
    """:func:`resolve_device`, raising :class:`~qualitykit.errors.Unavailable` for ``cuda`` without a GPU."""
    resolved = resolve_device(device)
    if resolved == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise Unavailable("--device cuda: PyTorch sees no CUDA GPU here; use --device auto or cpu")
    return resolved
