"""Explicit points: encode given (image, codec, ``q``) points through the same driver as a grid.

A search (the equal-quality targets of :mod:`qualitykit.equal_quality`) needs encodes at ``q``
values no ladder holds. :func:`point_plan` turns such points into a :class:`~.plan.Plan` whose
units are exactly those points, grouped per image × codec and sized for memory like any unit;
:func:`run_points` runs it with :func:`~.execute.execute`, so every contract of a grid holds:
the driver is the only store writer, items are claimed with leases, results arrive as events,
and every point is cached (a rerun of the same search reads them back and computes nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from ..rundir import SourceImage
from ..store import Store
from .execute import Outcome, execute
from .executor import Executor
from .plan import Plan, build_unit


def point_plan(plan: Plan, points: Iterable[tuple[SourceImage, str, float]], metrics: Sequence[str]) -> Plan:
    """A copy of ``plan`` whose units encode exactly ``points`` and score them with ``metrics``.

    Each point is ``(image, codec_id, q)``; ``codec_id`` must be a codec of ``plan`` and ``q``
    a value its codec accepts. Points of one image × codec share a unit (one image load).
    """
    versions = {c.id: c.versions for c in plan.codecs}
    wanted = {m: plan.metric_objects[m] for m in metrics}
    grouped: dict[tuple[str, str], tuple[SourceImage, list[float]]] = {}
    for image, codec_id, q in points:
        _, qs = grouped.setdefault((image.image, codec_id), (image, []))
        if q not in qs:
            qs.append(q)
    units = []
    budget = plan.memory_limit / max(plan.jobs, 1)
    for (_, codec_id), (image, qs) in grouped.items():
        units.append(build_unit(len(units), image, codec_id, versions[codec_id], qs, wanted, budget, plan.memory_limit)[0])
    return replace(plan, units=units, errors=[])


def run_points(
    plan: Plan,
    store: Store,
    executor: Executor,
    points: Iterable[tuple[SourceImage, str, float]],
    metrics: Sequence[str],
    progress: Callable[[int], None] | None = None,
) -> tuple[Plan, Outcome]:
    """Encode, decode and score ``points`` (see :func:`point_plan`) on ``executor``; return the
    plan that was run and what :func:`execute` did. Results are read back from ``store``."""
    sub = point_plan(plan, points, metrics)
    return sub, execute(sub, store, executor, progress)
