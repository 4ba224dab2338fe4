"""IW-SSIM, information content weighted SSIM (Wang & Li, IEEE TIP 20(5), 2011): ``iw-ssim``.

qk's own NumPy implementation (no PyTorch: the core install has it). It equals the PyTorch port of
Wang's MATLAB ``iwssim.m`` that JPEG AI's evaluation runs (``IW_SSIM_PyTorch.py`` of the JPEG AI
reference software, itself from Python-IW-SSIM) in float64 (``use_double=True``) to 1e-10 on Kodak
JPEG pairs (``tests/test_metrics_iw_ssim.py``; provenance of the values in
``tests/expected/iw_ssim_reference.json``), level weights rounded to float32 as the port has them
(:data:`WEIGHTS`). JPEG AI's framework computes on a GPU by default, in float32: Python-IW-SSIM's
float32 run differs from its float64 run by up to 8e-5 on the same pairs (mean 4e-6), an estimate
of how far such figures sit from these.
The algorithm, on two 2-D luma planes in [0, 255]:

1. **Laplacian pyramid**, 5 bands, of each image (matlabPyrTools ``buildLpyr``/pyrtools
   ``LaplacianPyramid``): the ``binom5`` filter ``√2·[1 4 6 4 1]/16`` along each axis, edges
   reflected about the edge pixel (``reflect1``); reduce = filter, keep even samples (a side of n
   becomes ⌈n/2⌉); band = image − expand(reduce(image)), expand = zeros between the samples, the
   same filter, the same edges; the fifth band is the last low-pass image.
2. **SSIM terms per band**: 11×11 Gaussian window (σ = 1.5), valid region only, K = (0.01, 0.03),
   L = 255, variances clamped at 0; the contrast-structure map ``cs`` at every band, the luminance
   map ``l`` at the fifth.
3. **Information content weights** of bands 1–4 (a Gaussian scale mixture model of the reference's
   coefficients): at each pixel, 3×3 means give the gain ``g = cov(x, y)/var(x)`` and the residual
   variance ``vv = var(y) − g·cov(x, y)`` (``g = 0, vv = var(y)`` where ``var(x) < 1e-15``;
   ``g = vv = 0`` where ``var(y) < 1e-15``); the neighbourhood vector is the reference's 3×3
   coefficients plus, for bands 1–3, the parent (the next band enlarged 2× by bilinear
   interpolation at ``i/2 − 1/4``, as the port's ``imenlarge2``); ``C_u`` is the mean outer
   product of those vectors over the band's interior, λ its eigenvalues, ``s = vᵀ C_u⁻¹ v / N``
   the mixture multiplier at each pixel (N = 10 or 9), and the weight is
   ``Σ_j log2(1 + ((vv + (1 + g²)·σn²)·s·λ_j + σn²·vv) / σn⁴)`` with σn² = 0.4 (values below
   1e-15 become 0), cropped to the SSIM maps' valid region.
4. **Pooling**: per band the ``iw``-weighted mean of ``cs`` (band 5: the plain mean of ``l·cs``),
   then ``∏ |mean_b|^w_b`` with w = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333) (as float32). The port takes the
   absolute value (MATLAB's ``iwssim.m`` would return a complex number for a negative mean), so
   scores lie in [0, 1] (|cs| ≤ 1 and |l| ≤ 1); 1 for identical images. Higher is better. A
   negative mean counts as its magnitude: Kodak's kodim05 against its own negative (255 − RGB)
   scores 0.866 — anticorrelated structure is not told from correlated structure.

**Where JPEG AI's port departs from Wang's MATLAB code** (``iwssim.m``; no MATLAB values could be
computed here), qk follows the port: MATLAB divides the level weights by their sum (1.0001),
the port does not (a score ``v`` becomes ``v^(1/1.0001)`` in MATLAB: about 6e-6 higher at 0.94)
and rounds them to float32 (~1e-9); MATLAB's ``imenlarge2`` resizes with ``imresize`` (pixel
centres aligned), the port's with aligned corners (Python-IW-SSIM, which the port copied, kept
pixel centres: it differs from the port by up to 5.5e-5 on the Kodak JPEG pairs, by 6e-16 once
it aligns corners too); MATLAB weights with the eigenvalues after clamping negative ones, the port
with them as computed (equal unless λ < 0; qk refuses singular covariances); MATLAB would return
a complex number where the port takes |mean|.

**Sizes.** Each side needs at least :data:`MIN_SIDE` = 176 px, ``iwssim.m``'s own rule (11 × 2⁴:
the window at the fifth band); JPEG AI's framework instead pads smaller images with zeros to
256 px. A reference whose band has a singular neighbourhood covariance (a flat or purely
synthetic image) has no information content weights: :class:`~qualitykit.errors.BadInput`.

**Memory and cost.** The pyramids of both images are held (≈ 2.7 float64 planes of the image
size); each is built in blocks of rows, each band in place of its image, and the band statistics
are computed in strips of rows (two passes per band: ``C_u``, then the maps). Measured (one
thread, tracemalloc): 768×512 0.2 s and 30 MiB per pair (the port: 2.5 s); 6000×4000 12 s and 702 MiB.

:func:`iw_ssim_y` scores two luma planes; the registered metric ``iw-ssim`` gives it the Y of
RGB with BT.601 weights, ``0.299 R + 0.587 G + 0.114 B``, rounded to integers (MATLAB's
``rgb2gray`` returns uint8 for uint8 RGB; Python-IW-SSIM's ``rgb2gray`` rounds likewise).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import register
from ..errors import BadInput
from ._filters import blur_valid, gaussian_taps
from .base import Metric, Reference

LEVELS = 5
#: The level weights of Wang et al. (2003), 0.0448, 0.2856, 0.3001, 0.2363, 0.1333, as the port uses them:
#: rounded to float32 (it builds them with ``torch.tensor(list)``), then widened. Up to 2e-9 apart in
#: scores from the decimals on the reference pairs; MATLAB's ``iwssim.m`` departs far more (it divides
#: them by their sum, 1.0001).
WEIGHTS = tuple(float(np.float32(w)) for w in (0.0448, 0.2856, 0.3001, 0.2363, 0.1333))
K1, K2 = 0.01, 0.03
DATA_RANGE = 255.0
WIN_SIZE = 11
WIN_SIGMA = 1.5
#: σn², the variance of the visual noise in the GSM model.
SIGMA_NSQ = 0.4
#: Below this a variance (or a weight) counts as zero.
TOL = 1e-15
#: A band whose largest neighbourhood-covariance eigenvalue is below this (grey levels²) has no
#: detail: a flat image's bands hold rounding noise (~1e-28); Kodak photographs' smallest
#: eigenvalues are 4.7–96, their largest 179–2.2e4.
DETAIL_FLOOR = 1e-10
#: Smallest/largest eigenvalue at or below this: the covariance is singular (its inverse is noise).
SINGULAR_RATIO = 1e-12
#: Each side, as ``iwssim.m`` requires: 11 × 2⁴ (the fifth band, ⌈n/16⌉ px, then holds an 11-px window).
MIN_SIDE = WIN_SIZE * 2 ** (LEVELS - 1)
#: Interior positions (or output pixels) per strip: bounds the working set whatever the image size.
STRIP_PIXELS = 1 << 16
#: ``binom5`` of matlabPyrTools: binomial coefficients of order 4, normalised to sum √2.
BINOM5 = np.sqrt(2.0) * np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0

_HALF = (WIN_SIZE - 1) // 2  # rows (columns) of window beyond the centre
#: The 3×3 neighbourhood's rows (columns) beyond the centre.
_NB = 1


_GAUSS = gaussian_taps(WIN_SIZE, WIN_SIGMA)


def _reduce_axis(a: np.ndarray, axis: int) -> np.ndarray:
    """``binom5`` correlation along ``axis`` with edges reflected about the edge sample, even samples kept
    (n → ⌈n/2⌉): pyrtools' ``corrDn(..., 'reflect1', step=2)``."""
    a = np.moveaxis(a, axis, 0)
    n = a.shape[0]
    m = (n + 1) // 2
    padded = np.pad(a, [(2, 2)] + [(0, 0)] * (a.ndim - 1), mode="reflect")
    out = padded[0 : 2 * m - 1 : 2] * BINOM5[0]
    for t in range(1, 5):
        out += padded[t : t + 2 * m - 1 : 2] * BINOM5[t]
    return np.moveaxis(out, 0, axis)


def _expand_axis(a: np.ndarray, n: int, axis: int) -> np.ndarray:
    """The ``m = ⌈n/2⌉`` samples along ``axis`` placed at the even positions of ``n`` zeros, correlated with
    ``binom5``, edges reflected about the edge position: pyrtools' ``upConv(..., 'reflect1', step=2)``.

    Polyphase: output ``2k`` is ``f0·x[k−1] + f2·x[k] + f4·x[k+1]``, output ``2k+1`` is ``f1·x[k] + f3·x[k+1]``,
    with ``x[−1] = x[1]`` and ``x[m] = x[m−1]`` (n even) or ``x[m−2]`` (n odd) — the reflection of the
    zero-filled signal about its first and last positions.
    """
    a = np.moveaxis(a, axis, 0)
    m = a.shape[0]
    assert m == (n + 1) // 2 and m >= 2
    right = a[m - 1 : m] if n % 2 == 0 else a[m - 2 : m - 1]
    ext = np.concatenate((a[1:2], a, right), axis=0)  # ext[k + 1] = x[k]
    out = np.empty((n,) + a.shape[1:])
    even = out[0::2]
    np.multiply(ext[0:m], BINOM5[0], out=even)
    even += ext[1 : m + 1] * BINOM5[2]
    even += ext[2 : m + 2] * BINOM5[4]
    odd = out[1::2]
    k = n // 2
    np.multiply(ext[1 : k + 1], BINOM5[1], out=odd)
    odd += ext[2 : k + 2] * BINOM5[3]
    return np.moveaxis(out, 0, axis)


def laplacian_pyramid(image: np.ndarray, levels: int = LEVELS, overwrite: bool = False) -> list[np.ndarray]:
    """The ``levels`` bands of ``image`` (finest first, the last one the low-pass residual), as
    matlabPyrTools' ``buildLpyr(image, levels)`` with ``binom5`` and ``reflect1`` edges.

    The steps along rows run in blocks of rows and each band is computed in place of its image, so
    building holds about two planes of the image size beside the bands; ``overwrite``: a float64
    ``image`` itself becomes the first band (one plane fewer; the caller's array is changed)."""
    current = np.array(image, dtype=np.float64, copy=not overwrite)
    bands = []
    for _ in range(levels - 1):
        h, w = current.shape
        step = max(1, STRIP_PIXELS // w)
        half = np.empty((h, (w + 1) // 2))
        for a in range(0, h, step):
            half[a : a + step] = _reduce_axis(current[a : a + step], 1)
        low = _reduce_axis(half, 0)
        del half
        up = _expand_axis(low, h, 0)
        for a in range(0, h, step):
            current[a : a + step] -= _expand_axis(up[a : a + step], w, 1)
        bands.append(current)
        current = low
    bands.append(current)
    return bands


def _enlarge_rows(p: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` (child positions, each in ``1 … 2·len(p) − 2``) of ``p`` enlarged 2×: child row ``i`` sits
    at parent coordinate ``i/2 − 1/4``: ``¾·p[i//2] + ¼·p[i//2 − 1]`` (i even) or ``+ ¼·p[i//2 + 1]`` (i odd)."""
    near = rows // 2
    far = np.where(rows % 2 == 0, near - 1, near + 1)
    return 0.75 * p[near] + 0.25 * p[far]


def _parent(p: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The parent band ``p`` enlarged 2× (bilinear, the port's ``imenlarge2``) at child rows × columns."""
    return _enlarge_rows(_enlarge_rows(p, rows).T, cols).T


def _neighbourhoods(x: np.ndarray, parent: np.ndarray | None, r0: int, r1: int) -> np.ndarray:
    """``(positions, N)``: the 3×3 neighbours of band ``x`` at rows ``r0 … r1 − 1``, columns ``1 … W − 2``
    (interior positions, row-major), then the enlarged parent there if any."""
    w = x.shape[1]
    cols = w - 2 * _NB
    columns = []
    for dy in range(-_NB, _NB + 1):
        for dx in range(-_NB, _NB + 1):
            columns.append(x[r0 + dy : r1 + dy, _NB + dx : _NB + dx + cols].ravel())
    if parent is not None:
        columns.append(_parent(parent, np.arange(r0, r1), np.arange(_NB, _NB + cols)).ravel())
    return np.stack(columns, axis=1)


def _strips(first: int, stop: int, width: int) -> list[tuple[int, int]]:
    """Row ranges covering ``first … stop − 1``, each about :data:`STRIP_PIXELS` pixels of ``width``."""
    step = max(1, STRIP_PIXELS // max(1, width))
    return [(a, min(stop, a + step)) for a in range(first, stop, step)]


def _gsm(x: np.ndarray, parent: np.ndarray | None, level: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues λ of the reference band's neighbourhood covariance ``C_u`` and ``C_u⁻¹`` (over every
    interior position). A singular covariance (a flat or synthetic reference: the largest λ below
    :data:`DETAIL_FLOOR`, or the smallest at most :data:`SINGULAR_RATIO` of it) is refused: the
    weights would be rounding noise."""
    h, w = x.shape
    n_pos = (h - 2 * _NB) * (w - 2 * _NB)
    size = 9 + (parent is not None)
    c_u = np.zeros((size, size))
    for r0, r1 in _strips(_NB, h - _NB, w):
        y = _neighbourhoods(x, parent, r0, r1)
        c_u += y.T @ y
    c_u /= n_pos
    eigenvalues, vectors = np.linalg.eigh(c_u)  # ascending
    if eigenvalues[-1] < DETAIL_FLOOR or eigenvalues[0] <= SINGULAR_RATIO * eigenvalues[-1]:
        raise BadInput(
            f"iw-ssim: the reference image has no usable detail at pyramid band {level + 1} (its "
            f"coefficients' neighbourhood covariance is singular: a flat or synthetic image); "
            f"IW-SSIM's information content weights are undefined for it"
        )
    inverse = (vectors / eigenvalues) @ vectors.T
    return eigenvalues, inverse


def _box3(a: np.ndarray) -> np.ndarray:
    """3×3 means at the interior positions of ``a`` (valid region: 2 rows and columns fewer)."""
    rows = a[:-2] + a[1:-1] + a[2:]
    return (rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]) / 9.0


def _band_value(x: np.ndarray, y: np.ndarray, parent: np.ndarray | None, level: int) -> float:
    """The pooled value of one band: the iw-weighted mean of ``cs`` (bands 1–4) or the mean of ``l·cs`` (band 5)."""
    c1 = (K1 * DATA_RANGE) ** 2
    c2 = (K2 * DATA_RANGE) ** 2
    h, w = x.shape
    last = level == LEVELS - 1
    if not last:
        eigenvalues, inverse = _gsm(x, parent, level)
        size = len(eigenvalues)
    weighted = 0.0
    total = 0.0
    # output (valid) rows o = 0 … h − 11 are band rows o + 5; strip [a, b) needs band rows a … b + 9
    for a, b in _strips(0, h - 2 * _HALF, w):
        xs = x[a : b + 2 * _HALF]
        ys = y[a : b + 2 * _HALF]
        mu1 = blur_valid(xs, _GAUSS)
        mu2 = blur_valid(ys, _GAUSS)
        var1 = np.maximum(blur_valid(xs * xs, _GAUSS) - mu1 * mu1, 0.0)
        var2 = np.maximum(blur_valid(ys * ys, _GAUSS) - mu2 * mu2, 0.0)
        cov = blur_valid(xs * ys, _GAUSS) - mu1 * mu2
        cs = (2.0 * cov + c2) / (var1 + var2 + c2)
        if last:
            cs *= (2.0 * mu1 * mu2 + c1) / (mu1 * mu1 + mu2 * mu2 + c1)
            weighted += cs.sum()
            total += cs.size
            continue
        # 3×3 statistics at band rows a + 5 … b + 4, columns 5 … w − 6 (need rows a + 4 … b + 5)
        lo, hi = a + _HALF - _NB, b + _HALF + _NB
        xb = x[lo:hi, _HALF - _NB : w - _HALF + _NB]
        yb = y[lo:hi, _HALF - _NB : w - _HALF + _NB]
        mean_x = _box3(xb)
        mean_y = _box3(yb)
        cov_xy = _box3(xb * yb) - mean_x * mean_y
        ss_x = np.maximum(_box3(xb * xb) - mean_x * mean_x, 0.0)
        ss_y = np.maximum(_box3(yb * yb) - mean_y * mean_y, 0.0)
        g = cov_xy / (ss_x + TOL)
        vv = ss_y - g * cov_xy
        flat_x = ss_x < TOL
        g[flat_x] = 0.0
        vv[flat_x] = ss_y[flat_x]
        flat_y = ss_y < TOL
        g[flat_y] = 0.0
        vv[flat_y] = 0.0
        # GSM multiplier s = vᵀ C_u⁻¹ v / N at the same positions
        nb = _neighbourhoods(x[:, _HALF - _NB : w - _HALF + _NB], None, a + _HALF, b + _HALF)
        if parent is not None:
            rows = np.arange(a + _HALF, b + _HALF)
            cols = np.arange(_HALF, w - _HALF)
            nb = np.concatenate((nb, _parent(parent, rows, cols).reshape(-1, 1)), axis=1)
        s = np.einsum("ij,ij->i", nb @ inverse, nb).reshape(cs.shape) / size
        a_term = (vv + (1.0 + g * g) * SIGMA_NSQ) * s
        b_term = SIGMA_NSQ * vv
        iw = np.zeros_like(cs)
        for lam in eigenvalues:
            iw += np.log2(1.0 + (a_term * lam + b_term) / (SIGMA_NSQ * SIGMA_NSQ))
        iw[iw < TOL] = 0.0
        weighted += (cs * iw).sum()
        total += iw.sum()
    return weighted / total


def iw_ssim_y(ref_y: np.ndarray, dist_y: np.ndarray) -> float:
    """IW-SSIM of two luma planes: 2-D arrays of one shape, values in [0, 255] (any real dtype; computed
    in float64), each side at least :data:`MIN_SIDE` px. In [0, 1], higher is better, 1 for identical
    planes. Raises :class:`~qualitykit.errors.BadInput` for other shapes or a flat reference (see the
    module docstring)."""
    ref_y = np.asarray(ref_y)
    dist_y = np.asarray(dist_y)
    if ref_y.ndim != 2 or dist_y.ndim != 2:
        raise BadInput(f"iw-ssim: luma planes must be 2-D, got {ref_y.shape} and {dist_y.shape}")
    if ref_y.shape != dist_y.shape:
        raise BadInput(f"iw-ssim: shapes differ, reference {ref_y.shape} vs distorted {dist_y.shape}")
    if min(ref_y.shape) < MIN_SIDE:
        raise BadInput(
            f"iw-ssim: image is {ref_y.shape[1]}x{ref_y.shape[0]} px; needs at least {MIN_SIDE} px on each side"
        )
    return _pooled(laplacian_pyramid(ref_y), laplacian_pyramid(dist_y))


def _pooled(ref_bands: list[np.ndarray], dist_bands: list[np.ndarray]) -> float:
    """``∏ |band value|^w`` over the five bands of both pyramids (see the module docstring)."""
    score = 1.0
    for level in range(LEVELS):
        parent = ref_bands[level + 1] if level < LEVELS - 2 else None
        value = _band_value(ref_bands[level], dist_bands[level], parent, level)
        score *= abs(value) ** WEIGHTS[level]
    return float(score)


def luma_601(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB → ``0.299 R + 0.587 G + 0.114 B`` rounded to integers (ties to even), float64."""
    y = image[..., 0] * 0.299
    y += image[..., 1] * 0.587
    y += image[..., 2] * 0.114
    return np.rint(y, out=y)


@register
class IWSSIM(Metric):
    """IW-SSIM (Wang & Li 2011) of the BT.601 luma, rounded (see the module docstring): in [0, 1],
    higher is better, 1 for identical images; at least 176 px on each side."""

    name = "iw-ssim"
    higher_is_better = True
    plot_in_db = True
    range = (0.0, 1.0)
    min_side = MIN_SIDE
    version = "1"
    default = False
    description = (
        "IW-SSIM (Wang & Li 2011) of Y = round(0.299 R + 0.587 G + 0.114 B), data range 255; "
        "5-band Laplacian pyramid, information content weighting"
    )
    reference = Reference(
        "JPEG AI reference software IW_SSIM_PyTorch.py (port of Wang's iwssim.m), use_double=True",
        "akarabutov/jpeg-ai-reference-software@faded723ca95", 1e-10,
        "24 Kodak images at JPEG q=10–95, 3 crops (176–256 px), kodim05 against its negative; luma planes",
        "tests/test_metrics_iw_ssim.py::_check",
        "≤ 2.8e-11 seen; values and provenance in tests/expected/iw_ssim_reference.json",
    )  # fmt: skip
    #: Peak working memory beyond the two uint8 images, one pair at a time: both pyramids (2.7 float64
    #: planes of the image size) and one pyramid step (~1.2 planes) — 702 MiB measured for 6000×4000
    #: (30.7 B/px) — plus the strips' fixed share (30 MiB measured in all for 768×512).
    memory_per_pixel = 32.0
    #: The strips' working set, whatever the image size.
    strip_bytes = 24 * 2**20

    @classmethod
    def memory_bytes(cls, pixels: int) -> float:
        return cls.strip_bytes + cls.memory_per_pixel * pixels

    def _compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        out = np.empty(len(refs))
        for i, (r, d) in enumerate(zip(refs, dists)):
            # each luma plane becomes its pyramid's first band: one plane of the image size fewer
            out[i] = _pooled(laplacian_pyramid(luma_601(r), overwrite=True), laplacian_pyramid(luma_601(d), overwrite=True))
        return out
