"""The baseline file a CI gate compares with: small, committed, one line per point, validated on read.

Layout (JSON, ``format`` = :data:`FORMAT`)::

    {"format": "qualitykit-baseline/2", "created": ..., "qualitykit_version": ...,
     "source": {"run": ..., "command": ..., "created": ...},
     "dataset": {"name": ..., "images": {"<image>": "<sha256>", ...}},
     "codecs": [{"label", "spec", "id", "name", "ladder", "versions"}, ...],
     "metrics": {"<name>": {<the metric's MetricInfo>}, ...},
     "rows": [
      {"image": ..., "codec_id": ..., "q": ..., "bytes": ..., "width": ..., "height": ..., "<metric>": score, ...},
      ...
     ]}

Each row is one line, so a changed point shows as one changed line in a diff. :func:`load_baseline`
refuses (with :class:`~qualitykit.errors.BadInput`, exit 2, naming the row and the field) a file
that is not an object of this shape, a row lacking a field or a metric (a missing score is
``null``), and every value :func:`qualitykit.rundir.validate_points` refuses in a run (a size
that is not a whole number > 0, a score that is not a finite number within its metric's range,
an unknown image or codec), or a duplicated point. Files written by qualitykit 0.1 (``qualitykit-baseline/1``) are read too.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .._version import __version__
from ..codecs.base import bits_per_pixel
from ..errors import BadInput
from ..fsutil import atomic_write_text
from ..metrics.base import MetricInfo
from ..rundir import CodecEntry, Run, validate_points

FORMAT = "qualitykit-baseline/2"
_ROW_KEYS = ("image", "codec_id", "q", "bytes", "width", "height")


@dataclass
class Baseline:
    """A loaded baseline: where it came from (``path``), image hashes, codecs, metrics and points.

    ``results`` has the run-directory columns that matter here (``image``, ``codec_id``, ``q``,
    ``bytes``, ``width``, ``height``, ``bpp``) and one column per metric.
    """

    path: str
    dataset_name: str
    images: dict[str, str]
    codecs: list[CodecEntry]
    metrics: dict[str, MetricInfo]
    results: pd.DataFrame


def save_baseline(run_dir: str | Path, to: str | Path) -> Path:
    """Write what a later gate needs from the run in ``run_dir`` to ``to``; return the path."""
    run = Run.load(run_dir)
    man = run.manifest
    metrics = run.metrics
    cols = [*_ROW_KEYS, *metrics]
    rows = run.results[cols].astype(object).where(run.results[cols].notna(), None).to_dict("records")
    head = {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "qualitykit_version": __version__,
        "source": {"run": str(run_dir), "command": man.command, "created": man.created},
        "dataset": {"name": man.dataset.name, "images": {i.image: i.sha256 for i in man.dataset.images}},
        "codecs": [{k: getattr(c, k) for k in ("label", "spec", "id", "name", "ladder", "versions")} for c in run.codecs],
        "metrics": {name: info.to_dict() for name, info in metrics.items()},
    }
    # one row per line: the head as indented JSON, then the rows each on a line of its own
    head_text = json.dumps({**head, "rows": []}, indent=1, allow_nan=False)
    body = ",\n".join("  " + json.dumps(r, allow_nan=False) for r in rows)
    text = head_text[: head_text.rindex("[]")] + "[\n" + body + "\n ]\n}\n"
    json.loads(text)  # the file is one valid JSON document
    atomic_write_text(to, text)
    return Path(to)


def _fail(path: str | Path, what: str) -> BadInput:
    return BadInput(f"{path}: not a valid baseline: {what} (write one with `qk baseline save RUN_DIR --to FILE`)")


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def load_baseline(path: str | Path) -> Baseline:
    """Read and validate a baseline file (see the module docstring)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path}: not a readable baseline ({exc})") from None
    if not isinstance(data, dict):
        raise _fail(path, f"the file holds a JSON {type(data).__name__}, not an object")
    if data.get("format") == "qualitykit-baseline/1":
        data = _migrate(data)
    if data.get("format") != FORMAT:
        raise _fail(path, f"format {data.get('format')!r}, expected {FORMAT!r}")
    for key, kind in (("dataset", dict), ("codecs", list), ("metrics", dict), ("rows", list)):
        if not isinstance(data.get(key), kind):
            what = "missing" if key not in data else f"a JSON {type(data[key]).__name__}"
            raise _fail(path, f"field {key!r} is {what}, expected a JSON {'object' if kind is dict else 'list'}")
    try:
        images = dict(data["dataset"]["images"])
        codecs = [CodecEntry(**{**c, "settings": c.get("settings", {})}) for c in data["codecs"]]
        metrics = {name: MetricInfo.from_dict({"name": name, **m}) for name, m in data["metrics"].items()}
        rows = list(data["rows"])
    except KeyError as exc:
        raise _fail(path, f"field {exc} is missing") from None
    except (TypeError, AttributeError, ValueError) as exc:
        raise _fail(path, f"{type(exc).__name__}: {exc}") from None
    seen = set()
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise _fail(path, f"row {n} is a JSON {type(row).__name__}, not an object")
        lacking = [k for k in (*_ROW_KEYS, *metrics) if k not in row]
        if lacking:  # a score the run could not compute is written as null, never left out
            raise _fail(path, f"row {n} lacks {', '.join(lacking)} (a missing score is written as null)")
        for k in (*_ROW_KEYS, *metrics):
            if isinstance(row[k], bool):
                raise _fail(path, f"row {n}, column {k} = {row[k]!r}: is not a number")
        key = (row["image"], row["codec_id"], row["q"])
        if key in seen:
            raise _fail(path, f"row {n}: point {key} appears twice")
        seen.add(key)
    results = pd.DataFrame(rows, columns=[*_ROW_KEYS, *metrics])
    try:
        results = validate_points(results, metrics, [c.id for c in codecs], "", images=list(images), required=_ROW_KEYS,
                                  declared_by="the baseline")  # fmt: skip
    except BadInput as exc:
        raise _fail(path, str(exc)) from None
    results["bpp"] = bits_per_pixel(results["bytes"], results["width"], results["height"])
    return Baseline(str(path), str(data["dataset"]["name"]), images, codecs, metrics, results)


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    """A qualitykit 0.1 baseline in today's shape (``codec``/``quality`` → ``codec_id``/``q``; full metric metadata)."""
    from ..metrics import registry
    from ..errors import QKError

    def info(name: str, meta: dict[str, Any]) -> dict[str, Any]:
        try:
            cls = registry.get(name)
            known = {k: getattr(cls, k) for k in ("range", "saturation", "unit", "description", "reference")}
        except QKError:
            known = {"range": (None, None), "saturation": None, "unit": "", "description": "", "reference": ""}
        return {**known, **meta}

    rows = [
        {**{k: v for k, v in r.items() if k not in ("codec", "quality")}, "codec_id": r.get("codec"), "q": r.get("quality")}
        if isinstance(r, dict) else r
        for r in data.get("rows", [])
    ]  # fmt: skip
    metrics = {n: info(n, m) for n, m in data.get("metrics", {}).items()} if isinstance(data.get("metrics"), dict) else data.get("metrics")
    return {**data, "format": FORMAT, "rows": rows, "metrics": metrics}
