"""Learned image codecs (CompressAI models) with real entropy-coded bitstreams."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from . import register
from ..device import resolve_device
from ..errors import BadInput
from .base import Codec, format_quality

if TYPE_CHECKING:
    import torch


@functools.lru_cache(maxsize=None)
def _lib() -> SimpleNamespace:
    """CompressAI, PyTorch and qk's model loading, imported on first use: importing CompressAI takes
    seconds, and a run without a neural codec never pays it."""
    import warnings

    with warnings.catch_warnings():  # compressai 1.2.8 uses torch.jit.script at import, deprecated in torch 2.14
        warnings.simplefilter("ignore", FutureWarning)
        import compressai
    import torch
    import torch.nn.functional as F

    from ..neural import bitstream, models
    from ..neural.checkpoint import ARCHITECTURES

    return SimpleNamespace(compressai=compressai, torch=torch, F=F, models=models, bitstream=bitstream, ARCHITECTURES=ARCHITECTURES)


#: The model ``neural`` runs when none is named: a tiny demonstration model shipped with qk (docs/neural.md).
BUNDLED_MODEL = "qk-hyperprior-v1"


@register
class Neural(Codec):
    """Learned codecs: the bundled model, CompressAI's zoo, or a local checkpoint.

    Specs::

        neural                                   bundled model (qk-hyperprior-v1), q=1/2/3/4
        neural:bmshj2018-hyperprior:q=1/3/5/8    CompressAI zoo model by name; metric=mse (default) or ms-ssim
        neural:mbt2018-mean:q=6:metric=ms-ssim
        neural:ckpt=runs/best.pth.tar:arch=mbt2018-mean   one local checkpoint = one rate point (q=1)

    Quality is the model's integer rate-point index (zoo: 1–8, 1–6 for cheng2020;
    bundled: 1–4), higher = more bits. Images are padded on the bottom and right
    by edge replication to the model's stride (64 for hyperprior-style models,
    16 for factorized ones) and cropped back after decoding. The file is a small
    header plus CompressAI's strings (:mod:`qualitykit.neural.bitstream`), so the
    rate counts every byte a decoder needs besides the weights. Compute runs on
    ``device`` (``auto`` picks CUDA when available); CompressAI entropy-codes on
    the CPU. Decode on the same device class that encoded: floating-point
    differences between CPU and GPU can break the entropy decoder.
    """

    uses_torch = True
    extra = "learned"

    name = "neural"
    extension = "qkn"
    description = "learned image codecs (CompressAI; bundled qk-hyperprior-v1)"
    settings = {"model": BUNDLED_MODEL, "metric": "mse", "ckpt": "", "arch": ""}
    positional = "model"
    ladder = (1, 2, 3, 4)
    quality_range = (1, 8)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        lib = _lib()
        models, ARCHITECTURES = lib.models, lib.ARCHITECTURES
        model, metric, ckpt, arch = (self.options[k] for k in ("model", "metric", "ckpt", "arch"))
        if ckpt:
            if model not in (self.settings["model"].default, "ckpt"):
                raise BadInput(f"neural: give either a model name ({model}) or ckpt=, not both")
            if arch not in ARCHITECTURES:
                raise BadInput(f"neural: ckpt= needs arch= one of {', '.join(ARCHITECTURES)}")
            if not Path(ckpt).is_file():
                raise BadInput(f"neural: checkpoint ckpt={ckpt} is not a file")
            self.source = models.ModelSource("ckpt", arch, path=ckpt)
            self.options["model"] = "ckpt"
        elif model in ARCHITECTURES:
            if model not in models.ZOO_URLS or metric not in models.ZOO_URLS[model]:
                raise BadInput(f"neural: CompressAI publishes no {metric} weights for {model}")
            self.source = models.ModelSource("zoo", model, name=model, metric=metric)
        elif (models.MODELS_DIR / model / "model.json").is_file():
            manifest = models.bundled_manifest(model)
            self.source = models.ModelSource("bundled", manifest["arch"], name=model, metric=manifest["metric"])
        else:
            raise BadInput(f"neural: unknown model {model!r}; use {self.settings['model'].default} or one of {', '.join(models.ZOO_URLS)}")
        if metric != self.source.metric:
            raise BadInput(f"neural: {model} has no metric={metric} variant (only {self.source.metric})")
        if arch and arch != self.source.arch:
            raise BadInput(f"neural: {model} is a {self.source.arch}, not arch={arch}")
        self.options["arch"] = self.source.arch

    @property
    def qualities(self) -> tuple[float, ...]:  # type: ignore[override]
        """The model's trained qualities (the zoo's 1…8, the bundled model's 1…4, a checkpoint's 1)."""
        return tuple(float(q) for q in self.source.qualities)

    @classmethod
    def available(cls) -> str | None:
        missing = [m for m in ("torch", "compressai") if importlib.util.find_spec(m) is None]
        if missing:
            return f"needs PyTorch and CompressAI ({', '.join(missing)} not installed); pip install 'qualitykit[learned]'"
        return None

    @classmethod
    def declare_assets(cls) -> None:
        if cls.available() is None:
            _lib()  # qualitykit.neural.models registers the zoo and bundled checkpoints

    def fetch(self, ladder: tuple[float, ...]) -> None:
        """Download the zoo checkpoints these qualities need when they are missing (the planner calls
        this in the main process; encoding and decoding never download)."""
        self.source.fetch(int(q) for q in ladder)

    @classmethod
    def from_spec(cls, spec: str) -> tuple[Codec, tuple[float, ...]]:
        """As :meth:`Codec.from_spec`; a checkpoint's default ladder is its single point ``q=1``."""
        codec, ladder = super().from_spec(spec)
        if codec.source.kind == "ckpt" and ladder == cls.ladder:
            ladder = codec.qualities
        for q in ladder:
            codec._check_quality(q)
        return codec, ladder

    def check_ladder(self, ladder: tuple[float, ...]) -> None:
        """As :meth:`Codec.check_ladder`; a quality outside the scale gets the same message as one the model
        was not trained at (``neural:q=9`` and ``neural:q=6`` on the bundled model both list its qualities)."""
        try:
            super().check_ladder(ladder)
        except BadInput:
            untrained = [q for q in ladder if q not in self.source.qualities]
            if untrained:
                self._check_quality(untrained[0])
            raise

    def _check_quality(self, quality: float) -> None:
        if quality not in self.source.qualities:
            trained = "/".join(format_quality(q) for q in self.source.qualities)
            raise BadInput(f"neural: quality {format_quality(quality)} is not one of {self.options['model']}'s "
                           f"trained qualities (q={trained})")  # fmt: skip

    def _model(self, quality: int) -> torch.nn.Module:
        return _lib().models.load_model(self.source, quality, resolve_device(self.device))

    def encode(self, image: np.ndarray, q: float) -> bytes:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"neural: expected an (H, W, 3) uint8 image, got {image.shape} {image.dtype}")
        self._check_quality(q)
        index = int(q)
        model = self._model(index)
        height, width = image.shape[:2]
        pad = (-height % self.source.stride, -width % self.source.stride)
        lib = _lib()
        torch, bitstream = lib.torch, lib.bitstream
        x = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float().div(255)
        x = lib.F.pad(x.to(next(model.parameters()).device), (0, pad[1], 0, pad[0]), mode="replicate")
        with torch.no_grad():
            out = model.compress(x)
        streams = tuple(strings[0] for strings in out["strings"])
        return bitstream.pack(bitstream.Frame(self.source.id, index, height, width, pad, tuple(out["shape"]), streams))

    def decode(self, data: bytes) -> np.ndarray:
        lib = _lib()
        torch = lib.torch
        frame = lib.bitstream.unpack(data)
        if frame.model != self.source.id:
            raise BadInput(f"neural: file was encoded by {frame.model}, this codec is {self.source.id}")
        with torch.no_grad():
            x_hat = self._model(frame.quality).decompress([[s] for s in frame.streams], frame.shape)["x_hat"]
        x_hat = x_hat[0, :, : frame.height, : frame.width].clamp(0, 1).mul(255).round()
        return x_hat.byte().permute(1, 2, 0).cpu().numpy()

    def versions(self) -> dict[str, str]:
        return {
            "compressai": _lib().compressai.__version__,
            "torch": _lib().torch.__version__,
            "weights": self.source.sha256(),
            "device": resolve_device(self.device),
        }
