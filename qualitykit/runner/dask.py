"""Running the grid on a Dask cluster: the executor ``dask`` (``qk bench --executor dask``), its driver side.

What runs on the workers is in :mod:`qualitykit.runner.dask_worker`.

:class:`DaskPool` has the interface of :class:`~qualitykit.runner.pool.LocalPool` (the
:class:`~qualitykit.runner.executor.Executor` protocol, plus its memory-plan and device-check
capabilities), so :func:`~qualitykit.runner.execute` drives it
unchanged: the same units, the same events, the driver the only writer of the store.

What travels, and where the work happens:

* **to a worker**: the :class:`~qualitykit.runner.work.Task` (codec id, qualities, cache keys,
  cached bitstreams that only need scores) with the **image file's bytes** in
  :attr:`Task.data`, and a small :class:`Setup` (device, the versions the driver planned with,
  external-codec definitions). Workers need no shared file system and never open the SQLite
  cache. Cost: the image's size once per task (per image × codec).
* **back to the driver**: the task's events as one list (:func:`run_remote` runs
  :func:`~qualitykit.runner.work.run_task` collecting them), bitstreams included; the driver writes
  them to the store as they arrive, so a rerun does no work.

Faults: a worker lost mid-task (killed, out of memory, its node gone) is Dask's to handle: the
scheduler runs the task again on another worker; nothing of the lost attempt reached the driver,
so nothing is written twice. After ``distributed.scheduler.allowed-failures`` + 1 workers died
under one task (qk's own local cluster sets 1, as the local pool retries once), Dask gives up
(``KilledWorker``) and the unit's items are recorded as failed with the cause; the rest completes.
A worker whose qualitykit, codec library or metric versions differ from the driver's would store
results under the wrong cache keys: the run stops at its first task with the difference named.

GPU: with device ``cuda``, tasks whose codec or metrics compute with PyTorch (their ``uses_torch`` attribute)
are submitted with ``resources={"GPU": 1}``, so only workers started with ``--resources GPU=1``
run them; the rest run anywhere.
"""

from __future__ import annotations

import collections
import logging
import os
import queue
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..device import resolve_device
from ..errors import BadInput, Unavailable
from ..imageio import check_regular_file
from ..rundir import ItemError
from .dask_worker import EnvironmentMismatch, Setup, process_name, run_remote, task_metrics, warm
from .executor import ExecutorBase
from .plan import Plan
from .work import Done, Event, Failed, Task

#: The Dask worker resource a GPU task asks for (``dask worker ... --resources GPU=1``).
GPU = "GPU"
#: How qk tells what to install when Dask is missing.
EXTRA = "pip install 'qualitykit[dask]'"
#: Seconds to wait at start for a first worker to connect to the scheduler.
WAIT_FOR_WORKERS_S = 120.0
#: Seconds without any worker able to run the waiting tasks (no worker at all, or no GPU worker
#: for GPU tasks) before the run stops with an error instead of waiting for ever.
NO_WORKER_S = 300.0
#: Seconds between looks at the cluster's workers.
WATCH_S = 5.0


__all__ = ["DaskPool", "EnvironmentMismatch", "Setup", "import_distributed", "run_remote", "warm"]


def import_distributed() -> Any:
    """``distributed``, or :class:`Unavailable` naming the extra that installs it."""
    try:
        import distributed
    except ImportError as exc:
        raise Unavailable(f"--executor dask needs Dask's distributed scheduler ({exc}); install it with {EXTRA}") from None
    return distributed


class DaskPool(ExecutorBase):
    """Runs tasks on a Dask cluster; see the module docstring.

    ``scheduler``: a scheduler address (``tcp://host:8786``), a ``distributed.Client``, a cluster
    object (``LocalCluster``, dask-jobqueue's ``SLURMCluster``, ...), or ``None`` to start a
    ``LocalCluster`` of ``jobs`` single-threaded worker processes on this machine (with
    ``GPU=1`` on each when PyTorch sees a GPU here). Waits up to ``wait_s`` for a first worker.
    """

    kind = "dask"

    def __init__(self, scheduler: object = None, jobs: int = 1, *, wait_s: float = WAIT_FOR_WORKERS_S) -> None:
        distributed = import_distributed()
        self._distributed = distributed
        self._cluster: Any = None
        self._own_client = True
        self.client: Any = None
        self.address: str | None = None
        self.setup: Setup | None = None
        self._gpu_codecs: set[str] = set()
        self._gpu_metrics: set[str] = set()
        self._queues: dict[bool, collections.deque[Task]] = {False: collections.deque(), True: collections.deque()}
        self._futures: dict[str, tuple[Any, Task, bool]] = {}
        self._done: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._events: list[Event] = []
        self._workers: dict[str, dict[str, Any]] = {}
        self._seen: dict[str, dict[str, Any]] = {}
        self.tasks_per_worker: collections.Counter[str] = collections.Counter()
        self.ran_on: dict[int, str] = {}  # unit → address of the worker that ran its last task
        self.gave_up = 0  # tasks Dask gave up on (KilledWorker)
        self._resubmitted: collections.Counter[int] = collections.Counter()
        self._last_watch = 0.0
        self._starved_since: dict[str, float] = {}
        try:
            if scheduler is None:
                self._cluster = self._local_cluster(jobs)
                self.client = distributed.Client(self._cluster, set_as_default=False)
            elif isinstance(scheduler, distributed.Client):
                self.client, self._own_client = scheduler, False
            elif hasattr(scheduler, "scheduler_address"):
                self.client = distributed.Client(scheduler, set_as_default=False)
            else:
                self.client = self._connect(str(scheduler))
            self.address = self.client.scheduler.address
            try:
                self.client.wait_for_workers(1, timeout=wait_s)
            except (TimeoutError, OSError):
                raise Unavailable(
                    f"no Dask worker connected to the scheduler at {self.address} within {wait_s:.0f} s; "
                    f"start some: dask worker {self.address} --nthreads 1 (see docs/cluster.md)"
                ) from None
            self._watch(force=True)
            distributed.fire_and_forget([  # nothing to wait for: a worker lost meanwhile is no concern
                self.client.submit(warm, key=f"qk-warm-{uuid.uuid4().hex[:8]}", workers=[w], allow_other_workers=True, pure=False)
                for w in self._workers
            ])  # fmt: skip
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(cls, jobs: int, scheduler: object = None, jobs_given: bool = True) -> DaskPool:
        """Connect (or start a local cluster) before planning: the device and memory plan are the workers'."""
        pool = cls(scheduler, jobs)
        if scheduler is None:
            pool.notes.append(f"no --scheduler: started a local Dask cluster of {jobs} worker processes on this machine")
        elif jobs_given:
            pool.notes.append(f"--jobs {jobs} ignored: the Dask cluster at {pool.address} has its own workers")
        return pool

    # -- connecting ----------------------------------------------------------------------------

    def _local_cluster(self, jobs: int) -> Any:
        import dask

        gpu = resolve_device("auto") == "cuda"  # imports PyTorch only where a GPU driver is loaded
        # one retry for a task whose worker died, as the local pool does; then it is recorded as failed.
        # Its logs stay quiet: what matters to the run (a worker lost for good, a task given up) comes
        # back as qk's own errors, and closing workers still busy warming up is no news.
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
            return self._distributed.LocalCluster(
                n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=":0",
                resources={GPU: 1} if gpu else None, silence_logs=logging.CRITICAL,
            )  # fmt: skip

    def _connect(self, address: str) -> Any:
        if not address.strip():
            raise BadInput("--scheduler: give the scheduler's address, e.g. tcp://headnode:8786")
        try:
            return self._distributed.Client(address, timeout=15, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise Unavailable(
                f"--scheduler {address}: no Dask scheduler answers there ({exc}); start one with "
                "`dask scheduler` (or a dask-jobqueue cluster) and give its address (see docs/cluster.md)"
            ) from None

    # -- what the plan needs to know about the cluster -------------------------------------------

    def gpu_workers(self) -> list[str]:
        return [a for a, w in self._workers.items() if (w.get("resources") or {}).get(GPU, 0) >= 1]

    def check_device(self, device: str) -> str:
        """The run's device, resolved against the workers: ``auto`` is ``cuda`` when a worker offers
        the ``GPU`` resource; ``cuda`` without one is refused (the driver itself needs no GPU)."""
        from ..device import DEVICES

        if device not in DEVICES:
            raise BadInput(f"device {device!r}: use one of {', '.join(DEVICES)}")
        self._watch(force=True)
        if device == "auto":
            return "cuda" if self.gpu_workers() else "cpu"
        if device == "cuda" and not self.gpu_workers():
            raise Unavailable(
                f"--device cuda: no Dask worker at {self.address} offers the {GPU} resource; "
                f"start GPU workers with `dask worker {self.address} --nthreads 1 --resources {GPU}=1` "
                "(see docs/cluster.md), or use --device cpu"
            )
        return device

    def memory_plan(self) -> tuple[int | None, int]:
        """``(memory limit, threads)`` of the smallest worker: the plan sizes each task for one of its
        threads (``limit / threads``) and refuses what does not fit in ``limit``; ``None`` when the
        workers have no limit."""
        limits = [w.get("memory_limit") or 0 for w in self._workers.values()]
        threads = max((w.get("nthreads") or 1 for w in self._workers.values()), default=1)
        limit = min((m for m in limits if m), default=0)
        return (int(limit) if limit else None), int(threads)

    def bind(self, plan: Plan) -> None:
        """Learn what every task of ``plan`` carries (versions, device) and which need a GPU."""
        from .._version import __version__
        from ..codecs.external import ENV, read_codec_file

        definitions = []
        for path in filter(None, os.environ.get(ENV, "").split(os.pathsep)):
            definitions += [(name, d, str(Path(path).resolve())) for name, d in read_codec_file(path).items()]
        hosts = collections.Counter(w.get("host", "") for w in self._workers.values())
        self.setup = Setup(
            plan.device, __version__, {c.id: dict(c.versions) for c in plan.codecs},
            {m.name: m.version for m in plan.metrics}, tuple(definitions), dict(hosts), process_name(),
            plan.uses_torch,
        )  # fmt: skip
        if plan.device == "cuda":
            self._gpu_codecs = {cid for cid, c in plan.codec_objects.items() if c.uses_torch}
            self._gpu_metrics = {name for name, m in plan.metric_objects.items() if m.uses_torch}

    def needs_gpu(self, task: Task) -> bool:
        """Whether ``task`` must run on a worker with the ``GPU`` resource."""
        if task.codec_id in self._gpu_codecs:
            return True
        return bool(task_metrics(task) & self._gpu_metrics)

    def gpu_name(self) -> str | None:
        """The CUDA device name of one GPU worker (for the manifest), or ``None``."""
        from .. import provenance

        gpus = self.gpu_workers()
        if not gpus:
            return None
        try:
            return next(iter(self.client.run(provenance.gpu, workers=gpus[:1]).values()), None)
        except Exception:
            return None

    # -- the executor interface ----------------------------------------------------------------

    def submit(self, task: Task) -> None:
        """Queue ``task``; at most a few tasks per worker thread are handed to Dask at a time (the
        rest wait here, so images are read and sent only shortly before they are needed)."""
        waiting = self._queues[self.needs_gpu(task)]  # GPU tasks wait apart: they never hold back the others
        if task.deaths:
            waiting.appendleft(task)
        else:
            waiting.append(task)

    @property
    def busy(self) -> bool:
        return bool(self._queues[False] or self._queues[True] or self._futures or self._events)

    def _room(self) -> dict[bool, int]:
        """How many more tasks to hand to Dask now, for CPU (``False``) and GPU (``True``) tasks: two
        per thread that can run them. Counted apart, so GPU tasks waiting for the few GPU workers
        never hold back CPU tasks that any worker could run."""
        threads = {False: 0, True: 0}
        for w in self._workers.values():
            threads[False] += w.get("nthreads") or 1
            if (w.get("resources") or {}).get(GPU, 0) >= 1:
                threads[True] += w.get("nthreads") or 1
        running = collections.Counter(gpu for _, _, gpu in self._futures.values())
        return {gpu: max(2, 2 * threads[gpu]) - running[gpu] for gpu in (False, True)}

    def _dispatch(self) -> None:
        """Hand queued tasks to Dask, in order, while there is room for their kind."""
        if self.setup is None:
            raise RuntimeError("DaskPool.bind(plan) must be called before tasks are submitted")
        room = self._room()
        for gpu, waiting in self._queues.items():
            while waiting and room[gpu] > 0:
                self._hand_over(waiting.popleft(), gpu)
                room[gpu] -= 1

    def _hand_over(self, task: Task, gpu: bool) -> None:
        """Submit ``task`` with its image's bytes, read now; an unreadable image is reported as a worker would."""
        try:
            data = check_regular_file(task.path).read_bytes()
        except (BadInput, OSError) as exc:
            message = str(exc) if isinstance(exc, BadInput) else f"{task.path}: cannot read ({exc.strerror or exc})"
            self._events += [Failed(task.unit, ItemError(task.image, task.codec_id, None, "load", message)), Done(task.unit)]
            return
        key = f"qk-{task.codec_id.split(':', 1)[0]}-{task.unit}-{uuid.uuid4().hex[:8]}"
        future = self.client.submit(
            run_remote, replace(task, data=data), self.setup, key=key, pure=False, resources={GPU: 1} if gpu else None
        )
        self._futures[key] = (future, task, gpu)
        future.add_done_callback(lambda f: self._done.put(f.key))

    def poll(self, timeout: float = 0.5) -> list[Event]:
        """Hand queued tasks to Dask, wait up to ``timeout`` seconds, return the events that arrived."""
        self._dispatch()
        events, self._events = self._events, []
        keys = []
        wait = 0.0 if events else timeout
        try:
            keys.append(self._done.get(timeout=wait) if wait > 0 else self._done.get_nowait())
        except queue.Empty:
            pass
        while True:
            try:
                keys.append(self._done.get_nowait())
            except queue.Empty:
                break
        for key in keys:
            events += self._finish(key)
        self._watch()
        self._dispatch()
        return events

    def _finish(self, key: str) -> list[Event]:
        entry = self._futures.pop(key, None)
        if entry is None:
            return []
        future, task, _ = entry
        status = future.status
        try:
            if status == "finished":
                try:
                    address, events = future.result(timeout=60)
                except Exception as exc:  # the result was lost on its way (its worker died since)
                    return self._again(task, exc)
                self.tasks_per_worker[address] += 1
                self.ran_on[task.unit] = address
                return [*events, Done(task.unit)]
            if status == "error":
                return self._failed(task, future.exception(timeout=60))
            if status == "cancelled":
                raise Unavailable(
                    f"the Dask scheduler at {self.address} cancelled qk's tasks (scheduler restarted or lost?); "
                    "what finished is cached: rerun the same command to finish"
                )
            return self._again(task, RuntimeError(f"Dask future {key} ended {status}"))
        finally:
            future.release()

    def _again(self, task: Task, exc: BaseException) -> list[Event]:
        """Submit ``task`` once more (its result never reached the driver, so nothing was written); fail after 3 tries."""
        self._resubmitted[task.unit] += 1
        if self._resubmitted[task.unit] > 3:
            return self._failed(task, exc)
        self._queues[self.needs_gpu(task)].appendleft(task)
        return []

    def _failed(self, task: Task, exc: BaseException | None) -> list[Event]:
        from distributed.scheduler import KilledWorker

        if isinstance(exc, EnvironmentMismatch):
            raise Unavailable(str(exc))
        if isinstance(exc, KilledWorker):
            self.gave_up += 1
            n = exc.allowed_failures + 1
            message = (
                f"{n} Dask worker{'s' if n > 1 else ''} died running {task.image} ({task.width}x{task.height}, "
                f"{task.width * task.height / 1e6:.1f} MP) with {task.codec_id}, the last {exc.last_worker.address} "
                f"(distributed.scheduler.allowed-failures = {exc.allowed_failures}): most likely out of memory, see "
                f"the worker logs; its {task.n_items} points are not computed"
            )
        else:
            message = f"Dask task failed: {type(exc).__name__}: {exc}"
        return [Failed(task.unit, ItemError(task.image, task.codec_id, None, "worker", message)), Done(task.unit)]

    def _watch(self, force: bool = False) -> None:
        """Look at the cluster's workers now and then; stop when none can run what waits, for long."""
        now = time.monotonic()
        if not force and now - self._last_watch < WATCH_S:
            return
        self._last_watch = now
        try:
            info = self.client.scheduler_info(n_workers=-1)
        except (OSError, TimeoutError) as exc:  # CommClosedError is an OSError
            raise Unavailable(f"lost the Dask scheduler at {self.address} ({type(exc).__name__}: {exc}); "
                              "what finished is cached: rerun the same command to finish") from None  # fmt: skip
        self._workers = {
            a: {"host": w.get("host"), "nthreads": w.get("nthreads"), "memory_limit": w.get("memory_limit"),
                "resources": dict(w.get("resources") or {})}
            for a, w in info.get("workers", {}).items()
        }  # fmt: skip
        self._seen.update(self._workers)
        waiting = {"any": bool(self._futures or self._queues[False] or self._queues[True]),
                   GPU: any(gpu for _, _, gpu in self._futures.values())}  # fmt: skip
        able = {"any": bool(self._workers), GPU: bool(self.gpu_workers())}
        for need in ("any", GPU):
            if not waiting[need] or able[need]:
                self._starved_since.pop(need, None)
                continue
            since = self._starved_since.setdefault(need, now)
            if now - since > NO_WORKER_S:
                what = "no Dask worker" if need == "any" else f"no Dask worker with the {GPU} resource (for the GPU tasks)"
                raise Unavailable(f"{what} has been connected to {self.address} for {NO_WORKER_S:.0f} s; "
                                  "what finished is cached: start workers and rerun the same command")  # fmt: skip

    def describe(self) -> dict[str, object]:
        """The executor as the manifest records it: scheduler, workers (each with its threads,
        memory limit and resources), and how many tasks each worker ran."""
        distributed = self._distributed
        threads = sum(w.get("nthreads") or 0 for w in self._workers.values())
        return {
            "kind": self.kind, "scheduler": self.address, "local_cluster": self._cluster is not None,
            "workers": len(self._workers), "threads": threads, "gpu_workers": len(self.gpu_workers()),
            "distributed_version": distributed.__version__, "worker_details": dict(self._seen),
            "tasks_per_worker": dict(self.tasks_per_worker), "tasks_given_up": self.gave_up,
        }  # fmt: skip

    def close(self, kill: bool = False) -> None:
        """Cancel qk's outstanding tasks; close the client and the local cluster qk started (if any).

        Tasks already running on a worker finish there (Dask cannot stop them); their results are dropped.
        """
        futures = [f for f, _, _ in self._futures.values()]
        for waiting in self._queues.values():
            waiting.clear()
        if self.client is not None:
            try:
                if futures:
                    self.client.cancel(futures, force=True)
                if self._own_client:
                    self.client.close(timeout=10)
            except Exception:
                pass
        self._futures.clear()
        if self._cluster is not None:
            # a worker that imported PyTorch may take seconds to exit; the nanny then kills it and
            # warns, which says nothing to a qk user about their run
            nanny = logging.getLogger("distributed.nanny")
            level = nanny.level
            nanny.setLevel(logging.ERROR)
            try:
                self._cluster.close(timeout=10)
            except Exception:
                pass
            finally:
                nanny.setLevel(level)
            self._cluster = None
        self.client = None if self._own_client else self.client
