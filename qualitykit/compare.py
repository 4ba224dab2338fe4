"""Every metric on one (reference, distorted) pair of image files."""

from __future__ import annotations

import os
from collections.abc import Sequence

from .errors import BadInput
from .imageio import load_image
from .metrics import available_metrics, ensure_available, evaluate, get_metric
from .metrics.sets import expand


def compare(
    ref_path: str | os.PathLike[str],
    dist_path: str | os.PathLike[str],
    metrics: Sequence[str] | None = None,
    device: str = "auto",
) -> dict:
    """Score ``dist_path`` against ``ref_path`` with ``metrics`` (default: every registered metric,
    opt-in ones included). A metric named in ``metrics`` first fetches what it lacks (weights), as
    ``qk bench --metrics`` does; the default list never downloads.

    Returns ``{"reference", "distorted", "width", "height", "metrics": {name: value},
    "unavailable": {name: reason}, "conversions": {"reference"|"distorted": what was done to
    read it as RGB}}`` (:mod:`qualitykit.imageio`'s policy; only the files that needed one); a metric that cannot run here (missing
    weights, no libvmaf, ...) or cannot measure this pair (too small) is listed
    under ``unavailable`` with the reason. Raises
    :class:`~qualitykit.errors.BadInput` naming the file when an image is unreadable or the sizes
    differ, and :class:`~qualitykit.errors.UnknownName` for an unknown metric name.

    >>> compare("kodim01.png", "kodim01.jpg", ["psnr", "vmaf"])  # doctest: +SKIP
    {'reference': 'kodim01.png', ..., 'metrics': {'psnr': 29.1..., 'vmaf': 80.3...}, 'unavailable': {}}
    """
    ref_image, dist_image = load_image(ref_path), load_image(dist_path)
    ref, dist = ref_image.pixels, dist_image.pixels
    if ref.shape != dist.shape:
        raise BadInput(
            f"{dist_path}: {dist.shape[1]}x{dist.shape[0]} px, but the reference {ref_path} is "
            f"{ref.shape[1]}x{ref.shape[0]} px"
        )
    status = available_metrics()
    names = expand(metrics) if metrics is not None else list(status)
    if metrics is not None:
        status.update({n: ensure_available(n) for n in names if status.get(n, True)})  # UnknownName if unknown
    unavailable = {n: status[n] for n in names if status.get(n)}
    runnable = [get_metric(n, device=device) for n in names if n not in unavailable]  # UnknownName if unknown
    values: dict[str, float] = {}
    for name, result in evaluate(runnable, [ref], [dist]).items():
        if isinstance(result, Exception):
            unavailable[name] = f"{type(result).__name__}: {result}"
        else:
            values[name] = float(result[0])
    return {
        "reference": os.fspath(ref_path),
        "distorted": os.fspath(dist_path),
        "width": int(ref.shape[1]),
        "height": int(ref.shape[0]),
        "metrics": {n: values[n] for n in names if n in values},
        "unavailable": {n: unavailable[n] for n in names if n in unavailable},
        "conversions": {k: i.conversion for k, i in (("reference", ref_image), ("distorted", dist_image)) if i.conversion},
    }
