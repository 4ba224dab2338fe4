"""The neural codec: real bitstreams, header checks, weight sources (no network)."""

from __future__ import annotations

import pickle
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
from compressai.models import FactorizedPrior, MeanScaleHyperprior, ScaleHyperprior
from skimage import data

from qualitykit.codecs import codec_from_spec
from qualitykit.errors import BadInput, Unavailable
from qualitykit.neural import models
from qualitykit.neural.bitstream import Frame, pack, unpack

SMALL = {"bmshj2018-factorized": FactorizedPrior, "bmshj2018-hyperprior": ScaleHyperprior, "mbt2018-mean": MeanScaleHyperprior}


def random_ckpt(tmp_path: Path, arch: str) -> Path:
    """A randomly initialised, tiny (N=8, M=16) model of ``arch`` saved as a plain state dict."""
    torch.manual_seed(0)
    path = tmp_path / f"{arch}.pt"
    torch.save(SMALL[arch](8, 16).state_dict(), path)
    return path


def round_trip(spec: str, image: np.ndarray) -> tuple[bytes, np.ndarray]:
    codec, ladder = codec_from_spec(spec)
    codec.device = "cpu"
    encoded = codec.encode(image, ladder[0])
    decoded = codec.decode(encoded)
    assert decoded.shape == image.shape and decoded.dtype == np.uint8
    assert np.array_equal(codec.decode(encoded), decoded), "same bytes must decode to the same pixels"
    assert codec.encode(image, ladder[0]) == encoded, "encoding must be deterministic"
    return encoded, decoded


@pytest.mark.parametrize("arch", sorted(SMALL))
@pytest.mark.parametrize("shape", [(75, 100), (100, 75), (64, 64), (1, 1)])
def test_random_init_round_trip(tmp_path, arch, shape):
    image = data.astronaut()[: shape[0], : shape[1]]
    encoded, _ = round_trip(f"neural:ckpt={random_ckpt(tmp_path, arch)}:arch={arch}", image)
    frame = unpack(encoded)
    stride = 16 if arch.startswith("bmshj2018-factorized") else 64
    assert (frame.height, frame.width) == shape
    assert all((n + p) % stride == 0 for n, p in zip(shape, frame.pad))


def test_bundled_round_trip():
    image = data.chelsea()[:75, :100]
    codec, ladder = codec_from_spec("neural")
    assert ladder == (1, 2, 3, 4)
    sizes = [len(codec.encode(image, q)) for q in ladder]
    assert sizes == sorted(sizes), "higher quality must cost more bytes"
    _, decoded = round_trip("neural:q=4", image)
    mse = np.mean((decoded.astype(float) - image) ** 2)
    assert 10 * np.log10(255**2 / mse) > 24


@pytest.mark.slow
def test_bundled_full_image():
    image = data.astronaut()
    _, decoded = round_trip("neural:q=2", image)
    assert np.abs(decoded.astype(int) - image).mean() < 12


def test_bundled_files_are_small():
    folder = models.MODELS_DIR / codec_from_spec("neural")[0].source.name
    assert sum(p.stat().st_size for p in folder.iterdir()) <= 10_000_000
    assert {"LICENSE", "PROVENANCE.md", "model.json"} <= {p.name for p in folder.iterdir()}


def test_spec_ids_and_ladders():
    codec, ladder = codec_from_spec("neural:mbt2018-mean:q=6:metric=ms-ssim")
    assert codec.id == "neural:arch=mbt2018-mean:ckpt=:metric=ms-ssim:model=mbt2018-mean" and ladder == (6.0,)
    assert codec_from_spec("neural")[0].id == "neural:arch=bmshj2018-hyperprior:ckpt=:metric=mse:model=qk-hyperprior-v1"
    assert codec_from_spec(codec.id)[0].id == codec.id


@pytest.mark.parametrize(
    "spec, message",
    [
        ("neural:q=5", r"quality 5 is not one of qk-hyperprior-v1's trained qualities \(q=1/2/3/4\)"),
        ("neural:q=9", r"quality 9 is not one of qk-hyperprior-v1's trained qualities \(q=1/2/3/4\)"),  # as q=5: same words
        ("neural:cheng2020-anchor:q=7", "quality 7 is not one of cheng2020-anchor's trained qualities"),
        ("neural:q=1.5", "quality 1.5 is not one of"),
        ("neural:no-such-model", "unknown model"),
        ("neural:ckpt=x.pt", "needs arch="),
        ("neural:ckpt=no/such.pt:arch=mbt2018", "ckpt=no/such.pt is not a file"),
        ("neural:metric=ms-ssim", "no metric=ms-ssim"),
        ("neural:bmshj2018-hyperprior:arch=mbt2018", "not arch=mbt2018"),
    ],
)
def test_bad_specs(spec, message):
    with pytest.raises(BadInput, match=message):
        codec_from_spec(spec)


@pytest.fixture
def encoded(tmp_path) -> tuple[object, bytes]:
    codec, _ = codec_from_spec(f"neural:ckpt={random_ckpt(tmp_path, 'bmshj2018-hyperprior')}:arch=bmshj2018-hyperprior")
    codec.device = "cpu"
    return codec, codec.encode(data.chelsea()[:70, :90], 1)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda b: b[:-1], "truncated"),
        (lambda b: b[:12], "truncated"),
        (lambda b: b + b"\0", "too long"),
        (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "CRC-32"),
        (lambda b: b"JPEG" + b[4:], "not a neural-codec file"),
        (lambda b: b[:4] + b"\x09" + b[5:], "version 9"),
        (lambda b: b"", "truncated"),
    ],
)
def test_damaged_bytes_are_rejected(encoded, damage, message):
    codec, data_ = encoded
    with pytest.raises(BadInput, match=message):
        codec.decode(damage(data_))


def test_other_models_file_is_rejected(encoded):
    _, data_ = encoded
    with pytest.raises(BadInput, match="encoded by ckpt/bmshj2018-hyperprior/"):
        codec_from_spec("neural")[0].decode(data_)


def test_frame_round_trip():
    frame = Frame("zoo/mbt2018/mse", 3, 75, 100, (53, 28), (2, 2), (b"abc", b"", b"\x00" * 300))
    assert unpack(pack(frame)) == frame


def test_checkpoint_formats(tmp_path):
    path = random_ckpt(tmp_path, "bmshj2018-factorized")
    wrapped = tmp_path / "train.pth.tar"
    torch.save({"epoch": 3, "state_dict": torch.load(path, weights_only=True)}, wrapped)
    round_trip(f"neural:ckpt={wrapped}:arch=bmshj2018-factorized", data.chelsea()[:40, :50])


class _Payload:
    def __reduce__(self):
        return (print, ("arbitrary code ran",))


def test_checkpoint_is_not_unpickled(tmp_path):
    evil = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "hook": _Payload()}, evil)
    codec, _ = codec_from_spec(f"neural:ckpt={evil}:arch=bmshj2018-factorized")
    with pytest.raises(pickle.UnpicklingError):
        codec.encode(data.chelsea()[:16, :16], 1)


@pytest.fixture
def offline(tmp_path, monkeypatch) -> list[str]:
    """An empty torch hub cache under ``tmp_path`` and a download function that fails like a dead
    network; returns the URLs it was asked for."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("QK_WEIGHTS_DIR", raising=False)
    asked: list[str] = []

    def no_network(url, dst, *args, **kwargs):
        asked.append(url)
        raise URLError("simulated: no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return asked


def test_zoo_offline_error_names_url_and_cache_path(offline, tmp_path):
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    codec, ladder = codec_from_spec("neural:bmshj2018-hyperprior:q=3")  # no download before the first image
    assert codec.versions()["weights"].startswith("prefixes 1:7eb97409 ")
    url = models.zoo_url("bmshj2018-hyperprior", "mse", 3)
    assert url == "https://compressai.s3.amazonaws.com/models/v1/bmshj2018-hyperprior-3-6d87be32.pth.tar"
    with pytest.raises(Unavailable) as err:
        codec.encode(data.chelsea()[:16, :16], 3)
    assert offline == [], "encoding (in a worker) never downloads"
    message = str(err.value)
    assert "bmshj2018-hyperprior" in message and url in message
    assert str(checkpoints / "bmshj2018-hyperprior-3-6d87be32.pth.tar") in message
    assert "qk weights --download bmshj2018-hyperprior/mse/q3" in message
    with pytest.raises(Unavailable, match="download failed: URLError"):
        codec.fetch(ladder)  # what the planner calls: the one place a download is attempted
    assert offline == [url]


def test_zoo_uses_cached_weights(offline, tmp_path, monkeypatch):
    url = models.zoo_url("mbt2018-mean", "ms-ssim", 2)
    cached = models.zoo_cache_path(url)
    assert cached == tmp_path / "torch" / "hub" / "checkpoints" / url.rsplit("/", 1)[1]
    cached.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(MeanScaleHyperprior(8, 16).state_dict(), cached)
    round_trip("neural:mbt2018-mean:metric=ms-ssim:q=2", data.chelsea()[:30, :40])
    # the same file in a folder named by $QK_WEIGHTS_DIR serves too (offline machines)
    elsewhere = tmp_path / "offline-copy"
    elsewhere.mkdir()
    cached.rename(elsewhere / cached.name)
    monkeypatch.setenv("QK_WEIGHTS_DIR", str(elsewhere))
    models.load_model.cache_clear()
    round_trip("neural:mbt2018-mean:metric=ms-ssim:q=2", data.chelsea()[:30, :40])
    assert offline == []


def test_versions_name_the_device_class(tmp_path):
    codec, _ = codec_from_spec("neural")
    codec.device = "cpu"
    assert codec.versions()["device"] == "cpu"
    assert len(codec.versions()["weights"]) == 64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_round_trip():
    codec, _ = codec_from_spec("neural:q=3")
    codec.device = "cuda"
    image = data.astronaut()[:100, :75]
    encoded = codec.encode(image, 3)
    assert codec.versions()["device"] == "cuda"
    assert np.array_equal(codec.decode(encoded), codec.decode(encoded))
