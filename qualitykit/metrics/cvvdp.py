"""ColorVideoVDP (``cvvdp`` on PyPI, module ``pycvvdp``): ``cvvdp`` and ``cvvdp:DISPLAY``.

ColorVideoVDP (Mantiuk et al., SIGGRAPH 2024) models the display and the viewer: the 8-bit sRGB
pixels become absolute luminance through a display model (peak luminance, black level, ambient
light, EOTF) and are seen at the display's pixels per degree. Its score is in **JOD** (just-objectionable
differences): 10 for identical images, lower for larger differences; higher is better.

``cvvdp`` uses the package's standard display, ``standard_4k`` (30-inch 4K, 200 cd/m², sRGB EOTF,
250 lux ambient, 75.4 pixels per degree at its default distance); ``cvvdp:NAME`` uses another display
model of the package's ``display_models.json`` (e.g. ``cvvdp:standard_fhd``), as ``cvvdp
--display NAME`` does. Each image pair is scored as a still image, exactly as the command line
scores two image files: the same values (tests/test_metrics_cvvdp.py runs ``cvvdp`` on the files).

Install without touching numpy or torch (cvvdp's requirements list ``ffmpeg`` 1.4, which shadows
``ffmpeg-python``'s module, and ``PyEXR``, needed only for OpenEXR files)::

    pip install --no-deps cvvdp==0.5.7 ffmpeg-python future 'huggingface_hub>=0.33.4,<1'
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from . import register
from ..device import resolve_device
from ..errors import UnknownName
from .base import Metric, Reference

DEFAULT_DISPLAY = "standard_4k"
INSTALL = "pip install --no-deps cvvdp==0.5.7 ffmpeg-python future 'huggingface_hub>=0.33.4,<1'"


def _package_dir() -> Path | None:
    spec = importlib.util.find_spec("pycvvdp")
    return None if spec is None or spec.origin is None else Path(spec.origin).parent


@functools.lru_cache(maxsize=None)
def display_models() -> dict[str, dict[str, Any]]:
    """The package's display models (``vvdp_data/display_models.json``), read without importing it."""
    folder = _package_dir()
    if folder is None:
        return {}
    return json.loads((folder / "vvdp_data" / "display_models.json").read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=None)
def _metric(display: str, device: str) -> Any:
    """``pycvvdp.cvvdp`` for ``display``, built as the command line builds it (quiet, eval mode)."""
    import pycvvdp

    import torch

    metric = pycvvdp.cvvdp(display_name=display, device=torch.device(device), quiet=True)
    metric.train(False)
    return metric


class ColorVideoVDP(Metric):
    """ColorVideoVDP in JOD on one display model (module docstring); higher is better, 10 for identical images."""

    name = "cvvdp"
    display: ClassVar[str] = DEFAULT_DISPLAY
    higher_is_better = True
    range = (None, 10.0)
    unit = "JOD"
    uses_torch = True
    extra = "learned"
    default = False  # opt-in: seconds per Kodak pair on a CPU
    min_side = 8
    memory_per_pixel = 700.0  # measured 502 B/px on Kodak, 522 at 4x the pixels (peak RSS, one thread)
    description = (
        "ColorVideoVDP 0.5.7, JOD, display model standard_4k (200 cd/m², sRGB, 250 lux, 75.4 px/deg); "
        "cvvdp:NAME for another display of the package"
    )
    reference = Reference(
        "cvvdp command line (python -m pycvvdp.run_cvvdp -t TEST -r REF --display standard_4k) on the two image files",
        "0.5.7", 1e-6, "3 crops (192×256) of scikit-image photographs with their JPEG at q=10/25/50, as BMP files",
        "tests/test_metrics_cvvdp.py::test_equal_to_the_command_line",
    )

    @classmethod
    def available(cls) -> str | None:
        if _package_dir() is None:
            return f"the cvvdp package is not installed: {INSTALL}"
        return None

    @property
    def version(self) -> str:  # type: ignore[override]
        return f"1+cvvdp-{importlib.metadata.version('cvvdp')}+{self.display}"

    def _compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        import torch

        metric = _metric(self.display, str(resolve_device(self.device)))
        out = np.empty(len(refs), dtype=np.float64)
        for i, (ref, dist) in enumerate(zip(refs, dists)):
            with torch.no_grad():
                jod, _ = metric.predict(torch.tensor(dist), torch.tensor(ref), dim_order="HWC")
            out[i] = float(jod)
        return out


register(ColorVideoVDP)


def on_display(display: str) -> type[ColorVideoVDP]:
    """``cvvdp:DISPLAY``: ColorVideoVDP on another of the package's display models."""
    models = display_models()
    if models and display not in models:
        raise UnknownName("cvvdp display model", display, list(models))
    return type(f"ColorVideoVDP_{display}", (ColorVideoVDP,), {
        "name": f"cvvdp:{display}", "display": display, "__module__": __name__,
        "description": f"ColorVideoVDP 0.5.7, JOD, display model {display} of the package's display_models.json",
        "reference": Reference(
            f"cvvdp command line (python -m pycvvdp.run_cvvdp --display {display}) on the two image files", "0.5.7", 1e-6,
            ColorVideoVDP.reference.checked_on, ColorVideoVDP.reference.test),
    })  # fmt: skip
