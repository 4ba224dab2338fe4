"""pyiqa's full-reference metrics, run by pyiqa's own code: ``vif``, ``fsim``, ``nlpd``, ``gmsd``,
``vsi``, ``cw-ssim``, and any other by name as ``pyiqa:NAME`` (e.g. ``pyiqa:mad``, ``pyiqa:lpips``).

Each builds pyiqa's arch exactly as ``pyiqa.create_metric(NAME)`` does (the ``metric_opts`` of its
default configuration, :mod:`qualitykit.metrics._pyiqa`) and calls it on what pyiqa's image loader
gives it: the RGB image as float32 in [0, 1] (torchvision ``to_tensor``), distorted image first,
reference second. So every value equals pyiqa's for the installed version, which the metric's
``version`` (and so every cache key and the run's manifest) records, with the sha256 of each
weights file a learned metric loads. pyiqa is an optional dependency installed ``--no-deps``
(the ``iqa`` extra); without it these metrics are listed as unavailable with the command to run.

Colour conventions of the named metrics (pyiqa 0.1.16 defaults; "Y" is the Y of YIQ,
``0.299 R + 0.587 G + 0.114 B``, full range, as in ``ssim-pyiqa``):

- ``vif``: VIF in the wavelet domain (Sheikh & Bovik 2006, steerable pyramid, 4 scales; not the
  pixel-domain VIFp), on Y × 255 rounded to integers.
- ``fsim``: FSIMc (chromatic): phase congruency and gradient on Y, chroma similarity on I and Q, of
  RGB × 255 after MATLAB's ``max(1, round(min side / 256))`` average-pool downsampling.
- ``nlpd``: normalised Laplacian pyramid distance on Y in [0, 1] (not rounded); lower is better.
- ``gmsd``: gradient magnitude similarity deviation (Prewitt, after a 2×2 average pool) on Y × 255
  rounded; lower is better.
- ``vsi``: visual-saliency-induced index: SDSP saliency on RGB (CIELAB), gradient and chroma on the
  LMN opponent space of RGB × 255, same MATLAB downsampling as FSIM.
- ``cw-ssim``: complex-wavelet SSIM, 4 levels × 8 orientations, 7×7 window, K = 0, on Y × 255
  rounded, in float64.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from . import register
from ..device import resolve_device
from ..errors import Unavailable, UnknownName
from . import _pyiqa
from .base import Metric, Reference

#: The pyiqa release the named metrics were checked against (tests/test_metrics_pyiqa_fr.py).
PYIQA_VERSION = "0.1.16"
PREFIX = "pyiqa"
#: The pairs the equality tests compare on (tests/test_metrics_pyiqa_fr.py).
CHECKED_ON = ("3 crops (160×192) of scikit-image photographs with their JPEG at q=10/25/50; "
              "Kodak kodim03–05 with JPEG (slow test)")
EQUALITY_TEST = "tests/test_metrics_pyiqa_fr.py::_check"


def _reference(pyiqa_name: str, version: str = PYIQA_VERSION, checked_on: str = CHECKED_ON) -> Reference:
    """pyiqa's own ``create_metric(pyiqa_name)`` on the same RGB pixels, to 1e-6."""
    return Reference(f"pyiqa create_metric('{pyiqa_name}'), its own arch code", version, 1e-6, checked_on,
                     EQUALITY_TEST, "pyiqa's MATLAB-calibrated values within its own 1e-2 (docs/metrics.md)")  # fmt: skip


@functools.lru_cache(maxsize=None)
def _network(pyiqa_name: str) -> tuple[Any, dict[str, tuple[str, str]]]:
    """pyiqa's arch for ``pyiqa_name`` (built once per process) and the weights files it loaded."""
    return _pyiqa.build(pyiqa_name)


class PyiqaMetric(Metric):
    """A pyiqa full-reference metric computed by pyiqa's own arch (module docstring)."""

    #: pyiqa's name for the metric (a key of its ``DEFAULT_CONFIGS``).
    pyiqa_name: ClassVar[str]
    uses_torch = True
    extra = "learned"
    default = False  # opt-in: pyiqa is an extra, and most of these cost ~1 s per Kodak pair on one thread
    #: A learned pyiqa metric's need is not measured: a deep network's activations, as DISTS (2400).
    memory_per_pixel = 2400.0

    #: Whether availability needs the arch built (a learned metric: its weights and imports are
    #: found only then). ``False`` for the named classical metrics: pyiqa being installed is enough,
    #: so listing metrics (``qk metrics``, the default set) imports neither torch nor pyiqa's archs.
    build_to_check: ClassVar[bool] = True

    @classmethod
    def available(cls) -> str | None:
        try:
            _pyiqa.load()
            if cls.build_to_check:
                _network(cls.pyiqa_name)
        except Unavailable as exc:
            return str(exc)
        except Exception as exc:  # pyiqa's own constructor failing: keep its reason
            return f"{cls.name}: pyiqa could not build {cls.pyiqa_name!r}: {type(exc).__name__}: {exc}"
        return None

    @property
    def version(self) -> str:  # type: ignore[override]
        """``1+pyiqa-<installed version>``, then ``+w-<sha256[:12]>`` of each weights file loaded."""
        weights = _network(self.pyiqa_name)[1]
        return f"1+pyiqa-{_pyiqa.load().version}" + "".join(f"+w-{sha[:12]}" for _, sha in sorted(weights.values()))

    def weights(self) -> dict[str, str]:
        """Each weights file this metric loaded → its sha256."""
        return {path: sha for path, sha in _network(self.pyiqa_name)[1].values()}

    def _compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        """One pair at a time, as pyiqa scores a pair: its archs compute in float32, where a batch
        changes the rounding (VIF by ~5e-6), so batching would break equality with pyiqa."""
        import torch

        device = resolve_device(self.device)
        net = _network(self.pyiqa_name)[0].to(device)
        out = np.empty(len(refs), dtype=np.float64)
        for i, (ref, dist) in enumerate(zip(refs, dists)):
            # what torchvision's to_tensor (pyiqa's image loader) gives pyiqa: RGB float32 in [0, 1]
            x, y = (torch.tensor(a, device=device).permute(2, 0, 1)[None].float() / 255 for a in (dist, ref))
            with torch.no_grad():
                out[i] = float(net(x, y).reshape(-1)[0])
        return out


def _bound(text: str) -> float | None:
    """One end of pyiqa's ``score_range`` (``'0'``, ``'~1'``): a number, or ``None`` for a rough
    ('~') or missing end, which is no bound."""
    text = text.strip()
    return None if not text or text.startswith("~") else float(text)


def adapter(pyiqa_name: str) -> type[PyiqaMetric]:
    """The metric class for ``pyiqa:NAME``: direction (``lower_better``) and range (``score_range``)
    from pyiqa's ``DEFAULT_CONFIGS``; raises :class:`UnknownName` for a name pyiqa lacks or one
    that is not full-reference. Without pyiqa installed, a class that says so when asked if available."""
    try:
        p = _pyiqa.load()
    except Unavailable as exc:
        reason = str(exc)
        return type(f"Pyiqa_{pyiqa_name}", (PyiqaMetric,), {
            "name": f"{PREFIX}:{pyiqa_name}", "pyiqa_name": pyiqa_name, "higher_is_better": True,
            "available": classmethod(lambda cls: reason), "description": "pyiqa's metric (pyiqa not installed)",
        })  # fmt: skip
    full_reference = p.full_reference_names()
    if pyiqa_name not in full_reference:
        raise UnknownName("pyiqa full-reference metric", pyiqa_name, full_reference)
    config = p.configs[pyiqa_name]
    low, _, high = config.get("score_range", "").partition(",")
    options = ", ".join(f"{k}={v!r}" for k, v in config["metric_opts"].items() if k != "type")
    attrs: dict[str, Any] = {
        "name": f"{PREFIX}:{pyiqa_name}",
        "pyiqa_name": pyiqa_name,
        "higher_is_better": not config.get("lower_better", False),
        "range": (_bound(low), _bound(high)),
        "description": f"pyiqa {p.version} '{pyiqa_name}': {config['metric_opts']['type']}({options}), RGB in [0, 1]",
        "reference": _reference(pyiqa_name, p.version, "the adapter on pyiqa:mad and pyiqa:gmsd: 3 crops (96×128) of "
                                "scikit-image photographs with their JPEG at q=10/25/50"),
        "__module__": __name__,
    }
    return type("Pyiqa_" + re.sub(r"\W", "_", pyiqa_name), (PyiqaMetric,), attrs)


class _Named(PyiqaMetric):
    """A pyiqa metric qk names itself (module docstring), checked against pyiqa 0.1.16 to 1e-6."""

    build_to_check = False


@register
class VIF(_Named):
    name = "vif"
    pyiqa_name = "vif"
    higher_is_better = True
    range = (0.0, None)  # 1 for identical images; above 1 for contrast enhancement
    min_side = 33
    description = "VIF (wavelet domain, steerable pyramid, not VIFp) of Y (YIQ) × 255 rounded, pyiqa's 'vif'"
    reference = _reference("vif")
    memory_per_pixel = 400.0  # measured 318 B/px on Kodak, 311 at 4x the pixels (peak RSS, one thread)


@register
class FSIM(_Named):
    name = "fsim"
    pyiqa_name = "fsim"
    higher_is_better = True
    range = (0.0, 1.0)
    min_side = 2
    description = "FSIMc: phase congruency + gradient on Y, chroma on I, Q (YIQ of RGB × 255), MATLAB downsampling, pyiqa's 'fsim'"
    reference = _reference("fsim")
    memory_per_pixel = 400.0  # measured 322 B/px on Kodak; less on larger images (MATLAB downsampling first)


@register
class NLPD(_Named):
    name = "nlpd"
    pyiqa_name = "nlpd"
    higher_is_better = False
    range = (0.0, None)
    min_side = 2
    description = "NLPD: normalised Laplacian pyramid distance of Y (YIQ) in [0, 1], pyiqa's 'nlpd'"
    reference = _reference("nlpd")
    memory_per_pixel = 200.0  # measured 140 B/px on Kodak


@register
class GMSD(_Named):
    name = "gmsd"
    pyiqa_name = "gmsd"
    higher_is_better = False
    range = (0.0, None)
    min_side = 2
    description = "GMSD: gradient magnitude similarity deviation of Y (YIQ) × 255 rounded, 2×2 average pool, pyiqa's 'gmsd'"
    reference = _reference("gmsd")
    memory_per_pixel = 150.0  # measured 106 B/px on Kodak


@register
class VSI(_Named):
    name = "vsi"
    pyiqa_name = "vsi"
    higher_is_better = True
    range = (0.0, 1.0)
    min_side = 2
    description = "VSI: SDSP saliency (CIELAB) + gradient and chroma on LMN of RGB × 255, MATLAB downsampling, pyiqa's 'vsi'"
    reference = _reference("vsi")
    memory_per_pixel = 250.0  # measured 158 B/px on Kodak


@register
class CWSSIM(_Named):
    name = "cw-ssim"
    pyiqa_name = "cw_ssim"
    higher_is_better = True
    range = (0.0, 1.0)
    min_side = 64
    description = "CW-SSIM: complex steerable pyramid, 4 levels × 8 orientations, of Y (YIQ) × 255 rounded, float64, pyiqa's 'cw_ssim'"
    reference = _reference("cw_ssim")
    memory_per_pixel = 1000.0  # measured 770 B/px on Kodak, 703 at 4x the pixels: float64 complex pyramid
