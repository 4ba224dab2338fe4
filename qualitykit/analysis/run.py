"""A finished run directory: ``results.csv`` (one row per image × codec point) and ``manifest.json``.

>>> run = Run.load("runs/kodak")                                    # doctest: +SKIP
>>> run.resolve_codec("jpeg"), run.metrics                         # doctest: +SKIP
('jpeg:optimize=0:progressive=0:subsampling=420', {'psnr': True, 'ms-ssim': True})
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import UnknownName

RESULTS = "results.csv"
MANIFEST = "manifest.json"


@dataclass
class Run:
    """Results table plus manifest; ``path`` is the run directory when loaded from disk."""

    results: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @classmethod
    def load(cls, run_dir: str | Path) -> Run:
        run_dir = Path(run_dir)
        csv, man = run_dir / RESULTS, run_dir / MANIFEST
        for p in (csv, man):
            if not p.is_file():
                raise FileNotFoundError(f"{p}: not found; is {run_dir} a qk run directory?")
        results = pd.read_csv(csv, dtype={"image": str, "image_sha256": str, "codec": str})
        missing = {"image", "codec", "quality", "bpp"} - set(results.columns)
        if missing:
            raise ValueError(f"{csv}: missing column(s) {', '.join(sorted(missing))}")
        return cls(results, json.loads(man.read_text(encoding="utf-8")), run_dir)

    @property
    def codecs(self) -> list[dict[str, Any]]:
        """Manifest codec entries (``spec``, ``label``, ``id``, ``name``, ...) of codecs with results, in run order."""
        present = set(self.results["codec"])
        entries = [c for c in self.manifest.get("codecs", []) if c.get("id") in present]
        known = {c["id"] for c in entries}
        extra = [{"id": c, "label": c, "spec": c, "name": c.split(":")[0]} for c in present - known]
        return entries + sorted(extra, key=lambda c: c["id"])

    @property
    def codec_ids(self) -> list[str]:
        return [c["id"] for c in self.codecs]

    def label(self, codec_id: str) -> str:
        """Short display name of a codec id (the manifest's ``label``)."""
        return next(c.get("label", codec_id) for c in self.codecs if c["id"] == codec_id)

    @property
    def metrics(self) -> dict[str, bool]:
        """Metric name → higher_is_better, for metric columns present in the results (manifest order)."""
        declared = {m["name"]: bool(m.get("higher_is_better", True)) for m in self.manifest.get("metrics", [])}
        return {name: hib for name, hib in declared.items() if name in self.results.columns}

    @property
    def images(self) -> list[str]:
        """Image names in dataset order (manifest), then any others found in the results."""
        listed = [i["image"] for i in self.manifest.get("dataset", {}).get("images", [])]
        present = dict.fromkeys(self.results["image"])
        return [i for i in listed if i in present] + [i for i in present if i not in set(listed)]

    def resolve_codec(self, key: str) -> str:
        """Codec id matching ``key`` by label, then spec, then id, then family name (which must be unique)."""
        for field_ in ("label", "spec", "id"):
            for c in self.codecs:
                if c.get(field_) == key:
                    return c["id"]
        family = [c["id"] for c in self.codecs if c.get("name") == key]
        if len(family) == 1:
            return family[0]
        where = f" in {self.path}" if self.path else ""
        labels = ", ".join(c.get("label", c["id"]) for c in self.codecs)
        why = f"{len(family)} codecs of family {key!r}" if family else f"no codec {key!r}"
        raise UnknownName(f"{why}{where}; codecs: {labels}")
