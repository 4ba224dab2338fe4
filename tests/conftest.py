"""Shared fixtures: small real photographs (scikit-image's sample corpus) and paths to ../shared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
KODAK = SHARED / "datasets" / "kodak"


def kodak_or_skip() -> Path:
    if not (KODAK / "kodim01.png").is_file():
        pytest.skip(f"Kodak corpus not found at {KODAK} (it lives in ../shared beside the checkout)")
    return KODAK


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache.sqlite"


@pytest.fixture
def small_corpus(tmp_path: Path, astronaut: np.ndarray) -> Path:
    """Four 200x176 crops of a real photograph, as PNG files in a folder."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i, (y, x) in enumerate([(0, 0), (300, 0), (0, 300), (250, 300)]):
        Image.fromarray(astronaut[y : y + 176, x : x + 200]).save(folder / f"crop{i}.png")
    return folder
