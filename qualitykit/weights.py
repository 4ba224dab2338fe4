"""Pretrained weight files: which ones qualitykit uses, where it looks, how to fetch them.

A metric or codec module that needs a file declares it once at import::

    BACKBONE = weights.register(WeightFile("alexnet-owt-7be5be79.pth", URL, "lpips (AlexNet backbone)"))

and finds it with :func:`locate`. ``qk weights`` lists every registered file and
where it is; ``qk weights --download`` fetches the missing ones.

Where a file is looked for, in order:

1. each directory in ``$QK_WEIGHTS_DIR`` (several separated by ``os.pathsep``) —
   for machines without internet: copy the files there;
2. PyTorch's hub cache, ``$TORCH_HOME/hub/checkpoints`` (default
   ``~/.cache/torch/hub/checkpoints``), where torchvision and CompressAI keep
   their downloads.

Nothing downloads implicitly: a missing file makes its metric or codec
unavailable, with a message naming the file, its URL and these places, so a
benchmark never stalls on (or fails half-way through) a large download.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV = "QK_WEIGHTS_DIR"


@dataclass(frozen=True)
class WeightFile:
    """One file: its name on disk, where to download it, and what uses it (for listings and messages)."""

    filename: str
    url: str
    used_by: str


_registered: dict[str, WeightFile] = {}


def register(weight: WeightFile) -> WeightFile:
    """Declare ``weight`` (idempotent for the same file); returns it, so a module can keep a handle."""
    other = _registered.setdefault(weight.filename, weight)
    if other != weight:
        raise ValueError(f"weight file {weight.filename!r} is already registered as {other}")
    return weight


def registered() -> list[WeightFile]:
    """Every declared file, after loading the built-in and plugin metrics and codecs that declare them."""
    from .codecs import registry as codecs
    from .metrics import registry as metrics

    metrics.names()
    codecs.names()
    return list(_registered.values())


def hub_checkpoints() -> Path:
    """PyTorch's download cache for weight files (``$TORCH_HOME/hub/checkpoints``)."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def search_dirs() -> list[Path]:
    """The directories searched for weight files, in order (see the module docstring)."""
    extra = [Path(p).expanduser() for p in os.environ.get(ENV, "").split(os.pathsep) if p]
    return [*extra, hub_checkpoints()]


def locate(weight: WeightFile) -> Path | None:
    """The first existing copy of ``weight`` in :func:`search_dirs`, or ``None``."""
    for directory in search_dirs():
        path = directory / weight.filename
        if path.is_file():
            return path
    return None


def missing_message(weight: WeightFile) -> str:
    """Why ``weight`` cannot be used and the three ways to supply it."""
    places = ", ".join(str(d) for d in search_dirs())
    return (
        f"weight file {weight.filename} for {weight.used_by} not found in {places}; "
        f"run `qk weights --download` when online, or download {weight.url} and put it in "
        f"{hub_checkpoints()} or in a directory named by ${ENV}"
    )


def download(weight: WeightFile) -> Path:
    """Fetch ``weight`` into the hub cache (checking the hash prefix in its name, if any); return its path."""
    import torch.hub

    found = locate(weight)
    if found:
        return found
    target = hub_checkpoints() / weight.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    match = torch.hub.HASH_REGEX.search(weight.filename)
    torch.hub.download_url_to_file(weight.url, str(target), hash_prefix=match.group(1) if match else None)
    return target
