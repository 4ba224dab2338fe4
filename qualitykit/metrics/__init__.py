"""Quality metrics, registered by name (the name is the results column).

>>> from qualitykit.metrics import get_metric
>>> m = get_metric("psnr")
>>> m.higher_is_better
True

Third-party metrics register through the ``qualitykit.metrics`` entry-point group.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from .._registry import Registry
from ..errors import MissingExtra, Unavailable
from ..extras import missing_extra
from .base import Metric

registry: Registry[Metric] = Registry(
    "metric",
    "qualitykit.metrics",
    builtins=(
        "qualitykit.metrics.psnr",
        "qualitykit.metrics.ssim",
        "qualitykit.metrics.pyiqa_ssim",
        "qualitykit.metrics.libvmaf",
        "qualitykit.metrics.lpips",
        "qualitykit.metrics.dists",
        "qualitykit.metrics.butteraugli",
        "qualitykit.metrics.psnr_hvsm",
        "qualitykit.metrics.iw_ssim",
        "qualitykit.metrics.ssimulacra2",
        "qualitykit.metrics.pyiqa_fr",
        "qualitykit.metrics.cvvdp",
        "qualitykit.metrics.jpeg_ai",
    ),
    families={"pyiqa": "qualitykit.metrics.pyiqa_fr:adapter", "cvvdp": "qualitykit.metrics.cvvdp:on_display"},
)
register = registry.register


def get_metric(name: str, device: str = "auto") -> Metric:
    """An instance of the metric registered as ``name``; raises if unknown or unavailable here."""
    cls = registry.get(name)
    missing = missing_extra(cls.extra)
    if missing:
        raise MissingExtra(f"metric {name} {missing}")
    why = cls.available()
    if why:
        raise Unavailable(f"{name}: {why}")
    return cls(device=device)


def ensure_available(name: str) -> str | None:
    """Like :func:`available_metrics` for one metric asked for by name, first fetching what it lacks
    (weights) when it can; ``None`` when usable, else the reason (with the fetch error, if any)."""
    cls = registry.get(name)
    why = cls.why_unavailable()
    if why is None:
        return None
    if missing_extra(cls.extra):  # no download fixes a missing part of the install
        return why
    try:
        cls.fetch()
    except Unavailable as exc:  # assets.fetch: already says what is missing, why the download failed, what to do
        return str(exc)
    except Exception as exc:  # a plugin's own fetch: keep the actionable reason
        return f"{why} (download failed: {type(exc).__name__}: {exc})"
    return cls.why_unavailable()


def available_metrics() -> dict[str, str | None]:
    """Every known metric → ``None`` if usable here, else the reason it is not."""
    out: dict[str, str | None] = {n: registry.get(n).why_unavailable() for n in registry.names()}
    out.update(registry.broken())
    return out


def default_metrics() -> dict[str, str | None]:
    """:func:`available_metrics` for ``qk bench``'s default set: metrics whose ``default`` is true (and
    broken plugins, to report them). Opt-in metrics (seconds per pair) run only when named."""
    broken = registry.broken()
    return {n: why for n, why in available_metrics().items() if n in broken or registry.get(n).default}


def evaluate(
    metrics: Sequence[Metric], refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]
) -> dict[str, np.ndarray | Exception]:
    """Compute every metric on every pair; metrics of one ``shared_pass`` share it.

    A metric (or shared pass) that fails yields its exception instead of values, so one
    failure never discards the others' results.
    """
    passes: dict[object, list[Metric]] = defaultdict(list)
    for m in metrics:
        passes[m.shared_pass or m.name].append(m)
    out: dict[str, np.ndarray | Exception] = {}
    for group in passes.values():
        try:
            out.update(type(group[0]).compute_family(group, refs, dists))
        except Exception as exc:
            for m in group:
                out[m.name] = exc
    return out


__all__ = ["Metric", "available_metrics", "default_metrics", "ensure_available", "evaluate", "get_metric", "registry"]
