"""LPIPS's forward pass as qk runs it: ``lpips.LPIPS.forward`` (v0.1, linear heads, spatial mean)
to float noise, faster on the CPU and with memory bounded on huge images.

What differs from calling the model, and why the value does not:

* **Input**: uint8 → ``(v / 127.5 − 1)`` computed in float64 then rounded to float32 (exactly
  ``lpips.im2tensor``), then lpips's ``ScalingLayer`` ``(x − shift) / scale`` in float32 — both
  precomputed for the 256 values per channel, so the input is one table lookup, bit for bit
  what lpips feeds its backbone.
* **Each reference once**: a reference's normalised slice outputs are computed once and every
  distorted image of it is compared with them (a codec's ladder of one image costs one backbone
  pass per rung plus one, not two per rung); ``lpips`` runs both images of every pair.
* **Layer by layer**: the distorted images run slice by slice (channels-last: oneDNN's
  convolutions and pooling are faster on it here); each slice's outputs are normalised,
  differenced with the reference's, passed through its linear head and summed as soon as they
  exist, so one layer's activations of the distorted images are alive at a time (lpips keeps all
  five, normalised, for both images). The same operations as ``lpips.normalize_tensor`` and
  ``NetLinLayer``; spatial sums accumulate in float64.
* **Tiles** (above a size threshold, see :func:`tile_plan`): the image is cut into tiles whose
  cores partition it, each grown by a margin ≥ the backbone's receptive field on every side
  that is not an image border, with tile origins on multiples of the backbone's total stride.
  Each tile's slice outputs then contain, exactly, the global feature map's rows and columns
  that belong to its core (zero padding only at true image borders); those are summed, and
  each layer's sum is divided by the global map's size. Tiled and untiled values differ only
  by float noise (convolutions of another size sum in another order): ≤ 1e-6 relative in
  ``tests/test_metrics_lpips.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .base import by_reference

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Layer:
    """Where one slice's output sits on the input, along one axis: output ``p`` is computed from
    input ``stride·p + offset … stride·p + offset + field − 1`` (offset < 0 reaches into padding)."""

    stride: int
    offset: int
    field: int


def _slices(model: torch.nn.Module) -> list[torch.nn.Module]:
    return [getattr(model.net, f"slice{k}") for k in range(1, model.L + 1)]


def supported(model: torch.nn.Module) -> bool:
    """Whether ``model`` is an ``lpips.LPIPS`` that :func:`pair_sums` reproduces: v0.1, linear heads, no spatial map."""
    return (
        getattr(model, "version", None) == "0.1"
        and getattr(model, "lpips", False)
        and not getattr(model, "spatial", True)
        and hasattr(model, "net")
        and hasattr(model, "scaling_layer")
        and all(hasattr(model.net, f"slice{k}") for k in range(1, getattr(model, "L", 0) + 1))
    )


def input_table(model: torch.nn.Module) -> np.ndarray:
    """``(3, 256)`` float32: the backbone's input for each channel and uint8 value, as lpips computes it."""
    import torch

    unit = torch.from_numpy((np.arange(256) / 127.5 - 1.0).astype(np.float32))  # lpips.im2tensor
    with torch.inference_mode():
        table = model.scaling_layer(unit.to(model.scaling_layer.shift.device).view(1, 1, 1, 256).expand(1, 3, 1, 256))
    return table.reshape(3, 256).cpu().numpy().copy()


def geometry(model: torch.nn.Module) -> list[Layer] | None:
    """Each slice output's :class:`Layer` (square kernels), or ``None`` if a module is not a plain
    convolution, pooling or pointwise layer (then images are never tiled)."""
    from torch import nn

    def pair(v) -> tuple[int, int]:
        return (v, v) if isinstance(v, int) else tuple(v)

    stride, offset, field = 1, 0, 1
    layers = []
    for sl in _slices(model):
        for m in sl:
            if isinstance(m, (nn.ReLU, nn.Dropout, nn.Identity)):
                continue
            if isinstance(m, nn.Conv2d):
                if m.padding_mode != "zeros" or pair(m.dilation) != (1, 1):
                    return None
            elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
                if m.ceil_mode or (isinstance(m, nn.MaxPool2d) and pair(m.dilation) != (1, 1)):
                    return None
            else:
                return None
            k, s, p = pair(m.kernel_size), pair(m.stride), pair(m.padding)
            if not (k[0] == k[1] and s[0] == s[1] and p[0] == p[1]):
                return None
            offset -= stride * p[0]
            field += (k[0] - 1) * stride
            stride *= s[0]
        layers.append(Layer(stride, offset, field))
    return layers


def output_sizes(model: torch.nn.Module, size: int) -> list[int]:
    """Each slice output's length along an axis of ``size`` input pixels (floor rounding, as torch)."""
    from torch import nn

    sizes = []
    for sl in _slices(model):
        for m in sl:
            if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
                k, s, p = (v if isinstance(v, int) else v[0] for v in (m.kernel_size, m.stride, m.padding))
                size = (size + 2 * p - k) // s + 1
        sizes.append(size)
    return sizes


@dataclass(frozen=True)
class Span:
    """One tile along one axis: input ``start … stop`` and, per layer, the global output range it owns."""

    start: int
    stop: int
    owned: tuple[tuple[int, int], ...]


def margin(layers: Sequence[Layer]) -> int:
    """Smallest margin, a multiple of the total stride, that makes every owned output exact."""
    need = max(max(-ly.offset, ly.offset + ly.field - ly.stride) for ly in layers)
    total = layers[-1].stride
    return -(-need // total) * total


def spans(size: int, core: int, layers: Sequence[Layer], sizes: Sequence[int]) -> list[Span]:
    """Tiles along an axis of ``size`` pixels, cores at most ``core`` (balanced, multiples of the total stride).

    Tile ``i`` owns, at a layer of stride ``s``, outputs ``i·T/s … (i+1)·T/s`` (the last one up to
    the end); its input reaches ``margin`` pixels beyond its core on each side, clipped to the image.
    """
    total = layers[-1].stride
    grow = margin(layers)
    count = max(1, -(-size // core))
    step = -(-size // count // total) * total
    count = -(-size // step)
    out = []
    for i in range(count):
        start, stop = max(0, i * step - grow), min(size, (i + 1) * step + grow)
        owned = []
        for ly, n in zip(layers, sizes):
            first = min(n, i * step // ly.stride)
            last = n if i == count - 1 else min(n, (i + 1) * step // ly.stride)
            owned.append((first, last))
        out.append(Span(start, stop, tuple(owned)))
    return out


def to_input(images: Sequence[np.ndarray], table: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """``(N, 3, H, W)`` float32 backbone input from uint8 ``(H, W, 3)`` images (one table lookup)."""
    import torch

    n, (h, w, c) = len(images), images[0].shape
    out = np.empty((n, c, h, w), dtype=np.float32)
    for i, image in enumerate(images):
        for ch in range(c):
            np.take(table[ch], image[..., ch], out=out[i, ch], mode="wrap")  # uint8: always in range
    return torch.from_numpy(out).to(device)


def reference_features(model: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Each slice's normalised output (``lpips.normalize_tensor``) for the references' backbone
    input ``x``, channels-last: what every distorted image of those references is compared with."""
    import torch

    features = []
    h = x.contiguous(memory_format=torch.channels_last)  # oneDNN's convolutions and pooling: faster on it here
    for sl in _slices(model):
        h = sl(h)
        features.append(h / (torch.sqrt(torch.sum(h**2, dim=1, keepdim=True)) + 1e-10))
    return features


def layer_sums(
    model: torch.nn.Module, reference: Sequence[torch.Tensor], y: torch.Tensor, which: torch.Tensor | None = None,
    regions: Sequence[tuple[int, int, int, int]] | None = None,
) -> np.ndarray:  # fmt: skip
    """Per distorted image and layer, the float64 sum of the linear head's output over the whole
    map or over ``regions[k] = (row0, row1, col0, col1)`` of layer ``k``'s map. ``reference``:
    :func:`reference_features` of the references; ``y``: the distorted images' backbone input;
    ``which[i]``: the row of ``reference`` that image ``i`` is compared with (``None``: one
    reference, every image). Shape ``(n, L)``."""
    import torch

    sums = np.zeros((y.shape[0], model.L))
    hy = y.contiguous(memory_format=torch.channels_last)
    for k, sl in enumerate(_slices(model)):
        hy = sl(hy)
        fx = reference[k] if which is None else reference[k].index_select(0, which)
        # lpips.normalize_tensor, then (f0 - f1) ** 2 (the same square either way round) and the
        # layer's linear head (1×1 conv)
        diff = (hy / (torch.sqrt(torch.sum(hy**2, dim=1, keepdim=True)) + 1e-10)).sub_(fx).pow_(2)
        del fx
        head = model.lins[k](diff)
        del diff
        if regions is not None:
            r0, r1, c0, c1 = regions[k]
            head = head[..., r0:r1, c0:c1]
        sums[:, k] = head.sum(dim=(1, 2, 3), dtype=torch.float64).cpu().numpy()
    return sums


def _means(model: torch.nn.Module, sums: np.ndarray, height: int, width: int) -> np.ndarray:
    """LPIPS from per-layer sums over whole ``height`` × ``width`` images: each layer's spatial mean, summed."""
    sizes = zip(output_sizes(model, height), output_sizes(model, width))
    return sum(sums[:, k] / (rows * cols) for k, (rows, cols) in enumerate(sizes))


def untiled_values(model: torch.nn.Module, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray],
                   table: np.ndarray, device: torch.device | str, batch_pixels: int) -> np.ndarray:  # fmt: skip
    """LPIPS of same-size pairs, untiled, distorted images in batches of at most ``batch_pixels``.

    Each reference runs through the backbone once however many distorted images it has (a
    ladder of one image: half the work of running every pair): references are told apart by
    identity (the same array object), pairs of one reference are batched next to each other, and
    a reference's features are kept from one batch to the next."""
    import torch

    h, w = refs[0].shape[:2]
    order = [i for same in by_reference(refs) for i in same]
    step = max(1, batch_pixels // (h * w))
    sums = np.empty((len(refs), model.L))
    kept: dict[int, tuple[list[torch.Tensor], int]] = {}  # id(ref) -> (features of a batch of refs, row)
    with torch.inference_mode():
        for start in range(0, len(order), step):
            chunk = order[start : start + step]
            present = {id(refs[i]): refs[i] for i in chunk}  # this batch's references, in order
            new = [r for r in present if r not in kept]
            if new:
                features = reference_features(model, to_input([present[r] for r in new], table, device))
                kept = {r: kept[r] for r in present if r in kept} | {r: (features, row) for row, r in enumerate(new)}
            # usually one group: the images of one reference, or of references computed together
            groups: dict[int, list[int]] = {}
            for i in chunk:
                groups.setdefault(id(kept[id(refs[i])][0]), []).append(i)
            for part in groups.values():
                features = kept[id(refs[part[0]])][0]
                rows = [kept[id(refs[i])][1] for i in part]
                which = None if features[0].shape[0] == 1 else torch.tensor(rows, device=features[0].device)
                sums[part] = layer_sums(model, features, to_input([dists[i] for i in part], table, device), which)
    return _means(model, sums, h, w)


def tiles(height: int, width: int, core: int, model: torch.nn.Module) -> Iterator[tuple[Span, Span]]:
    layers = geometry(model)
    assert layers is not None
    rows = spans(height, core, layers, output_sizes(model, height))
    cols = spans(width, core, layers, output_sizes(model, width))
    for r in rows:
        for c in cols:
            yield r, c


def tiled_values(model: torch.nn.Module, ref: np.ndarray, dists: Sequence[np.ndarray], table: np.ndarray,
                 device: torch.device | str, core: int) -> np.ndarray:  # fmt: skip
    """LPIPS of distorted images of one reference, computed tile by tile (see the module docstring);
    each reference tile runs through the backbone once for all of them, one distorted tile at a time."""
    import torch

    layers = geometry(model)
    assert layers is not None
    height, width = ref.shape[:2]
    total = np.zeros((len(dists), model.L))
    with torch.inference_mode():
        for r, c in tiles(height, width, core, model):
            regions = []
            for k, ly in enumerate(layers):
                (a, b), (p, q) = r.owned[k], c.owned[k]
                oy, ox = r.start // ly.stride, c.start // ly.stride
                regions.append((a - oy, b - oy, p - ox, q - ox))
            crop = (slice(r.start, r.stop), slice(c.start, c.stop))
            reference = reference_features(model, to_input([ref[crop]], table, device))
            for i, dist in enumerate(dists):
                total[i] += layer_sums(model, reference, to_input([dist[crop]], table, device), regions=regions)[0]
    return _means(model, total, height, width)
