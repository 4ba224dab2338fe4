"""A tiny metric plugin, installed through a real entry point by ``test_metric_contract.py``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qualitykit.metrics.base import Metric, Reference


class MeanAbsoluteError(Metric):
    """Mean absolute difference of R, G and B samples, 0–255; lower is better; 0 for identical images."""

    name = "fake-mae"
    higher_is_better = False
    range = (0.0, 255.0)
    unit = ""
    description = "mean absolute RGB difference (a test plugin)"
    reference = Reference("numpy np.abs(a - b).mean()", "any", 0.0, "the contract tests' photograph")
    version = "1"
    memory_per_pixel = 24.0

    def _compute(self, refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> np.ndarray:
        return np.array([np.abs(r.astype(np.int16) - d).mean() for r, d in zip(refs, dists)], dtype=np.float64)
