"""libvmaf metrics: batching proven against one process per pair; values and the RGB→YUV conversion
against ffmpeg and ffmpeg-quality-metrics run on the same two PNG files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from qualitykit import ffmpeg
from qualitykit.errors import Unavailable
from qualitykit.metrics import evaluate, get_metric, registry
from qualitykit.metrics import libvmaf as libvmaf_module

from .conftest import jpeg_roundtrip, tolerance

NAMES = ("psnr-y", "ssim-y", "ms-ssim-y", "vmaf", "vmaf-neg", "vmaf-4k")

pytestmark = pytest.mark.skipif(
    ffmpeg.find_ffmpeg().path is None, reason=f"no ffmpeg with libvmaf: {ffmpeg.find_ffmpeg().reason()}"
)


@pytest.fixture
def ffmpeg_runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Records every ffmpeg process the libvmaf module starts."""
    calls: list[list[str]] = []
    real = libvmaf_module.run_program

    def spy(cmd, *args, **kwargs):
        calls.append(cmd)
        return real(cmd, *args, **kwargs)

    monkeypatch.setattr(libvmaf_module, "run_program", spy)
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
        np.testing.assert_allclose(batched[name], alone, rtol=0, atol=1e-6, err_msg=name)
    # the pairs differ, so equal values are not an accident of constant output
    assert len(set(np.round(batched["vmaf"], 3))) == len(pairs)


def test_batched_pass_equals_one_process_per_pair(photo_pairs, ffmpeg_runs) -> None:
    _batched_vs_single(photo_pairs, ffmpeg_runs)


@pytest.mark.slow
def test_batched_pass_equals_one_process_per_pair_kodak(kodak_pairs, ffmpeg_runs) -> None:
    _batched_vs_single(kodak_pairs[:8], ffmpeg_runs)  # kodim04 is portrait: two sizes, two passes


# ------------------------------------------------------------------ the files ffmpeg sees


def _ff() -> str:
    return ffmpeg.find_ffmpeg().path  # type: ignore[return-value]


def _save_pair(folder: Path, ref: np.ndarray, dist: np.ndarray, stem: str = "") -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    ref_png, dist_png = folder / f"{stem}ref.png", folder / f"{stem}dist.png"
    Image.fromarray(ref).save(ref_png)
    Image.fromarray(dist).save(dist_png)
    return ref_png, dist_png


def _ffmpeg_on_pngs(ref_png: Path, dist_png: Path, log: Path) -> dict[str, float]:
    """``ffmpeg -i dist.png -i ref.png -lavfi libvmaf=…`` with every feature and model qk offers, as
    a user would type it (no motion option: one frame has motion 0)."""
    models = "|".join(f"version={registry.get(n).model}\\:name={registry.get(n).key}" for n in NAMES if registry.get(n).model)
    features = "|".join(f"name={registry.get(n).feature}" for n in NAMES if registry.get(n).feature)
    lavfi = f"libvmaf=log_fmt=json:log_path={log}:n_threads=1:feature={features}:model='{models}'"
    cmd = [_ff(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(dist_png), "-i", str(ref_png),
           "-lavfi", lavfi, "-f", "null", "-"]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    return json.loads(log.read_text())["frames"][0]["metrics"]


def _fqm(ref_png: Path, dist_png: Path, *args: str) -> dict:
    """The ``ffmpeg-quality-metrics DIST REF`` command line, its JSON output parsed."""
    cmd = [sys.executable, "-m", "ffmpeg_quality_metrics", str(dist_png), str(ref_png), "--ffmpeg-path", _ff(),
           "--no-summary", "--vmaf-threads", "1", *args]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def _assert_equal_to_ffmpeg(pairs, tmp_path: Path, fqm: bool) -> dict[str, float]:
    """qk's values equal ffmpeg's on the PNG files (to libvmaf's 6 printed decimals); returns the
    largest difference per metric."""
    ours = evaluate([get_metric(n) for n in NAMES], [p[0] for p in pairs], [p[1] for p in pairs])
    worst = dict.fromkeys(NAMES, 0.0)
    for i, (ref, dist) in enumerate(pairs):
        ref_png, dist_png = _save_pair(tmp_path / str(i), ref, dist)
        direct = _ffmpeg_on_pngs(ref_png, dist_png, tmp_path / str(i) / "direct.json")
        for name in NAMES:
            diff = abs(ours[name][i] - direct[registry.get(name).key])
            worst[name] = max(worst[name], diff)
            assert diff <= tolerance(name), (name, i, ours[name][i], direct[registry.get(name).key])
        if not fqm:
            continue
        plain = _fqm(ref_png, dist_png, "-m", "vmaf", "psnr", "--vmaf-features", "psnr", "float_ssim", "float_ms_ssim")
        vmaf, psnr_filter = plain["vmaf"][0], plain["psnr"][0]
        neg = _fqm(ref_png, dist_png, "-m", "vmaf", "--vmaf-model-path", "vmaf_v0.6.1neg.json")["vmaf"][0]
        k4 = _fqm(ref_png, dist_png, "-m", "vmaf", "--vmaf-model-path", "vmaf_4k_v0.6.1.json")["vmaf"][0]
        expected = {"psnr-y": vmaf["psnr_y"], "ssim-y": vmaf["float_ssim"], "ms-ssim-y": vmaf["float_ms_ssim"],
                    "vmaf": vmaf["vmaf"], "vmaf-neg": neg["vmaf"], "vmaf-4k": k4["vmaf"]}  # fmt: skip
        for name, value in expected.items():
            assert ours[name][i] == pytest.approx(value, abs=tolerance(name)), (name, i)
        # ffmpeg's own psnr filter (a second implementation), printed to 2 decimals
        assert ours["psnr-y"][i] == pytest.approx(psnr_filter["psnr_y"], abs=0.005 + 1e-9)
    return worst


def test_values_equal_ffmpeg_and_ffmpeg_quality_metrics_on_png_files(photo_pairs, tmp_path: Path) -> None:
    pairs = [photo_pairs[0], (photo_pairs[2][0][:287, :383].copy(), photo_pairs[2][1][:287, :383].copy())]  # odd size too
    _assert_equal_to_ffmpeg(pairs, tmp_path, fqm=True)


@pytest.mark.slow
def test_values_equal_ffmpeg_on_kodak(kodak_pairs, tmp_path: Path) -> None:
    _assert_equal_to_ffmpeg(kodak_pairs, tmp_path, fqm=False)
    _assert_equal_to_ffmpeg(kodak_pairs[:3], tmp_path / "fqm", fqm=True)


def _large_and_odd_pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    """2048-px images (Kodak upscaled with Lanczos; 2048×1365 has an odd height) and odd crops, with their JPEGs."""
    from .conftest import kodak_or_skip

    kodak = kodak_or_skip()
    pairs = []
    for name, size, crop, q in (
        ("kodim01.png", (2048, 1365), None, 30),
        ("kodim04.png", (1365, 2048), None, 60),  # portrait
        ("kodim13.png", None, (0, 0, 767, 511), 20),
        ("kodim19.png", None, (3, 5, 512, 767), 50),  # 509×762
        ("kodim23.png", None, (100, 100, 301, 271), 40),  # 201×171: odd on both sides
    ):
        with Image.open(kodak / name) as im:
            im = im.convert("RGB")
            im = im.resize(size, Image.LANCZOS) if size else im.crop(crop)
            ref = np.asarray(im).copy()
        pairs.append((ref, jpeg_roundtrip(ref, q)))
    return pairs


@pytest.mark.slow
def test_values_equal_ffmpeg_on_2048px_and_odd_sizes(tmp_path: Path) -> None:
    pairs = _large_and_odd_pairs()
    assert {p[0].shape[:2] for p in pairs} >= {(1365, 2048), (511, 767), (171, 201)}
    small = [p for p in pairs if min(p[0].shape[:2]) < 176]
    big = [p for p in pairs if min(p[0].shape[:2]) >= 176]
    _assert_equal_to_ffmpeg(big[:1], tmp_path / "fqm", fqm=True)
    _assert_equal_to_ffmpeg(big[1:], tmp_path / "direct", fqm=False)
    # 201×171 is too small for ms-ssim-y; the others still equal ffmpeg's
    ours = evaluate([get_metric(n) for n in NAMES], [small[0][0]], [small[0][1]])
    assert isinstance(ours["ms-ssim-y"], Exception)
    direct = _ffmpeg_on_pngs(*_save_pair(tmp_path / "small", *small[0]), tmp_path / "small" / "log.json")
    for name in ("psnr-y", "ssim-y", "vmaf", "vmaf-neg", "vmaf-4k"):
        assert ours[name][0] == pytest.approx(direct[registry.get(name).key], abs=tolerance(name)), name


def _converted(args: list[str], out: Path) -> bytes:
    """The YUV planes ffmpeg's auto-inserted scaler makes from one input, written raw."""
    cmd = [_ff(), "-hide_banner", "-nostdin", "-loglevel", "error", *args, "-vf", f"format={libvmaf_module.PIX_FMT}",
           "-f", "rawvideo", "-y", str(out)]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    return out.read_bytes()


def test_raw_rgb24_converts_bit_identically_to_png_input(photo_pairs, tmp_path: Path) -> None:
    """What qk feeds ffmpeg (raw rgb24) and a PNG of the same pixels become the same YUV planes, at even
    and odd sizes; and those planes are BT.601 limited range (white → Y 235, black → Y 16)."""
    images = [photo_pairs[1][0], photo_pairs[3][1][:143, :251].copy()]
    ramp = np.zeros((17, 33, 3), np.uint8)
    ramp[:, :16] = 255  # white left, black right
    for k, image in enumerate([*images, ramp]):
        h, w = image.shape[:2]
        Image.fromarray(image).save(tmp_path / f"{k}.png")
        (tmp_path / f"{k}.rgb").write_bytes(image.tobytes())
        from_png = _converted(["-i", str(tmp_path / f"{k}.png")], tmp_path / f"{k}-png.yuv")
        from_raw = _converted(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-i", str(tmp_path / f"{k}.rgb")],
                              tmp_path / f"{k}-raw.yuv")  # fmt: skip
        assert len(from_png) == 3 * h * w and from_png == from_raw, k
    y = np.frombuffer(from_png, np.uint8)[: 17 * 33].reshape(17, 33)
    assert (y[:, :16] == 235).all() and (y[:, 16:] == 16).all()


@pytest.mark.parametrize("source", ["png", "rgb24"])
def test_ffmpeg_negotiates_yuv444p_for_libvmaf(source: str, tmp_path: Path, photo_pairs) -> None:
    """ffmpeg's debug log names the format its scaler picks before libvmaf; qk states that format."""
    ref = photo_pairs[0][0][:65, :81].copy()
    if source == "png":
        Image.fromarray(ref).save(tmp_path / "a.png")
        inputs = ["-i", str(tmp_path / "a.png")] * 2
    else:
        (tmp_path / "a.rgb").write_bytes(ref.tobytes())
        inputs = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "81x65", "-i", str(tmp_path / "a.rgb")] * 2
    cmd = [_ff(), "-hide_banner", "-nostdin", "-loglevel", "debug", *inputs, "-lavfi",
           f"libvmaf=log_path={tmp_path / 'log.json'}:log_fmt=json", "-f", "null", "-"]  # fmt: skip
    log = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
    picked = re.findall(r"auto_scale_\d+ @ \S+\] picking (\S+) out of", log)
    converted = re.findall(r"fmt:rgb24 csp:gbr range:pc sar:\S+ -> w:81 h:65 fmt:(\S+) ", log)
    assert picked and set(picked) == {libvmaf_module.PIX_FMT}
    assert len(converted) == 2 and set(converted) == {libvmaf_module.PIX_FMT}
    for name in NAMES:
        assert f"BT.601 limited range, {libvmaf_module.PIX_FMT}" in registry.get(name).description


def test_psnr_y_is_psnr_of_ffmpegs_y_plane(photo_pairs, tmp_path: Path) -> None:
    refs, dists = [p[0] for p in photo_pairs], [p[1] for p in photo_pairs]
    ours = get_metric("psnr-y").compute(refs, dists)
    for k, (value, ref, dist) in enumerate(zip(ours, refs, dists)):
        h, w = ref.shape[:2]
        planes = []
        for label, image in (("r", ref), ("d", dist)):
            (tmp_path / f"{k}{label}.rgb").write_bytes(image.tobytes())
            raw = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-i", str(tmp_path / f"{k}{label}.rgb")]
            planes.append(np.frombuffer(_converted(raw, tmp_path / f"{k}{label}.yuv"), np.uint8)[: h * w])
        diff = planes[0].astype(np.float64) - planes[1].astype(np.float64)
        expected = 10 * np.log10(255.0**2 / np.mean(diff**2))
        assert value == pytest.approx(expected, abs=1e-6)


def test_version_names_model_and_libvmaf() -> None:
    libvmaf = libvmaf_module.libvmaf_version()
    assert get_metric("vmaf").version == f"2+vmaf_v0.6.1+libvmaf-{libvmaf}"
    assert get_metric("vmaf-neg").version == f"2+vmaf_v0.6.1neg+libvmaf-{libvmaf}"
    assert get_metric("vmaf-4k").version == f"2+vmaf_4k_v0.6.1+libvmaf-{libvmaf}"
    assert get_metric("ssim-y").version == f"2+float_ssim+libvmaf-{libvmaf}"


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
