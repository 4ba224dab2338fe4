"""Driving a run: what is cached is read, what is missing is claimed, dispatched, and written as it arrives.

The driver is the only process that writes a run's rows to the store. For each unit it reads
which encodes and scores the cache already holds, claims the missing items with a lease
(:meth:`~qualitykit.store.Leases.claim`) and sends a :class:`~qualitykit.runner.work.Task` for
them to the executor. Items another run has claimed are not computed twice: the unit waits and
is looked at again every second, until their results are in the cache or the other run's lease
is free (its process is gone, or the lease expired) and this run takes them over.

A worker that dies takes only its task with it: the task is rebuilt from the cache (what it
finished is kept) and retried once, alone; if it dies again, its items are recorded as failed
with the cause (e.g. "killed by SIGKILL — most likely out of memory on a 9000x9000 image").
Ctrl-C stops the workers within a second; what finished is in the cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from ..codecs.base import bits_per_pixel
from ..rundir import COLUMNS, ItemError
from ..store import LEASE_SECONDS, Store, new_owner
from .executor import Executor
from .plan import Plan, Unit
from .work import Died, Done, Encoded, Event, Failed, ImageRead, Scored, Task, Timed

#: How often the driver renews its leases and looks at units waiting for another run (seconds).
RENEW_SECONDS = LEASE_SECONDS / 6
RECHECK_SECONDS = 1.0


@dataclass
class Outcome:
    """What :func:`execute` did: real work done, every error, image conversions, seconds per stage."""

    encoded: int = 0
    scored: int = 0
    errors: list[ItemError] = field(default_factory=list)
    conversions: dict[str, str] = field(default_factory=dict)
    profile: dict[str, float] = field(default_factory=dict)
    waited_for_other_runs: int = 0


@dataclass
class _Lack:
    """What the cache lacks for a unit, from one look-up: keys with no encode, and cached encodes
    lacking some of the scores this run wants (key → the metric names missing)."""

    encode: list[str]
    rescore: dict[str, tuple[str, ...]]

    @property
    def keys(self) -> set[str]:
        return {*self.encode, *self.rescore}


def _lack(unit: Unit, plan: Plan, store: Store) -> _Lack:
    """One cache look-up: what ``unit`` still lacks (see :class:`_Lack`)."""
    keys = unit.keys()
    encodes = store.get_encodes(keys)
    wanted = {m.name: m.version for m in plan.metrics if m.name in unit.metrics}
    scores = store.get_scores([k for k in keys if k in encodes], wanted)
    lack = _Lack([], {})
    for key in keys:
        if key not in encodes:
            lack.encode.append(key)
            continue
        missing = tuple(m for m in wanted if (key, m) not in scores)
        if missing:
            lack.rescore[key] = missing
    return lack


def _task(unit: Unit, plan: Plan, store: Store, lack: _Lack, claimed: set[str], deaths: int = 0) -> Task:
    """The task doing what ``lack`` says the cache lacks for ``unit``, restricted to the keys in ``claimed``."""
    encode, rescore = [], []
    for q, key in zip(unit.qs, unit.keys()):
        if key not in claimed:
            continue
        if key in lack.rescore:
            bitstream = store.get_encode(key).bitstream  # type: ignore[union-attr]
            rescore.append((q, key, bitstream, lack.rescore[key]))
        elif key in lack.encode:
            encode.append((q, key))
    img = unit.image
    return Task(
        unit.index, img.image, img.path, img.width, img.height, unit.codec_id, tuple(encode), tuple(rescore),
        unit.metrics, unit.batch_pairs, unit.memory_bytes, plan.max_pixels, deaths,
    )  # fmt: skip


class _Driver:
    """The state of one :func:`execute` call: what runs, what waits for another run, what was done."""

    def __init__(self, plan: Plan, store: Store, executor: Executor, progress: Callable[[int], None] | None, out: Outcome) -> None:
        self.plan, self.store, self.executor = plan, store, executor
        self.progress = progress or (lambda n: None)
        self.owner = new_owner()
        self.out = out
        self.units = {u.index: u for u in plan.units}
        self.in_flight: dict[int, set[str]] = {}  # unit → keys claimed for its running task
        self.waiting: dict[int, set[str]] = {}  # unit → keys another run holds

    def start(self, unit: Unit, keys: set[str] | None = None, deaths: int = 0) -> None:
        """Claim what ``unit`` (or its ``keys``) still lacks and submit it; count the rest as done."""
        candidates = set(unit.keys()) if keys is None else keys
        lack = _lack(unit, self.plan, self.store)
        missing = lack.keys & candidates
        self.progress(len(candidates) - len(missing))
        if not missing:
            return
        mine = self.store.leases.claim(sorted(missing), self.owner)
        if missing - mine:
            self.waiting[unit.index] = self.waiting.get(unit.index, set()) | (missing - mine)
            self.out.waited_for_other_runs += len(missing - mine)
        if mine:
            self.in_flight[unit.index] = mine
            self.executor.submit(_task(unit, self.plan, self.store, lack, mine, deaths))

    def recheck_waiting(self) -> None:
        """Units waiting for another run: take what it finished, claim what it gave up."""
        for index in [i for i in self.waiting if i not in self.in_flight]:
            self.start(self.units[index], self.waiting.pop(index))

    def handle(self, event: Event) -> None:
        unit = self.units[event.unit]
        if isinstance(event, Encoded):
            self.store.put_encode(unit.image.sha256, unit.codec_id, event.q, unit.versions, event.encode)
            self.out.encoded += 1
        elif isinstance(event, Scored):
            self.store.put_scores(event.rows)
            self.out.scored += len(event.rows)
        elif isinstance(event, Failed):
            self.out.errors.append(event.error)
        elif isinstance(event, ImageRead):
            if event.conversion:
                self.out.conversions[unit.image.image] = event.conversion
        elif isinstance(event, Timed):
            for stage, seconds in event.seconds.items():
                self.out.profile[stage] = self.out.profile.get(stage, 0.0) + seconds
        elif isinstance(event, Done):
            keys = self.in_flight.pop(unit.index, set())
            self.store.leases.release(keys, self.owner)
            self.progress(len(keys))
        elif isinstance(event, Died):
            self.died(unit, event.task, event.cause)

    def died(self, unit: Unit, task: Task, cause: str) -> None:
        """A worker died running ``task``: retry what it left undone once, alone; then record the failure."""
        keys = self.in_flight.pop(unit.index, set())
        self.store.leases.release(keys, self.owner)
        if task.deaths < 2:
            self.start(unit, keys, task.deaths)
            return
        missing = _lack(unit, self.plan, self.store).keys & keys
        self.progress(len(keys))
        img = unit.image
        where = f"{img.image} ({img.width}x{img.height}, {img.width * img.height / 1e6:.1f} MP) with {unit.codec_id}"
        self.out.errors.append(ItemError(
            img.image, unit.codec_id, None, "worker",
            f"worker died twice on {where}, the second time alone: {cause}; "
            f"{len(keys) - len(missing)} of its {len(keys)} points finished, the rest are not computed",
        ))  # fmt: skip


def execute(
    plan: Plan,
    store: Store,
    executor: Executor,
    progress: Callable[[int], None] | None = None,
    outcome: Outcome | None = None,
) -> Outcome:
    """Run every unit of ``plan`` on ``executor`` (any :class:`~.executor.Executor`: it is bound to a
    plan and open); ``progress(n)`` is called as items finish.

    What was done is recorded in ``outcome`` (a new :class:`Outcome` by default) as it happens, so
    that it is known even when the run stops. Raises what stops the run (Ctrl-C, a full disk)
    after giving up this run's leases; everything written before stays in the cache.
    """
    driver = _Driver(plan, store, executor, progress, outcome if outcome is not None else Outcome())
    last_renew = last_check = time.monotonic()
    try:
        for unit in plan.units:
            driver.start(unit)
        while driver.in_flight or driver.waiting:
            for event in executor.poll(0.5):
                driver.handle(event)
            now = time.monotonic()
            if now - last_renew > RENEW_SECONDS:
                store.leases.renew(driver.owner)
                last_renew = now
            if driver.waiting and now - last_check > RECHECK_SECONDS:
                last_check = now
                driver.recheck_waiting()
    finally:
        store.leases.release(None, driver.owner)
    return driver.out


def collect(plan: Plan, store: Store) -> pd.DataFrame:
    """The results table of ``plan`` as the store holds it: one row per finished item.

    Columns are :data:`~qualitykit.rundir.COLUMNS` then one per metric (NaN where a score is
    missing). ``encode_s`` and ``decode_s`` are the wall times measured when the item was first
    computed (a cached item keeps its original timing).
    """
    labels = {c.id: c.label for c in plan.codecs}
    wanted = {m.name: m.version for m in plan.metrics}
    rows = []
    for unit in sorted(plan.units, key=lambda u: ([c.id for c in plan.codecs].index(u.codec_id), u.index)):
        keys = unit.keys()
        encodes = store.get_encodes(keys)
        scores = store.get_scores(keys, wanted)
        img = unit.image
        for q, key in zip(unit.qs, keys):
            e = encodes.get(key)
            if e is None:
                continue
            row = {
                "image": img.image, "image_sha256": img.sha256, "width": e.width, "height": e.height,
                "codec_id": unit.codec_id, "codec_label": labels[unit.codec_id], "q": q, "bytes": e.bytes,
                "bpp": bits_per_pixel(e.bytes, e.width, e.height), "encode_s": e.encode_s, "decode_s": e.decode_s,
                "encode_key": key,
            }  # fmt: skip
            row.update({m: scores.get((key, m), float("nan")) for m in wanted})
            rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS + list(wanted))
