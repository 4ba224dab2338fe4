"""The worker side of the Dask executor: what runs inside a Dask worker for each task.

:func:`run_remote` is the function the driver (:mod:`qualitykit.runner.dask`) submits: it
prepares this worker process once (external-codec definitions, PyTorch threads, one
:class:`~.work.WorkerState` per worker thread), checks that this worker computes with the versions
the driver planned with (:class:`Setup`; a difference raises :class:`EnvironmentMismatch`, which
stops the run), runs :func:`~.work.run_task` and returns every event. :func:`warm` imports the
registries on a fresh worker. Nothing here opens the SQLite cache or the run directory.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .work import Event, Task, WorkerState, run_task, set_worker_threads, threads_per_worker, worker_error


class EnvironmentMismatch(Exception):
    """A worker would compute with other versions than those the driver planned (and keys the cache with)."""


@dataclass(frozen=True)
class Setup:
    """What every task of a run carries besides the task itself (small: no images, no models)."""

    device: str
    qualitykit_version: str
    #: codec id → the versions the driver recorded (they enter the cache keys).
    codec_versions: Mapping[str, Mapping[str, object]]
    #: metric name → version.
    metric_versions: Mapping[str, str]
    #: External-command codec definitions loaded on the driver: ``(name, definition, source file)``.
    codec_definitions: tuple[tuple[str, Mapping[str, Any], str], ...] = ()
    #: Worker processes per host when the run started, to give each PyTorch ``cores / workers`` threads.
    workers_per_host: Mapping[str, int] = field(default_factory=dict)
    #: ``host:pid`` of the driver: a worker in the driver's own process leaves its PyTorch threads alone.
    driver: str = ""
    #: Whether any codec or metric of the run computes with PyTorch; workers import it only then.
    uses_torch: bool = True


_local = threading.local()  # one WorkerState per worker thread (models are not shared across threads)
_lock = threading.Lock()
_checked: set[tuple[str, str]] = set()  # (codec|metric, name) whose versions this process has verified
_defined: set[str] = set()  # external codecs defined in this process
_threads_set = False


def task_metrics(task: Task) -> set[str]:
    """The metrics ``task`` computes: ``metrics`` for its encodes, each rescore's own list."""
    names = {n for r in task.rescore for n in r[3]}
    return names | set(task.metrics) if task.encode else names


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _worker_address() -> tuple[str, Any]:
    try:
        from distributed import get_worker

        worker = get_worker()
        return worker.address, worker
    except (ImportError, ValueError):  # called outside a Dask worker (tests)
        return "local", None


def _prepare(setup: Setup, worker: Any) -> WorkerState:
    """This process's definitions, PyTorch threads and this thread's :class:`WorkerState`."""
    global _threads_set
    with _lock:
        for name, definition, source in setup.codec_definitions:
            if name not in _defined:
                from ..codecs.external import define

                define(name, definition, source)
                _defined.add(name)
        if not _threads_set and worker is not None and setup.driver != process_name():
            _threads_set = True
            share = setup.workers_per_host.get(getattr(worker, "ip", ""), 1) * max(1, getattr(worker, "nthreads", 1) or 1)
            threads = threads_per_worker(share)
            set_worker_threads(threads, threads if setup.uses_torch else 0)
    state = getattr(_local, "state", None)
    if state is None or state.device != setup.device:
        state = _local.state = WorkerState(setup.device)
    return state


def _check_versions(setup: Setup, task: Task, state: WorkerState, address: str) -> None:
    """Raise :class:`EnvironmentMismatch` when this worker's versions differ from the driver's.

    A codec or metric that cannot be built here is left to :func:`run_task`, which reports it
    per unit as the local executor does.
    """
    from .._version import __version__

    if __version__ != setup.qualitykit_version:
        raise EnvironmentMismatch(
            f"Dask worker {address} runs qualitykit {__version__}, the driver {setup.qualitykit_version}; "
            "install the same qualitykit (and libraries) on the workers as on the machine running qk"
        )
    wanted = [("codec", task.codec_id)] + [("metric", m) for m in sorted(task_metrics(task))]
    for kind, name in wanted:
        if (kind, name) in _checked:
            continue
        try:
            if kind == "codec":
                here: object = state.codec(name).versions()
                there: object = dict(setup.codec_versions.get(name, {}))
            else:
                here = state.metric(name).info().version
                there = setup.metric_versions.get(name)
        except Exception:
            continue  # cannot run here: run_task says so for this unit
        if here != there:
            raise EnvironmentMismatch(
                f"Dask worker {address} has other versions for {kind} {name} than the driver: "
                f"worker {here}, driver {there}; results would be cached under the driver's versions. "
                "Install the same libraries on the workers as on the machine running qk"
            )
        _checked.add((kind, name))


def warm() -> str:
    """Import what tasks need (the codec and metric registries: PyTorch, CompressAI, ...), so a fresh
    worker pays for it while the driver plans rather than in its first task."""
    from ..codecs import registry as codecs
    from ..metrics import registry as metrics

    codecs.names()
    metrics.names()
    return _worker_address()[0]


def run_remote(task: Task, setup: Setup) -> tuple[str, list[Event]]:
    """Run ``task`` on a Dask worker; return the worker's address and every event, in order."""
    address, worker = _worker_address()
    state = _prepare(setup, worker)
    _check_versions(setup, task, state, address)
    events: list[Event] = []
    try:
        run_task(task, state, events.append)
    except Exception as exc:  # a bug in a codec or metric: report it for this unit only, as the local pool does
        events.append(worker_error(task, exc))
    return address, events
