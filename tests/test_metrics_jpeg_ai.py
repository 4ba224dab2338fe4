"""The ``jpeg-ai:`` metrics equal the JPEG AI reference software's metric code on Kodak pairs.

The values were computed by that code (tests/expected/jpeg_ai_reference.json says which functions,
commit and stand-ins) and are compared here with each metric's stated tolerance; the fast tier checks
two small crops (sizes that take every padding path), the slow tier six full Kodak pairs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from qualitykit.metrics import get_metric, registry
from qualitykit.metrics.jpeg_ai import PREFIX, ycbcr709

from .conftest import jpeg_roundtrip, kodak_or_skip, tolerance

EXPECTED = json.loads((Path(__file__).parent / "expected" / "jpeg_ai_reference.json").read_text())["pairs"]
#: Every registered ``jpeg-ai:`` metric (the file also holds the reference's IW-SSIM, for jpeg-ai:iw-ssim).
NAMES = sorted(n for n in registry.names() if n.startswith(PREFIX))


def _pair(entry: dict) -> tuple[np.ndarray, np.ndarray]:
    with Image.open(kodak_or_skip() / f"{entry['image']}.png") as im:
        ref = np.asarray(im.convert("RGB"))
    if entry["crop"]:
        top, left, h, w = entry["crop"]
        ref = np.ascontiguousarray(ref[top : top + h, left : left + w])
    dist = jpeg_roundtrip(ref, entry["jpeg_quality"])
    digest = hashlib.sha256(dist.tobytes()).hexdigest()
    assert digest == entry["dist_sha256"], f"Pillow's JPEG of {entry['image']} differs from the one the reference scored"
    return ref, dist


def _check(name: str, tier: set[str]) -> None:
    """qk's ``name`` on every expected pair of ``tier`` is within its stated tolerance of the reference."""
    metric = get_metric(name, device="cpu")
    entries = [e for e in EXPECTED if e["tier"] in tier]
    pairs = [_pair(e) for e in entries]
    got = metric.compute([r for r, _ in pairs], [d for _, d in pairs])
    want = np.array([e["values"][name] for e in entries])
    np.testing.assert_allclose(got, want, rtol=0, atol=tolerance(name), err_msg=name)


def _available_or_skip(name: str) -> None:
    why = registry.get(name).why_unavailable()
    if why:
        pytest.skip(f"{name} unavailable here: {why}")


@pytest.mark.parametrize("name", NAMES)
def test_equals_the_reference_software_on_kodak_crops(name):
    _available_or_skip(name)
    _check(name, {"fast"})


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_equals_the_reference_software_on_full_kodak_pairs(name):
    _available_or_skip(name)
    _check(name, {"fast", "slow"})


def test_every_jpeg_ai_metric_has_reference_values():
    assert NAMES and all(set(NAMES) <= set(e["values"]) for e in EXPECTED)


def _reference_ycbcr(image: np.ndarray) -> np.ndarray:
    """The reference's ``DataClass.load_image`` (PNG, 8 bits, BT.709) in PyTorch, as it spells it:
    ``round_plane(v) = round(v · 255) / 255``; returns the 8-bit codes its ``write_yuv`` writes."""
    import torch

    rgb = torch.tensor(image.astype(np.int32), dtype=torch.float).permute(2, 0, 1)
    rgb = (rgb / 255).mul(255).round().div(255)
    r, g, b = rgb[0], rgb[1], rgb[2]
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    yuv = torch.stack([y, (b - y) / 1.8556 + 0.5, (r - y) / 1.5748 + 0.5]).clamp(0, 1)
    yuv = yuv.mul(255).round().div(255)
    return yuv.mul(255).round().numpy().astype(np.uint8)


def _colour_cube(step: int) -> np.ndarray:
    r, g, b = np.meshgrid(np.arange(0, 256, step), np.arange(256), np.arange(256), indexing="ij")
    return np.stack([r, g, b], -1).reshape(-1, 256, 3).astype(np.uint8)


def test_colour_conversion_is_the_references_bit_for_bit():
    pytest.importorskip("torch")
    cube = _colour_cube(17)  # 16 red levels × every green and blue
    assert np.array_equal(ycbcr709(cube), _reference_ycbcr(cube))


@pytest.mark.slow
def test_colour_conversion_is_the_references_on_all_colours():
    pytest.importorskip("torch")
    cube = _colour_cube(1)
    for rows in np.array_split(np.arange(cube.shape[0]), 16):
        assert np.array_equal(ycbcr709(cube[rows]), _reference_ycbcr(cube[rows]))


def test_ycbcr709_values():
    """Full-range BT.709: white → (255, 128, 128), black → (0, 128, 128), pure red → Cr 255."""
    px = np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 0, 255]]], dtype=np.uint8)
    y, cb, cr = ycbcr709(px)[:, 0]
    assert list(y) == [255, 0, round(0.2126 * 255), round(0.0722 * 255)]
    assert list(cb[:2]) == [128, 128] and cb[3] == 255 and cr[2] == 255


def test_vmaf_reads_luma_only():
    """VMAF 0.6.1's features (VIF, ADM, motion) use the Y plane: chroma changes nothing, so the
    reference's 4:4:4 file and a 4:2:0 one (older jpeg-ai-qaf) give the same score."""
    from qualitykit.metrics.libvmaf import run_libvmaf

    _available_or_skip(PREFIX + "vmaf")
    ref, dist = _pair(EXPECTED[0])
    a, b = ycbcr709(ref).transpose(1, 2, 0), ycbcr709(dist).transpose(1, 2, 0)
    grey = b.copy()
    grey[..., 1:] = 128
    scores = [f["vmaf_v0.6.1"] for f in run_libvmaf([a, a], [b, grey], models=["vmaf_v0.6.1"], pix_fmt="yuv444p")]
    assert scores[0] == scores[1] and scores[0] < 99


def test_small_images_are_padded_as_the_reference_pads_them():
    """Under 164 (MS-SSIM), 128 (NLPD), 64 (VIF) px the reference zero-pads; a side that is not a
    multiple of 8 is edge-replicated for PSNR-HVS: every metric scores a 40×30 pair."""
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    dist = np.clip(ref.astype(int) + rng.integers(-9, 10, ref.shape), 0, 255).astype(np.uint8)
    for name in NAMES:
        if registry.get(name).why_unavailable() is None:
            value = get_metric(name, device="cpu")(ref, dist)
            assert np.isfinite(value), name
