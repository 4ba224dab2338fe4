"""Shared fixtures: small real photographs (scikit-image's sample corpus) and paths to ../shared."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

#: ``../shared`` beside the project checkout (read-only data; never copied into the repository).
SHARED = Path(__file__).resolve().parents[2] / "shared"
KODAK = SHARED / "datasets" / "kodak"
#: Features-only ImageNet backbones (AlexNet, VGG16) for LPIPS and DISTS; see its SOURCE.md.
WEIGHTS = SHARED / "weights"


def tolerance(metric: str) -> float:
    """The tolerance ``metric``'s :class:`~qualitykit.metrics.base.Reference` states: every equality
    test asserts this figure (read from the registry, never written twice), and
    ``test_metric_contract.py`` checks that the test each reference names calls this."""
    from qualitykit.metrics import registry

    value = registry.get(metric).reference.tolerance
    assert value is not None, f"{metric}: its reference states no tolerance"
    return value


def kodak_or_skip() -> Path:
    if not (KODAK / "kodim01.png").is_file():
        pytest.skip(f"Kodak corpus not found at {KODAK} (it lives in ../shared beside the checkout)")
    return KODAK


def shared_weights_or_skip() -> Path:
    if not (WEIGHTS / "vgg16-features-imagenet1k-v1.pth").is_file():
        pytest.skip(f"ImageNet backbone files not found at {WEIGHTS} (they live in ../shared beside the checkout)")
    return WEIGHTS


@pytest.fixture(autouse=True, scope="session")
def own_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``$XDG_CACHE_HOME`` in a temporary folder for the whole session (subprocesses included): what
    qk remembers there (asset content hashes, fetched corpora) never touches the user's ``~/.cache``."""
    with pytest.MonkeyPatch.context() as m:
        m.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        yield


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread_per_worker() -> Iterator[None]:
    """Under pytest-xdist (two workers on two cores) each worker computes with one PyTorch thread, as qk's
    own pool does for N workers on N cores: two workers × PyTorch's default of one thread per core would
    oversubscribe the cores. Tests that set the count themselves restore this one."""
    import os

    try:
        import torch
    except ImportError:  # a core install: nothing to share
        torch = None
    if torch is None or not os.environ.get("PYTEST_XDIST_WORKER"):
        yield
        return

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never use the network: a download through torch.hub (qk's only way) fails the test
    (``pytest.fail`` raises a BaseException, which qk's ``except Exception`` cannot swallow)."""
    import torch.hub

    def refuse(url, *args, **kwargs):
        pytest.fail(f"a test tried to download {url}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


@pytest.fixture
def shared_weights(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """``$QK_WEIGHTS_DIR`` = ../shared/weights and an empty torch hub cache (skips when absent)."""
    folder = shared_weights_or_skip()
    monkeypatch.setenv("QK_WEIGHTS_DIR", str(folder))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return folder


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache.sqlite"


def write_small_corpus(folder: Path, astronaut: np.ndarray) -> Path:
    """Four 200x176 crops of a real photograph, as PNG files in ``folder`` (made here)."""
    folder.mkdir(parents=True)
    for i, (y, x) in enumerate([(0, 0), (300, 0), (0, 300), (250, 300)]):
        Image.fromarray(astronaut[y : y + 176, x : x + 200]).save(folder / f"crop{i}.png")
    return folder


@pytest.fixture
def small_corpus(tmp_path: Path, astronaut: np.ndarray) -> Path:
    """Four 200x176 crops of a real photograph, as PNG files in a folder (each test its own copy)."""
    return write_small_corpus(tmp_path / "corpus", astronaut)


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` after a baseline JPEG encode/decode at ``quality`` (Pillow), as RGB uint8."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=quality)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"))


@pytest.fixture(scope="session")
def photo_pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    """Five (reference, JPEG) pairs of one size (288×384), from different photographs at different qualities."""
    from skimage import data

    photos = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket(), data.immunohistochemistry()]
    return [
        (p[:288, :384].copy(), jpeg_roundtrip(p[:288, :384].copy(), q)) for p, q in zip(photos, (10, 25, 50, 75, 95))
    ]


@pytest.fixture(scope="session")
def kodak_pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    """Every Kodak image with its JPEG at q=10…95 (cycling); skips when ``../shared`` has no Kodak."""
    files = sorted(KODAK.glob("kodim*.png"))
    if not files:
        pytest.skip(f"Kodak not found at {KODAK} (../shared beside the checkout)")
    pairs = []
    for i, f in enumerate(files):
        with Image.open(f) as im:
            ref = np.asarray(im.convert("RGB"))
        pairs.append((ref, jpeg_roundtrip(ref, (10, 25, 50, 75, 95)[i % 5])))
    return pairs
