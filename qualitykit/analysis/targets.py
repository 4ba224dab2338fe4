"""Equal-quality answers: bytes per codec at each target, and the saving of every codec against every other.

Input: the per-image table of :mod:`qualitykit.equal_quality` (``targets.csv``). For a target
and an ordered pair of codecs (X, Y), over the images where *both* reach the target:

* ``delta`` = ``100 · (Σ bytes_X / Σ bytes_Y − 1)``: negative when X needs fewer bytes for the
  same quality (the sign convention of BD-rate); the corpus total, so large images weigh more;
* ``ci_low``/``ci_high``: a percentile bootstrap interval of that number, resampling those images
  with replacement (:class:`~qualitykit.analysis.bdtable.Resampler`, the same seeds as BD-rate);
* ``image_median``: the median of the per-image ratios, for a view where every image counts once.

``totals`` gives, per target and codec, the total bytes over the images that *every* codec
reached (comparable across codecs), how many images reached the target, and which did not.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations

import numpy as np
import pandas as pd

from .bdtable import Resampler


@dataclass
class TargetSummary:
    """``totals`` (target × codec), ``savings`` (target × ordered pair) and the per-image ``table``."""

    totals: pd.DataFrame
    savings: pd.DataFrame
    table: pd.DataFrame

    def saving(self, target: str, codec: str, other: str) -> pd.Series | None:
        s = self.savings
        rows = s[(s["target"] == target) & (s["codec_label"] == codec) & (s["other_label"] == other)]
        return None if rows.empty else rows.iloc[0]


def summarize_targets(
    table: pd.DataFrame, n_boot: int = 1000, seed: int = 0, confidence: float = 0.95
) -> TargetSummary:
    """Totals and pairwise savings of a ``targets.csv`` table (see the module docstring)."""
    tail = (1 - confidence) / 2 * 100
    resampler = Resampler(n_boot, seed)
    totals, savings = [], []
    for target, rows in table.groupby("target", sort=False):
        codecs = list(dict.fromkeys(rows["codec_label"]))
        images = list(dict.fromkeys(rows["image"]))
        wide = rows.pivot(index="image", columns="codec_label", values="bytes").reindex(index=images, columns=codecs)
        ok = rows.pivot(index="image", columns="codec_label", values="reached").reindex(index=images, columns=codecs)
        ok = ok.fillna(False).astype(bool)
        notes = rows.set_index(["image", "codec_label"])["note"]
        everyone = ok.all(axis=1)
        metric, value = rows["metric"].iloc[0], float(rows["value"].iloc[0])
        for c in codecs:
            missed = [i for i in images if not ok.at[i, c]]
            totals.append({
                "target": target, "metric": metric, "value": value, "codec_label": c,
                "images": len(images), "reached": len(images) - len(missed),
                "total_bytes": float(wide.loc[everyone, c].sum()) if everyone.any() else None,
                "common_images": int(everyone.sum()),
                "mean_bpp": float(rows[(rows["codec_label"] == c) & rows["reached"]]["bpp"].mean()) if len(missed) < len(images) else None,
                "not_reached": "; ".join(f"{i} ({notes.get((i, c), '')})" for i in missed),
            })  # fmt: skip
        for x, y in permutations(codecs, 2):
            both = ok[x] & ok[y]
            bx, by = wide.loc[both, x].to_numpy(float), wide.loc[both, y].to_numpy(float)
            row = {"target": target, "metric": metric, "value": value, "codec_label": x, "other_label": y,
                   "images_used": int(both.sum()), "images_total": len(images)}  # fmt: skip
            if not both.any():
                savings.append({**row, "delta": None, "ci_low": None, "ci_high": None, "image_median": None,
                                "note": "no image where both reach the target"})  # fmt: skip
                continue
            delta = 100 * (bx.sum() / by.sum() - 1)
            pick = resampler(len(bx))
            boot = 100 * (bx[pick].sum(axis=1) / by[pick].sum(axis=1) - 1)
            lo, hi = np.percentile(boot, [tail, 100 - tail])
            skipped = [i for i in images if not both[i]]
            note = f"{int(both.sum())} of {len(images)} images"
            if skipped:
                note += f"; {len(skipped)} left out (a codec does not reach the target): " + ", ".join(skipped[:4]) + (" …" if len(skipped) > 4 else "")
            savings.append({**row, "delta": float(delta), "ci_low": float(lo), "ci_high": float(hi),
                            "image_median": float(100 * (np.median(bx / by) - 1)), "note": note})  # fmt: skip
    return TargetSummary(pd.DataFrame(totals), pd.DataFrame(savings), table)
