"""The run directory: the one owner of its format, for every writer and every reader.

A run directory holds

``results.csv``
    one row per image × codec point, columns :data:`COLUMNS` then one column per metric
    (named exactly as the metric, NaN where a score is missing);
``manifest.json``
    a :class:`Manifest`: what was run (command, corpus with every image's sha256 and size,
    codecs with their ids, ladders and library versions, metrics with their metadata), on what
    machine, and what went wrong (:class:`ItemError`), with its ``status``;
``targets.csv``
    with equal-quality targets only: one row per target × image × codec, the smallest file
    reaching the target (columns :data:`TARGET_COLUMNS`; :mod:`qualitykit.equal_quality` finds them);
``index.html``, ``bdrate.json``, ``plots/``
    the report (:mod:`qualitykit.report` makes it, :func:`write_report_file` writes it), rebuilt
    from the files above.

This module is the only one that writes into a run directory (``tests/test_architecture.py``
checks it): every file through :mod:`qualitykit.fsutil`'s atomic writer, so a full disk is a
:class:`~qualitykit.errors.StorageError` naming the file at any stage. A run claims its folder
with :func:`claim_run_dir` (an exclusive lock, so two runs never share one) and records its
owner (host, pid, start) in the manifest: a manifest left ``running`` by a process that is gone
reads as ``interrupted`` (:meth:`Run.load`).

Vocabulary, the same in files, columns and code: ``codec_id`` is the canonical spec with every
setting explicit (``jpeg:optimize=0:progressive=0:subsampling=420``); ``codec_label`` the short
name a run shows (``jpeg``); ``q`` the encoder's quality setting in the codec's own scale; a
*score* is a metric value. Every file is written atomically (temporary file + rename).

>>> run = Run.load("reports/kodak-20261127-101500")              # doctest: +SKIP
>>> run.resolve_codec("jpeg"), list(run.metrics)                   # doctest: +SKIP
('jpeg:optimize=0:progressive=0:subsampling=420', ['psnr', 'ms-ssim'])
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import BadInput, QKError, UnknownName
from .fsutil import atomic_write_bytes, atomic_write_text, storage_error
from .metrics.base import MetricInfo
from .provenance import process_gone, this_process

FORMAT = "qualitykit-run/2"
RESULTS = "results.csv"
MANIFEST = "manifest.json"
TARGETS = "targets.csv"
BDRATE = "bdrate.json"
INDEX = "index.html"
PLOTS = "plots"
#: The file a run holds in its folder while it runs (:func:`claim_run_dir`): its owner, one line of JSON.
LOCK = ".qk-run.lock"
#: The fixed leading columns of ``results.csv``; one column per metric follows.
COLUMNS = [
    "image", "image_sha256", "width", "height", "codec_id", "codec_label", "q",
    "bytes", "bpp", "encode_s", "decode_s", "encode_key",
]  # fmt: skip
#: Column dtypes that pandas must not guess (a file named ``1.png`` or a hash of digits stays a string).
_STRING_COLUMNS = {"image": str, "image_sha256": str, "codec_id": str, "codec_label": str, "encode_key": str}
#: Columns of ``targets.csv``.
TARGET_COLUMNS = [
    "target", "metric", "value", "image", "codec_id", "codec_label", "q", "bytes", "bpp", "score",
    "reached", "probes", "scale", "note",
]  # fmt: skip
#: Run statuses: still being written, finished, stopped by the user, stopped by a fault.
STATUSES = ("running", "complete", "interrupted", "failed")


@dataclass(frozen=True)
class SourceImage:
    """One image of the corpus as the run read it.

    ``image`` is its name relative to the corpus root; ``width``/``height`` in pixels;
    ``conversion`` says what qk did to turn the file into 8-bit RGB (empty when it already was).
    """

    image: str
    path: str
    sha256: str
    width: int
    height: int
    expected_sha256: str | None = None
    conversion: str = ""


@dataclass(frozen=True)
class CodecEntry:
    """One codec of a run: ``spec`` as the user wrote it, ``label``, canonical ``id``, family
    ``name``, every ``settings`` value, the ``ladder`` of ``q`` values, library ``versions``."""

    spec: str
    label: str
    id: str
    name: str
    settings: dict[str, Any]
    ladder: list[float]
    versions: dict[str, Any]


@dataclass(frozen=True)
class ItemError:
    """A failure confined to one item or unit: which image, codec and ``q`` (``None`` when it
    concerns all of them), at which ``stage`` (``load``, ``encode``, ``decode``, ``metric NAME``,
    ``worker``, ``codec``), and a message naming the file and the problem."""

    image: str | None
    codec_id: str | None
    q: float | None
    stage: str
    message: str


@dataclass
class Work:
    """How much this run computed rather than read from the cache."""

    encoded: int = 0
    scored: int = 0


@dataclass
class Dataset:
    """The corpus: its ``name``, root ``path``, catalogue metadata and every image."""

    name: str
    path: str
    images: list[SourceImage]
    description: str = ""
    licence: str = ""
    source: str = ""


@dataclass
class Manifest:
    """Everything ``manifest.json`` holds (see the module docstring); :meth:`to_dict`/:meth:`from_dict`
    are the only translation to and from JSON."""

    qualitykit_version: str
    created: str
    command: str
    dataset: Dataset
    codecs: list[CodecEntry]
    metrics: list[MetricInfo]
    status: str = "running"
    format: str = FORMAT
    metrics_unavailable: dict[str, str] = field(default_factory=dict)
    codecs_unavailable: dict[str, str] = field(default_factory=dict)
    aggregation: str = "corpus value at a codec point = mean of per-image values"
    libraries: dict[str, str] = field(default_factory=dict)
    ffmpeg: str | None = None
    machine: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    gpu: str | None = None
    cache: str | None = None
    executor: dict[str, Any] = field(default_factory=dict)
    work: Work = field(default_factory=Work)
    errors: list[ItemError] = field(default_factory=list)
    #: The process that wrote the run (:func:`this_process`): a ``running`` run whose owner is gone was interrupted.
    owner: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = MANIFEST) -> Manifest:
        """Parse a manifest; a missing or mistyped field is a :class:`~qualitykit.errors.BadInput` naming ``source``."""
        try:
            data = _migrate(dict(data))
            ds = data["dataset"]
            dataset = Dataset(
                **{**_known(Dataset, ds), "images": [SourceImage(**_known(SourceImage, i)) for i in ds["images"]]}
            )
            return cls(
                **{
                    **_known(cls, data),
                    "dataset": dataset,
                    "codecs": [CodecEntry(**_known(CodecEntry, c)) for c in data["codecs"]],
                    "metrics": [MetricInfo.from_dict(_known(MetricInfo, m)) for m in data["metrics"]],
                    "work": Work(**_known(Work, data.get("work", {}))),
                    "errors": [ItemError(**_known(ItemError, e)) for e in data.get("errors", [])],
                }
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise BadInput(f"{source}: not a qualitykit run manifest ({type(exc).__name__}: {exc})") from None


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``data`` that are fields of dataclass ``cls`` (later versions may add more)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    """A manifest of qualitykit 0.1 (no ``format``) in today's shape: errors say ``codec_id``/``q``,
    image entries get their size from the results (see :meth:`Run.load`), metrics their metadata defaults."""
    if data.get("format", "qualitykit-run/1") != "qualitykit-run/1":
        return data
    data["format"] = FORMAT
    data["status"] = "complete"
    data["errors"] = [
        {"image": e.get("image"), "codec_id": e.get("codec"), "q": e.get("quality"), "stage": e["stage"], "message": e["message"]}
        for e in data.get("errors", [])
    ]  # fmt: skip
    data["metrics"] = [{**_registered_metadata(m["name"]), **m} for m in data["metrics"]]
    for image in data["dataset"]["images"]:
        image.setdefault("width", 0)
        image.setdefault("height", 0)
    work = data.get("work", {})
    data["work"] = {"encoded": work.get("encoded", 0), "scored": work.get("metric_values", 0)}
    return data


def _registered_metadata(name: str) -> dict[str, Any]:
    """Metadata fields a 0.1 manifest lacks, from the metric registered under ``name`` (neutral if none is)."""
    from .metrics import registry

    try:
        cls = registry.get(name)
    except QKError:
        return {"range": (None, None), "saturation": None, "unit": "", "reference": "", "description": ""}
    return {k: getattr(cls, k) for k in ("range", "saturation", "unit", "reference", "description")}


def model_of(codec: CodecEntry) -> str | None:
    """The model a learned codec runs (its ``model`` setting: ``qk-hyperprior-v1``, ``cheng2020-anchor``,
    a checkpoint's file name), ``None`` for a codec that has no model."""
    model = codec.settings.get("model")
    if not model:
        return None
    if model == "ckpt" and codec.settings.get("ckpt"):
        return Path(str(codec.settings["ckpt"])).name
    return str(model)


def display_name(codec: CodecEntry | str) -> str:
    """How a codec is named to people, everywhere (answer, report, plots, claims, gate).

    A label alone: ``avif`` → ``AVIF``; a label with settings (``avif:speed=4``) stays as written.
    A learned codec (a :class:`CodecEntry` with a ``model``) is named by its model id:
    ``neural (qk-hyperprior-v1)``, ``neural:cheng2020-anchor`` (the label already says it).
    """
    label = codec if isinstance(codec, str) else codec.label
    model = None if isinstance(codec, str) else model_of(codec)
    if model is None:
        return label if ":" in label else label.upper()
    return label if model in label else f"{label} ({model})"


# ---------------------------------------------------------------- writing


def new_run_dir(out: str | os.PathLike[str] | None, corpus_name: str, overwrite: bool = False) -> Path:
    """Create the run directory, claim it (:func:`claim_run_dir`) and prove it is writable, before any work.

    ``out=None`` picks ``reports/<corpus>-<UTC time>``, adding ``-2``, ``-3``… so that runs started
    in the same second (two ``qk bench`` at once, ``qualitykit.bench()`` in a loop) never share a
    folder (the folder is claimed with an exclusive ``mkdir``). An explicit ``out`` that already
    holds a run is refused unless ``overwrite``; one that another live run holds is always refused.
    The caller gives the claim up with :func:`release_run_dir`.
    """
    if out is None:
        base = Path("reports") / f"{corpus_name}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
        for n in range(1, 10_000):
            path = base if n == 1 else base.with_name(f"{base.name}-{n}")
            try:
                path.mkdir(parents=True)
                break
            except FileExistsError:
                continue
            except OSError as exc:
                raise storage_error(path, exc, "create the run directory") from None
    else:
        path = Path(out)
        if path.exists() and not path.is_dir():
            raise BadInput(f"--out {path}: exists and is not a directory")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error(path, exc, "create the run directory") from None
    claim_run_dir(path, overwrite)
    return path


def claim_run_dir(path: Path, overwrite: bool = False) -> None:
    """Hold ``path`` for this process: an exclusive lock on :data:`LOCK`, then check the folder.

    The lock is the operating system's (``flock``): of two runs given the same folder at once
    exactly one gets it; the other is refused with a :class:`~qualitykit.errors.BadInput` naming
    the folder and the process holding it (recorded in the lock file). A run that dies, even by
    ``kill -9``, loses the lock with its process, so the folder is free again at once. The manifest
    is checked once the lock is held, so a run that finished meanwhile is seen: its folder is
    refused unless ``overwrite``. :func:`release_run_dir` gives the claim up.
    """
    lock = path / LOCK
    for _ in range(10):
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise storage_error(path, exc, "write into the run directory") from None
        if not _lock(fd):
            os.close(fd)
            owner = _read_owner(lock)
            who = f"process {owner.get('pid')} on {owner.get('host')}" if owner else "another run"
            raise BadInput(f"--out {path} is being written by another run ({who}); choose another folder")
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except OSError:
            same = False
        if same:
            break
        os.close(fd)  # its holder removed the file as we locked it: lock the one now there
    else:
        raise BadInput(f"--out {path}: cannot claim the folder (other runs keep claiming it); choose another folder")
    try:
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(this_process()) + "\n").encode("utf-8"))
    except OSError as exc:
        os.close(fd)
        raise storage_error(lock, exc) from None
    _HELD[path.resolve()] = fd
    if (path / MANIFEST).exists() and not overwrite:
        release_run_dir(path)
        raise BadInput(f"--out {path} already holds a run; choose another folder or pass --overwrite")


#: Run folders this process holds → the descriptor of their lock file (the lock lives as long as it is open).
_HELD: dict[Path, int] = {}


def _lock(fd: int) -> bool:
    """Take the exclusive lock on ``fd`` without waiting; ``False`` when another process holds it.
    Where the system has no ``flock`` (or the file system refuses it) the claim is the manifest check alone."""
    try:
        import fcntl
    except ImportError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


def _read_owner(lock: Path) -> dict[str, Any]:
    """The owner recorded in a lock file; ``{}`` when unknown (being written, unreadable, gone)."""
    try:
        data = json.loads(lock.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def release_run_dir(path: str | os.PathLike[str]) -> None:
    """Give up this process's claim on ``path``: remove :data:`LOCK` while still holding it, then unlock."""
    fd = _HELD.pop(Path(path).resolve(), None)
    if fd is None:
        return
    try:
        (Path(path) / LOCK).unlink()
    except OSError:
        pass
    os.close(fd)


def write_manifest(run_dir: str | os.PathLike[str], manifest: Manifest) -> None:
    """Write ``manifest.json`` atomically."""
    atomic_write_text(Path(run_dir) / MANIFEST, json.dumps(manifest.to_dict(), indent=2, default=str) + "\n")


def write_results(run_dir: str | os.PathLike[str], results: pd.DataFrame) -> None:
    """Write ``results.csv`` atomically; its first columns must be :data:`COLUMNS`."""
    if list(results.columns[: len(COLUMNS)]) != COLUMNS:
        raise ValueError(f"results columns must start with {COLUMNS}, got {list(results.columns)}")
    atomic_write_text(Path(run_dir) / RESULTS, results.to_csv(index=False))


def write_run(run_dir: str | os.PathLike[str], results: pd.DataFrame, manifest: Manifest) -> None:
    """Write ``results.csv`` then ``manifest.json``, each atomically (the manifest last: a reader
    that sees a complete manifest sees its results)."""
    write_results(run_dir, results)
    write_manifest(run_dir, manifest)


def write_targets(run_dir: str | os.PathLike[str], table: pd.DataFrame) -> Path:
    """Write ``targets.csv`` (columns :data:`TARGET_COLUMNS`) atomically; return its path."""
    path = Path(run_dir) / TARGETS
    atomic_write_text(path, table[TARGET_COLUMNS].to_csv(index=False))
    return path


def write_report_file(out_dir: str | os.PathLike[str], name: str, data: str | bytes) -> Path:
    """Write one file of the report (:data:`INDEX`, :data:`BDRATE`, ``plots/NAME``) atomically; return its path.

    ``name`` is relative to ``out_dir`` and must stay inside it.
    """
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise ValueError(f"report file {name!r}: give a path inside the report folder")
    path = Path(out_dir) / rel
    atomic_write_bytes(path, data.encode("utf-8") if isinstance(data, str) else data)
    return path


# ---------------------------------------------------------------- reading


@dataclass
class Run:
    """A run: its results table, its :class:`Manifest` and, when loaded from disk, its ``path``."""

    results: pd.DataFrame
    manifest: Manifest
    path: Path | None = None

    @classmethod
    def load(cls, run_dir: str | os.PathLike[str]) -> Run:
        """Read a run directory; a missing or malformed file is a :class:`~qualitykit.errors.BadInput` naming it."""
        run_dir = Path(run_dir)
        csv, man = run_dir / RESULTS, run_dir / MANIFEST
        for p in (man, csv):
            if not p.is_file():
                raise _unfinished(run_dir) if p is csv and man.is_file() else BadInput(
                    f"{p}: not found; is {run_dir} a qk run directory?")  # fmt: skip
        try:
            data = json.loads(man.read_text(encoding="utf-8"))
            results = pd.read_csv(csv, dtype=_STRING_COLUMNS | {"codec": str})
        except (OSError, ValueError) as exc:
            raise BadInput(f"{run_dir}: unreadable run ({type(exc).__name__}: {exc})") from None
        manifest = Manifest.from_dict(data, str(man))
        manifest.status = status_now(manifest)
        results = _migrate_results(results, manifest)
        results = validate_run(results, manifest, str(csv))
        return cls(results, manifest, run_dir)

    @property
    def codecs(self) -> list[CodecEntry]:
        """Codecs with results, in run order."""
        present = set(self.results["codec_id"])
        return [c for c in self.manifest.codecs if c.id in present]

    @property
    def codec_ids(self) -> list[str]:
        return [c.id for c in self.codecs]

    def label(self, codec_id: str) -> str:
        """The ``codec_label`` of ``codec_id``."""
        return next(c.label for c in self.manifest.codecs if c.id == codec_id)

    def display(self, label: str) -> str:
        """:func:`display_name` of the codec labelled ``label`` (the label itself when the run has no such codec)."""
        entry = next((c for c in self.manifest.codecs if c.label == label), None)
        return display_name(entry if entry is not None else label)

    @property
    def metrics(self) -> dict[str, MetricInfo]:
        """Metrics with a results column, in run order, with their recorded metadata."""
        return {m.name: m for m in self.manifest.metrics if m.name in self.results.columns}

    @property
    def images(self) -> list[str]:
        """Image names with results, in corpus order."""
        present = set(self.results["image"])
        return [i.image for i in self.manifest.dataset.images if i.image in present]

    def resolve_codec(self, key: str) -> str:
        """The codec id matching ``key`` by label, then spec, then id, then family name (which must be unique)."""
        for attr in ("label", "spec", "id"):
            for c in self.codecs:
                if getattr(c, attr) == key:
                    return c.id
        family = [c.id for c in self.codecs if c.name == key]
        if len(family) == 1:
            return family[0]
        where = f" in {self.path}" if self.path else ""
        labels = ", ".join(c.label for c in self.codecs)
        why = f"{len(family)} codecs of family {key!r}" if family else f"no codec {key!r}"
        raise UnknownName(f"{why}{where}; codecs: {labels}")


def status_now(manifest: Manifest) -> str:
    """The run's status as of now: a ``running`` manifest whose owner process is gone (killed, the
    machine restarted) was ``interrupted``; any other status as written."""
    if manifest.status == "running" and manifest.owner and process_gone(manifest.owner):
        return "interrupted"
    return manifest.status


def _unfinished(run_dir: Path) -> BadInput:
    """The error for a run folder with a manifest but no results yet: running, or stopped before writing them."""
    try:
        manifest = Manifest.from_dict(json.loads((run_dir / MANIFEST).read_text(encoding="utf-8")))
    except (OSError, ValueError, BadInput):
        return BadInput(f"{run_dir / RESULTS}: not found; is {run_dir} a qk run directory?")
    owner = manifest.owner
    who = f" (process {owner.get('pid')} on {owner.get('host')})" if owner else ""
    if status_now(manifest) == "running":
        return BadInput(f"{run_dir}: the run is still running{who}; its results are written when it ends")
    return BadInput(f"{run_dir}: the run was {status_now(manifest)}{who} before its results were written; "
                    "rerun its command to finish (what it computed is cached)")  # fmt: skip

# ---------------------------------------------------------------- validating

#: Columns that must hold a number in every row, and what else each must be.
_WHOLE_POSITIVE = ("bytes", "width", "height")
_FINITE_POSITIVE = ("bpp",)
_FINITE = ("q",)
#: Columns that may be empty but, when given, are a finite number ≥ 0.
_NON_NEGATIVE_OR_EMPTY = ("encode_s", "decode_s")


def validate_run(results: pd.DataFrame, manifest: Manifest, source: str) -> pd.DataFrame:
    """``results`` checked against ``manifest`` (see :func:`validate_points`), metric columns included.

    Every column after :data:`COLUMNS` must be a metric of the manifest, and every metric of the
    manifest must have a column. Returns the table with its number columns as numbers.
    """
    metrics = {m.name: m for m in manifest.metrics}
    extra = [c for c in results.columns if c not in COLUMNS and c not in metrics]
    if extra:
        raise BadInput(f"{source}: column(s) {', '.join(extra)} are not metrics of the run's manifest "
                       f"(its metrics: {', '.join(metrics) or 'none'})")  # fmt: skip
    absent = [m for m in metrics if m not in results.columns]
    if absent:
        raise BadInput(f"{source}: no column for metric(s) {', '.join(absent)} of the run's manifest")
    return validate_points(results, metrics, [c.id for c in manifest.codecs], source,
                           images=[i.image for i in manifest.dataset.images], required=COLUMNS, line_offset=2)  # fmt: skip


def validate_points(
    results: pd.DataFrame,
    metrics: dict[str, MetricInfo],
    codec_ids: list[str],
    source: str,
    *,
    images: list[str] | None = None,
    required: list[str] | tuple[str, ...] = COLUMNS,
    line_offset: int | None = None,
    declared_by: str = "the run's manifest",
) -> pd.DataFrame:
    """Check a table of RD points (a run's ``results.csv``, a baseline's rows) before anything reads it.

    Raises :class:`~qualitykit.errors.BadInput` naming ``source``, the row (1-based; with
    ``line_offset``, the file's line too) and the column when: a ``required`` column is missing;
    ``bytes``, ``width`` or ``height`` is not a whole number > 0; ``bpp`` is not a finite number
    > 0; ``q`` is not a finite number; ``encode_s``/``decode_s`` is given but not a finite number
    ≥ 0; a score is not a number, is infinite or lies outside its metric's declared ``range``
    (an empty score is allowed: the metric could not score that point); a ``codec_id`` (or an
    ``image``, when ``images`` is given) is not one ``declared_by`` declares. Returns the table
    with those columns as numbers. ``source`` may be empty when the caller names the file itself.
    """
    import numpy as np

    missing = [c for c in required if c not in results.columns]
    if missing:
        raise BadInput(f"{source}: missing column(s) {', '.join(missing)}".lstrip(": "))
    out = results.copy()

    def refuse(mask: Any, column: str, why: str) -> None:
        hits = np.flatnonzero(np.asarray(mask, dtype=bool))
        if len(hits):
            i = int(hits[0])
            where = f"row {i + 1}" + (f" (line {i + line_offset})" if line_offset is not None else "")
            more = f"; {len(hits) - 1} more row(s) like it" if len(hits) > 1 else ""
            value = results[column].iloc[i]
            shown = "empty" if pd.isna(value) and not isinstance(value, str) else repr(value)
            raise BadInput(f"{source}: {where}, column {column} = {shown}: {why}{more}".lstrip(": "))

    def numbers(column: str) -> Any:
        raw = results[column]
        numeric = pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw)
        values = raw.astype(float) if numeric else pd.to_numeric(raw.astype(object), errors="coerce")
        refuse(raw.notna() & pd.isna(values), column, "is not a number")
        return values.astype(float)

    for col in (*_WHOLE_POSITIVE, *_FINITE_POSITIVE, *_FINITE, *_NON_NEGATIVE_OR_EMPTY):
        if col not in results.columns:
            continue
        v = numbers(col)
        finite = np.isfinite(v)
        if col in _NON_NEGATIVE_OR_EMPTY:
            refuse(v.notna() & ~(finite & (v >= 0)), col, "must be empty or a finite number ≥ 0")
        elif col in _WHOLE_POSITIVE:
            refuse(~(finite & (v > 0) & (v == np.floor(v))), col, "must be a whole number > 0")
        elif col in _FINITE_POSITIVE:
            refuse(~(finite & (v > 0)), col, "must be a finite number > 0")
        else:
            refuse(~finite, col, "must be a finite number")
        out[col] = v.astype("int64") if col in _WHOLE_POSITIVE else v
    for name, info in metrics.items():
        if name not in results.columns:
            continue
        v = numbers(name)
        refuse(np.isinf(v), name, f"is not a finite {name} score")
        lo, hi = info.range
        for bound, outside, word in ((lo, v < (lo or 0) - _slack(lo), "below"), (hi, v > (hi or 0) + _slack(hi), "above")):
            if bound is not None:
                refuse(outside, name, f"is {word} the {name} range {_range_text(info.range)}")
        out[name] = v
    known = set(codec_ids)
    refuse(~results["codec_id"].isin(known), "codec_id",
           f"is not a codec of {declared_by} (it has: {', '.join(codec_ids) or 'none'})")  # fmt: skip
    if images is not None and "image" in results.columns:
        refuse(~results["image"].isin(set(images)), "image", f"is not an image of {declared_by}")
    return out


def _slack(bound: float | None) -> float:
    """Rounding allowed beyond a declared range end (a score written as text and read back)."""
    return 1e-6 * max(1.0, abs(bound or 0.0))


def _range_text(rng: tuple[float | None, float | None]) -> str:
    lo, hi = rng
    if lo is not None and hi is not None:
        return f"{lo:g}–{hi:g}"
    return f"≥ {lo:g}" if lo is not None else f"≤ {hi:g}"


def _migrate_results(results: pd.DataFrame, manifest: Manifest) -> pd.DataFrame:
    """A qualitykit 0.1 results table (``codec``, ``quality``) in today's columns; image sizes into the manifest."""
    if "codec_id" in results.columns:
        return results
    labels = {c.id: c.label for c in manifest.codecs}
    results = results.rename(columns={"codec": "codec_id", "quality": "q"})
    results.insert(results.columns.get_loc("codec_id") + 1, "codec_label", results["codec_id"].map(labels))
    results.insert(results.columns.get_loc("decode_s") + 1, "encode_key", "")
    sizes = results.drop_duplicates("image").set_index("image")[["width", "height"]]
    manifest.dataset.images = [
        SourceImage(**{**asdict(i), "width": int(sizes.at[i.image, "width"]), "height": int(sizes.at[i.image, "height"])})
        if i.image in sizes.index and not i.width
        else i
        for i in manifest.dataset.images
    ]
    return results


__all__ = [
    "BDRATE", "COLUMNS", "FORMAT", "INDEX", "LOCK", "MANIFEST", "PLOTS", "RESULTS", "TARGETS", "TARGET_COLUMNS",
    "CodecEntry", "Dataset", "ItemError", "Manifest", "Run", "SourceImage", "Work", "claim_run_dir", "display_name",
    "model_of", "new_run_dir", "release_run_dir", "status_now", "validate_points", "validate_run", "write_manifest",
    "write_report_file", "write_results", "write_run", "write_targets",
]  # fmt: skip
