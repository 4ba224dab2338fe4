"""SSIMULACRA 2.1 (Sneyers, Cloudinary 2023), equal to the reference C++ tool.

Conventions
-----------
Input: sRGB ``uint8`` RGB in [0, 255], no alpha, both images of one shape, at least
8 px on each side (the tool's own minimum). Output: a score of at most 100, higher is
better; 100 for identical images, negative for very strong distortion. The tool's
README reads the scale as: 10 very low quality, 30 low, 50 medium, 70 high (artifacts
hard to notice without the original), 80 very high (not distinguishable side by side at
1:1), 85 excellent (not in a flip test), 90 visually lossless (not in a flicker test),
100 mathematically lossless.

Algorithm (cloudinary/ssimulacra2 ``ssimulacra2.cc`` at 81feacf, "SSIMULACRA 2.1", with
libjxl's colour and blur code it builds on):

1. sRGB → linear RGB (sRGB transfer function), float32.
2. Six scales, 1:1 to 1:32; each coarser scale is a 2×2 box average of the previous one
   *in linear RGB* (an odd last row/column is repeated). A scale is computed only while
   the previous one is at least 8 px on each side.
3. Per scale, linear RGB → XYB: opsin absorbance matrix plus bias, cube root, minus the
   cube root of the bias, X = (L − M)/2, Y = (L + M)/2, B = S; then SSIMULACRA 2's
   rescaling to about 0..1: X ← 14 X + 0.42, Y ← Y + 0.01, B ← B − Y + 0.55.
4. Per scale and channel, a Gaussian blur (σ = 1.5; libjxl's recursive Gaussian of
   Charalampidis 2016, radius 5, zero padding on both axes) of both images, their squares
   and their product give three error maps:

   - SSIM without the luminance denominator: ``1 − (1 − (μ1 − μ2)²)(2σ12 + C2)/(σ1² + σ2² + C2)``,
     C2 = 0.0009, clamped at 0;
   - the edge ratio ``d = (1 + |x2 − μ2|)/(1 + |x1 − μ1|) − 1``: "artifact" ``max(d, 0)``
     (distorted has edges where the original is smooth: ringing, blocking, banding) and
     "detail lost" ``max(−d, 0)`` (blur, smoothing).

   Each map is pooled by its mean (1-norm) and the 4th root of the mean of its 4th power.
5. The 108 values (3 channels × 6 scales × 2 norms × 3 maps) are weighted and summed; the
   sum ``s`` is mapped to ``100 − 10 t^0.6276…`` with ``t = 2.3268 s' − 0.020885 s'² +
   6.2485e-5 s'³``, ``s' = 0.95624 s`` (100 when ``t ≤ 0``).

Small images: the tool refuses images under 8×8 px (so does this metric, with
:class:`~qualitykit.errors.BadInput`). Images with a side under 113 px get fewer than six
scales, and the tool then walks its weight table in order all the same, so the weights
slide onto other features: its scores for such small images are not on the usual scale.
This module does the same, so that it equals the tool at every size the tool accepts.

Numerics
--------
The coarse scales are smooth images whose SSIM errors (~1e-5) are of the order of the
float32 rounding noise of the tool's blur and colour conversion, so the tool's score
depends on that noise by a few hundredths. To follow it, the three coarsest scales (1:8 to
1:32, from :data:`EXACT_FROM_SCALE`) and every scale of at most 128×128 px
(:data:`EXACT_MAX_PIXELS`) are computed as the tool computes them, rounding for rounding:
the recursive Gaussian step by step (horizontal pass unrolled by 4 lanes, fused
multiply-adds as the AVX2 build does them; a fused multiply-add is emulated in float64,
where the product of two float32 values is exact) and libjxl's cube-root approximation;
the sRGB curve is evaluated as libjxl does (a rational polynomial) at every scale. The
other scales, where that noise does not matter, use the Gaussian's exact equivalent, a
9-tap FIR filter with zero padding (the recursion is a finite impulse response in exact
arithmetic), in plain float32 (its two passes as BLAS products of banded matrices), a
stripe of rows at a time.

Everything is numpy (the core install has it all, no PyTorch): the step-by-step recursion
advances every row (horizontal pass) or column (vertical pass) of every plane and pair of a
batch at once, one numpy operation per step, and float32 values are kept in float32 arrays
wherever the tool rounds to float32 (numpy never contracts ``a·b + c`` into a fused
multiply-add, so each product and sum is rounded exactly where it is written).

Result: on the 88 Kodak pairs of ``shared/reference/ssimulacra2`` (the test) mean |Δ|
0.010, max 0.097; images of at most 128×128 px equal the tool to 1e-6. With
``EXACT_FROM_SCALE = 2`` (scale 1:4 exact too) the Kodak figures are 0.0019 and 0.0097 at
about 1.35× the CPU time; with ``EXACT_FROM_SCALE = 0`` they are below 2e-8, the precision
the tool prints, at about 20× the time (both checked while writing this module, then in
PyTorch). The numpy port (issue 22) gives the PyTorch version's scores bit for bit where
the tool's arithmetic is followed (every image of at most 128×128 px) and to 2.3e-4 on
average (max 1.4e-3) on the Kodak pairs, whose 1:4 scale's float32 FIR noise differs (cube
root, summation order of the matrix products); against the tool: mean |Δ| 0.0105, max
0.0970 (PyTorch: 0.0104, 0.0971). One Kodak pair takes about 0.75× the PyTorch version's
time on one core.

>>> from qualitykit.metrics import get_metric
>>> score = get_metric("ssimulacra2")(ref, dist)  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import register
from .base import Metric, Reference, group_by_shape

#: Smallest side the reference tool accepts ("Minimum image size is 8x8 pixels").
MIN_SIDE = 8
NUM_SCALES = 6
#: Scales from this one on (1:8 and coarser) are computed rounding for rounding like the tool…
EXACT_FROM_SCALE = 3
#: …and so is any scale of at most this many pixels (cheap there: small images are exact throughout).
EXACT_MAX_PIXELS = 128 * 128

# --- constants of the metric (ssimulacra2.cc) ------------------------------------------

#: Weights of the 108 features, indexed [channel X/Y/B][scale 1:1…1:32][norm 1/4][map SSIM/artifact/detail lost].
WEIGHTS = np.array([
    0.0, 0.0007376606707406586, 0.0, 0.0, 0.0007793481682867309, 0.0,
    0.0, 0.0004371155730107379, 0.0, 1.1041726426657346, 0.00066284834129271, 0.00015231632783718752,
    0.0, 0.0016406437456599754, 0.0, 1.8422455520539298, 11.441172603757666, 0.0,
    0.0007989109436015163, 0.000176816438078653, 0.0, 1.8787594979546387, 10.94906990605142, 0.0,
    0.0007289346991508072, 0.9677937080626833, 0.0, 0.00014003424285435884, 0.9981766977854967, 0.00031949755934435053,
    0.0004550992113792063, 0.0, 0.0, 0.0013648766163243398, 0.0, 0.0,
    0.0, 0.0, 0.0, 7.466890328078848, 0.0, 17.445833984131262,
    0.0006235601634041466, 0.0, 0.0, 6.683678146179332, 0.00037724407979611296, 1.027889937768264,
    225.20515300849274, 0.0, 0.0, 19.213238186143016, 0.0011401524586618361, 0.001237755635509985,
    176.39317598450694, 0.0, 0.0, 24.43300999870476, 0.28520802612117757, 0.0004485436923833408,
    0.0, 0.0, 0.0, 34.77906344483772, 44.835625328877896, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0008680556573291698, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0005313191874358747, 0.0, 0.00016533814161379112, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0004179171803251336, 0.0017290828234722833, 0.0,
    0.0020827005846636437, 0.0, 0.0, 8.826982764996862, 23.19243343998926, 0.0,
    95.1080498811086, 0.9863978034400682, 0.9834382792465353, 0.0012286405048278493, 171.2667255897307, 0.9807858872435379,
    0.0, 0.0, 0.0, 0.0005130064588990679, 0.0, 0.00010854057858411537,
])  # fmt: skip
C2 = 0.0009
SIGMA = 1.5

# --- constants of XYB (libjxl opsin_params.h), as the float32 values libjxl uses -------

_f32 = np.float32


def _opsin_matrix() -> np.ndarray:
    m = np.zeros(9, _f32)
    m[0], m[2] = _f32(0.30), _f32(0.078)
    m[1] = (_f32(1) - m[2]) - m[0]
    m[3], m[5] = _f32(0.23), _f32(0.078)
    m[4] = (_f32(1) - m[5]) - m[3]
    m[6], m[7] = _f32(0.24342268924547819), _f32(0.20476744424496821)
    m[8] = (_f32(1) - m[6]) - m[7]
    return m.reshape(3, 3)


OPSIN = _opsin_matrix()
OPSIN_BIAS = _f32(0.0037930732552754493)
NEG_CBRT_BIAS = _f32(-math.cbrt(float(OPSIN_BIAS)))


@functools.lru_cache(maxsize=None)
def srgb_to_linear_table() -> np.ndarray:
    """float32 linear value of each 8-bit sRGB code, as libjxl computes it.

    libjxl reads a code ``v`` as ``v * (float)(1/255)`` and evaluates the sRGB transfer
    function with a rational polynomial (``TF_SRGB::DisplayFromEncoded``: Horner with fused
    multiply-adds, then one division; ``x / 12.92`` below 0.04045). It differs from the
    exact curve by at most 2.4e-7, which moves the score by ~0.01 through the coarse scales.
    """
    p = np.array([2.200248328e-04, 1.043637593e-02, 1.624820318e-01, 7.961564959e-01, 8.210152774e-01], _f32)
    q = np.array([2.631846970e-01, 1.076976492e00, 4.987528350e-01, -5.512498495e-02, 6.521209011e-03], _f32)
    x = _f32(1.0 / 255) * np.arange(256, dtype=_f32)
    xd = x.astype(np.float64)
    yp = np.full(256, p[4], _f32)
    yq = np.full(256, q[4], _f32)
    for k in (3, 2, 1, 0):  # fused multiply-add: one rounding of the exact yp * x + p[k]
        yp = (yp.astype(np.float64) * xd + float(p[k])).astype(_f32)
        yq = (yq.astype(np.float64) * xd + float(q[k])).astype(_f32)
    low = x * (_f32(1) / _f32(12.92))
    return np.where(x > _f32(0.04045), yp / yq, low).astype(_f32)


# --- the recursive Gaussian (libjxl gauss_blur.cc) ------------------------------------


@functools.lru_cache(maxsize=None)
def recursive_gaussian(sigma: float = SIGMA) -> tuple[int, np.ndarray, np.ndarray]:
    """``(radius, n2, d1)`` of the third-order recursive Gaussian of Charalampidis (2016),
    "Recursive implementation of the Gaussian filter using truncated cosine functions",
    as libjxl derives them (float64): ``y_k[n] = n2_k (x[n−N−1] + x[n+N−1]) − d1_k y_k[n−1]
    − y_k[n−2]`` for k = 1, 3, 5, output ``y_1 + y_3 + y_5``."""
    radius = float(np.round(np.float32(3.2795 * sigma + 0.2546)))  # (57), rounded in float
    omega = np.pi / (2.0 * radius) * np.array([1.0, 3.0, 5.0])
    sign = np.array([1.0, -1.0, 1.0])
    p = sign / np.tan(0.5 * omega)  # (37)
    r = sign * p * p / np.sin(omega)  # (44)
    rho = np.exp(-0.5 * sigma * sigma * omega * omega) / radius  # (50)
    d13 = p[0] * r[1] - r[0] * p[1]
    d35 = p[1] * r[2] - r[1] * p[2]
    d51 = p[2] * r[0] - r[2] * p[0]
    zeta15, zeta35 = d35 / d13, d51 / d13  # (52)
    a = np.array([p, r, [zeta15, zeta35, 1.0]])  # (56)
    gamma = np.array([1.0, radius * radius - sigma * sigma, zeta15 * rho[0] + zeta35 * rho[1] + rho[2]])  # (55)
    beta = np.linalg.solve(a, gamma)  # (53)
    n2 = -beta * np.cos(omega * (radius + 1.0))  # (33)
    d1 = -2.0 * np.cos(omega)
    return int(radius), n2, d1


@functools.lru_cache(maxsize=None)
def gaussian_fir(sigma: float = SIGMA) -> np.ndarray:
    """The recursive Gaussian's impulse response (float64): in exact arithmetic the recursion
    with zero padding is this ``2·radius − 1``-tap filter (9 taps for σ = 1.5)."""
    radius, n2, d1 = recursive_gaussian(sigma)
    width = 4 * radius + 1
    x = np.zeros(width)
    x[2 * radius] = 1.0
    out = np.zeros(width)
    for k in range(3):
        y1 = y2 = 0.0
        for n in range(-radius + 1, width):
            left, right = n - radius - 1, n + radius - 1
            s = (x[left] if left >= 0 else 0.0) + (x[right] if right < width else 0.0)
            y = n2[k] * s - d1[k] * y1 - y2
            y2, y1 = y1, y
            if n >= 0:
                out[n] += y
    return out[radius + 1 : 3 * radius]


@functools.lru_cache(maxsize=None)
def _iir_lanes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """libjxl's 4-lane unrolling of the horizontal recursion: per k (rows) and output lane j
    (columns), the multiplier of the previous output, of the one before, and of input j."""
    _, n2, d1 = recursive_gaussian()
    d2 = d1 * d1
    mul_prev = np.stack([-d1, d2 - 1.0, -d2 * d1 + 2.0 * d1, d2 * d2 - 3.0 * d2 + 1.0], axis=1)
    mul_prev2 = np.stack([-np.ones(3), d1, -d2 + 1.0, d2 * d1 - 2.0 * d1], axis=1)
    mul_in = np.stack([n2, -d1 * n2, d2 * n2 - n2, -d2 * d1 * n2 + 2.0 * d1 * n2], axis=1)
    return mul_prev.astype(_f32), mul_prev2.astype(_f32), mul_in.astype(_f32)


# --- the computation (numpy, float32 as the tool) ----------------------------------------

_f64 = np.float64


class _Consts:
    """The constants above in the dtypes and layouts the computation uses."""

    #: Block length of the banded matrix products that apply the FIR filter.
    FIR_BLOCK = 32

    def __init__(self) -> None:
        self.radius, n2, d1 = recursive_gaussian()
        self.n2_f32 = n2.astype(_f32)
        self.n2_64 = self.n2_f32.astype(_f64)  # float32 values held in float64
        self.d1_64 = d1.astype(_f32).astype(_f64)
        mul_prev, mul_prev2, mul_in = _iir_lanes()
        self.mul_prev = mul_prev.astype(_f64)
        self.mul_prev2 = mul_prev2.astype(_f64)
        self.mul_prev0 = self.mul_prev[:, 0]
        self.mul_in = mul_in
        # lane j of input i is multiplied by mul_in[j − i] (0 for j < i): libjxl's shifted vectors
        shifted = np.zeros((4, 3, 4), _f32)
        for i in range(4):
            shifted[i, :, i:] = mul_in[:, : 4 - i]
        self.mul_in_shifted = shifted.astype(_f64)
        # FIR as a banded matrix: output j of a block is taps · input[j : j + 2r + 1] of the
        # block's window, which starts r before the block
        taps = gaussian_fir().astype(_f32)
        b, width = self.FIR_BLOCK, len(taps)
        band = np.zeros((b + width - 1, b), _f32)
        for j in range(b):
            band[j : j + width, j] = taps
        self.fir_radius = width // 2
        self.band = band
        self.band_t = np.ascontiguousarray(band.T)
        # fast XYB: linear RGB → LMS, then cube roots → SSIMULACRA 2's X, Y, B (with its offsets)
        to_xyb = np.array([[7.0, -7.0, 0.0], [0.5, 0.5, 0.0], [-0.5, -0.5, 1.0]])
        offset = np.array([0.42, 0.01, 0.55]) + to_xyb @ np.full(3, float(NEG_CBRT_BIAS))
        self.to_xyb = to_xyb.astype(_f32)
        self.xyb_offset = offset.astype(_f32)[:, None]


@functools.lru_cache(maxsize=None)
def _consts() -> _Consts:
    return _Consts()


def _iir_schedule(width: int, n_rad: int) -> tuple[int, int]:
    """libjxl's horizontal schedule for a row of ``width``: steps ``j < first_end`` are single,
    then ``blocks`` blocks of 4, then single steps to the end (step j is n = j − N + 1)."""
    first_end = min(-(-(n_rad + 1) // 4) * 4, width) + n_rad - 1
    return first_end, max(0, -(-(width - 3 - first_end) // 4))


def _iir_horizontal(x: np.ndarray, k: _Consts) -> np.ndarray:
    """libjxl ``FastGaussian1D`` along the first axis of ``(W, R)`` float32 (one row per column,
    time-major so that each step is contiguous and all rows advance together), rounding for
    rounding, on libjxl's schedule (:func:`_iir_schedule`). A fused multiply-add is a float64
    ``a + b·c`` of float32 values (the product is exact, the sum is rounded once) rounded to
    float32 when stored in the float32 buffer ``ys``.
    """
    n_rad = k.radius
    width, rows = x.shape
    pad = np.zeros((width + 3 * n_rad, rows), _f32)
    pad[2 * n_rad : 2 * n_rad + width] = x
    count = width + n_rad - 1
    s = pad[:count] + pad[2 * n_rad : 2 * n_rad + count]  # x[n−N−1] + x[n+N−1]
    ins = s[:, None, :] * k.n2_f32[:, None]  # input terms of single steps, float32 products
    ys = np.zeros((count + 2, 3, rows), _f32)  # y_k[n], after two rows of zero state
    mul_prev0 = k.mul_prev0[:, None]

    def single(j: int) -> None:
        v = ins[j] - ys[j]  # fma(−1, y[n−2], v) is a float32 subtraction
        ys[j + 2] = ys[j + 1] * mul_prev0 + v  # float64, rounded once to float32 on storing

    first_end, blocks = _iir_schedule(width, n_rad)
    for j in range(first_end):
        single(j)
    if blocks:
        lanes = s[first_end : first_end + 4 * blocks].reshape(blocks, 4, 1, 1, rows)  # (block, input lane, ., ., row)
        # every lane's input terms, all blocks at once: in0·mul_in[j], then fused adds of in1…in3
        u = lanes[:, 0] * k.mul_in[..., None]  # (block, k, output lane, row), float32 products
        for i in (1, 2, 3):
            u = (lanes[:, i] * k.mul_in_shifted[i][..., None] + u).astype(_f32)
        mul_prev2, mul_prev = k.mul_prev2[..., None], k.mul_prev[..., None]
        for b in range(blocks):  # the recursion proper: two fused multiply-adds per lane
            j = first_end + 4 * b
            v = (ys[j, :, None] * mul_prev2 + u[b]).astype(_f32)
            ys[j + 2 : j + 6] = (ys[j + 1, :, None] * mul_prev + v).transpose(1, 0, 2)
    for j in range(first_end + 4 * blocks, count):
        single(j)
    out = ys[n_rad + 1 :]
    return out[:, 0] + (out[:, 1] + out[:, 2])


def _iir_vertical(x: np.ndarray, k: _Consts) -> np.ndarray:
    """libjxl ``FastGaussianVertical`` along the first axis of ``(H, C)`` float32, rounding for
    rounding: ``y[n] = fma(n2, s, fnmsub(d1, y[n−1], y[n−2]))``, i.e. ``n2·s − round(d1·y[n−1]
    + y[n−2])`` rounded."""
    n_rad = k.radius
    height, cols = x.shape
    pad = np.zeros((height + 3 * n_rad, cols), _f32)
    pad[2 * n_rad : 2 * n_rad + height] = x
    count = height + n_rad - 1
    s = pad[:count] + pad[2 * n_rad : 2 * n_rad + count]
    n2s = s[:, None, :].astype(_f64) * k.n2_64[:, None]  # exact products, (count, 3, C)
    d1 = k.d1_64[:, None]
    ys = np.zeros((count + 2, 3, cols), _f32)  # two rows of zero state first
    inner = np.empty((3, cols), _f32)
    for j in range(count):
        np.add(ys[j + 1] * d1, ys[j], out=inner, casting="same_kind")  # rounded to float32
        np.subtract(n2s[j], inner, out=ys[j + 2], casting="same_kind")
    out = ys[n_rad + 1 :]
    return out[:, 0] + (out[:, 1] + out[:, 2])


def _blur_exact(x: np.ndarray, k: _Consts) -> np.ndarray:
    """libjxl ``FastGaussian`` (horizontal, then vertical) of ``(B, H, W)`` float32, bit for bit."""
    b, h, w = x.shape
    t = _iir_horizontal(x.transpose(2, 0, 1).reshape(w, b * h), k)  # (w, b·h)
    t = _iir_vertical(t.reshape(w, b, h).transpose(2, 1, 0).reshape(h, b * w), k)  # (h, b·w)
    return t.reshape(h, b, w).transpose(1, 0, 2)


def _blur_fir_rows(x: np.ndarray, k: _Consts) -> np.ndarray:
    """The same Gaussian as a separable FIR filter, float32, on a stripe: ``(B, S + 2r, W)``
    whose ``r`` extra rows above and below are the neighbouring rows (zeros beyond the image)
    → ``(B, S, W)``, zero padding left and right. Each pass multiplies windows of
    ``FIR_BLOCK + 2r`` samples by a banded matrix: BLAS matrix products, 3× faster than nine
    shifted multiply-adds per pass (1.3 vs 4.0 ms on a Kodak stripe of 12 planes × 40 × 768)."""
    b, rows, w = x.shape
    r, blk = k.fir_radius, k.FIR_BLOCK
    win = blk + 2 * r
    nb = -(-w // blk)  # along rows: windows of columns, one per block of columns
    p = np.zeros((b * rows, nb * blk + 2 * r), _f32)
    p[:, r : r + w] = x.reshape(b * rows, w)
    windows = sliding_window_view(p, win, axis=1)[:, ::blk]  # (b·rows, nb, win), a view
    t = (windows.reshape(-1, win) @ k.band).reshape(b, rows, nb * blk)
    out_rows = rows - 2 * r
    nb = -(-out_rows // blk)  # along columns: the transposed band times windows of rows
    if nb * blk != out_rows:
        grown = np.zeros((b, nb * blk + 2 * r, t.shape[-1]), _f32)
        grown[:, :rows] = t
        t = grown
    windows = sliding_window_view(t, win, axis=1)[:, ::blk].transpose(0, 1, 3, 2)  # (B, nb, win, W·)
    out = np.matmul(k.band_t, windows)  # (B, nb, blk, W·)
    return out.reshape(b, nb * blk, -1)[:, :out_rows, :w]


def _cbrt_add(x: np.ndarray, add: float) -> np.ndarray:
    """libjxl ``CubeRootAndAdd``: bit-trick first guess, 3 Newton steps for x^(−1/3), a fourth
    in fused form, then ``r²·x + add``; float32 rounding for rounding."""
    third, four_thirds = _f32(1.0 / 3), _f32(4.0 / 3)
    x_3 = x * third
    bits = x.view(np.int32)
    guess = np.where(bits == 0, 0, 0x54800000 - (bits >> 23) * 0x002AAAAA).astype(np.int32)
    r = guess.view(_f32)
    x_3d, xd = x_3.astype(_f64), x.astype(_f64)
    for _ in range(3):
        r2 = r * r
        r = ((r * four_thirds).astype(_f64) - x_3d * (r2 * r2)).astype(_f32)
    r2 = r * r
    t = (r - xd * (r2 * r2)).astype(_f32)
    r = (r + float(third) * t.astype(_f64)).astype(_f32)
    return (xd * (r * r) + add).astype(_f32)


def _to_xyb(lin: np.ndarray, exact: bool, k: _Consts) -> np.ndarray:
    """``(B, 3, H, W)`` linear RGB → SSIMULACRA 2's positive XYB (float32). ``exact`` follows
    libjxl's operation order and cube-root approximation; otherwise plain float32 products."""
    b, _, h, w = lin.shape
    if not exact:
        lms = np.matmul(OPSIN, lin.reshape(b, 3, h * w))
        lms += OPSIN_BIAS
        np.maximum(lms, _f32(1e-30), out=lms)
        np.cbrt(lms, out=lms)
        xyb = np.matmul(k.to_xyb, lms)
        xyb += k.xyb_offset
        return xyb.reshape(b, 3, h, w)
    r, g, bl = (lin[:, c].astype(_f64) for c in range(3))
    m = OPSIN
    lms = []
    for i in range(3):  # fma(m0, r, fma(m1, g, fma(m2, b, bias))), each rounded to float32
        acc = (bl * float(m[i, 2]) + float(OPSIN_BIAS)).astype(_f32)
        acc = (g * float(m[i, 1]) + acc).astype(_f32)
        acc = (r * float(m[i, 0]) + acc).astype(_f32)
        lms.append(_cbrt_add(np.maximum(acc, _f32(0)), float(NEG_CBRT_BIAS)))
    l_, m_, s_ = lms
    y = (l_ + m_) * _f32(0.5)
    return np.stack([((l_ - m_) * _f32(0.5)) * _f32(14.0) + _f32(0.42), y + _f32(0.01), (s_ - y) + _f32(0.55)], axis=1)


def _downsample(lin: np.ndarray) -> np.ndarray:
    """2×2 box average of ``(B, 3, H, W)``, the last row/column repeated when odd; libjxl's sum order."""
    h, w = lin.shape[-2:]
    if h % 2 or w % 2:
        lin = np.pad(lin, ((0, 0), (0, 0), (0, h % 2), (0, w % 2)), mode="edge")
    return (((lin[..., 0::2, 0::2] + lin[..., 0::2, 1::2]) + lin[..., 1::2, 0::2]) + lin[..., 1::2, 1::2]) * _f32(0.25)


def _map_sums(x1, x2, mu1, mu2, s12, variances) -> np.ndarray:
    """The three error maps of ``(N, C, H, W)`` float32 inputs, each summed over the image, plain
    and to the 4th power, in float64 → ``(N, C, 3 maps, 2)``. ``variances`` is σ1² + σ2² (blurred
    squares minus squared means), which the callers compute each in their own order; it is
    overwritten."""
    diff = mu1 - mu2
    num_m = diff * diff
    np.subtract(_f32(1), num_m, out=num_m)
    num_s = mu1 * mu2
    np.subtract(s12, num_s, out=num_s)
    num_s *= _f32(2)
    num_s += _f32(C2)
    ssim = num_m
    ssim *= num_s
    variances += _f32(C2)
    ssim /= variances
    np.subtract(_f32(1), ssim, out=ssim)
    np.maximum(ssim, _f32(0), out=ssim)
    del diff, num_s
    # (1 + a2)/(1 + a1) − 1, written (a2 − a1)/(1 + a1)
    a1 = np.abs(x1 - mu1)
    edge = np.abs(x2 - mu2)
    edge -= a1
    a1 += _f32(1)
    edge /= a1
    del a1
    artifact = np.maximum(edge, _f32(0))
    np.negative(edge, out=edge)
    np.maximum(edge, _f32(0), out=edge)
    out = np.empty((*x1.shape[:2], 3, 2), _f64)
    for i, m in enumerate((ssim, artifact, edge)):
        out[..., i, 0] = m.sum(axis=(-2, -1), dtype=_f64)
        np.multiply(m, m, out=m)
        np.multiply(m, m, out=m)
        out[..., i, 1] = m.sum(axis=(-2, -1), dtype=_f64)
    return out


def _sums_exact(xyb: np.ndarray, k: _Consts) -> np.ndarray:
    """Map sums of a coarse scale (XYB of references then distorted images), blurred as the
    tool blurs (:func:`_blur_exact`), in its order of operations."""
    n = xyb.shape[0] // 2
    x1, x2 = xyb[:n], xyb[n:]
    planes = np.empty((5, *x1.shape), _f32)
    planes[0], planes[1] = x1, x2
    np.multiply(x1, x1, out=planes[2])
    np.multiply(x2, x2, out=planes[3])
    np.multiply(x1, x2, out=planes[4])
    blurred = _blur_exact(planes.reshape(-1, *xyb.shape[-2:]), k).reshape(5, n, 3, *xyb.shape[-2:])
    mu1, mu2, s11, s22, s12 = blurred
    variances = (s11 - mu1 * mu1) + (s22 - mu2 * mu2)  # ((s11 − μ1²) + (s22 − μ2²)) + C2
    return _map_sums(x1, x2, mu1, mu2, s12, variances)


def _sums_fir(lin: np.ndarray, k: _Consts, stripe: int) -> np.ndarray:
    """Map sums of one fine scale from linear RGB ``(2N, 3, H, W)`` (references, then distorted
    images), a stripe of ``stripe`` rows at a time: XYB, products and blur only ever exist for
    one stripe (plus the blur's ``r`` rows of context), which bounds memory and stays in cache."""
    n2, _, h, w = lin.shape
    n = n2 // 2
    r = k.fir_radius
    total = np.zeros((n, 3, 3, 2), _f64)
    for y0 in range(0, h, stripe):
        y1 = min(h, y0 + stripe)
        a, b = max(0, y0 - r), min(h, y1 + r)
        xyb = _to_xyb(lin[..., a:b, :], False, k)
        # blurred: x1, x2, x1² + x2² (only σ1² + σ2² is needed) and x1·x2
        planes = np.zeros((4, n, 3, y1 - y0 + 2 * r, w), _f32)
        top = a - (y0 - r)
        ctx = planes[..., top : top + b - a, :]
        x1, x2 = xyb[:n], xyb[n:]
        ctx[0], ctx[1] = x1, x2
        np.multiply(x1, x1, out=ctx[2])
        ctx[2] += x2 * x2
        np.multiply(x1, x2, out=ctx[3])
        blurred = _blur_fir_rows(planes.reshape(-1, y1 - y0 + 2 * r, w), k).reshape(4, n, 3, y1 - y0, w)
        del planes, ctx
        mu1, mu2, squares, s12 = blurred
        means = mu1 * mu1
        means += mu2 * mu2
        variances = squares - means
        rows = slice(y0 - a, y1 - a)
        total += _map_sums(x1[:, :, rows], x2[:, :, rows], mu1, mu2, s12, variances)
    return total


def _linear(refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
    """``(2N, 3, H, W)`` float32 linear RGB of references then distorted images (uint8 sRGB in)."""
    images = [*refs, *dists]
    h, w = images[0].shape[:2]
    lin = np.empty((len(images), 3, h, w), _f32)
    table = srgb_to_linear_table()
    for i, image in enumerate(images):
        for c in range(3):  # a channel at a time: no float32 copy of a whole image beside ``lin``
            lin[i, c] = table[image[..., c]]
    return lin


def _features_batch(refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
    """Features of same-shape pairs (uint8 ``(H, W, 3)``) → ``(N, scales, 3, 2, 3)`` float64:
    per scale and channel, the [1-norm, 4-norm] × [SSIM, artifact, detail lost] values."""
    k = _consts()
    n = len(refs)
    lin = _linear(refs, dists)
    sums = []
    for scale in range(NUM_SCALES):
        if min(lin.shape[-2:]) < MIN_SIDE:
            break  # the tool stops when the previous scale is smaller than 8 px
        if scale:
            lin = _downsample(lin)
        if scale >= EXACT_FROM_SCALE or lin.shape[-1] * lin.shape[-2] <= EXACT_MAX_PIXELS:
            sums.append(_sums_exact(_to_xyb(lin, True, k), k))
        else:
            stripe = max(k.FIR_BLOCK, (_STRIPE_PIXELS // (n * lin.shape[-1])) // k.FIR_BLOCK * k.FIR_BLOCK)
            sums.append(_sums_fir(lin, k, stripe))
    feats = []
    for scale_sums, (h, w) in zip(sums, _scale_sizes(refs[0].shape[:2], len(sums))):
        means = scale_sums / (h * w)
        means[..., 1] = np.sqrt(np.sqrt(means[..., 1]))
        feats.append(np.swapaxes(means, -1, -2))  # (N, C, norm, map)
    return np.stack(feats, axis=1)


def _scale_sizes(size: tuple[int, int], scales: int) -> list[tuple[int, int]]:
    """``(H, W)`` of each scale: halved, rounded up."""
    out = [size]
    for _ in range(scales - 1):
        h, w = out[-1]
        out.append(((h + 1) // 2, (w + 1) // 2))
    return out


#: Pixels of all pairs of a batch per stripe of a fine scale (rows rounded to FIR blocks).
_STRIPE_PIXELS = 32 * 768


def score_from_features(features: np.ndarray) -> np.ndarray:
    """SSIMULACRA 2.1 scores from ``(N, scales, 3, 2, 3)`` features (float64).

    The weights are read in the tool's order (channel, scale, norm, map); with fewer than six
    scales the tool's running index shifts the weights, and so does this function.
    """
    n, scales = features.shape[:2]
    ordered = np.abs(features).transpose(0, 2, 1, 3, 4).reshape(n, -1)  # channel, scale, norm, map
    s = ordered @ WEIGHTS[: ordered.shape[1]]
    s = s * 0.9562382616834844
    s = 2.326765642916932 * s - 0.020884521182843837 * s * s + 6.248496625763138e-05 * s * s * s
    with np.errstate(invalid="ignore"):
        return np.where(s > 0, 100.0 - 10.0 * np.power(np.maximum(s, 0.0), 0.6276336467831387), 100.0)


@register
class SSIMULACRA2(Metric):
    """SSIMULACRA 2.1 of sRGB uint8 pairs, as the reference tool computes it (module docstring).

    :meth:`compute` takes ``(H, W, 3)`` uint8 sRGB pairs (values in [0, 255], each side at
    least 8 px, each pair of one shape) and returns one float64 score per pair: at most 100,
    higher is better; 100 identical, ≥ 90 visually lossless, 70 high quality, 50 medium,
    30 low, 10 very low, negative for very strong distortion. Pairs of one size run as one
    batch (at most ``batch_pixels`` pixels). numpy only (no PyTorch; ``device`` is ignored).
    Memory: about 27 bytes per pixel of a pair beyond the images (24 for the float32 linear
    RGB of both images, the rest for stripes of constant size), measured on 24 Mpx.
    """

    name = "ssimulacra2"
    higher_is_better = True
    range = (None, 100.0)
    saturation = None  # 100 means identical; it keeps ranking up to there
    unit = ""
    description = "SSIMULACRA 2.1, sRGB → XYB, 6 scales, SSIM + edge maps, score ≤ 100 (90+ visually lossless)"
    reference = Reference(
        "ssimulacra2 C++ tool", "2.1 (cloudinary/ssimulacra2 81feacf)", 0.10, "../shared's 88 Kodak reference pairs",
        "tests/test_metrics_ssimulacra2.py::test_equals_reference_tool_on_88_kodak_pairs",
        "mean |Δ| 0.010 (≤ 0.012 asserted); images ≤ 128×128 px to 1e-6",
    )
    version = "2.1-2"  # 2.1-1: PyTorch; numpy's float32 noise moves Kodak scores by up to 1.4e-3
    default = True  # ~0.1 s per Kodak pair on one CPU core
    min_side = MIN_SIDE
    #: Peak working memory measured (RSS) on one pair: 27 B/px at 24 Mpx.
    memory_per_pixel = 64.0
    #: Most pixels per batch of same-size pairs: one Kodak pair. Larger batches gain nothing in numpy
    #: (their stripes leave the cache): 8 Kodak pairs took 67 ms of CPU per pair one at a time, 74 four at a time.
    batch_pixels = 768 * 512

    def _compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        out = np.empty(len(refs), dtype=np.float64)
        for (h, w, _), indices in group_by_shape(refs).items():
            step = max(1, self.batch_pixels // (h * w))
            for start in range(0, len(indices), step):
                chunk = indices[start : start + step]
                feats = _features_batch([refs[i] for i in chunk], [dists[i] for i in chunk])
                out[chunk] = score_from_features(feats)
        return out


def ssimulacra2(ref: np.ndarray, dist: np.ndarray) -> float:
    """SSIMULACRA 2.1 score of one image pair, as the reference tool computes it.

    Parameters
    ----------
    ref, dist : (H, W, 3) uint8 ndarray
        Reference and distorted image, sRGB, values in [0, 255], one shape, each side ≥ 8 px.

    Returns
    -------
    score : float
        At most 100, higher is better: 100 identical, ≥ 90 visually lossless, 70 high
        quality, 50 medium, 30 low, 10 very low, negative for very strong distortion.

    Raises
    ------
    qualitykit.errors.BadInput
        Not ``(H, W, 3)`` uint8, shapes differ, or a side under 8 px (the tool's minimum).
    """
    return SSIMULACRA2()(ref, dist)
