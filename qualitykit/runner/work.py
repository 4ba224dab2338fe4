"""The work of one unit (one image × one codec), as a worker does it, reported as events.

A :class:`Task` says what is left to do for a unit: points to encode (and score), and cached
bitstreams that only need some scores. :func:`run_task` loads the image once, then for each
point encodes, decodes (checking the decoded size), and keeps the decoded image until
``batch_pairs`` of them are waiting; the batch is then scored by every metric in turn and
dropped. Memory therefore stays bounded by one batch, whatever the ladder length.

Every result leaves the worker as an event (a small frozen dataclass, picklable for any executor)
the moment it exists; the driver writes it to the store. Events (:data:`Event`):

* :class:`ImageRead` — what was done to read the image as RGB;
* :class:`Encoded` — one finished encode (bitstream included);
* :class:`Scored` — ``(encode_key, metric, version, score)`` rows;
* :class:`Failed` — an :class:`~qualitykit.rundir.ItemError`;
* :class:`Timed` — seconds per stage, for ``--profile``;

and, from the executor rather than the worker, :class:`Done` (every task ends with one) and
:class:`Died` (its worker died under it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..codecs import Codec, codec_from_spec
from ..errors import QKError
from ..imageio import load_image
from ..metrics import Metric, evaluate, registry
from ..processes import cpus_available
from ..rundir import ItemError
from ..store import Encode

@dataclass(frozen=True)
class ImageRead:
    unit: int
    #: What qk did to turn the file into 8-bit RGB (empty when it already was).
    conversion: str


@dataclass(frozen=True)
class Encoded:
    unit: int
    q: float
    encode: Encode


@dataclass(frozen=True)
class Scored:
    unit: int
    #: ``(encode_key, metric, metric version, score)`` rows.
    rows: list[tuple[str, str, str, float]]


@dataclass(frozen=True)
class Failed:
    unit: int
    error: ItemError


@dataclass(frozen=True)
class Timed:
    unit: int
    #: stage → seconds spent in it.
    seconds: dict[str, float]


@dataclass(frozen=True)
class Done:
    """The task of ``unit`` is over (whatever it achieved): the executor sends one per task."""

    unit: int


@dataclass(frozen=True)
class Died:
    """The worker running ``task`` died (``cause``, e.g. "killed by SIGKILL"); ``task`` counts the death."""

    unit: int
    task: Task
    cause: str


Event = ImageRead | Encoded | Scored | Failed | Timed | Done | Died
Emit = Callable[[Event], None]


@dataclass(frozen=True)
class Task:
    """What a worker must do for unit ``unit``.

    ``encode``: ``(q, key)`` points to encode, decode and score with ``metrics``;
    ``rescore``: ``(q, key, bitstream, metric names)`` cached encodes that lack some scores.
    """

    unit: int
    image: str
    path: str
    width: int
    height: int
    codec_id: str
    encode: tuple[tuple[float, str], ...]
    rescore: tuple[tuple[float, str, bytes, tuple[str, ...]], ...]
    metrics: tuple[str, ...]
    batch_pairs: int
    memory_bytes: float
    max_pixels: int | None = None
    #: Times this task's worker died under it (the driver retries once, alone).
    deaths: int = 0
    #: The image file's bytes, for workers that cannot read ``path`` (another machine: the Dask
    #: executor sends them); ``None``: the worker reads ``path``. ``path`` names the file in messages.
    data: bytes | None = field(default=None, repr=False)

    @property
    def n_items(self) -> int:
        return len(self.encode) + len(self.rescore)


@dataclass
class WorkerState:
    """What a worker process keeps between tasks: metric objects (models loaded once) and codecs."""

    device: str
    metrics: dict[str, Metric] = field(default_factory=dict)
    codecs: dict[str, Codec] = field(default_factory=dict)

    def metric(self, name: str) -> Metric:
        if name not in self.metrics:
            self.metrics[name] = registry.get(name)(device=self.device)
        return self.metrics[name]

    def codec(self, codec_id: str) -> Codec:
        if codec_id not in self.codecs:
            codec, _ = codec_from_spec(codec_id)
            codec.device = self.device
            self.codecs[codec_id] = codec
        return self.codecs[codec_id]


def threads_per_worker(sharing: int) -> int:
    """Compute threads (PyTorch's, numpy's BLAS) for each of ``sharing`` workers on one machine: the
    CPUs this process may run on (its affinity: a container's or ``taskset``'s share), divided
    equally, and at most ``$OMP_NUM_THREADS`` when that is set (a user's or a cluster scheduler's
    cap, as PyTorch and OpenBLAS themselves honour it)."""
    threads = max(1, cpus_available() // max(1, sharing))
    cap = os.environ.get("OMP_NUM_THREADS", "").strip()
    return min(threads, int(cap)) if cap.isdigit() and int(cap) > 0 else threads


def set_worker_threads(blas: int, torch: int) -> None:
    """A worker's compute threads: numpy's BLAS (OpenBLAS, MKL: SSIMULACRA 2's blur is matrix
    products) capped at ``blas`` through threadpoolctl (the maintained way to reach every BLAS
    loaded; environment variables are read only when the library loads, before a worker exists),
    and PyTorch's set to ``torch`` where it is installed; ``torch`` 0 leaves PyTorch unimported."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=blas, user_api="blas")
    if torch:
        try:
            import torch as _torch
        except ImportError:
            return
        _torch.set_num_threads(torch)


def worker_error(task: Task, exc: BaseException) -> Failed:
    """The event for an exception that escaped :func:`run_task` (a bug in a codec or metric): it fails
    ``task``'s unit only. Every executor converts a worker's exception with this one function."""
    return Failed(task.unit, ItemError(task.image, task.codec_id, None, "worker", f"{type(exc).__name__}: {exc}"))


def run_task(task: Task, state: WorkerState, emit: Emit) -> None:
    """Do ``task``, emitting every result as it is made (see the module docstring)."""
    times: dict[str, float] = {}

    def error(stage: str, message: str, q: float | None = None) -> None:
        emit(Failed(task.unit, ItemError(task.image, task.codec_id, q, stage, message)))

    t0 = time.perf_counter()
    try:
        source = load_image(task.path, task.max_pixels, task.data)
        codec = state.codec(task.codec_id)
    except QKError as exc:
        error("load", str(exc))
        return
    except Exception as exc:  # a codec that cannot be built in this process
        error("codec", f"{type(exc).__name__}: {exc}")
        return
    image = source.pixels
    times["load"] = time.perf_counter() - t0
    emit(ImageRead(task.unit, source.conversion))
    pending: list[tuple[str, np.ndarray, tuple[str, ...]]] = []

    def flush() -> None:
        _score(task, state, image, pending, emit, error, times)
        pending.clear()

    for q, key in task.encode:
        try:  # one point of one codec fails alone, labelled with the stage that failed: the others go on
            t1 = time.perf_counter()
            data = codec.encode(image, q)
            t2 = time.perf_counter()
        except Exception as exc:
            error("encode", f"{type(exc).__name__}: {exc}", q)
            continue
        try:
            pixels = codec.decode(data)
            t3 = time.perf_counter()
        except Exception as exc:
            error("decode", f"{type(exc).__name__}: {exc}", q)
            continue
        times["encode"] = times.get("encode", 0.0) + (t2 - t1)
        times["decode"] = times.get("decode", 0.0) + (t3 - t2)
        if pixels.shape != image.shape or pixels.dtype != np.uint8:
            error("decode", f"decoded {pixels.shape} {pixels.dtype}, source is {image.shape} uint8", q)
            continue
        h, w = image.shape[:2]
        emit(Encoded(task.unit, q, Encode(key, w, h, len(data), t2 - t1, t3 - t2, data)))
        if task.metrics:
            pending.append((key, pixels, task.metrics))
        if len(pending) >= task.batch_pairs:
            flush()
    for q, key, bitstream, names in task.rescore:
        try:
            t1 = time.perf_counter()
            pixels = codec.decode(bitstream)
            times["decode"] = times.get("decode", 0.0) + time.perf_counter() - t1
        except Exception as exc:
            error("decode", f"cached bitstream: {type(exc).__name__}: {exc}", q)
            continue
        pending.append((key, pixels, names))
        if len(pending) >= task.batch_pairs:
            flush()
    flush()
    emit(Timed(task.unit, times))


def _score(
    task: Task,
    state: WorkerState,
    image: np.ndarray,
    pending: Sequence[tuple[str, np.ndarray, tuple[str, ...]]],
    emit: Emit,
    error: Callable[..., None],
    times: dict[str, float],
) -> None:
    """Score every pending decoded image with the metrics it lacks; one shared pass (``Metric.shared_pass``) at a time."""
    if not pending:
        return
    names = list(dict.fromkeys(n for _, _, ns in pending for n in ns))
    # pairs needing exactly the same metrics are scored together (usually all of them)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, (_, _, ns) in enumerate(pending):
        groups.setdefault(tuple(n for n in names if n in ns), []).append(i)
    for wanted, idx in groups.items():
        metrics = [state.metric(n) for n in wanted]
        passes: dict[object, list[Metric]] = {}
        for m in metrics:
            passes.setdefault(m.shared_pass or m.name, []).append(m)
        rows = []
        for together in passes.values():
            t0 = time.perf_counter()
            results = evaluate(together, [image] * len(idx), [pending[i][1] for i in idx])
            stage = "metric " + ",".join(m.name for m in together)
            times[stage] = times.get(stage, 0.0) + time.perf_counter() - t0
            for m in together:
                result = results[m.name]
                if isinstance(result, Exception):
                    error(f"metric {m.name}", f"{task.path}: {type(result).__name__}: {result}")
                    continue
                rows += [(pending[i][0], m.name, m.version, float(v)) for i, v in zip(idx, result)]
        if rows:
            emit(Scored(task.unit, rows))
