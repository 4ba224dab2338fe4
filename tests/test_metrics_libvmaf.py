"""libvmaf metrics: batching proven against one process per pair, values against ffmpeg run independently."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qualitykit import ffmpeg
from qualitykit.metrics import evaluate, get_metric
from qualitykit.errors import Unavailable
from qualitykit.metrics import libvmaf as libvmaf_module
from qualitykit.metrics.color import rgb_to_y

NAMES = ("psnr-y", "ssim-y", "ms-ssim-y", "vmaf", "vmaf-neg")

pytestmark = pytest.mark.skipif(
    ffmpeg.find_ffmpeg().path is None, reason=f"no ffmpeg with libvmaf: {ffmpeg.find_ffmpeg().reason()}"
)


@pytest.fixture
def ffmpeg_runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Records every ffmpeg process the libvmaf module starts."""
    calls: list[list[str]] = []
    real = subprocess.run

    def spy(cmd, *args, **kwargs):
        calls.append(cmd)
        return real(cmd, *args, **kwargs)

    monkeypatch.setattr(libvmaf_module.subprocess, "run", spy)
    return calls


def _batched_vs_single(pairs, runs: list[list[str]]) -> None:
    metrics = [get_metric(n) for n in NAMES]
    libvmaf_module.libvmaf_version()  # its one-frame probe run (cached) is not one of the passes counted below
    refs, dists = [p[0] for p in pairs], [p[1] for p in pairs]
    runs.clear()
    batched = evaluate(metrics, refs, dists)
    assert len(runs) == len({r.shape for r in refs}), "one ffmpeg process per image size"
    single = [evaluate(metrics, [r], [d]) for r, d in pairs]
    for name in NAMES:
        alone = np.array([s[name][0] for s in single])
        np.testing.assert_allclose(batched[name], alone, rtol=0, atol=1e-4, err_msg=name)
    # the pairs differ, so equal values are not an accident of constant output
    assert len(set(np.round(batched["vmaf"], 3))) == len(pairs)


def test_batched_pass_equals_one_process_per_pair(photo_pairs, ffmpeg_runs) -> None:
    _batched_vs_single(photo_pairs, ffmpeg_runs)


@pytest.mark.slow
def test_batched_pass_equals_one_process_per_pair_kodak(kodak_pairs, ffmpeg_runs) -> None:
    _batched_vs_single(kodak_pairs[:8], ffmpeg_runs)  # kodim04 is portrait: two sizes, two passes


def _write_y4m(path: Path, image: np.ndarray) -> None:
    """qk's luma plane as one yuv444p frame with neutral chroma, tagged full range."""
    y = rgb_to_y(image)
    h, w = y.shape
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F25:1 Ip A1:1 C444 XCOLORRANGE=FULL\nFRAME\n".encode())
        f.write(y.tobytes())
        f.write(np.full((2, h, w), 128, np.uint8).tobytes())


def test_values_match_ffmpeg_quality_metrics(photo_pairs, tmp_path: Path) -> None:
    """ffmpeg-quality-metrics drives ffmpeg+libvmaf its own way (y4m input, model JSON files, no
    motion option: a single frame has motion 0), and ffmpeg's own ``psnr`` filter as a second PSNR."""
    from ffmpeg_quality_metrics import FfmpegQualityMetrics

    metrics = [get_metric(n) for n in NAMES]
    refs, dists = [p[0] for p in photo_pairs[:3]], [p[1] for p in photo_pairs[:3]]
    ours = evaluate(metrics, refs, dists)
    for i, (ref, dist) in enumerate(zip(refs, dists)):
        _write_y4m(tmp_path / "ref.y4m", ref)
        _write_y4m(tmp_path / "dist.y4m", dist)
        fqm = FfmpegQualityMetrics(
            str(tmp_path / "ref.y4m"), str(tmp_path / "dist.y4m"), ffmpeg_path=ffmpeg.find_ffmpeg().path,
            tmp_dir=str(tmp_path),
        )  # fmt: skip
        features = {"features": ["psnr", "float_ssim", "float_ms_ssim"], "n_threads": 1}
        plain = fqm.calculate(["vmaf", "psnr"], features)
        neg = fqm.calculate(["vmaf"], {"model_path": "vmaf_v0.6.1neg.json", "n_threads": 1})["vmaf"][0]
        vmaf, psnr_filter = plain["vmaf"][0], plain["psnr"][0]
        assert ours["psnr-y"][i] == pytest.approx(vmaf["psnr_y"], abs=1e-4)
        assert ours["psnr-y"][i] == pytest.approx(psnr_filter["psnr_y"], abs=0.01)  # printed to 2 decimals
        assert ours["ssim-y"][i] == pytest.approx(vmaf["float_ssim"], abs=1e-4)
        assert ours["ms-ssim-y"][i] == pytest.approx(vmaf["float_ms_ssim"], abs=1e-4)
        assert ours["vmaf"][i] == pytest.approx(vmaf["vmaf"], abs=1e-4)
        assert ours["vmaf-neg"][i] == pytest.approx(neg["vmaf"], abs=1e-4)


def test_psnr_y_equals_numpy_on_the_luma_plane(photo_pairs) -> None:
    refs, dists = [p[0] for p in photo_pairs], [p[1] for p in photo_pairs]
    ours = get_metric("psnr-y").compute(refs, dists)
    for value, ref, dist in zip(ours, refs, dists):
        diff = rgb_to_y(ref).astype(np.float64) - rgb_to_y(dist).astype(np.float64)
        expected = 10 * np.log10(255.0**2 / np.mean(diff**2))
        assert round(value, 6) == pytest.approx(round(expected, 6), abs=1.1e-6)


def test_version_names_model_and_libvmaf() -> None:
    libvmaf = libvmaf_module.libvmaf_version()
    assert get_metric("vmaf").version == f"1+vmaf_v0.6.1+libvmaf-{libvmaf}"
    assert get_metric("vmaf-neg").version == f"1+vmaf_v0.6.1neg+libvmaf-{libvmaf}"
    assert get_metric("ssim-y").version == f"1+float_ssim+libvmaf-{libvmaf}"


def test_explicit_ffmpeg_never_falls_back(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "no-ffmpeg"
    monkeypatch.setenv(ffmpeg.ENV, str(missing))
    choice = ffmpeg.find_ffmpeg()
    assert choice.path is None and str(missing) in choice.reason()
    assert str(missing) in (libvmaf_module.VMAF.available() or "")
    with pytest.raises(Unavailable, match="QK_FFMPEG"):
        get_metric("vmaf")
    assert str(missing) in ffmpeg.describe()


def test_set_ffmpeg_reaches_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    path = ffmpeg.find_ffmpeg().path
    monkeypatch.delenv(ffmpeg.ENV, raising=False)  # monkeypatch restores the variable afterwards
    ffmpeg.set_ffmpeg(path)
    code = "from qualitykit.ffmpeg import find_ffmpeg; c = find_ffmpeg(); print(c.source, c.path)"
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["$QK_FFMPEG", path]
    assert ffmpeg.describe().startswith(f"ffmpeg: {path} ($QK_FFMPEG)")
    ffmpeg.set_ffmpeg(None)
    assert ffmpeg.find_ffmpeg().source != "$QK_FFMPEG"
