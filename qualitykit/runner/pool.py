"""A process pool that survives its workers: the local executor of :mod:`qualitykit.runner`.

Why not :class:`concurrent.futures.ProcessPoolExecutor`: when one of its workers dies, every
pending future fails and the pool is unusable, and nobody can tell which task killed it. Here
each worker has its own pipe, so

* results stream back as events while a task runs (nothing a task finished is lost if it dies);
* a worker that dies is replaced and the driver learns exactly which task it was running
  (a :class:`~.work.Died` event); the driver retries that task once, **alone**
  (:attr:`Task.deaths` > 0 makes the pool run it with no other task beside it), so an image that
  only fits in memory by itself still finishes;
* tasks are admitted under a memory limit: a task starts only when the estimates of the tasks
  running beside it, plus each worker's base footprint, fit (a task always starts when nothing
  else runs); huge images thus run fewer at a time;
* workers ignore Ctrl-C (the driver stops them), exit when the driver dies (``PR_SET_PDEATHSIG``
  on Linux, and a watchdog thread everywhere), and :meth:`LocalPool.close` kills them within a
  second; a worker stopped by SIGTERM first kills the programs it runs (external codecs), and
  what a worker killed outright left in its scratch folders is reaped by the pool
  (:mod:`qualitykit.processes`).
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait

from ..errors import BadInput
from ..processes import die_by_signal, die_with_parent, reap_scratch_of, stop_children
from .executor import ExecutorBase
from .plan import WORKER_BASE_BYTES, Plan
from .work import Died, Done, Event, Task, WorkerState, run_task, set_worker_threads, threads_per_worker, worker_error


@dataclass(frozen=True)
class WorkerInit:
    """How to start a worker: PyTorch ``device``, PyTorch threads (0: PyTorch is not imported) and
    BLAS threads per worker."""

    device: str
    torch_threads: int
    blas_threads: int


def _die_with_parent(parent: int) -> None:
    """Exit when the driver process dies, even if it was killed with SIGKILL."""
    die_with_parent()  # PR_SET_PDEATHSIG on Linux

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        stop_children()
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="qk-parent-watch").start()


def _worker_main(conn: Connection, init: WorkerInit, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    # the driver stops a worker with SIGTERM: it kills the programs it runs (external codecs), then ends
    signal.signal(signal.SIGTERM, die_by_signal)
    _die_with_parent(parent)
    set_worker_threads(init.blas_threads, init.torch_threads)
    state = WorkerState(init.device)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            run_task(task, state, conn.send)
        except Exception as exc:  # a bug in a codec or metric: report it for this unit only
            conn.send(worker_error(task, exc))
        conn.send(Done(task.unit))


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    task: Task | None = None


def _cause(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        oom = " — most likely out of memory" if exitcode == -signal.SIGKILL else ""
        return f"killed by {name}{oom}"
    return f"exited with status {exitcode}"


class LocalPool(ExecutorBase):
    """``jobs`` worker processes on this machine; see the module docstring. The executor ``local``.

    Use :meth:`submit` to queue tasks and :meth:`poll` to collect events; a :class:`~.work.Done`
    event ends every task, a :class:`~.work.Died` event replaces it when its worker died.
    """

    kind = "local"

    def __init__(self, jobs: int, init: WorkerInit, memory_limit: float, context: str = "fork", note: str | None = None) -> None:
        self.jobs = jobs
        #: Why fewer workers run than were asked for (recorded in :meth:`describe`), or ``None``.
        self.note = note
        self.init = init
        self.memory_limit = memory_limit
        self._ctx = multiprocessing.get_context(context)
        self._queue: collections.deque[Task] = collections.deque()
        self._workers: list[_Worker] = []  # started at the first task: a run with nothing to do starts none

    @classmethod
    def open(cls, jobs: int, scheduler: object = None, jobs_given: bool = True) -> LocalPool:
        """The executor before planning; :meth:`bind` sets its device and memory limit from the plan."""
        if scheduler is not None:
            raise BadInput("--scheduler is the address of a Dask scheduler: give it with --executor dask")
        threads = threads_per_worker(jobs)
        return cls(jobs, WorkerInit("cpu", threads, threads), float("inf"))

    def bind(self, plan: Plan) -> None:
        """``plan.jobs`` workers (the request capped for this machine, ``plan.jobs_note`` says why)
        for ``plan``'s device under its memory limit (see :meth:`for_device`)."""
        bound = self.for_device(plan.jobs, plan.device, plan.memory_limit, note=plan.jobs_note, torch=plan.uses_torch)
        self.jobs, self.note = bound.jobs, bound.note
        self.init, self.memory_limit, self._ctx = bound.init, bound.memory_limit, bound._ctx

    @classmethod
    def for_device(
        cls, jobs: int, device: str, memory_limit: float, note: str | None = None, torch: bool = True
    ) -> LocalPool:
        """A pool of ``jobs`` workers running PyTorch on ``device``, sharing the cores between them.

        Workers are forked (they start in milliseconds and inherit the codecs and metrics
        registered in this process), except for CUDA, which cannot run in a forked child: spawned.
        A forked child hangs in its first multi-threaded PyTorch operation when this process has
        already run one (GNU OpenMP is not fork-safe), so when PyTorch is already imported here
        (a notebook, a test session) each forked worker runs PyTorch on one thread; otherwise
        each gets :func:`~qualitykit.runner.work.threads_per_worker` (``--jobs 1``: every core), as
        does numpy's BLAS in every worker. With ``torch`` false (no codec or metric of the run
        computes with PyTorch) workers never import it.
        """
        context = "spawn" if device == "cuda" else "fork"
        blas = threads_per_worker(jobs)
        threads = blas if torch else 0
        if threads and context == "fork" and "torch" in sys.modules:
            threads = 1
        return cls(jobs, WorkerInit(device, threads, blas), memory_limit, context, note)

    def describe(self) -> dict[str, object]:
        return {"kind": self.kind, "workers": self.jobs, "start_method": self._ctx.get_start_method(),
                "torch_threads_per_worker": self.init.torch_threads,
                "blas_threads_per_worker": self.init.blas_threads, **({"note": self.note} if self.note else {})}  # fmt: skip

    def _start(self) -> _Worker:
        parent_end, child_end = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_worker_main, args=(child_end, self.init, os.getpid()), daemon=True, name="qk-worker"
        )
        process.start()
        child_end.close()
        return _Worker(process, parent_end)

    def submit(self, task: Task) -> None:
        """Queue ``task``; a task that already killed a worker goes first and runs alone."""
        if not self._workers:
            self._workers = [self._start() for _ in range(self.jobs)]
        if task.deaths:
            self._queue.appendleft(task)
        else:
            self._queue.append(task)

    @property
    def busy(self) -> bool:
        """Tasks are queued or running."""
        return bool(self._queue) or any(w.task is not None for w in self._workers)

    def _dispatch(self) -> None:
        running = [w.task for w in self._workers if w.task is not None]
        while self._queue:
            task = self._queue[0]
            if running and (task.deaths or any(t.deaths for t in running)):
                return  # a retried task runs alone
            used = sum(t.memory_bytes for t in running) + WORKER_BASE_BYTES * len(self._workers)
            if running and used + task.memory_bytes > self.memory_limit:
                return
            idle = next((w for w in self._workers if w.task is None), None)
            if idle is None:
                return
            self._queue.popleft()
            try:
                idle.conn.send(task)
            except (BrokenPipeError, OSError):
                self._queue.appendleft(task)  # the worker died idle; poll() replaces it
                return
            idle.task = task
            running.append(task)

    def poll(self, timeout: float = 0.5) -> list[Event]:
        """Start what can start, wait up to ``timeout`` seconds, return the events that arrived."""
        self._dispatch()
        events: list[Event] = []
        by_conn = {w.conn: w for w in self._workers}
        by_sentinel = {w.process.sentinel: w for w in self._workers}
        ready = wait([*by_conn, *by_sentinel], timeout)
        dead = set()
        for r in ready:
            worker = by_conn.get(r) or by_sentinel[r]
            if worker.conn in dead:
                continue
            if r is worker.conn and self._drain(worker, events):
                continue
            if not worker.process.is_alive():
                self._drain(worker, events)
                dead.add(worker.conn)
                self._replace(worker, events)
        return events

    def _drain(self, worker: _Worker, events: list[Event]) -> bool:
        """Read every message waiting on ``worker``'s pipe; ``False`` when the pipe is closed (worker gone)."""
        try:
            while worker.conn.poll():
                event = worker.conn.recv()
                if isinstance(event, Done):
                    worker.task = None
                events.append(event)
        except (EOFError, OSError):
            return False
        return True

    def _replace(self, worker: _Worker, events: list[Event]) -> None:
        worker.process.join(1)
        reap_scratch_of(worker.process.pid)  # killed outright: what its programs left behind
        cause = _cause(worker.process.exitcode)
        if worker.task is not None:
            events.append(Died(worker.task.unit, replace(worker.task, deaths=worker.task.deaths + 1), cause))
        worker.conn.close()
        index = self._workers.index(worker)
        self._workers[index] = self._start()

    def close(self, kill: bool = False) -> None:
        """Stop the workers: politely when idle, or at once (``kill``: SIGTERM, then SIGKILL after 1 s)."""
        for w in self._workers:
            if kill:
                w.process.terminate()
            else:
                try:
                    w.conn.send(None)
                except OSError:
                    pass
        deadline = time.monotonic() + (1.0 if kill else 10.0)
        for w in self._workers:
            w.process.join(max(0.0, deadline - time.monotonic()))
            if w.process.is_alive():
                w.process.kill()
                w.process.join(1)
                reap_scratch_of(w.process.pid)
            w.conn.close()
        self._workers = []
