"""Executors: what runs the tasks of a plan, and the registry ``--executor`` names them from.

The driver (:func:`~qualitykit.runner.execute.execute`) needs four things of an executor
(:class:`Executor`): :meth:`~Executor.submit` a :class:`~.work.Task`, :meth:`~Executor.poll` the
:data:`~.work.Event` s that arrived (a :class:`~.work.Done` ends every task, a :class:`~.work.Died`
replaces it when its worker died), :meth:`~Executor.close` (``kill``: at once) and
:meth:`~Executor.describe` (what the manifest records). A run session
(:mod:`qualitykit.runner.session`) also opens it before planning (:meth:`~Executor.open`, which
may add ``notes`` for the user) and binds it to the plan (:meth:`~Executor.bind`).

Optional capabilities, each a :class:`~typing.Protocol` checked with ``isinstance``:

* :class:`MemoryPlanning` — the executor knows its workers' memory and threads (Dask): the plan
  sizes tasks for them instead of for this machine;
* :class:`DeviceChecking` — the executor resolves ``--device`` against its workers (a GPU on a
  worker, none here) and names the GPU for the manifest.

Built-in executors are listed in :data:`EXECUTORS` as ``module:Class`` (imported when used: Dask
is an extra). Adding one is one module with a class implementing :class:`Executor` and a line here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..errors import BadInput

if TYPE_CHECKING:
    from .plan import Plan
    from .work import Event, Task

#: ``--executor`` name → ``module:Class`` of the executor.
EXECUTORS: dict[str, str] = {
    "local": "qualitykit.runner.pool:LocalPool",
    "dask": "qualitykit.runner.dask:DaskPool",
}


@runtime_checkable
class Executor(Protocol):
    """What the driver and a run session need of an executor (see the module docstring)."""

    kind: str
    #: Things worth telling the user about how the executor was opened (e.g. ``--jobs`` ignored).
    notes: list[str]

    @classmethod
    def open(cls, jobs: int, scheduler: object = None, jobs_given: bool = True) -> Executor:
        """Start or connect, before the plan is made (``jobs`` worker processes were asked for;
        ``jobs_given``: by the user rather than by default)."""
        ...

    def bind(self, plan: Plan) -> None:
        """Learn what the tasks of ``plan`` need (device, memory limit, versions) before any :meth:`submit`."""
        ...

    def submit(self, task: Task) -> None: ...

    def poll(self, timeout: float = 0.5) -> list[Event]:
        """Wait up to ``timeout`` seconds; return the events that arrived."""
        ...

    def close(self, kill: bool = False) -> None: ...

    def describe(self) -> dict[str, object]:
        """The executor as the manifest records it (``kind`` first)."""
        ...


@runtime_checkable
class MemoryPlanning(Protocol):
    """An executor whose workers have their own memory and threads (not this machine's)."""

    def memory_plan(self) -> tuple[int | None, int]:
        """``(memory limit in bytes of the smallest worker or None, threads per worker)``."""
        ...


@runtime_checkable
class DeviceChecking(Protocol):
    """An executor that resolves ``--device`` against its workers."""

    def check_device(self, device: str) -> str:
        """``device`` (``auto``, ``cpu``, ``cuda``) as the workers can run it; raises when they cannot."""
        ...

    def gpu_name(self) -> str | None:
        """The name of a worker's GPU, for the manifest."""
        ...


class ExecutorBase:
    """Defaults every executor shares: no notes, nothing to bind."""

    kind = ""
    notes: list[str]

    def __new__(cls, *args: object, **kwargs: object) -> ExecutorBase:  # noqa: ARG003
        self = super().__new__(cls)
        self.notes = []
        return self

    def bind(self, plan: Plan) -> None:  # noqa: ARG002
        return None


def executor_names() -> list[str]:
    """Every ``--executor`` name."""
    return list(EXECUTORS)


def executor_class(name: str) -> type[Executor]:
    """The executor class registered as ``name``; :class:`~qualitykit.errors.BadInput` naming the choices."""
    if name not in EXECUTORS:
        raise BadInput(f"--executor {name!r}: use one of {', '.join(EXECUTORS)}")
    module, _, cls = EXECUTORS[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def open_executor(name: str, jobs: int, scheduler: object = None, jobs_given: bool = True) -> Executor:
    """Open the executor ``name`` (:meth:`Executor.open`)."""
    return executor_class(name).open(jobs, scheduler, jobs_given)


__all__ = ["EXECUTORS", "DeviceChecking", "Executor", "ExecutorBase", "MemoryPlanning", "executor_class",
           "executor_names", "open_executor"]  # fmt: skip
