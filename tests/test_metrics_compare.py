"""``qualitykit.compare`` / ``qk compare`` and ``load_rgb``: one pair of files, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from qualitykit.errors import BadInput, UnknownName
from qualitykit import assets
from qualitykit.cli import main
from qualitykit.compare import compare
from qualitykit.imageio import load_rgb
from qualitykit.metrics import get_metric


def run_cli(argv: list[str]) -> int:
    """``qk ARGV`` in this process; returns the exit status."""
    return main(argv)


@pytest.fixture
def no_backbones(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(assets.ENV, raising=False)
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda url, *a, **k: pytest.fail(f"download of {url}"))


@pytest.fixture
def pair_files(photo_pairs, tmp_path: Path) -> tuple[Path, Path]:
    ref, dist = photo_pairs[1]
    Image.fromarray(ref).save(tmp_path / "ref.png")
    Image.fromarray(dist).save(tmp_path / "dist.png")
    return tmp_path / "ref.png", tmp_path / "dist.png"


def test_compare_every_metric(pair_files, photo_pairs, no_backbones) -> None:
    ref, dist = photo_pairs[1]
    result = compare(*pair_files)
    assert list(result) == ["reference", "distorted", "width", "height", "metrics", "unavailable", "conversions"]
    assert (result["width"], result["height"]) == (384, 288)
    assert result["reference"] == str(pair_files[0])
    assert set(result["metrics"]) >= {"psnr", "ssim", "ms-ssim", "psnr-y", "ssim-y", "ms-ssim-y", "vmaf", "vmaf-neg"}
    for name, value in result["metrics"].items():
        assert value == pytest.approx(get_metric(name)(ref, dist), abs=1e-9)
    assert "alexnet-owt-7be5be79.pth" in result["unavailable"]["lpips"]
    assert "vgg16-397923af.pth" in result["unavailable"]["lpips-vgg"]


def test_compare_small_image_keeps_the_metrics_that_fit(tmp_path: Path, photo_pairs) -> None:
    ref, dist = (a[:100, :120].copy() for a in photo_pairs[0])
    Image.fromarray(ref).save(tmp_path / "r.png")
    Image.fromarray(dist).save(tmp_path / "d.png")
    result = compare(tmp_path / "r.png", tmp_path / "d.png", ["psnr-y", "ms-ssim-y", "vmaf"])
    assert list(result["metrics"]) == ["psnr-y", "vmaf"]
    assert "176 px" in result["unavailable"]["ms-ssim-y"]


def test_compare_errors_name_the_file(pair_files, tmp_path: Path) -> None:
    ref, _ = pair_files
    small = tmp_path / "small.png"
    Image.new("RGB", (10, 20)).save(small)
    with pytest.raises(BadInput, match=r"small\.png: 10x20 px, but the reference .*ref\.png is 384x288"):
        compare(ref, small)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    with pytest.raises(BadInput, match=r"broken\.png: not an image"):
        compare(broken, ref)
    with pytest.raises(BadInput, match=r"absent\.png: no such file"):
        compare(ref, tmp_path / "absent.png")
    with pytest.raises(UnknownName, match="unknown metric 'psnr-z'"):
        compare(ref, ref, ["psnr-z"])


def test_compare_cli_json_and_text(pair_files, capsys: pytest.CaptureFixture[str]) -> None:
    ref, dist = (str(p) for p in pair_files)
    assert run_cli(["compare", ref, dist, "--metrics", "psnr,vmaf", "--json", "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == compare(ref, dist, ["psnr", "vmaf"])
    assert run_cli(["compare", ref, dist, "--metrics", "psnr,vmaf"]) == 0
    text = capsys.readouterr().out
    assert "dB  (higher is better)  PSNR, RGB, one MSE over all channels" in text
    assert "(higher is better)  VMAF vmaf_v0.6.1, motion forced to 0; ffmpeg default RGB→YUV" in text
    assert run_cli(["compare", ref, __file__]) == 2
    assert "test_metrics_compare.py: not an image" in capsys.readouterr().err


def test_load_rgb_expands_grey_drops_opaque_alpha_and_composites_transparency_over_white(tmp_path: Path) -> None:
    Image.new("L", (5, 4), 7).save(tmp_path / "g.png")
    Image.new("RGBA", (5, 4), (1, 2, 3, 255)).save(tmp_path / "a.png")
    Image.new("RGBA", (5, 4), (1, 2, 3, 0)).save(tmp_path / "t.png")
    grey, opaque, clear = (load_rgb(tmp_path / f) for f in ("g.png", "a.png", "t.png"))
    assert grey.shape == opaque.shape == clear.shape == (4, 5, 3) and grey.dtype == np.uint8
    assert (grey == 7).all() and (opaque == [1, 2, 3]).all() and (clear == 255).all()


def test_compare_fetches_a_metric_named_but_not_the_default_list(pair_files, monkeypatch, tmp_path) -> None:
    """Named in ``metrics``, a metric missing its backbone gets one download attempt (here: offline);
    the default list (every metric) never downloads."""
    from urllib.error import URLError

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(assets.ENV, raising=False)
    asked = []

    def offline(url, *args, **kwargs):
        asked.append(url)
        raise URLError("simulated: no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    result = compare(*pair_files, ["psnr", "lpips"])
    assert asked == ["https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"]
    why = result["unavailable"]["lpips"]
    assert "(download failed: URLError" in why and "alexnet-owt-7be5be79.pth" in why and "psnr" in result["metrics"]
    asked.clear()
    compare(*pair_files, None)
    assert asked == []


def test_an_animated_image_is_scored_on_its_first_frame_and_says_so(pair_files, tmp_path, capsys) -> None:
    ref, dist = pair_files
    frames = [Image.open(dist).convert("RGB"), Image.open(ref).convert("RGB")]
    frames[0].save(tmp_path / "moving.webp", save_all=True, append_images=frames[1:], lossless=True)
    result = compare(ref, tmp_path / "moving.webp", ["psnr"])
    assert list(result["conversions"]) == ["distorted"]
    assert result["conversions"]["distorted"].startswith("animated, 2 frames: frame 1 scored")
    assert result["metrics"]["psnr"] == pytest.approx(compare(ref, dist, ["psnr"])["metrics"]["psnr"])
    assert run_cli(["compare", str(ref), str(tmp_path / "moving.webp"), "--metrics", "psnr"]) == 0
    assert "distorted: animated, 2 frames: frame 1 scored" in capsys.readouterr().out
