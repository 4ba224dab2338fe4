"""Plan and execute the grid image × codec × ``q``; collect the results table from the store.

* :mod:`.plan` — :func:`make_plan`: names resolved, settings validated, images read and hashed,
  memory sized, before any work;
* :mod:`.work` — what a worker does for one unit (one image × one codec), reported as events;
* :mod:`.pool` — :class:`LocalPool`, the local executor: worker processes that survive each
  other's deaths, admitted under a memory limit;
* :mod:`.dask` — :class:`~qualitykit.runner.dask.DaskPool`, the same interface on a Dask cluster
  (``--executor dask``; imported only when used, Dask being an extra);
* :mod:`.execute` — :func:`execute`, the driver: cache look-ups, leases shared with other runs,
  retries, the only writer of the store; :func:`collect` reads the results table back.
"""

from .execute import Outcome, collect, execute
from .plan import Plan, Unit, default_memory_limit, make_plan
from .pool import LocalPool, WorkerInit

__all__ = ["LocalPool", "Outcome", "Plan", "Unit", "WorkerInit", "collect", "default_memory_limit", "execute", "make_plan"]
