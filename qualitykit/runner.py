"""Plan the grid image × codec × quality, then execute it over a process pool.

A *unit* of work is one image × one codec (all its quality points): the worker
loads the image once, encodes and decodes each point, and scores every point
in one batch (so libvmaf runs once and torch metrics see one batch per unit).
Each encode and each batch of metric values is written to the
:class:`~qualitykit.store.Store` as soon as it exists, by the worker itself:
a run killed at any moment keeps every finished item, and the rerun computes
only what is missing. The results table is then read back from the store, so it
always matches the cache.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .codecs import Codec, codec_from_spec
from .datasets import Corpus
from .errors import BadInput, Unavailable
from .fsutil import sha256_file
from .imageio import load_rgb
from .metrics import Metric, evaluate, get_metric
from .store import Encode, Store, encode_key

#: The fixed leading columns of a results table; one column per metric follows.
COLUMNS = ["image", "image_sha256", "width", "height", "codec", "quality", "bytes", "bpp", "encode_s", "decode_s"]


@dataclass(frozen=True)
class SourceImage:
    image: str  # name relative to the corpus root
    path: Path
    sha256: str


@dataclass(frozen=True)
class CodecEntry:
    spec: str  # as the user wrote it
    label: str  # short display name, unique in the run
    codec: Codec
    ladder: tuple[float, ...]
    versions: dict[str, str]


@dataclass
class Plan:
    """Everything a run will compute, resolved and hashed before any work starts."""

    corpus: Corpus
    images: list[SourceImage]
    codecs: list[CodecEntry]
    metrics: dict[str, str]  # name → version, the metrics that will run
    unavailable: dict[str, str] = field(default_factory=dict)  # metric → why it cannot run here
    device: str = "auto"
    codecs_unavailable: dict[str, str] = field(default_factory=dict)  # codec spec → why it cannot run here

    @property
    def n_items(self) -> int:
        return len(self.images) * sum(len(c.ladder) for c in self.codecs)


@dataclass(frozen=True)
class Unit:
    image: SourceImage
    codec_id: str
    ladder: tuple[float, ...]
    versions: dict[str, str]

    def keys(self) -> list[str]:
        return [encode_key(self.image.sha256, self.codec_id, q, self.versions) for q in self.ladder]


@dataclass
class Outcome:
    """What :func:`execute` did: counts of real work done, and every error with its item."""

    encoded: int = 0
    metric_values: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)

    def add(self, other: Outcome) -> None:
        self.encoded += other.encoded
        self.metric_values += other.metric_values
        self.errors.extend(other.errors)


def _label(spec: str) -> str:
    """The spec without its quality ladder: ``avif:speed=4:q=20/40`` → ``avif:speed=4``."""
    return ":".join(p for p in spec.split(":") if not p.startswith(("q=", "quality=")))


def make_plan(
    corpus: Corpus,
    codecs: Sequence[str],
    metrics: Sequence[str] | None = None,
    device: str = "auto",
) -> Plan:
    """Resolve codec specs and metric names, hash every image. ``metrics=None`` means every available
    metric of the default set (:func:`~qualitykit.metrics.default_metrics`; opt-in ones only by name).

    Unknown or malformed codecs and unknown metrics raise. Codecs that cannot run
    here are listed in :attr:`Plan.codecs_unavailable`. Metrics that exist but cannot run here
    (missing weights, no ffmpeg with libvmaf) are left out and listed with the
    reason in :attr:`Plan.unavailable`, so every other metric still runs. Downloads happen here
    and nowhere else, in this (the main) process: a metric asked for by name and every codec
    spec first get a chance to fetch the assets they lack (:mod:`qualitykit.assets`).
    """
    from .metrics import default_metrics, ensure_available, registry

    entries: list[CodecEntry] = []
    codecs_unavailable: dict[str, str] = {}
    for spec in codecs:
        try:
            codec, ladder = codec_from_spec(spec)
            codec.fetch(ladder)  # zoo weights: downloaded now if missing, never in the workers
        except Unavailable as exc:  # e.g. weights missing offline: the other codecs still run
            codecs_unavailable[spec] = str(exc)
            continue
        codec.device = device
        same = next((e.spec for e in entries if e.codec.id == codec.id), None)
        if same is not None:
            raise BadInput(f"{same!r} and {spec!r} are the same codec ({codec.id}); give it once, with one ladder")
        label = _label(spec)
        if any(e.label == label for e in entries):
            label = spec
        entries.append(CodecEntry(spec, label, codec, ladder, codec.versions()))
    unavailable: dict[str, str] = {}
    if metrics is None:
        status = default_metrics()
        names = [n for n, why in status.items() if why is None]
        unavailable = {n: why for n, why in status.items() if why is not None}
    else:
        names = []
        for name in dict.fromkeys(metrics):
            registry.get(name)  # unknown names raise here, before any work
            why = ensure_available(name)
            if why is None:
                names.append(name)
            else:
                unavailable[name] = why
    instances = [get_metric(n, device=device) for n in names]
    images = [SourceImage(f, corpus.path(f), sha256_file(corpus.path(f))) for f in corpus.files]
    return Plan(corpus, images, entries, {m.name: m.version for m in instances}, unavailable, device, codecs_unavailable)


# ---------------------------------------------------------------- worker side

_worker: dict[str, object] = {}


def _init_worker(store_path: str, metric_names: Sequence[str], device: str, torch_threads: int | None) -> None:
    if torch_threads:
        import torch

        torch.set_num_threads(torch_threads)
    metrics = [get_metric(n, device=device) for n in metric_names]
    _worker.update(store=Store(store_path), metrics=metrics, codecs={}, device=device)


def _codec(codec_id: str) -> Codec:
    cache: dict[str, Codec] = _worker["codecs"]  # type: ignore[assignment]
    if codec_id not in cache:
        codec, _ = codec_from_spec(codec_id)
        codec.device = str(_worker["device"])
        cache[codec_id] = codec
    return cache[codec_id]


def _error(unit: Unit, stage: str, message: str, quality: float | None = None) -> dict[str, object]:
    return {"image": unit.image.image, "codec": unit.codec_id, "quality": quality, "stage": stage, "message": message}


def run_unit(unit: Unit) -> Outcome:
    """Encode, decode and score every point of one unit, caching as it goes (runs in a worker)."""
    store: Store = _worker["store"]  # type: ignore[assignment]
    metrics: list[Metric] = _worker["metrics"]  # type: ignore[assignment]
    out = Outcome()
    try:
        image = load_rgb(unit.image.path)
    except BadInput as exc:
        out.errors.append(_error(unit, "load", str(exc)))
        return out
    try:
        codec = _codec(unit.codec_id)
    except Exception as exc:
        out.errors.append(_error(unit, "codec", f"{type(exc).__name__}: {exc}"))
        return out
    h, w = image.shape[:2]
    decoded: dict[str, np.ndarray] = {}
    keys = unit.keys()
    present = set(store.get_encodes(keys))
    for q, key in zip(unit.ladder, keys):
        if key in present:
            continue
        try:
            t0 = time.perf_counter()
            data = codec.encode(image, q)
            t1 = time.perf_counter()
            pixels = codec.decode(data)
            t2 = time.perf_counter()
        except Exception as exc:
            out.errors.append(_error(unit, "encode", f"{type(exc).__name__}: {exc}", q))
            continue
        if pixels.shape != image.shape or pixels.dtype != np.uint8:
            out.errors.append(_error(unit, "decode", f"decoded {pixels.shape} {pixels.dtype}, source is {image.shape} uint8", q))
            continue
        store.put_encode(unit.image.sha256, unit.codec_id, q, unit.versions, Encode(key, w, h, len(data), t1 - t0, t2 - t1, data))
        decoded[key] = pixels
        present.add(key)
        out.encoded += 1
    if not metrics:
        return out
    wanted = {m.name: m.version for m in metrics}
    cached = store.get_metrics(keys, wanted)
    todo_keys = [k for k in keys if k in present and any((k, m) not in cached for m in wanted)]
    todo_metrics = [m for m in metrics if any((k, m.name) not in cached for k in todo_keys)]
    if not todo_keys or not todo_metrics:
        return out
    for k in todo_keys:
        if k not in decoded:
            decoded[k] = codec.decode(store.get_encode(k).bitstream)  # type: ignore[union-attr]
    values = evaluate(todo_metrics, [image] * len(todo_keys), [decoded[k] for k in todo_keys])
    rows = []
    for m in todo_metrics:
        result = values[m.name]
        if isinstance(result, Exception):
            out.errors.append(_error(unit, f"metric {m.name}", f"{unit.image.path}: {type(result).__name__}: {result}"))
            continue
        rows += [(k, m.name, m.version, v) for k, v in zip(todo_keys, result) if (k, m.name) not in cached]
    store.put_metrics(rows)
    out.metric_values += len(rows)
    return out


# ---------------------------------------------------------------- parent side


def _pool_context(device: str) -> multiprocessing.context.BaseContext:
    """``fork`` is fastest, but CUDA cannot be used after a fork: use ``spawn`` when a GPU may run."""
    from .device import resolve_device

    return multiprocessing.get_context("spawn" if resolve_device(device) != "cpu" else "fork")


def execute(
    plan: Plan,
    store_path: str | os.PathLike[str],
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Run every unit of ``plan``; ``progress(n)`` is called with the number of items finished.

    With ``jobs`` > 1 (default: every core) units run in worker processes. A
    worker that dies (killed, out of memory) is reported as an error for its
    units; everything finished stays cached for the rerun.
    """
    jobs = jobs or os.cpu_count() or 1
    units = [Unit(img, c.codec.id, c.ladder, c.versions) for img in plan.images for c in plan.codecs]
    names = list(plan.metrics)
    outcome = Outcome()
    if jobs == 1 or len(units) == 1:
        _init_worker(str(store_path), names, plan.device, None)
        try:
            for unit in units:
                outcome.add(run_unit(unit))
                if progress:
                    progress(len(unit.ladder))
        finally:
            _worker.pop("store").close()  # type: ignore[attr-defined]
        return outcome
    threads = max(1, (os.cpu_count() or 1) // jobs)
    with ProcessPoolExecutor(
        max_workers=min(jobs, len(units)),
        mp_context=_pool_context(plan.device),
        initializer=_init_worker,
        initargs=(str(store_path), names, plan.device, threads),
    ) as pool:
        futures = {pool.submit(run_unit, u): u for u in units}
        for future in as_completed(futures):
            unit = futures[future]
            try:
                outcome.add(future.result())
            except BrokenProcessPool:
                outcome.errors.append(
                    _error(unit, "worker", "worker process died (killed or out of memory); rerun to finish this item")
                )
            except Exception as exc:
                outcome.errors.append(_error(unit, "worker", f"{type(exc).__name__}: {exc}"))
            if progress:
                progress(len(unit.ladder))
    return outcome


def collect(plan: Plan, store: Store) -> pd.DataFrame:
    """The results table of ``plan`` as the store holds it: one row per finished item.

    Columns are :data:`COLUMNS` then one per metric (NaN where a value is missing).
    ``encode_s`` and ``decode_s`` are the wall times measured when the item was
    first computed (a cached item keeps its original timing).
    """
    rows = []
    for c in plan.codecs:
        for img in plan.images:
            unit = Unit(img, c.codec.id, c.ladder, c.versions)
            keys = unit.keys()
            encodes = store.get_encodes(keys)
            values = store.get_metrics(keys, plan.metrics)
            for q, key in zip(c.ladder, keys):
                e = encodes.get(key)
                if e is None:
                    continue
                row = {
                    "image": img.image, "image_sha256": img.sha256, "width": e.width, "height": e.height,
                    "codec": c.codec.id, "quality": q, "bytes": e.bytes, "bpp": e.bytes * 8 / (e.width * e.height),
                    "encode_s": e.encode_s, "decode_s": e.decode_s,
                }  # fmt: skip
                row.update({m: values.get((key, m), float("nan")) for m in plan.metrics})
                rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS + list(plan.metrics))
