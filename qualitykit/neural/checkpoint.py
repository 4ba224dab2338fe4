"""Checkpoint files of CompressAI models: compact, safely loadable state dicts, and building a model from one.

A checkpoint is a plain ``torch.save`` of a state dict: 4-D floating tensors
(convolution kernels, the bulk of the bytes) in float16, everything else as
trained. It holds only tensors, so it loads with ``torch.load(weights_only=True)``.
The entropy coder's CDF tables are not stored; :func:`build_model` recomputes them
on the CPU with ``model.update(force=True)``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from compressai.models import CompressionModel
from compressai.zoo.image import model_architectures
from compressai.zoo.pretrained import load_pretrained

from ..errors import BadInput

#: Architecture names accepted by ``arch=``: CompressAI's zoo names.
ARCHITECTURES = model_architectures


def compact_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """``model``'s state dict on the CPU with 4-D floating tensors cast to float16."""
    return {
        k: (v.half() if v.is_floating_point() and v.dim() == 4 else v).detach().cpu().clone()
        for k, v in model.state_dict().items()
    }


def build_model(arch: str, state_dict: dict[str, torch.Tensor]) -> CompressionModel:
    """Instantiate CompressAI architecture ``arch`` from ``state_dict``, ready to entropy-code.

    Floating tensors are cast to float32, sizes come from the state dict
    (``from_state_dict``), and the entropy models are updated on the CPU so that
    their CDF tables do not depend on the device the model later runs on.
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")
    state_dict = load_pretrained({k: v.float() if v.is_floating_point() else v for k, v in state_dict.items()})
    model = ARCHITECTURES[arch].from_state_dict(state_dict).eval()
    model.update(force=True)
    return model


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict from ``path`` without unpickling arbitrary objects.

    Accepts a bare state dict or a training checkpoint holding one under
    ``"state_dict"`` (CompressAI's ``examples/train.py`` format).
    """
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise BadInput(f"{path}: not a state dict (a mapping of names to tensors)")
    return obj
