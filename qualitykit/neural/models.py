"""Where a neural codec's weights come from, and one cached model per process.

Three kinds of :class:`Weights`:

- ``bundled``: the model shipped in ``qualitykit/models/<name>/`` (``model.json``
  lists its rate points, their λ and the SHA-256 of each weight file);
- ``zoo``: CompressAI's pre-trained models, downloaded on first use into torch's
  hub cache (``$TORCH_HOME/hub/checkpoints``), quality = the zoo's index;
- ``ckpt``: one local checkpoint of a CompressAI architecture (one rate point).

Every weight file is read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError

import torch
from compressai.models import CompressionModel
from compressai.zoo.image import cfgs as ZOO_QUALITIES
from compressai.zoo.image import model_urls as ZOO_URLS

from ..errors import Unavailable
from ..fsutil import sha256_file
from .weights import build_model, load_state_dict

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
#: Total downsampling of the analysis transform; inputs are padded to a multiple of it.
STRIDE_FACTORIZED, STRIDE_HYPERPRIOR = 16, 64


@functools.lru_cache(maxsize=None)
def bundled_manifest(name: str) -> dict:
    """The ``model.json`` of bundled model ``name``."""
    return json.loads((MODELS_DIR / name / "model.json").read_text())


def zoo_url(arch: str, metric: str, quality: int) -> str:
    """Download URL of a CompressAI zoo model."""
    return ZOO_URLS[arch][metric][quality]


def zoo_cache_path(url: str) -> Path:
    """Where ``torch.hub`` keeps the file downloaded from ``url`` (honours ``TORCH_HOME``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


@dataclass(frozen=True)
class Weights:
    """One family of rate points: ``kind`` is ``bundled``, ``zoo`` or ``ckpt``.

    ``name`` is the bundled model's name or the zoo architecture; ``path`` the
    checkpoint of kind ``ckpt``; ``metric`` the distortion the zoo model was
    trained for (``mse`` or ``ms-ssim``).
    """

    kind: str
    arch: str
    name: str = ""
    metric: str = "mse"
    path: str = ""

    @property
    def id(self) -> str:
        """Identifier written into every bitstream, e.g. ``zoo/mbt2018-mean/ms-ssim``."""
        if self.kind == "ckpt":
            return f"ckpt/{self.arch}/{self.sha256()[:16]}"
        return f"{self.kind}/{self.name}/{self.metric}"

    @property
    def qualities(self) -> tuple[int, ...]:
        """Valid quality indices."""
        if self.kind == "bundled":
            return tuple(int(q) for q in bundled_manifest(self.name)["qualities"])
        if self.kind == "zoo":
            return tuple(ZOO_QUALITIES[self.arch])
        return (1,)

    @property
    def stride(self) -> int:
        """Pixels per latent step of the whole model (analysis and hyper-analysis)."""
        return STRIDE_FACTORIZED if self.arch.startswith("bmshj2018-factorized") else STRIDE_HYPERPRIOR

    def sha256(self) -> str:
        """Identity of the weight files: a SHA-256, or for the zoo the SHA-256 prefixes its URLs carry."""
        if self.kind == "bundled":
            return sha256_file(MODELS_DIR / self.name / "model.json")
        if self.kind == "ckpt":
            return _ckpt_sha256(self.path)
        urls = ZOO_URLS[self.arch][self.metric]
        return "prefixes " + " ".join(f"{q}:{url.rsplit('-', 1)[1].split('.')[0]}" for q, url in sorted(urls.items()))

    def state_dict(self, quality: int) -> dict[str, torch.Tensor]:
        """The state dict of rate point ``quality`` (downloading zoo weights if needed)."""
        if self.kind == "bundled":
            return load_state_dict(MODELS_DIR / self.name / bundled_manifest(self.name)["qualities"][str(quality)]["file"])
        if self.kind == "ckpt":
            return load_state_dict(self.path)
        url = zoo_url(self.arch, self.metric, quality)
        try:
            return torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=False, weights_only=True)
        except (URLError, OSError) as exc:
            raise Unavailable(
                f"neural: weights of {self.arch} (metric {self.metric}, quality {quality}) are not cached and "
                f"could not be downloaded ({exc}). Download {url} and save it as {zoo_cache_path(url)}"
            ) from exc


@functools.lru_cache(maxsize=None)
def _ckpt_sha256(path: str) -> str:
    return sha256_file(path)


@functools.lru_cache(maxsize=None)
def load_model(weights: Weights, quality: int, device: str) -> CompressionModel:
    """The model of ``weights`` at ``quality`` on ``device``, built once per process.

    Entropy-model tables are computed on the CPU (:func:`~qualitykit.neural.weights.build_model`)
    before the model moves to ``device``; cuDNN runs in deterministic mode.
    """
    if device == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return build_model(weights.arch, weights.state_dict(quality)).to(device)
