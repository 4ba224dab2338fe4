"""A run session: one ``qk bench`` from its options to its run directory and report.

:class:`RunSession` does, in order: check the options; open the executor (from the registry,
:mod:`.executor`) before planning, as a cluster's workers decide the device and the memory plan;
plan (again with the metrics of equal-quality targets when the default set lacks them); claim the
run directory (:func:`~qualitykit.rundir.new_run_dir`: two runs never share one); run and record
(:func:`~.execute.execute`, then the target search); write the run; build the report.

It is the one place that decides what a run directory holds, and it writes every file of it
through :mod:`qualitykit.rundir` (results, manifest, targets; the report it is given writes
through ``rundir`` too). The manifest is written when the run starts (``running``, with this
process as its ``owner``) and once more with its final status on every way out: ``complete``;
``interrupted`` (Ctrl-C, SIGTERM: what finished is kept and :class:`~qualitykit.errors.Interrupted`
raised); ``failed`` (any other exception, a :class:`~qualitykit.errors.QKError` or a bug, raised
after the manifest says so).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from .. import datasets, provenance
from .._version import __version__
from ..errors import BadInput, Interrupted, QKError
from ..rundir import (
    COLUMNS, Dataset, ItemError, Manifest, Run, Work, new_run_dir, release_run_dir, this_process, write_manifest,
    write_run, write_targets,
)  # fmt: skip
from ..store import Store
from .execute import Outcome, collect, execute
from .executor import DeviceChecking, Executor, MemoryPlanning, executor_names, open_executor
from .plan import Plan, make_plan, workers_for

#: The codecs a run compares when none are named.
DEFAULT_CODECS = ("jpeg", "webp", "avif")
#: The codec the report compares with when none is named (else the first codec of the run).
DEFAULT_ANCHOR = "jpeg"
#: ``reporter(run_dir, anchor=label, profile=dict) -> (index.html path, answer)``: the report builder a
#: session is given (:func:`qualitykit.report.build_report`; the report layer sits above the runner).
Reporter = Callable[..., tuple[Path, Any]]


@dataclass
class BenchResult:
    """What :func:`qualitykit.bench` did: the results ``table`` (one row per image × codec point, columns
    :data:`~qualitykit.rundir.COLUMNS` then one per metric), the ``run_dir`` and its ``manifest``
    (errors, unavailable metrics and codecs, how much was computed), the ``report`` path (``None``
    when not written) and ``notes`` worth telling the user (a cache rebuilt, the anchor chosen, a
    report that failed)."""

    table: pd.DataFrame
    run_dir: Path
    manifest: Manifest
    report: Path | None = None
    notes: list[str] = field(default_factory=list)
    profile: dict[str, float] = field(default_factory=dict)
    #: Equal-quality answers (``targets.csv``: one row per target × image × codec), ``None`` without targets.
    targets: pd.DataFrame | None = None
    #: The answer the report opens with (:class:`~qualitykit.analysis.answer.Answer`), when the report was written.
    answer: Any = None

    @property
    def errors(self) -> list[ItemError]:
        return self.manifest.errors

    @property
    def metrics_unavailable(self) -> dict[str, str]:
        return self.manifest.metrics_unavailable

    @property
    def codecs_unavailable(self) -> dict[str, str]:
        return self.manifest.codecs_unavailable

    @property
    def work(self) -> Work:
        return self.manifest.work

    @property
    def ok(self) -> bool:
        """Nothing failed and every metric and codec asked for ran."""
        return not (self.errors or self.metrics_unavailable or self.codecs_unavailable)

    def summary(self) -> pd.DataFrame:
        """Mean bpp and mean of every metric per codec label and ``q`` (see :func:`summary`)."""
        return summary(self.table)

    def run(self) -> Run:
        """The run directory as the analysis reads it."""
        return Run(self.table, self.manifest, self.run_dir)

    def _describe(self) -> list[str]:
        m = self.manifest
        codecs = ", ".join(c.label for c in m.codecs) or "none"
        metrics = ", ".join(x.name for x in m.metrics) or "none"
        lines = [
            f"{len(self.table)} items: {len(m.dataset.images)} images of {m.dataset.name} × codecs {codecs}; metrics {metrics}",
            f"status {m.status}; this run computed {self.work.encoded} encodes and {self.work.scored} scores",
            f"run_dir {self.run_dir}" + (f"; report {self.report}" if self.report else "; no report"),
        ]
        problems = [f"{len(self.errors)} error{'s' * (len(self.errors) != 1)}" if self.errors else "",
                    f"not computed: {', '.join(self.metrics_unavailable)}" if self.metrics_unavailable else "",
                    f"not run: {', '.join(self.codecs_unavailable)}" if self.codecs_unavailable else ""]  # fmt: skip
        return lines + ["; ".join(p for p in problems if p)] if any(problems) else lines

    def __repr__(self) -> str:
        return "<BenchResult: " + "\n  ".join(self._describe()) + ">"

    def _repr_html_(self) -> str:
        """Notebooks: what ran, the mean per codec point, and the answer when the report was written."""
        from html import escape

        head = "".join(f"<p>{escape(line)}</p>" for line in self._describe())
        table = self.summary().to_html(float_format="{:.4f}".format) if len(self.table) else ""
        answer = self.answer._repr_html_() if hasattr(self.answer, "_repr_html_") else ""
        return f"<div><p><b>BenchResult</b></p>{head}{table}{answer}</div>"


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """Per codec label and ``q``: how many images, mean bpp and the mean of every metric over the images."""
    metric_cols = [c for c in results.columns if c not in COLUMNS]
    groups = results.groupby(["codec_label", "q"], sort=False)
    table = groups[["bpp", *metric_cols]].mean()
    table.insert(0, "images", groups["image"].count())
    return table.reindex(list(dict.fromkeys(results["codec_label"])), level=0)


@dataclass
class BenchOptions:
    """The options of one run, as :func:`qualitykit.bench` documents them."""

    dataset: str | os.PathLike[str] | None = None
    codecs: Sequence[str] = DEFAULT_CODECS
    metrics: Sequence[str] | None = None
    out: str | os.PathLike[str] | None = None
    overwrite: bool = False
    jobs: int | None = None
    device: str = "auto"
    cache: str | os.PathLike[str] | None = None
    max_pixels: int | None = None
    max_memory_gb: float | None = None
    anchor: str | None = None
    progress: bool | Callable[[int, int], None] = False
    command: str | None = None
    codec_files: Sequence[str | os.PathLike[str]] = ()
    executor: str = "local"
    scheduler: object = None
    targets: Sequence[str] | str | None = None

    def check(self) -> None:
        """Refuse bad options before anything starts (:class:`~qualitykit.errors.BadInput`)."""
        if self.executor not in executor_names():
            raise BadInput(f"--executor {self.executor!r}: use one of {', '.join(executor_names())}")
        if self.max_memory_gb is not None and self.max_memory_gb <= 0:
            raise BadInput(f"--max-memory {self.max_memory_gb}: give a positive number of GiB")


class RunSession:
    """One run: see the module docstring. ``reporter`` builds the report (``None``: no report)."""

    def __init__(self, options: BenchOptions, reporter: Reporter | None = None) -> None:
        from ..equal_quality import parse_targets

        options.check()
        self.options = options
        self.reporter = reporter
        self.jobs_given = options.jobs is not None
        self.jobs = workers_for(options.jobs)
        if self.jobs < 1:
            raise BadInput(f"--jobs {self.jobs}: give at least 1 worker process")
        if options.codec_files:
            from ..codecs.external import load_codec_file

            for path in options.codec_files:
                load_codec_file(path)
        self.targets = parse_targets(options.targets) if options.targets else []
        self.metrics = options.metrics
        if self.targets and self.metrics is not None:
            self.metrics = list(dict.fromkeys([*self.metrics, *(t.metric for t in self.targets)]))
        self.corpus = datasets.resolve(options.dataset)
        self.notes: list[str] = []
        self.timings: dict[str, float] = {}

    # ---------------------------------------------------------------- the steps

    def run(self) -> BenchResult:
        """Plan, run, record and report; return what was done (see :func:`qualitykit.bench`)."""
        cache = Path(self.options.cache) if self.options.cache else None
        with contextlib.ExitStack() as claim:  # the run folder is held until its report is written
            with Store(cache) as store, contextlib.ExitStack() as cleanup:
                self.notes += [store.recovered] if store.recovered else []
                t0 = time.perf_counter()
                executor = open_executor(self.options.executor, self.jobs, self.options.scheduler, self.jobs_given)
                cleanup.callback(executor.close, True)  # a failure before the run closes it at once
                self.timings[f"open the {executor.kind} executor"] = time.perf_counter() - t0
                self.notes += executor.notes
                plan = self._plan(store, executor)
                anchor_label = self._anchor(plan) if self.reporter is not None and plan.codecs else None
                run_dir = new_run_dir(self.options.out, self.corpus.name, self.options.overwrite)
                claim.callback(release_run_dir, run_dir)
                executor.bind(plan)
                self.notes += [plan.jobs_note] if plan.jobs_note else []
                result = self._run_and_record(plan, store, executor, run_dir)
            self._report(result, anchor_label)
        return result

    def _plan(self, store: Store, executor: Executor) -> Plan:
        """The plan, sized for the executor's workers; planned again with the targets' metrics when
        the default metric set lacks one."""
        o = self.options
        memory_limit = int(o.max_memory_gb * 2**30) if o.max_memory_gb else None
        options: dict[str, Any] = {"jobs": self.jobs, "local": not isinstance(executor, MemoryPlanning)}
        if isinstance(executor, MemoryPlanning):
            worker_memory, worker_threads = executor.memory_plan()
            options["jobs"] = worker_threads
            memory_limit = memory_limit or worker_memory
        if isinstance(executor, DeviceChecking):
            options["device_check"] = executor.check_device
        t0 = time.perf_counter()
        common = dict(store=store, max_pixels=o.max_pixels, memory_limit=memory_limit, **options)
        plan = make_plan(self.corpus, o.codecs, self.metrics, o.device, **common)
        missing = [t.metric for t in self.targets if t.metric not in plan.metric_objects]
        if missing:
            first = plan
            plan = make_plan(self.corpus, o.codecs, [*plan.metric_objects, *dict.fromkeys(missing)], o.device, **common)
            plan.metrics_unavailable = {**first.metrics_unavailable, **plan.metrics_unavailable}
        self.timings["plan (hash images)"] = time.perf_counter() - t0
        return plan

    def _anchor(self, plan: Plan) -> str:
        """The report's anchor label, checked against the plan before any work (a note when defaulted)."""
        stub = Manifest("", "", "", Dataset(plan.corpus.name, "", []), list(plan.codecs), [])
        run = Run(pd.DataFrame({"codec_id": [c.id for c in plan.codecs]}), stub)
        if self.options.anchor is not None:
            return run.label(run.resolve_codec(self.options.anchor))
        try:
            return run.label(run.resolve_codec(DEFAULT_ANCHOR))
        except QKError:
            first = plan.codecs[0].label
            self.notes.append(f"no {DEFAULT_ANCHOR} in this run: the report compares with {first}")
            return first

    def _manifest(self, plan: Plan, cache: Path, executor: Executor) -> Manifest:
        from ..ffmpeg import find_ffmpeg

        corpus = plan.corpus
        manifest = Manifest(
            qualitykit_version=__version__,
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            command=self.options.command or shlex.join(sys.argv),
            dataset=Dataset(
                corpus.name, str(corpus.root.resolve()), list(plan.images),
                **{k: str(corpus.meta[k]) for k in ("description", "licence", "source") if k in corpus.meta},
            ),  # fmt: skip
            codecs=list(plan.codecs),
            metrics=list(plan.metrics),
            metrics_unavailable=dict(plan.metrics_unavailable),
            codecs_unavailable=dict(plan.codecs_unavailable),
            libraries=provenance.package_versions(),
            ffmpeg=find_ffmpeg().path,
            machine=provenance.machine(),
            device=plan.device,
            gpu=provenance.gpu() if plan.device == "cuda" else None,
            cache=str(cache.resolve()),
            executor=executor.describe(),
            errors=list(plan.errors),
            owner=this_process(),
        )
        if plan.device == "cuda" and isinstance(executor, DeviceChecking):
            manifest.gpu = executor.gpu_name()
        return manifest

    def _run_and_record(self, plan: Plan, store: Store, executor: Executor, run_dir: Path) -> BenchResult:
        """Run ``plan`` and write the run, its manifest carrying its final status whatever happens."""
        manifest = self._manifest(plan, store.path, executor)
        write_manifest(run_dir, manifest)
        record = _Record(plan, store, executor, run_dir, manifest, _Bar(self.options.progress, plan.n_items, self.corpus.name))
        try:
            found = self._work(record)
            status = "complete"
        except KeyboardInterrupt:
            found, status = None, "interrupted"
        except BaseException:
            record.finish("failed", None)
            raise
        results = record.finish(status, found)
        self.timings.update(record.outcome.profile)
        if manifest.status == "interrupted":
            raise Interrupted(run_dir, 0 if results is None else len(results), plan.n_items)
        table = results if results is not None else pd.DataFrame(columns=COLUMNS)
        return BenchResult(table, run_dir, manifest, notes=self.notes, profile=self.timings,
                           targets=found.table if found is not None else None)  # fmt: skip

    def _work(self, record: _Record) -> Any:
        """The grid, then the equal-quality search (its :class:`~qualitykit.equal_quality.SearchOutcome`, or ``None``)."""
        from ..equal_quality import search

        plan, store, executor, outcome = record.plan, record.store, record.executor, record.outcome
        execute(plan, store, executor, record.bar, outcome)
        if not self.targets:
            return None
        t0 = time.perf_counter()
        found = search(plan, store, executor, self.targets, collect(plan, store))
        outcome.encoded += found.encoded
        outcome.scored += found.scored
        outcome.errors += found.errors
        self.timings["equal-quality search"] = time.perf_counter() - t0
        return found

    def _report(self, result: BenchResult, anchor_label: str | None) -> None:
        if self.reporter is None or not len(result.table):
            return
        t0 = time.perf_counter()
        steps: dict[str, float] = {}
        try:
            result.report, result.answer = self.reporter(result.run_dir, anchor=anchor_label, profile=steps)
        except QKError as exc:  # the results are on disk: say what failed, keep them
            result.notes.append(f"report not written: {exc}")
        self.timings["report"] = time.perf_counter() - t0
        self.timings.update({f"report: {k}": v for k, v in steps.items()})


@dataclass
class _Record:
    """What a run writes when it ends: the one place its final manifest is written."""

    plan: Plan
    store: Store
    executor: Executor
    run_dir: Path
    manifest: Manifest
    bar: _Bar
    outcome: Outcome = field(default_factory=Outcome)

    def finish(self, status: str, found: Any) -> pd.DataFrame | None:
        """Stop the executor and write the run with ``status``; return the results written (``None``
        when they could not be read back after a failure or a second Ctrl-C: the manifest still says
        how the run ended). An error while writing a ``complete`` run is raised after the manifest
        says ``failed``."""
        m = self.manifest
        m.status = status
        try:
            with contextlib.suppress(Exception):
                m.executor = self.executor.describe()  # the workers seen during the run, tasks per worker
            self.executor.close(kill=status != "complete")
        except KeyboardInterrupt:
            m.status = "interrupted" if m.status == "complete" else m.status
        finally:
            self.bar.close()
        m.work = Work(self.outcome.encoded, self.outcome.scored)
        m.errors += self.outcome.errors
        conversions = self.outcome.conversions
        m.dataset.images = [replace(i, conversion=conversions.get(i.image, i.conversion)) for i in m.dataset.images]
        try:
            results = collect(self.plan, self.store)
            write_run(self.run_dir, results, m)
            if found is not None and m.status == "complete":
                write_targets(self.run_dir, found.table)
            return results
        except KeyboardInterrupt:  # a second Ctrl-C while writing: say so, keep what the disk holds
            m.status = "interrupted" if m.status == "complete" else m.status
            self._last_word()
            return None
        except Exception:
            if m.status != "complete":
                self._last_word()
                return None  # the run's own cause (interrupt, failure) is what the user hears about
            m.status = "failed"
            self._last_word()
            raise

    def _last_word(self) -> None:
        """Write the manifest alone, as well as the disk allows (it may be the full disk that failed)."""
        with contextlib.suppress(Exception):
            write_manifest(self.run_dir, self.manifest)


class _Bar:
    """A tqdm bar on stderr, or a callback ``(done, total)``; called with the number of items just finished."""

    def __init__(self, progress: bool | Callable[[int, int], None], total: int, name: str) -> None:
        self.total, self.done = total, 0
        self.callback = progress if callable(progress) else None
        self.tqdm = None
        if progress is True:
            from tqdm import tqdm

            self.tqdm = tqdm(total=total, unit="item", desc=name, file=sys.stderr)

    def __call__(self, n: int) -> None:
        if not n:
            return
        self.done += n
        if self.tqdm is not None:
            self.tqdm.update(n)
        if self.callback is not None:
            self.callback(self.done, self.total)

    def close(self) -> None:
        if self.tqdm is not None:
            self.tqdm.close()


__all__ = ["DEFAULT_ANCHOR", "DEFAULT_CODECS", "BenchOptions", "BenchResult", "RunSession", "summary"]
