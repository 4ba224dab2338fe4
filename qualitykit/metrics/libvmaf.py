"""Metrics computed by libvmaf through ffmpeg: ``psnr-y``, ``ssim-y``, ``ms-ssim-y``, ``vmaf``, ``vmaf-neg``, ``vmaf-4k``.

Conventions shared by all of them — the numbers ``ffmpeg -i dist.png -i ref.png -lavfi libvmaf``
and ``ffmpeg-quality-metrics dist.png ref.png -m vmaf`` print for the same two images:

- Input: the RGB images go to ffmpeg as raw ``rgb24`` frames, and ffmpeg converts them to YUV
  itself, exactly as it does for PNG files (the PNG decoder also yields ``rgb24``): the scaler it
  auto-inserts before libvmaf picks :data:`PIX_FMT` (``yuv444p``: no chroma subsampling, so odd
  widths and heights need no rounding) with swscale's default matrix, **BT.601, limited range**
  (Y in 16–235). Tests prove the planes and the scores bit-identical to PNG input.
- Reference and distorted share their size; nothing is ever resized.
- Every requested metric comes out of one libvmaf pass; all pairs of one size are frames of one
  raw stream, scored frame by frame. Still images have no motion: each VMAF model runs with
  ``motion.motion_force_zero=true``, so every frame scores exactly what it scores alone (libvmaf
  gives a single frame motion 0 anyway, as ffmpeg-quality-metrics on one image does; without the
  option, consecutive unrelated frames would produce motion and inflate the scores).
- Values are libvmaf's own (printed to 6 decimals). ``psnr-y`` is capped by libvmaf at 60 dB for
  8-bit input (identical planes give 60).
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..ffmpeg import find_ffmpeg
from ..processes import run_program, timeout_for
from . import register
from ..errors import BadInput, Unavailable
from .base import Metric, Reference, SharedPassMetric, group_by_shape


def _ffmpeg() -> str:
    choice = find_ffmpeg()
    if choice.path is None:
        raise Unavailable(_unavailable(choice.reason()))
    return choice.path


def _unavailable(why: str) -> str:
    return (
        f"no ffmpeg with the libvmaf filter ({why}); pip install imageio-ffmpeg, "
        "or set QK_FFMPEG (qk --ffmpeg PATH) to one built with --enable-libvmaf"
    )


def libvmaf_unavailable() -> str | None:
    """Why no libvmaf can run here (the message names the fix), or ``None`` when one can."""
    choice = find_ffmpeg()
    return None if choice.path else _unavailable(choice.reason())


#: The pixel format ffmpeg's auto-inserted scaler picks for libvmaf from ``rgb24`` input (ffmpeg 9).
PIX_FMT = "yuv444p"
#: How the RGB images become what libvmaf reads, as every ``-y`` metric and VMAF states it.
CONVERSION = f"ffmpeg default RGB→YUV: BT.601 limited range, {PIX_FMT}"


def _write_stream(path: Path, images: Sequence[np.ndarray], pix_fmt: str = "rgb24") -> None:
    """The images as consecutive raw frames: ``rgb24`` (packed, what ffmpeg's PNG decoder hands on
    too) or ``yuv444p`` (the three samples of each pixel written as three planes)."""
    with open(path, "wb") as f:
        for image in images:
            frame = image.transpose(2, 0, 1) if pix_fmt == "yuv444p" else image
            f.write(np.ascontiguousarray(frame, dtype=np.uint8).tobytes())


def run_libvmaf(
    refs: Sequence[np.ndarray],
    dists: Sequence[np.ndarray],
    features: Sequence[str] = (),
    models: Sequence[str] = (),
    threads: int = 1,
    pix_fmt: str = "rgb24",
) -> list[dict[str, float]]:
    """Score every pair in libvmaf; return each frame's metric dictionary, in pair order.

    ``pix_fmt``: ``rgb24`` (``(H, W, 3)`` RGB, converted by ffmpeg as the module docstring says) or
    ``yuv444p`` (``(H, W, 3)`` arrays of Y, Cb, Cr samples, which libvmaf reads as they are).

    Each dictionary also holds libvmaf's ``version``.
    ``features`` are libvmaf feature names (``psnr``, ``float_ssim``, ...);
    ``models`` are built-in model versions (``vmaf_v0.6.1``), each reported under
    its own name.
    """
    ffmpeg = _ffmpeg()
    results: list[dict[str, float]] = [{} for _ in refs]
    tmp_root = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    for (h, w, _), indices in group_by_shape(refs).items():
        with tempfile.TemporaryDirectory(prefix="qk-vmaf-", dir=tmp_root) as tmp:
            ref_path, dist_path, log_path = Path(tmp, "ref.rgb"), Path(tmp, "dist.rgb"), Path(tmp, "log.json")
            _write_stream(ref_path, [refs[i] for i in indices], pix_fmt)
            _write_stream(dist_path, [dists[i] for i in indices], pix_fmt)
            options = ["log_fmt=json", f"log_path={log_path}", f"n_threads={threads}"]
            if features:
                options.append("feature=" + "|".join(f"name={f}" for f in features))
            if models:
                options.append(
                    "model='"
                    + "|".join(f"version={m}\\:name={m}\\:motion.motion_force_zero=true" for m in models)
                    + "'"
                )
            raw = ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{w}x{h}"]  # ffmpeg converts rgb24 to PIX_FMT
            cmd = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
                   *raw, "-i", str(dist_path), *raw, "-i", str(ref_path),
                   "-lavfi", "[0:v][1:v]libvmaf=" + ":".join(options), "-f", "null", "-"]  # fmt: skip
            timeout = timeout_for(w * h * len(indices))
            status, _, stderr = run_program(cmd, timeout)
            if status is None:
                raise BadInput(f"libvmaf did not finish {len(indices)} {w}x{h} pairs in {timeout:.0f} s: stopped")
            if status != 0 or not log_path.exists():
                raise BadInput(f"libvmaf failed on {w}x{h} images: {stderr.decode(errors='replace').strip()[-400:]}")
            log = json.loads(log_path.read_text())
            frames = log["frames"]
            if len(frames) != len(indices):
                raise BadInput(f"libvmaf scored {len(frames)} frames for {len(indices)} pairs")
            version = log.get("version", "unknown")
            for i, frame in zip(indices, frames):
                results[i] = {**frame["metrics"], "version": version}
    return results


def libvmaf_version() -> str:
    """libvmaf's version string (a git describe) in the chosen ffmpeg, read from the log of a one-frame run."""
    return _libvmaf_version(_ffmpeg())


@functools.lru_cache(maxsize=None)
def _libvmaf_version(ffmpeg: str) -> str:  # keyed by the binary: run_libvmaf uses the same one
    tiny = np.zeros((64, 64, 3), np.uint8)
    return run_libvmaf([tiny], [tiny], ["psnr"])[0]["version"]  # type: ignore[return-value]


def _libvmaf_reference(output: str) -> Reference:
    return Reference(  # the table's entry for every libvmaf metric
        f"ffmpeg -lavfi libvmaf, {output}", "ffmpeg 9.0.2", 1e-6, "5 photos at JPEG q=10–95, Kodak pairs, 2048 px and odd sizes",
        "tests/test_metrics_libvmaf.py::_assert_equal_to_ffmpeg",
        "ffmpeg reads the two PNG files; ffmpeg-quality-metrics 3.13 agrees too; libvmaf prints 6 decimals",
    )


class LibvmafMetric(SharedPassMetric):
    """A value read from libvmaf's per-frame log (see the module docstring for conventions)."""

    shared_pass = "libvmaf"
    feature: ClassVar[str | None] = None  # libvmaf feature to enable
    model: ClassVar[str | None] = None  # built-in VMAF model to run
    key: ClassVar[str]  # name of the value in libvmaf's log
    base_version: ClassVar[str] = "2"  # 2: ffmpeg's RGB→YUV (1: full-range BT.601 luma)
    memory_per_pixel = 16.0  # the frames go to ffmpeg through files in /dev/shm

    @classmethod
    def available(cls) -> str | None:
        return libvmaf_unavailable()

    @property
    def version(self) -> str:  # type: ignore[override]
        """``base_version``, the model (or feature) name and libvmaf's version, e.g. ``2+vmaf_v0.6.1+libvmaf-86da14d``."""
        return f"{self.base_version}+{self.model or self.feature}+libvmaf-{libvmaf_version()}"

    @classmethod
    def _compute_family(
        cls, metrics: Sequence[Metric], refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]
    ) -> dict[str, np.ndarray | Exception]:
        """One libvmaf pass for every metric asked for (those whose input checks passed)."""
        features = sorted({m.feature for m in metrics if m.feature})  # type: ignore[attr-defined]
        models = sorted({m.model for m in metrics if m.model})  # type: ignore[attr-defined]
        frames = run_libvmaf(refs, dists, features, models)
        return {m.name: np.array([f[m.key] for f in frames], dtype=np.float64) for m in metrics}  # type: ignore[attr-defined]


@register
class PSNRY(LibvmafMetric):
    """PSNR of the Y plane (ffmpeg's BT.601 limited-range conversion), peak 255, in dB — libvmaf's
    ``psnr_y``, capped at 60 dB."""

    name = "psnr-y"
    higher_is_better = True
    feature = "psnr"
    key = "psnr_y"
    description = f"PSNR of Y, libvmaf psnr_y, dB; {CONVERSION}"
    range = (0.0, 60.0)
    unit = "dB"
    reference = _libvmaf_reference("psnr_y")


@register
class SSIMY(LibvmafMetric):
    """SSIM of the Y plane — libvmaf's ``float_ssim``: Wang et al.'s reference SSIM, which first
    downsamples by ``round(min(W, H) / 256)`` (2 on Kodak), 11×11 Gaussian window, σ = 1.5, mean
    over the valid region."""

    name = "ssim-y"
    higher_is_better = True
    plot_in_db = True
    feature = "float_ssim"
    key = "float_ssim"
    min_side = 32
    description = f"SSIM of Y, libvmaf float_ssim; {CONVERSION}"
    range = (-1.0, 1.0)
    reference = _libvmaf_reference("float_ssim")


@register
class MSSSIMY(LibvmafMetric):
    """MS-SSIM of the Y plane — libvmaf's ``float_ms_ssim`` (5 scales, weights of Wang et al. 2003)."""

    name = "ms-ssim-y"
    higher_is_better = True
    plot_in_db = True
    feature = "float_ms_ssim"
    key = "float_ms_ssim"
    min_side = 176
    description = f"MS-SSIM of Y, libvmaf float_ms_ssim; {CONVERSION}"
    range = (0.0, 1.0)
    reference = _libvmaf_reference("float_ms_ssim")


class _VMAF(LibvmafMetric):
    higher_is_better = True
    range = (0.0, 100.0)
    saturation = 99.5


@register
class VMAF(_VMAF):
    """VMAF 0.6.1 (``vmaf_v0.6.1``, the built-in libvmaf model ffmpeg-quality-metrics uses by
    default), motion forced to 0 (still images). Range 0–100, higher is better."""

    name = "vmaf"
    model = "vmaf_v0.6.1"
    key = "vmaf_v0.6.1"
    description = f"VMAF vmaf_v0.6.1, motion forced to 0; {CONVERSION}"
    reference = _libvmaf_reference("vmaf_v0.6.1")


@register
class VMAFNEG(_VMAF):
    """VMAF NEG (``vmaf_v0.6.1neg``, "no enhancement gain": discounts sharpening and contrast
    boosts) — the variant codec evaluations report. Motion forced to 0."""

    name = "vmaf-neg"
    model = "vmaf_v0.6.1neg"
    key = "vmaf_v0.6.1neg"
    description = f"VMAF NEG vmaf_v0.6.1neg, motion forced to 0; {CONVERSION}"
    reference = _libvmaf_reference("vmaf_v0.6.1neg")


@register
class VMAF4K(_VMAF):
    """VMAF 4K (``vmaf_4k_v0.6.1``: trained for 4K TV viewing at 1.5 screen heights, where
    artefacts are less visible than in the default 1080p/3H model). Motion forced to 0."""

    name = "vmaf-4k"
    model = "vmaf_4k_v0.6.1"
    key = "vmaf_4k_v0.6.1"
    description = f"VMAF 4K vmaf_4k_v0.6.1, motion forced to 0; {CONVERSION}"
    reference = _libvmaf_reference("vmaf_4k_v0.6.1")
