"""Plan and execute the grid image × codec × ``q``; collect the results table from the store.

* :mod:`.plan` — :func:`make_plan`: names resolved, settings validated, images read and hashed,
  memory sized, before any work;
* :mod:`.work` — what a worker does for one unit (one image × one codec), reported as events
  (dataclasses: :class:`~.work.Encoded`, :class:`~.work.Scored`, ...);
* :mod:`.executor` — the :class:`~.executor.Executor` protocol, its optional capabilities and the
  registry ``--executor`` names come from;
* :mod:`.pool` — :class:`LocalPool`, the executor ``local``: worker processes that survive each
  other's deaths, admitted under a memory limit;
* :mod:`.dask` — :class:`~qualitykit.runner.dask.DaskPool`, the executor ``dask``, its driver side
  (imported only when used, Dask being an extra); :mod:`.dask_worker`, what runs on its workers;
* :mod:`.execute` — :func:`execute`, the driver: cache look-ups, leases shared with other runs,
  retries, the only writer of the store; :func:`collect` reads the results table back;
* :mod:`.session` — :class:`~.session.RunSession`, one ``qk bench`` from options to run directory:
  executor, plan, run, the run directory's every write (through :mod:`qualitykit.rundir`), report.
"""

from .execute import Outcome, collect, execute
from .plan import Plan, Unit, default_memory_limit, make_plan
from .pool import LocalPool, WorkerInit

__all__ = ["LocalPool", "Outcome", "Plan", "Unit", "WorkerInit", "collect", "default_memory_limit", "execute", "make_plan"]
