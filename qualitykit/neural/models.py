"""Where a neural codec's weights come from, and one cached model per process.

Three kinds of :class:`ModelSource`:

- ``bundled``: the model shipped in ``qualitykit/models/<name>/`` (``model.json`` lists its rate
  points, their λ and the SHA-256 of each file);
- ``zoo``: CompressAI's pre-trained models, quality = the zoo's index; one checkpoint per
  architecture, training metric and quality;
- ``ckpt``: one local checkpoint of a CompressAI architecture (one rate point).

Bundled files and zoo checkpoints are assets (:mod:`qualitykit.assets`), registered here at
import: ``qk weights`` lists them, and a zoo checkpoint is downloaded only by :meth:`ModelSource.fetch`,
which the planner calls in the main process for a codec named in ``--codecs``. Loading a model
(in worker processes) never downloads: a missing file raises
:class:`~qualitykit.errors.Unavailable` naming the file, its URL and where to put it.

Every file is read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from compressai.models import CompressionModel
from compressai.zoo.image import cfgs as ZOO_QUALITIES
from compressai.zoo.image import model_urls as ZOO_URLS

from .. import assets
from ..assets import Asset
from ..fsutil import sha256_file
from .checkpoint import build_model, load_state_dict

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
    """Where a download of ``url`` lands: torch's hub cache (honours ``TORCH_HOME``), named after the URL."""
    return assets.hub_checkpoints() / os.path.basename(url)


def _zoo_asset(arch: str, metric: str, quality: int) -> Asset:
    url = zoo_url(arch, metric, quality)
    return Asset(
        f"{arch}/{metric}/q{quality}",
        f"CompressAI zoo {arch}, metric {metric}, quality {quality}",
        filename=os.path.basename(url),
        url=url,
        group=f"{arch}/{metric}",
    )


def _bundled_asset(name: str, quality: int) -> Asset:
    entry = bundled_manifest(name)["qualities"][str(quality)]
    return Asset(
        f"{name}/q{quality}",
        f"bundled neural model {name}, quality {quality}",
        sha256=entry["sha256"],
        bundled=str(MODELS_DIR / name / entry["file"]),
        group=name,
    )


def _register_assets() -> None:
    for arch, by_metric in ZOO_URLS.items():
        for metric, urls in by_metric.items():
            spec = f"neural:{arch}" + ("" if metric == "mse" else f":metric={metric}")
            for quality in urls:
                assets.register(_zoo_asset(arch, metric, quality), used_by=spec)
    for folder in sorted(MODELS_DIR.iterdir()):
        if (folder / "model.json").is_file():
            for quality in bundled_manifest(folder.name)["qualities"]:
                assets.register(_bundled_asset(folder.name, int(quality)), used_by=f"neural:{folder.name}")


_register_assets()


@dataclass(frozen=True)
class ModelSource:
    """One model (a set of rate points): ``kind`` is ``bundled``, ``zoo`` or ``ckpt``.

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

    def asset(self, quality: int) -> Asset | None:
        """The registered asset holding rate point ``quality`` (``None`` for a local checkpoint)."""
        if self.kind == "zoo":
            return _zoo_asset(self.arch, self.metric, quality)
        if self.kind == "bundled":
            return _bundled_asset(self.name, quality)
        return None

    def fetch(self, qualities: Iterable[int]) -> None:
        """Download the zoo checkpoints of ``qualities`` that are missing (main process, plan time);
        raises :class:`~qualitykit.errors.Unavailable` when one cannot be had."""
        for quality in qualities:
            asset = self.asset(quality)
            if asset is not None:
                assets.fetch(asset)

    def state_dict(self, quality: int) -> dict[str, torch.Tensor]:
        """The state dict of rate point ``quality``; never downloads (see the module docstring)."""
        asset = self.asset(quality)
        return load_state_dict(self.path if asset is None else assets.require(asset))


@functools.lru_cache(maxsize=None)
def _ckpt_sha256(path: str) -> str:
    return sha256_file(path)


@functools.lru_cache(maxsize=None)
def load_model(source: ModelSource, quality: int, device: str) -> CompressionModel:
    """The model of ``source`` at ``quality`` on ``device``, built once per process.

    Entropy-model tables are computed on the CPU (:func:`~qualitykit.neural.checkpoint.build_model`)
    before the model moves to ``device``; cuDNN runs in deterministic mode.
    """
    if device == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return build_model(source.arch, source.state_dict(quality)).to(device)
