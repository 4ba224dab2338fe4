"""SSIM and MS-SSIM on RGB, in the convention of ``pytorch_msssim`` (as CompressAI reports them).

Both metrics are one shared pass (``ssim-rgb``): asked for together they share one pass, since
SSIM is the mean of the full-resolution SSIM map that MS-SSIM's first scale computes anyway
(MS-SSIM uses only its contrast-structure term there; SSIM costs one more product).

The computation is qk's own, equal to ``pytorch_msssim`` 1.0.0 (``ssim``/``ms_ssim`` with
``data_range=255`` and their defaults) to 1e-6 on images ≥ 14 px per side —
``tests/test_metrics_ssim.py`` proves it (below that, the reference's own blur changes its
summation order and both are ~1e-5 from a float64 computation):

* the same float32 arithmetic in the same order: 11-tap Gaussian (σ = 1.5, built as they
  build it), separable, vertical pass then horizontal, valid region only; K = (0.01, 0.03);
  ``σ² = E[x²] − μ²`` without clamping;
* per channel the mean over the valid region, then the mean over R, G, B;
* MS-SSIM: 5 scales, weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), 2×2 average pooling
  between scales with their padding rule (one zero row/column on each side of an odd
  dimension, zeros counted in the average), ``relu`` of the contrast-structure term at scales
  1–4 and of SSIM at scale 5, product of powers, then the mean over R, G, B.

How (see :class:`_Scale`): the five statistics x, y, x², y², xy of the three channels are 15
planes of one buffer; the vertical blur is 11 shifted fused multiply-adds, the horizontal one
11 more over the columns. The steps run in PyTorch where it is installed (CPU or GPU; the
horizontal blur a depthwise ``conv2d``), else in numpy on the CPU (the core install, no
PyTorch: about 4× slower, the same values to ~1e-7; both are tested against ``pytorch_msssim``). Every scale is computed in horizontal strips of about :data:`STRIP_PIXELS` output
pixels (10 rows of window overlap), fed top to bottom, each scale pooling its rows into the
next as they arrive: no scale is ever held whole. Per-channel sums of the maps accumulate in
float64 and are divided by the valid-region size, so the strip height changes nothing but
float noise; on the CPU every value is computed the same way whatever the thread count, so the
bits never depend on it. Working memory is a few strips: 30 MiB measured for a 768×512 pair
(SSIM + MS-SSIM), 48 MiB for 6000×4000, against 104 MiB (277 B/px,
~6 GiB at 24 MP) for ``pytorch_msssim`` on whole images. Speed against it:
``benchmarks/bench_torch_metrics.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from importlib.util import find_spec
from typing import TYPE_CHECKING

import numpy as np

from . import register
from ..device import resolve_device
from .base import Metric, Reference, SharedPassMetric

if TYPE_CHECKING:
    import torch

WIN_SIZE = 11
WIN_SIGMA = 1.5
K1, K2 = 0.01, 0.03
DATA_RANGE = 255.0
MS_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
#: Output pixels (per channel) of one strip on the CPU: ~32 rows of a 1536-px-wide image;
#: its working set (five statistics, their blurs, the maps) stays within the caches.
STRIP_PIXELS = 1 << 16
#: On a GPU strips only bound memory; larger ones keep kernel launches few.
STRIP_PIXELS_CUDA = 1 << 22
#: Output rows of a strip never go below this, however wide the image.
MIN_STRIP_ROWS = 8


#: One half (centre last) of the 11-tap Gaussian (σ = 1.5) exactly as ``pytorch_msssim._fspecial_gauss_1d``
#: builds it in float32 with PyTorch's ``exp`` and ``sum`` (each value a float32). The taps must be those
#: bits: σ² = E[x²] − μ² cancels, and taps summing to 1 − 1e-7 instead move SSIM by ~3e-6 (tested).
_HALF_WINDOW = (0.0010283803567290306, 0.0075987582094967365, 0.036000773310661316, 0.10936068743467331,
                0.21300552785396576, 0.26601171493530273)  # fmt: skip


def _window() -> np.ndarray:
    """The 11-tap Gaussian, float32, equal bit for bit to ``pytorch_msssim``'s (see :data:`_HALF_WINDOW`)."""
    return np.array(_HALF_WINDOW + _HALF_WINDOW[-2::-1], dtype=np.float32)


class _NumpyOps:
    """The array operations :class:`_Scale` needs, on the CPU with numpy (no PyTorch): float32 values,
    each multiply-add of a blur rounded once as PyTorch's fused ones are (:meth:`_fma`), in tap order."""

    #: The horizontal pass's buffer needs no padding planes.
    plane_block = 1

    def __init__(self, window: np.ndarray) -> None:
        self.taps = [np.float32(t) for t in window]

    @staticmethod
    def zeros(shape: tuple[int, ...]) -> np.ndarray:
        return np.zeros(shape, dtype=np.float32)

    @staticmethod
    def empty(shape: tuple[int, ...]) -> np.ndarray:
        return np.empty(shape, dtype=np.float32)

    @staticmethod
    def concat_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.concatenate((a, b), axis=1)

    @staticmethod
    def copy(a: np.ndarray) -> np.ndarray:
        return a.copy()

    @staticmethod
    def pad_left(a: np.ndarray) -> np.ndarray:
        """One zero column before the first."""
        return np.pad(a, ((0, 0), (0, 0), (1, 0)))

    @staticmethod
    def multiply(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
        np.multiply(a, b, out=out)

    def vertical(self, s: np.ndarray, rows_out: int, out: np.ndarray) -> None:
        """``out = Σ_k g[k]·s[:, k : k + rows_out]``, tap by tap, each step a fused multiply-add."""
        acc = np.multiply(s[:, 0:rows_out], self.taps[0])
        for k in range(1, WIN_SIZE):
            self._fma(s[:, k : k + rows_out], self.taps[k], acc)
        out[...] = acc

    def horizontal(self, v: np.ndarray) -> np.ndarray:
        """``Σ_k g[k]·v[..., k : k + w]`` over the valid columns, tap by tap, each a fused multiply-add."""
        w = v.shape[-1] - (WIN_SIZE - 1)
        acc = np.multiply(v[..., 0:w], self.taps[0])
        for k in range(1, WIN_SIZE):
            self._fma(v[..., k : k + w], self.taps[k], acc)
        return acc

    @staticmethod
    def _fma(a: np.ndarray, tap: np.float32, acc: np.ndarray) -> None:
        """``acc ← float32(acc + tap·a)`` rounded once, as a fused multiply-add (PyTorch's kernels use
        them): the product of two float32 values is exact in float64, the sum rounds to float64, then to
        float32. Plain float32 steps (two roundings) drift from ``pytorch_msssim`` by up to ~1e-6."""
        wide = np.multiply(a, tap, dtype=np.float64)
        wide += acc
        np.copyto(acc, wide, casting="same_kind")

    @staticmethod
    def channel_sums(maps: np.ndarray) -> np.ndarray:
        """Float64 sum of each ``(C, h, w)`` map (numpy's pairwise summation, single-threaded)."""
        return maps.sum(axis=(1, 2), dtype=np.float64)


class _TorchOps:
    """The same operations with PyTorch on ``device``: the vertical pass as fused multiply-adds of
    shifted rows (the sums a depthwise ``(11, 1)`` convolution computes, in its order: equal bit for
    bit, and faster here), the horizontal one a depthwise ``conv2d`` over the planes. Each value is
    computed the same way whatever the torch thread count (a banded matrix product for the vertical
    pass was faster, but MKL's results changed with the thread count)."""

    #: oneDNN's depthwise kernel works on blocks of 8 channels; with a partial block (15 planes) it
    #: ran 3-20x slower here (its tail path), so the horizontal pass gets zero planes up to a multiple of 8.
    plane_block = 8

    def __init__(self, window: np.ndarray, device: str) -> None:
        import torch

        self.torch = torch
        self.device = device
        self.taps = window.tolist()
        self.kernel = torch.from_numpy(window).to(device).view(1, 1, 1, WIN_SIZE)
        self.kernels: dict[int, torch.Tensor] = {}

    def zeros(self, shape: tuple[int, ...]) -> torch.Tensor:
        return self.torch.zeros(shape, dtype=self.torch.float32, device=self.device)

    def empty(self, shape: tuple[int, ...]) -> torch.Tensor:
        return self.torch.empty(shape, dtype=self.torch.float32, device=self.device)

    def concat_rows(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.torch.cat((a, b), 1)

    @staticmethod
    def copy(a: torch.Tensor) -> torch.Tensor:
        return a.clone()

    def pad_left(self, a: torch.Tensor) -> torch.Tensor:
        return self.torch.nn.functional.pad(a, (1, 0))

    def multiply(self, a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> None:
        self.torch.mul(a, b, out=out)

    def vertical(self, s: torch.Tensor, rows_out: int, out: torch.Tensor) -> None:
        self.torch.mul(s[:, 0:rows_out], self.taps[0], out=out)
        for k in range(1, WIN_SIZE):
            out.add_(s[:, k : k + rows_out], alpha=self.taps[k])

    def horizontal(self, v: torch.Tensor) -> torch.Tensor:
        planes = v.shape[0]
        if planes not in self.kernels:
            self.kernels[planes] = self.kernel.expand(planes, 1, 1, WIN_SIZE).contiguous()
        return self.torch.nn.functional.conv2d(v[None], self.kernels[planes], groups=planes)[0]

    def channel_sums(self, maps: torch.Tensor) -> np.ndarray:
        """Float64 sum of each ``(C, h, w)`` map; on the CPU by numpy (single-threaded pairwise
        summation), since torch may split a reduction to few outputs by its thread count."""
        if maps.device.type == "cpu":
            return maps.numpy().sum(axis=(1, 2), dtype=np.float64)
        return maps.sum(dim=(1, 2), dtype=self.torch.float64).cpu().numpy()


class _Scale:
    """One scale of the (MS-)SSIM pyramid, fed rows top to bottom, holding one strip of them.

    The rows of both images live in the first ``2C`` planes of a ``(5C, rows, W)`` float32
    buffer whose other planes receive x², y², xy; once ``step`` output rows are computable
    (plus the window's 10 rows of overlap) the strip is blurred, its maps summed per channel in
    float64, and all but its last 10 rows dropped. With a next scale the rows are also
    average-pooled 2×2 as they arrive and fed on, so no scale is ever held whole.

    Blur (``ops``: :class:`_NumpyOps` on the CPU, :class:`_TorchOps` on a GPU): vertical pass
    as 11 multiply-adds of shifted rows, horizontal pass over the 5C planes' valid columns.
    Then ``pytorch_msssim._ssim``'s float32 arithmetic, in its order, in place where that
    changes no rounding. Every step computes each value the same way whatever the thread count,
    so scores do not depend on it.

    ``pytorch_msssim`` pools with ``avg_pool2d(kernel_size=2, padding=(H % 2, W % 2))``: an odd
    dimension gets one zero row (column) on each side, zeros counted in the average, and the
    last one falls outside every window. Row ``j`` of the next scale is thus the mean of rows
    ``2j − H % 2`` and ``2j + 1 − H % 2``, row −1 being zeros. (Pooled values are exact:
    sums of a few dyadic fractions.)
    """

    def __init__(
        self, height: int, width: int, channels: int, want_ssim: bool, levels: int, ops: _NumpyOps | _TorchOps,
        strip_pixels: int,
    ) -> None:  # fmt: skip
        pad = WIN_SIZE - 1
        self.height, self.width, self.channels = height, width, channels
        self.want_ssim = want_ssim
        self.ops = ops
        self.step = max(MIN_STRIP_ROWS, strip_pixels // (width - pad))
        self.count = (height - pad) * (width - pad)
        self.cs = np.zeros(channels)
        self.ssim = np.zeros(channels)
        self.received = 0  # rows fed so far
        self.done = 0  # output rows summed so far; the buffer holds rows done … received
        self.capacity = min(height, self.step + pad)
        self.stats = ops.empty((5 * channels, self.capacity, width))
        self.vertical = None
        self.next: _Scale | None = None
        if levels > 1:
            ph, self.pad_w = height % 2, width % 2
            self.next = _Scale((height + ph) // 2, (width + self.pad_w) // 2, channels, levels == 2, levels - 1,
                               ops, strip_pixels)  # fmt: skip
            # rows not yet pooled: the zero row above an odd height, later at most one row
            self.unpooled = ops.zeros((2 * channels, ph, width))

    @property
    def held(self) -> int:
        return self.received - self.done

    def room(self) -> int:
        """Rows :meth:`write` may add now."""
        return self.capacity - self.held

    def write(self, rows: int):
        """The buffer's ``(2C, rows, W)`` slot for the next ``rows`` rows of x then y; fill it, then :meth:`wrote`."""
        return self.stats[: 2 * self.channels, self.held : self.held + rows]

    def wrote(self, rows: int) -> None:
        """Account for ``rows`` rows just written; pool them on, and sum every strip now complete."""
        ops = self.ops
        new = self.stats[: 2 * self.channels, self.held : self.held + rows]
        self.received += rows
        if self.next is not None:
            both = ops.concat_rows(self.unpooled, new)
            pairs = both.shape[1] // 2
            self.unpooled = ops.copy(both[:, 2 * pairs :])
            if pairs:
                # = avg_pool2d(kernel_size=2, padding=(0, W % 2)), bit for bit (every sum is exact)
                summed = both[:, 0 : 2 * pairs : 2] + both[:, 1 : 2 * pairs : 2]
                if self.pad_w:
                    summed = ops.pad_left(summed)
                pooled = summed[..., 0::2] + summed[..., 1::2]
                pooled *= 0.25
                self.next.feed(pooled)
        pad = WIN_SIZE - 1
        while True:
            ready = self.held - pad  # output rows computable now
            if ready <= 0 or (ready < self.step and self.received < self.height):
                break
            rows_out = min(self.step, ready)
            self._sum_strip(rows_out)
            keep = self.held - rows_out
            self.stats[: 2 * self.channels, :keep] = ops.copy(self.stats[: 2 * self.channels, rows_out : rows_out + keep])
            self.done += rows_out

    def feed(self, xy) -> None:
        """Append rows ``(2C, r, W)`` (x's channels, then y's)."""
        at = 0
        while at < xy.shape[1]:
            rows = min(self.room(), xy.shape[1] - at)
            self.write(rows)[...] = xy[:, at : at + rows]
            self.wrote(rows)
            at += rows

    def _sum_strip(self, rows_out: int) -> None:
        """Add output rows ``done … done + rows_out`` (buffer rows ``0 … rows_out + 10``) to the sums."""
        ops = self.ops
        c1 = (K1 * DATA_RANGE) ** 2
        c2 = (K2 * DATA_RANGE) ** 2
        c = self.channels
        pad = WIN_SIZE - 1
        s = self.stats[:, : rows_out + pad]
        x, y = s[0:c], s[c : 2 * c]
        ops.multiply(x, x, out=s[2 * c : 3 * c])
        ops.multiply(y, y, out=s[3 * c : 4 * c])
        ops.multiply(x, y, out=s[4 * c : 5 * c])
        planes = -(-5 * c // ops.plane_block) * ops.plane_block
        if rows_out == self.step:  # a full strip: the buffer kept for them (its padding planes stay zero)
            if self.vertical is None:
                self.vertical = ops.zeros((planes, rows_out, self.width))
            vertical = self.vertical
        else:
            vertical = ops.zeros((planes, rows_out, self.width))
        ops.vertical(s, rows_out, out=vertical[: 5 * c])
        blurred = ops.horizontal(vertical)
        mu1, mu2 = blurred[0:c], blurred[c : 2 * c]
        mu1_sq = mu1 * mu1
        mu2_sq = mu2 * mu2
        mu1_mu2 = mu1 * mu2
        sigma1_sq = blurred[2 * c : 3 * c]
        sigma1_sq -= mu1_sq
        sigma2_sq = blurred[3 * c : 4 * c]
        sigma2_sq -= mu2_sq
        sigma12 = blurred[4 * c : 5 * c]
        sigma12 -= mu1_mu2
        # cs = (2·σ12 + C2) / (σ1² + σ2² + C2); SSIM = (2·μ1μ2 + C1) / (μ1² + μ2² + C1) · cs
        cs_map = sigma12
        cs_map *= 2
        cs_map += c2
        sigma1_sq += sigma2_sq
        sigma1_sq += c2
        cs_map /= sigma1_sq
        self.cs += ops.channel_sums(cs_map)
        if self.want_ssim:
            luminance = mu1_mu2
            luminance *= 2
            luminance += c1
            mu1_sq += mu2_sq
            mu1_sq += c1
            luminance /= mu1_sq
            luminance *= cs_map
            self.ssim += ops.channel_sums(luminance)

    def scales(self) -> list[_Scale]:
        return [self] + (self.next.scales() if self.next is not None else [])


def ssim_family(
    ref: np.ndarray, dist: np.ndarray, ssim: bool = True, ms_ssim: bool = True, device: str = "cpu",
    strip_pixels: int | None = None, backend: str | None = None,
) -> tuple[float | None, float | None]:  # fmt: skip
    """SSIM and MS-SSIM (each ``None`` unless asked for) of one ``(H, W, 3)`` uint8 pair.

    One pass: MS-SSIM's first scale yields SSIM too. ``backend``: ``"torch"`` (on ``device``) or
    ``"numpy"`` (CPU only); by default PyTorch where it is installed (≈4× faster on the CPU), else
    numpy — both equal ``pytorch_msssim`` to 1e-6. ``strip_pixels`` (output pixels per strip and
    channel; default by device) changes nothing but float noise; tests vary both.
    """
    on_gpu = str(device).startswith("cuda")
    if backend is None:
        backend = "torch" if on_gpu or find_spec("torch") is not None else "numpy"
    if backend not in ("torch", "numpy") or (on_gpu and backend == "numpy"):
        raise ValueError(f"backend {backend!r} on {device}: numpy runs on the CPU only; torch anywhere")
    if strip_pixels is None:
        strip_pixels = STRIP_PIXELS_CUDA if on_gpu else STRIP_PIXELS
    height, width, channels = ref.shape
    with contextlib.ExitStack() as stack:
        if backend == "torch":
            import torch

            stack.enter_context(torch.inference_mode())
            ops: _NumpyOps | _TorchOps = _TorchOps(_window(), device)
        else:
            ops = _NumpyOps(_window())
        top = _Scale(height, width, channels, ssim, len(MS_WEIGHTS) if ms_ssim else 1, ops, strip_pixels)
        while top.received < height:
            a = top.received
            b = min(height, a + top.room())
            slot = top.write(b - a)
            if not on_gpu:  # uint8 (h, W, C) → float32 (C, h, W) straight into the buffer
                view = slot.numpy() if backend == "torch" else slot
                np.copyto(view[:channels], ref[a:b].transpose(2, 0, 1))
                np.copyto(view[channels:], dist[a:b].transpose(2, 0, 1))
            else:
                for i, image in enumerate((ref, dist)):
                    rows = torch.from_numpy(np.array(image[a:b])).to(slot.device)  # a copy: inputs may be read-only
                    slot[i * channels : (i + 1) * channels] = rows.permute(2, 0, 1)
            top.wrote(b - a)
        scales = top.scales()
        assert all(s.done == s.height - (WIN_SIZE - 1) for s in scales)
    ssim_value = float(np.mean(top.ssim / top.count)) if ssim else None
    if not ms_ssim:
        return ssim_value, None
    # relu of cs at scales 1–4 and of SSIM at scale 5, as pytorch_msssim; then ∏ value^weight
    values = [np.maximum(s.cs / s.count, 0.0) for s in scales[:-1]]
    values.append(np.maximum(scales[-1].ssim / scales[-1].count, 0.0))
    per_channel = np.prod([v**w for v, w in zip(values, MS_WEIGHTS)], axis=0)
    return ssim_value, float(np.mean(per_channel))


class _SSIMFamily(SharedPassMetric):
    """SSIM and MS-SSIM share one pass over each pair (see the module docstring); on ``device``."""

    shared_pass = "ssim-rgb"
    #: With PyTorch where it is installed; without it numpy computes it on the CPU (:func:`ssim_family`).
    uses_torch = True

    @classmethod
    def _compute_family(
        cls, metrics: Sequence[Metric], refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]
    ) -> dict[str, np.ndarray | Exception]:
        """One pass per pair for every metric asked for (those whose input checks passed: images too
        small for MS-SSIM still get SSIM)."""
        want_ssim = any(m.name == SSIM.name for m in metrics)
        want_ms = any(m.name == MSSSIM.name for m in metrics)
        device = resolve_device(metrics[0].device)
        ssim_values = np.empty(len(refs), dtype=np.float64)
        ms_values = np.empty(len(refs), dtype=np.float64)
        for i, (r, d) in enumerate(zip(refs, dists)):
            s, ms = ssim_family(r, d, ssim=want_ssim, ms_ssim=want_ms, device=device)
            ssim_values[i] = np.nan if s is None else s
            ms_values[i] = np.nan if ms is None else ms
        return {m.name: ssim_values if m.name == SSIM.name else ms_values for m in metrics}


@register
class SSIM(_SSIMFamily):
    """SSIM on RGB as ``pytorch_msssim.ssim``: data range 255, 11×11 Gaussian window
    (σ = 1.5), K1 = 0.01, K2 = 0.03, no downsampling, valid-region mean per channel,
    then the mean over R, G, B. Higher is better; 1 for identical images.
    """

    name = "ssim"
    higher_is_better = True
    plot_in_db = True
    version = "pytorch_msssim-1"
    min_side = 11
    description = "SSIM, RGB, pytorch_msssim, data range 255"
    range = (-1.0, 1.0)
    reference = Reference(
        "pytorch_msssim ssim(data_range=255)", "1.0.0", 1e-6, "astronaut at JPEG q=20",
        "tests/test_metrics_rgb.py::test_ssim_equals_pytorch_msssim_per_image",
    )
    #: Strips: a few tens of MiB whatever the size (18 MiB measured on 768x512, 48 B/px there);
    #: this figure holds up to Kodak size and overstates larger images.
    memory_per_pixel = 56.0


@register
class MSSSIM(_SSIMFamily):
    """MS-SSIM on RGB as ``pytorch_msssim.ms_ssim`` (CompressAI's ``ms-ssim-rgb``):
    data range 255, 5 scales with the weights of Wang et al. (2003), 11×11 Gaussian
    window, 2×2 average-pool between scales; per channel, then the mean over R, G, B.
    Needs more than 160 px on each side. Higher is better; 1 for identical images.
    """

    name = "ms-ssim"
    higher_is_better = True
    plot_in_db = True
    version = "pytorch_msssim-1"
    min_side = 161
    description = "MS-SSIM, RGB, pytorch_msssim, data range 255"
    range = (0.0, 1.0)
    aliases = ("ms-ssim-rgb",)
    reference = Reference(
        "CompressAI compute_metrics 'ms-ssim-rgb'", "1.2.8", 1e-6,
        "3 crops of astronaut at JPEG q=10/40/80 and Kodak kodim04 at q=30",
        "tests/test_metrics_rgb.py::test_psnr_and_ms_ssim_equal_compressai",
        "CompressAI's ms-ssim-rgb is pytorch_msssim 1.0.0 ms_ssim(data_range=255)",
    )
    #: Strips (with SSIM in the same pass or not): 30 MiB measured on 768x512 (80 B/px there),
    #: 48 MiB on 6000x4000 (2.1 B/px); this figure holds up to Kodak size and overstates larger images.
    memory_per_pixel = 88.0
