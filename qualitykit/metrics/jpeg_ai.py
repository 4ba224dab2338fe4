"""JPEG AI's objective metrics in the conventions of the JPEG AI reference software's evaluation
(``src/codec/metrics/metrics.py``, the JPEG AI Objective Quality Assessment Framework): the
``jpeg-ai:`` metrics, which the ``jpeg-ai`` metric set (:mod:`qualitykit.metrics.sets`) expands to.

What its ``calc_metric.py`` does to an 8-bit RGB pair (default ``--internal-bits 8``,
``--color-conv 709``; its folder driver ``main.py`` defaults to 10 internal bits, which moves the
scores slightly: docs/metrics.md cites file, commit and function of each step, with the figures),
and so qk:

- **Colour**: RGB / 255 → YCbCr with **BT.709** weights, full range
  (``Y = 0.2126 R + 0.7152 G + 0.0722 B``, ``Cb = (B − Y) / 1.8556 + 0.5``,
  ``Cr = (R − Y) / 1.5748 + 0.5``), clamped to [0, 1] and rounded to 8-bit codes
  (``round(255 · v)``, ties to even), all three planes at full resolution (4:4:4). qk computes
  it in the reference's float32 arithmetic and order, so the codes are its codes bit for bit
  (:func:`ycbcr709`; the test checks all 2²⁴ colours).
- ``jpeg-ai:psnr-y``, ``-u``, ``-v``: PSNR of each 8-bit plane, peak 255, dB; identical planes
  give 100 dB (the reference's value for MSE 0).
- ``jpeg-ai:ms-ssim``: MS-SSIM of Y × 255, ``pytorch_msssim.ms_ssim(data_range=255)`` (qk's
  :func:`~qualitykit.metrics.ssim.ssim_family`, equal to it to 1e-6); a side under 164 px is
  zero-padded (bottom/right) to 164, as the reference does.
- ``jpeg-ai:vif``: IQA_pytorch's ``VIFs``: the **pixel-domain** VIF (VIFp, Sheikh & Bovik's
  ``vifp_mscale.m``: 4 scales, Gaussian windows of 17, 9, 5, 3 taps with σ = N/5, valid region,
  σ²_n = 2) of Y × 255 — not pyiqa's wavelet-domain ``vif``. Sides under 64 zero-padded to 64.
- ``jpeg-ai:nlpd``: IQA_pytorch's ``NLPD`` (6 levels, reflection padding, bilinear
  ``align_corners`` upsampling) of Y in [0, 1] — not pyiqa's ``nlpd``, a MATLAB-faithful
  rewrite that pads and upsamples differently. Sides under 128 zero-padded to 128.
- ``jpeg-ai:psnr-hvs``: PSNR-HVS (not -M: the reference reports the first of the
  ``psnr_hvsm.psnr_hvs_hvsm`` pair) of Y in [0, 1], replicate-padded (bottom/right) to a
  multiple of 8.
- ``jpeg-ai:vmaf``: VMAF ``vmaf_v0.6.1`` of the 8-bit Y, Cb, Cr planes as 4:4:4 (the reference
  writes them to a raw file for Netflix's ``vmaf`` binary with ``-p 444 -b 8``); qk hands the same
  planes to libvmaf through ffmpeg as ``yuv444p`` (no conversion). VMAF reads luma only.
- ``jpeg-ai:iw-ssim``: IW-SSIM of Y × 255 zero-padded to 256 px (the reference's ``IWSSIM.calc``),
  by qk's :func:`~qualitykit.metrics.iw_ssim.iw_ssim_y`.

FSIM stays qk's ``fsim`` (pyiqa's FSIMc on RGB; the reference uses IQA_pytorch's ``FSIM``).

VIF, NLPD and the padding are qk's own numpy code (float64); tests compare every metric with the
reference's functions on Kodak pairs (tests/expected/jpeg_ai_reference.json).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from importlib.metadata import version as package_version
from typing import ClassVar

import numpy as np

from ..device import resolve_device
from . import register
from ._filters import blur_valid, gaussian_taps
from .base import Metric, Reference, SharedPassMetric
from .iw_ssim import IWSSIM, iw_ssim_y
from .libvmaf import libvmaf_unavailable, libvmaf_version, run_libvmaf
from .psnr_hvsm import psnr_hvsm_numpy
from .ssim import ssim_family

PREFIX = "jpeg-ai:"
#: BT.709 luma weights and the Cb, Cr divisors (2 (1 − K_B), 2 (1 − K_R)), as the reference's
#: ``DataClass.color_conv_matrix('709')``.
KR, KG, KB = 0.2126, 0.7152, 0.0722
CB_DIV, CR_DIV = 1.8556, 1.5748
#: Smallest side each reference function sees: smaller planes are zero-padded (bottom/right) to it.
PAD_MS_SSIM, PAD_VIF, PAD_NLPD, PAD_IW_SSIM = 164, 64, 128, 256
#: PSNR the reference reports for identical planes (MSE 0).
PSNR_IDENTICAL_DB = 100.0

#: Where the conventions come from (docs/metrics.md cites the lines).
SOURCE = "JPEG AI reference software src/codec/metrics/metrics.py"
SOURCE_COMMIT = "faded723ca95"
EQUALITY_TEST = "tests/test_metrics_jpeg_ai.py::_check"
CHECKED_ON = "Kodak crops kodim03 203×171 at JPEG q=30, kodim23 121×99 at q=50; kodim03, kodim23 at q=10/50/90 (slow test)"


def _reference(function: str, tolerance: float, note: str = "") -> Reference:
    return Reference(f"{SOURCE} {function}", SOURCE_COMMIT, tolerance, CHECKED_ON, EQUALITY_TEST, note)


# ---------------------------------------------------------------------------------------------
# Colour conversion


def ycbcr709(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB → ``(3, H, W)`` uint8 full-range BT.709 Y, Cb, Cr codes, 4:4:4.

    The reference's ``DataClass.load_image`` for an 8-bit PNG with ``def_bits=8``, in its float32
    arithmetic and order: ``v / 255``; ``Y = 0.2126 R + 0.7152 G + 0.0722 B``;
    ``Cb = (B − Y) / 1.8556 + 0.5``; ``Cr = (R − Y) / 1.5748 + 0.5``; clamp to [0, 1];
    ``round(255 · v)`` (ties to even). The planes the metrics see are these codes / 255.
    """
    rgb = image.astype(np.float32) / np.float32(255.0)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = np.float32(KR) * r + np.float32(KG) * g + np.float32(KB) * b
    cb = (b - y) / np.float32(CB_DIV) + np.float32(0.5)
    cr = (r - y) / np.float32(CR_DIV) + np.float32(0.5)
    planes = np.stack([y, cb, cr])
    np.clip(planes, 0.0, 1.0, out=planes)
    return np.rint(planes * np.float32(255.0)).astype(np.uint8)


def _pad_to(plane: np.ndarray, side: int) -> np.ndarray:
    """``plane`` zero-padded at the bottom and right to at least ``side`` × ``side`` (the reference's
    ``pad_tensor_till_size``)."""
    h, w = plane.shape
    return np.pad(plane, ((0, max(0, side - h)), (0, max(0, side - w))))


# ---------------------------------------------------------------------------------------------
# Kernels on one 2-D plane


def psnr_plane(ref: np.ndarray, dist: np.ndarray) -> float:
    """PSNR in dB of two 8-bit planes, peak 255, MSE in float64 (exact on 8-bit codes); 100 dB when identical."""
    diff = ref.astype(np.float64) - dist.astype(np.float64)
    mse = float(np.mean(diff * diff))
    if mse == 0.0:
        return PSNR_IDENTICAL_DB
    return float(20.0 * np.log10(255.0) - 10.0 * np.log10(mse))


def ms_ssim_y(ref_y: np.ndarray, dist_y: np.ndarray, device: str = "cpu") -> float:
    """MS-SSIM of two 8-bit Y planes as ``pytorch_msssim.ms_ssim(data_range=255)``, zero-padded to 164 px."""
    a, b = (_pad_to(p, PAD_MS_SSIM)[..., None] for p in (ref_y, dist_y))
    return float(ssim_family(a, b, ssim=False, ms_ssim=True, device=device)[1])  # type: ignore[arg-type]


def _correlate_valid(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """2-D correlation of ``image`` with ``kernel``, valid region only (``conv2d`` without padding)."""
    kh, kw = kernel.shape
    h, w = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    out = np.zeros((h, w))
    for i in range(kh):
        for j in range(kw):
            out += kernel[i, j] * image[i : i + h, j : j + w]
    return out


def vifp(ref: np.ndarray, dist: np.ndarray) -> float:
    """Pixel-domain VIF (VIFp) of two float planes in [0, 255]: IQA_pytorch's ``VIFs`` and Sheikh &
    Bovik's ``vifp_mscale.m``: 4 scales; at scale s a Gaussian of N = 2^(5−s) + 1 taps, σ = N/5;
    from scale 2 on the planes are first blurred (valid) and subsampled by 2; σ²_n = 2, ε = 1e-10.
    ``Σ log10(1 + g² σ²_x / (σ²_v + σ²_n)) / Σ log10(1 + σ²_x / σ²_n)``. Sides under 64 are zero-padded to 64."""
    x = _pad_to(np.asarray(ref, np.float64), PAD_VIF)
    y = _pad_to(np.asarray(dist, np.float64), PAD_VIF)
    sigma_nsq, eps = 2.0, 1e-10
    num = den = 0.0
    for scale in range(1, 5):
        n = 2 ** (4 - scale + 1) + 1
        win = gaussian_taps(n, n / 5.0)
        if scale > 1:
            x = blur_valid(x, win)[::2, ::2]
            y = blur_valid(y, win)[::2, ::2]
        mu1, mu2 = blur_valid(x, win), blur_valid(y, win)
        sigma1_sq = np.maximum(blur_valid(x * x, win) - mu1 * mu1, 0.0)
        sigma2_sq = np.maximum(blur_valid(y * y, win) - mu2 * mu2, 0.0)
        sigma12 = blur_valid(x * y, win) - mu1 * mu2
        g = sigma12 / (sigma1_sq + eps)
        sv_sq = sigma2_sq - g * sigma12
        sigma1_sq = np.maximum(sigma1_sq - eps, 0.0)
        g[sigma2_sq < eps] = 0.0
        sv_sq[sigma2_sq < eps] = 0.0
        negative = g < 0
        sv_sq[negative] = sigma2_sq[negative]
        g = np.maximum(g, 0.0)
        sv_sq[sv_sq < eps] = eps
        num += float(np.sum(np.log10(g * g * sigma1_sq / (sv_sq + sigma_nsq) + 1.0)))
        den += float(np.sum(np.log10(sigma1_sq / sigma_nsq + 1.0)))
    return num / (den + 1e-12)


#: IQA_pytorch NLPD's 5×5 filter and per-level divisive-normalisation filters and constants (its
#: values are float32 parameters: qk uses the same float32 numbers, in float64 arithmetic).
_NLPD_FILTER = np.array([[0.0025, 0.0125, 0.0200, 0.0125, 0.0025],
                         [0.0125, 0.0625, 0.1000, 0.0625, 0.0125],
                         [0.0200, 0.1000, 0.1600, 0.1000, 0.0200],
                         [0.0125, 0.0625, 0.1000, 0.0625, 0.0125],
                         [0.0025, 0.0125, 0.0200, 0.0125, 0.0025]], dtype=np.float32).astype(np.float64)  # fmt: skip
_NLPD_DN = [np.array(f, dtype=np.float32).astype(np.float64) for f in (
    [[0, 0.1011, 0], [0.1493, 0, 0.1460], [0, 0.1015, 0]],
    [[0, 0.0757, 0], [0.1986, 0, 0.1846], [0, 0.0837, 0]],
    [[0, 0.0477, 0], [0.2138, 0, 0.2243], [0, 0.0467, 0]],
    [[0, 0, 0], [0.2503, 0, 0.2616], [0, 0, 0]],
    [[0, 0, 0], [0.2598, 0, 0.2552], [0, 0, 0]],
    [[0, 0, 0], [0.2215, 0, 0.0717], [0, 0, 0]],
)]  # fmt: skip
_NLPD_SIGMAS = [float(np.float32(s)) for s in (0.0248, 0.0185, 0.0179, 0.0191, 0.0220, 0.2782)]


def _upsample2_align_corners(plane: np.ndarray) -> np.ndarray:
    """×2 bilinear upsampling with ``align_corners=True`` (PyTorch's ``nn.Upsample``)."""
    for axis in (0, 1):
        n = plane.shape[axis]
        src = np.arange(2 * n) * ((n - 1) / (2 * n - 1)) if n > 1 else np.zeros(2 * n)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n - 1)
        t = src - lo
        shape = [1, 1]
        shape[axis] = -1
        t = t.reshape(shape)
        plane = np.take(plane, lo, axis) * (1 - t) + np.take(plane, hi, axis) * t
    return plane


def _nearest_index(size_in: int, size_out: int) -> np.ndarray:
    """PyTorch's ``nearest`` source indices: ``min(floor(i · (in / out)), in − 1)`` in float32, as its kernel."""
    scale = np.float32(size_in) / np.float32(size_out)
    return np.minimum(np.floor(np.arange(size_out, dtype=np.float32) * scale).astype(int), size_in - 1)


def _nearest_resize(plane: np.ndarray, h: int, w: int) -> np.ndarray:
    """PyTorch's default ``F.interpolate`` (mode ``nearest``) of ``plane`` to ``h`` × ``w``."""
    return plane[np.ix_(_nearest_index(plane.shape[0], h), _nearest_index(plane.shape[1], w))]


def _nlpd_pyramid(plane: np.ndarray) -> list[np.ndarray]:
    """IQA_pytorch NLPD's normalised Laplacian pyramid (6 levels) of one plane."""
    out = []
    j = plane
    for level in range(6):
        low = _correlate_valid(np.pad(j, 2, mode="reflect"), _NLPD_FILTER)[::2, ::2]
        up = _correlate_valid(np.pad(_upsample2_align_corners(low), 2, mode="reflect"), _NLPD_FILTER)
        if up.shape != j.shape:
            up = _nearest_resize(up, *j.shape)
        band = j - up
        norm = _correlate_valid(np.pad(np.abs(band), 1, mode="reflect"), _NLPD_DN[level])
        out.append(band / (_NLPD_SIGMAS[level] + norm))
        j = low
    return out


def nlpd(ref: np.ndarray, dist: np.ndarray) -> float:
    """NLPD (Laparra et al. 2016) of two float planes in [0, 1] as IQA_pytorch's ``NLPD(channels=1)``:
    per level the root mean square difference of the normalised Laplacian bands, then the mean over
    the 6 levels. Lower is better; 0 for identical planes. Sides under 128 are zero-padded to 128."""
    a = _pad_to(np.asarray(ref, np.float64), PAD_NLPD)
    b = _pad_to(np.asarray(dist, np.float64), PAD_NLPD)
    levels = [np.sqrt(np.mean((p - q) ** 2)) for p, q in zip(_nlpd_pyramid(a), _nlpd_pyramid(b))]
    return float(np.mean(levels))


def psnr_hvs_y(ref_y: np.ndarray, dist_y: np.ndarray) -> float:
    """PSNR-HVS (not -M) in dB of two float Y planes in [0, 1], each replicate-padded at the bottom
    and right to a multiple of 8, by the ``psnr_hvsm`` package (``psnr_hvs_hvsm(...)[0]``)."""
    h, w = ref_y.shape
    pad = ((0, -h % 8), (0, -w % 8))
    a, b = (np.pad(np.asarray(p, np.float64), pad, mode="edge") for p in (ref_y, dist_y))
    with np.errstate(divide="ignore", invalid="ignore"):  # the package divides where it then masks
        return float(psnr_hvsm_numpy().psnr_hvs_hvsm(a, b)[0])


# ---------------------------------------------------------------------------------------------
# Metrics


class JpegAiMetric(Metric):
    """A metric of JPEG AI's set: the pair goes through :func:`ycbcr709` first (module docstring)."""

    default = False  # asked for through the jpeg-ai set or by name
    #: (ref planes, dist planes) — the ``(3, H, W)`` uint8 codes of :func:`ycbcr709` — → value.
    kernel: ClassVar[Callable[[np.ndarray, np.ndarray], float]]

    def _compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        kernel = type(self).kernel
        return np.array([kernel(ycbcr709(r), ycbcr709(d)) for r, d in zip(refs, dists)], dtype=np.float64)


def _y(planes: np.ndarray) -> np.ndarray:
    """The Y plane in [0, 1] as the reference holds it: float32 code / 255."""
    return planes[0].astype(np.float32) / np.float32(255.0)


def y255_padded(planes: np.ndarray, side: int) -> np.ndarray:
    """The Y plane × 255 as the reference computes it (float32 ``code / 255 · 255``), as float64,
    zero-padded at the bottom and right to at least ``side`` px per side: what its VIF (64) and
    IW-SSIM (256, ``IWSSIM.calc``) see."""
    return _pad_to((_y(planes) * np.float32(255.0)).astype(np.float64), side)


class _JpegAiPSNRPlane(JpegAiMetric):
    higher_is_better = True
    range = (0.0, PSNR_IDENTICAL_DB)
    unit = "dB"
    version = "1"
    memory_per_pixel = 64.0  # ycbcr709's float32 planes and their temporaries (63 B/px measured on Kodak)
    plane: ClassVar[int]

    def _compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        p = self.plane
        return np.array([psnr_plane(ycbcr709(r)[p], ycbcr709(d)[p]) for r, d in zip(refs, dists)], dtype=np.float64)


_PSNR_NOTE = "the reference takes the MSE of float32 code/255×255 values (PyTorch mean), qk of the codes in float64: ≤ 1.6e-7 dB apart"


@register
class JpegAiPSNRY(_JpegAiPSNRPlane):
    """PSNR of JPEG AI's Y (full-range BT.709, 8-bit), peak 255, dB; 100 for identical planes."""

    name = PREFIX + "psnr-y"
    plane = 0
    description = "JPEG AI PSNR_Y: PSNR of 8-bit full-range BT.709 Y, peak 255, dB"
    reference = _reference("PSNRMetric PSNR_Y", 1e-6, _PSNR_NOTE)


@register
class JpegAiPSNRU(_JpegAiPSNRPlane):
    """PSNR of JPEG AI's Cb (full-range BT.709, 8-bit, 4:4:4), peak 255, dB; 100 for identical planes."""

    name = PREFIX + "psnr-u"
    plane = 1
    description = "JPEG AI PSNR_U: PSNR of 8-bit full-range BT.709 Cb at full resolution, peak 255, dB"
    reference = _reference("PSNRMetric PSNR_U", 1e-6, _PSNR_NOTE)


@register
class JpegAiPSNRV(_JpegAiPSNRPlane):
    """PSNR of JPEG AI's Cr (full-range BT.709, 8-bit, 4:4:4), peak 255, dB; 100 for identical planes."""

    name = PREFIX + "psnr-v"
    plane = 2
    description = "JPEG AI PSNR_V: PSNR of 8-bit full-range BT.709 Cr at full resolution, peak 255, dB"
    reference = _reference("PSNRMetric PSNR_V", 1e-6, _PSNR_NOTE)


@register
class JpegAiMSSSIM(JpegAiMetric):
    """MS-SSIM of JPEG AI's Y × 255 as ``pytorch_msssim.ms_ssim(data_range=255)``; zero-padded to
    164 px per side. Higher is better; 1 for identical images."""

    name = PREFIX + "ms-ssim"
    higher_is_better = True
    plot_in_db = True
    version = "1"
    range = (0.0, 1.0)
    #: PyTorch where installed (CPU or GPU), else numpy: :func:`~qualitykit.metrics.ssim.ssim_family`.
    uses_torch = True
    memory_per_pixel = 100.0
    description = "JPEG AI MS-SSIM (PyTorch): pytorch_msssim ms_ssim of 8-bit full-range BT.709 Y, data range 255"
    reference = _reference(
        "MSSSIMTorch (pytorch_msssim 1.0.0 ms_ssim)", 1e-6, "qk's ms-ssim kernel on Y (equal to pytorch_msssim); ≤ 5.3e-7 apart"
    )

    def _compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        device = resolve_device(self.device)
        return np.array(
            [ms_ssim_y(ycbcr709(r)[0], ycbcr709(d)[0], device) for r, d in zip(refs, dists)], dtype=np.float64
        )


@register
class JpegAiVIF(JpegAiMetric):
    """Pixel-domain VIF (VIFp) of JPEG AI's Y × 255 (IQA_pytorch ``VIFs``; :func:`vifp`). Higher is
    better; 1 for identical images (more for contrast-enhanced ones)."""

    name = PREFIX + "vif"
    higher_is_better = True
    version = "1"
    range = (0.0, None)
    memory_per_pixel = 200.0
    description = "JPEG AI VIF: pixel-domain VIF (VIFp, IQA_pytorch VIFs) of 8-bit full-range BT.709 Y × 255"
    reference = _reference(
        "VIF_IQA (IQA_pytorch 0.1 VIFs(channels=1))", 1e-4,
        "≤ 4.4e-5 apart: the reference's float32 σ² = E[x²] − μ² cancels on ×255 values; its code run in float64 "
        "gives qk's value to 3e-14",
    )

    @staticmethod
    def kernel(ref: np.ndarray, dist: np.ndarray) -> float:
        return vifp(y255_padded(ref, PAD_VIF), y255_padded(dist, PAD_VIF))


@register
class JpegAiNLPD(JpegAiMetric):
    """NLPD of JPEG AI's Y in [0, 1] (IQA_pytorch ``NLPD``; :func:`nlpd`). Lower is better; 0 for identical images."""

    name = PREFIX + "nlpd"
    higher_is_better = False
    version = "1"
    range = (0.0, None)
    memory_per_pixel = 200.0
    description = "JPEG AI NLPD: IQA_pytorch NLPD (6 levels) of 8-bit full-range BT.709 Y in [0, 1]"
    reference = _reference(
        "NLPD_IQA (IQA_pytorch 0.1 NLPD(channels=1))", 1e-6, "qk in float64, the reference in float32: ≤ 3.4e-8 apart"
    )

    @staticmethod
    def kernel(ref: np.ndarray, dist: np.ndarray) -> float:
        return nlpd(_y(ref), _y(dist))


@register
class JpegAiPSNRHVS(JpegAiMetric):
    """PSNR-HVS (not -M) of JPEG AI's Y in [0, 1], replicate-padded to a multiple of 8, by the
    ``psnr-hvsm`` package. Higher is better, dB; 100 for identical images."""

    name = PREFIX + "psnr-hvs"
    higher_is_better = True
    range = (0.0, 100.0)
    unit = "dB"
    memory_per_pixel = 400.0
    description = "JPEG AI PSNR_HVS: psnr-hvsm package's PSNR-HVS of 8-bit full-range BT.709 Y, padded to ×8, dB"
    reference = _reference("PSNR_HVS (psnr_hvsm 0.3.0 psnr_hvs_hvsm[0])", 1e-9, "the same package on the same planes")

    @classmethod
    def available(cls) -> str | None:
        if importlib.util.find_spec("psnr_hvsm") is None:  # found, not imported (its __init__ imports PyTorch)
            return "the psnr-hvsm package is missing; pip install psnr-hvsm"
        return None

    @property
    def version(self) -> str:  # type: ignore[override]
        return f"1+psnr-hvsm-{package_version('psnr-hvsm')}"

    @staticmethod
    def kernel(ref: np.ndarray, dist: np.ndarray) -> float:
        return psnr_hvs_y(_y(ref), _y(dist))


@register
class JpegAiVMAF(SharedPassMetric):
    """VMAF ``vmaf_v0.6.1`` of JPEG AI's 8-bit full-range BT.709 Y, Cb, Cr planes (4:4:4) through
    libvmaf in ffmpeg, motion 0 (one frame). VMAF's features read the luma plane only. Range
    0–100, higher is better."""

    name = PREFIX + "vmaf"
    higher_is_better = True
    range = (0.0, 100.0)
    saturation = 99.5
    default = False
    shared_pass = "jpeg-ai-libvmaf"
    memory_per_pixel = 64.0  # the colour conversion (see the PSNRs); libvmaf's frames go through files
    description = "JPEG AI VMAF: vmaf_v0.6.1 (libvmaf in ffmpeg) of 8-bit full-range BT.709 YCbCr 4:4:4, motion 0"
    reference = Reference(
        "libvmaf vmaf_v0.6.1 (ffmpeg) on the YUV file the reference writes for Netflix's vmaf -p 444 -b 8",
        "ffmpeg 9.0.2", 1e-6, CHECKED_ON, EQUALITY_TEST,
        "the reference runs Netflix's vmaf v2.2.1 binary, not available here",
    )  # fmt: skip

    @classmethod
    def available(cls) -> str | None:
        return libvmaf_unavailable()

    @property
    def version(self) -> str:  # type: ignore[override]
        return f"1+vmaf_v0.6.1+libvmaf-{libvmaf_version()}"

    @classmethod
    def _compute_family(
        cls, metrics: Sequence[Metric], refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]
    ) -> dict[str, np.ndarray | Exception]:
        ref_yuv = [ycbcr709(r).transpose(1, 2, 0) for r in refs]
        dist_yuv = [ycbcr709(d).transpose(1, 2, 0) for d in dists]
        frames = run_libvmaf(ref_yuv, dist_yuv, models=["vmaf_v0.6.1"], pix_fmt="yuv444p")
        return {m.name: np.array([f["vmaf_v0.6.1"] for f in frames], dtype=np.float64) for m in metrics}


@register
class JpegAiIWSSIM(JpegAiMetric):
    """IW-SSIM (Wang & Li 2011) of JPEG AI's Y × 255, zero-padded to 256 px per side as the reference's
    ``IWSSIM.calc`` pads it, by qk's :func:`~qualitykit.metrics.iw_ssim.iw_ssim_y`. Higher is better;
    1 for identical images."""

    name = PREFIX + "iw-ssim"
    higher_is_better = True
    plot_in_db = True
    version = "1"
    range = (0.0, 1.0)
    memory_per_pixel = IWSSIM.memory_per_pixel + 64.0  # + the colour conversion
    description = "JPEG AI IW-SSIM: qk's iw-ssim of 8-bit full-range BT.709 Y × 255, zero-padded to 256 px"
    reference = _reference("IWSSIM (IW_SSIM_PyTorch.py IW_SSIM().test, pyrtools 1.1.1)", 1e-8, "≤ 1.1e-9 apart")

    @staticmethod
    def kernel(ref: np.ndarray, dist: np.ndarray) -> float:
        return iw_ssim_y(y255_padded(ref, PAD_IW_SSIM), y255_padded(dist, PAD_IW_SSIM))
