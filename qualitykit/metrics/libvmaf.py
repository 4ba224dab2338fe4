"""Luma metrics computed by libvmaf through ffmpeg: ``psnr-y``, ``ssim-y``, ``ms-ssim-y``, ``vmaf``, ``vmaf-neg``.

Conventions shared by all of them:

- Input: the full-range BT.601 luma plane of each RGB image
  (:func:`qualitykit.metrics.color.rgb_to_y`), written as raw 8-bit ``yuv444p``
  with neutral chroma (128) — a format ffmpeg passes to libvmaf unchanged (no
  range conversion, no scaling). Reference and distorted share their size; no
  resizing ever happens.
- Every requested metric comes out of one libvmaf pass; all pairs of one size
  are frames of one raw stream, scored frame by frame. Still images have no
  motion: each VMAF model runs with ``motion.motion_force_zero=true``, so every
  frame scores exactly what it scores alone (libvmaf gives a single frame
  motion 0 anyway; without the option, consecutive unrelated frames would
  produce motion and inflate the scores).
- Values are libvmaf's own (printed to 6 decimals). ``psnr-y`` is capped by
  libvmaf at 60 dB for 8-bit input (identical planes give 60).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..ffmpeg import find_ffmpeg
from . import register
from ..errors import BadInput, Unavailable
from .base import Metric, group_by_shape
from .color import rgb_to_y


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


def _write_stream(path: Path, images: Sequence[np.ndarray]) -> None:
    with open(path, "wb") as f:
        for image in images:
            y = rgb_to_y(image)
            f.write(y.tobytes())
            f.write(np.full((2, *y.shape), 128, np.uint8).tobytes())


def run_libvmaf(
    refs: Sequence[np.ndarray],
    dists: Sequence[np.ndarray],
    features: Sequence[str] = (),
    models: Sequence[str] = (),
    threads: int = 1,
) -> list[dict[str, float]]:
    """Score every pair in libvmaf; return each frame's metric dictionary, in pair order.

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
            ref_path, dist_path, log_path = Path(tmp, "ref.yuv"), Path(tmp, "dist.yuv"), Path(tmp, "log.json")
            _write_stream(ref_path, [refs[i] for i in indices])
            _write_stream(dist_path, [dists[i] for i in indices])
            options = ["log_fmt=json", f"log_path={log_path}", f"n_threads={threads}"]
            if features:
                options.append("feature=" + "|".join(f"name={f}" for f in features))
            if models:
                options.append(
                    "model='"
                    + "|".join(f"version={m}\\:name={m}\\:motion.motion_force_zero=true" for m in models)
                    + "'"
                )
            raw = ["-f", "rawvideo", "-pix_fmt", "yuv444p", "-s", f"{w}x{h}"]
            cmd = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
                   *raw, "-i", str(dist_path), *raw, "-i", str(ref_path),
                   "-lavfi", "[0:v][1:v]libvmaf=" + ":".join(options), "-f", "null", "-"]  # fmt: skip
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0 or not log_path.exists():
                raise BadInput(f"libvmaf failed on {w}x{h} images: {res.stderr.strip()[-400:]}")
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


class LibvmafMetric(Metric):
    """A value read from libvmaf's per-frame log (see the module docstring for conventions)."""

    family = "libvmaf"
    feature: ClassVar[str | None] = None  # libvmaf feature to enable
    model: ClassVar[str | None] = None  # built-in VMAF model to run
    key: ClassVar[str]  # name of the value in libvmaf's log
    base_version: ClassVar[str] = "1"
    memory_per_pixel = 16.0  # the frames go to ffmpeg through files in /dev/shm

    @classmethod
    def available(cls) -> str | None:
        choice = find_ffmpeg()
        return None if choice.path else _unavailable(choice.reason())

    @property
    def version(self) -> str:  # type: ignore[override]
        """``base_version``, the model (or feature) name and libvmaf's version, e.g. ``1+vmaf_v0.6.1+libvmaf-86da14d``."""
        return f"{self.base_version}+{self.model or self.feature}+libvmaf-{libvmaf_version()}"

    def compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        result = self.compute_family([self], refs, dists)[self.name]
        if isinstance(result, Exception):
            raise result
        return result

    @classmethod
    def compute_family(
        cls, metrics: Sequence[Metric], refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]
    ) -> dict[str, np.ndarray | Exception]:
        """One libvmaf pass for every metric whose input checks pass; the others get their check's error."""
        out: dict[str, np.ndarray | Exception] = {}
        group: list[LibvmafMetric] = []
        for m in metrics:
            try:
                for r, d in zip(refs, dists):
                    m.check(r, d)
            except BadInput as exc:  # e.g. too small for MS-SSIM: PSNR and VMAF still run
                out[m.name] = exc
            else:
                group.append(m)  # type: ignore[arg-type]
        if group:
            features = sorted({m.feature for m in group if m.feature})
            models = sorted({m.model for m in group if m.model})
            frames = run_libvmaf(refs, dists, features, models)
            out.update({m.name: np.array([f[m.key] for f in frames], dtype=np.float64) for m in group})
        return out


@register
class PSNRY(LibvmafMetric):
    """PSNR of full-range BT.601 luma, peak 255, in dB — libvmaf's ``psnr_y`` (capped at 60 dB)."""

    name = "psnr-y"
    higher_is_better = True
    feature = "psnr"
    key = "psnr_y"
    description = "PSNR on BT.601 full-range luma, libvmaf psnr_y, dB"
    range = (0.0, 60.0)
    unit = "dB"
    reference = "libvmaf psnr_y (ffmpeg 9 + libvmaf), equal to 1e-4 dB"


@register
class SSIMY(LibvmafMetric):
    """SSIM of full-range BT.601 luma — libvmaf's ``float_ssim``: Wang et al.'s reference
    SSIM, which first downsamples by ``round(min(W, H) / 256)`` (2 on Kodak), 11×11
    Gaussian window, σ = 1.5, mean over the valid region."""

    name = "ssim-y"
    higher_is_better = True
    feature = "float_ssim"
    key = "float_ssim"
    min_side = 32
    description = "SSIM on BT.601 full-range luma, libvmaf float_ssim"
    range = (-1.0, 1.0)
    reference = "libvmaf float_ssim (ffmpeg 9 + libvmaf), equal to 1e-6"


@register
class MSSSIMY(LibvmafMetric):
    """MS-SSIM of full-range BT.601 luma — libvmaf's ``float_ms_ssim`` (5 scales,
    weights of Wang et al. 2003)."""

    name = "ms-ssim-y"
    higher_is_better = True
    feature = "float_ms_ssim"
    key = "float_ms_ssim"
    min_side = 176
    description = "MS-SSIM on BT.601 full-range luma, libvmaf float_ms_ssim"
    range = (0.0, 1.0)
    reference = "libvmaf float_ms_ssim (ffmpeg 9 + libvmaf), equal to 1e-6"


@register
class VMAF(LibvmafMetric):
    """VMAF 0.6.1 (``vmaf_v0.6.1``, the built-in libvmaf model) on full-range BT.601 luma,
    motion forced to 0 (still images). Range 0–100, higher is better."""

    name = "vmaf"
    higher_is_better = True
    model = "vmaf_v0.6.1"
    key = "vmaf_v0.6.1"
    description = "VMAF v0.6.1, luma, motion forced to 0"
    range = (0.0, 100.0)
    saturation = 99.5
    reference = "ffmpeg 9 + libvmaf vmaf_v0.6.1, equal to 1e-4"


@register
class VMAFNEG(LibvmafMetric):
    """VMAF NEG (``vmaf_v0.6.1neg``, "no enhancement gain": discounts sharpening and
    contrast boosts) — the variant codec evaluations report. Motion forced to 0."""

    name = "vmaf-neg"
    higher_is_better = True
    model = "vmaf_v0.6.1neg"
    key = "vmaf_v0.6.1neg"
    description = "VMAF NEG v0.6.1, luma, motion forced to 0"
    range = (0.0, 100.0)
    saturation = 99.5
    reference = "ffmpeg 9 + libvmaf vmaf_v0.6.1neg, equal to 1e-4"
