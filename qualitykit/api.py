"""The Python API: every behaviour of ``qk``, for notebooks and scripts alike.

Each ``qk`` command parses its arguments, makes one call here and prints the result:

=====================  ========================================================================
``qk bench``           :func:`bench` → :class:`BenchResult` (run directory, results, report)
``qk report``          :func:`report` → path of ``index.html``
``qk bdrate``          :func:`bd_curves` → BD-rate and BD-metric between two curves; :func:`bd_matrix`
                       for many curves; :func:`bd_table` for every pair of a run
``qk claim``           :func:`check_claims` → a verdict per claimed saving
``qk bench --target``  ``bench(targets=[...])`` → equal-quality bytes per image (``targets.csv``)
``qk gate``            :func:`gate` → :class:`~qualitykit.gate.GateResult`
``qk baseline save``   :func:`save_baseline`
``qk compare``         :func:`compare` → every metric on one pair of files
=====================  ========================================================================

>>> import qualitykit
>>> result = qualitykit.bench("kodak", codecs=["jpeg", "avif"], metrics=["psnr", "ms-ssim"])  # doctest: +SKIP
>>> result.summary()            # mean bpp and scores per codec point                      # doctest: +SKIP
>>> result.report               # reports/kodak-…/index.html, the same file `qk bench` writes # doctest: +SKIP
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

from . import datasets, provenance
from ._version import __version__
from .errors import BadInput, Interrupted, QKError
from .rundir import COLUMNS, Dataset, ItemError, Manifest, Run, Work, new_run_dir, write_manifest, write_run
from .store import Store

DEFAULT_CODECS = ("jpeg", "webp", "avif")
DEFAULT_ANCHOR = "jpeg"
EXECUTORS = ("local", "dask")


@dataclass
class BenchResult:
    """What :func:`bench` did: the results ``table`` (one row per image × codec point, columns
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


def _manifest(plan: Any, command: str | None, cache: Path, executor: dict[str, Any]) -> Manifest:
    from .ffmpeg import find_ffmpeg

    corpus = plan.corpus
    return Manifest(
        qualitykit_version=__version__,
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        command=command or shlex.join(sys.argv),
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
        executor=executor,
        errors=list(plan.errors),
    )


def _anchor(plan: Any, anchor: str | None) -> tuple[str, str | None]:
    """The report's anchor label, checked against the plan before any work; and a note when defaulted."""
    run = Run(pd.DataFrame({"codec_id": [c.id for c in plan.codecs]}), _manifest_stub(plan))
    if anchor is not None:
        return run.label(run.resolve_codec(anchor)), None
    try:
        return run.label(run.resolve_codec(DEFAULT_ANCHOR)), None
    except QKError:
        first = plan.codecs[0].label
        return first, f"no {DEFAULT_ANCHOR} in this run: the report compares with {first}"


def _manifest_stub(plan: Any) -> Manifest:
    return Manifest("", "", "", Dataset(plan.corpus.name, "", []), list(plan.codecs), [])


def bench(
    dataset: str | os.PathLike[str] | None = None,
    codecs: Sequence[str] = DEFAULT_CODECS,
    metrics: Sequence[str] | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    jobs: int | None = None,
    device: str = "auto",
    cache: str | os.PathLike[str] | None = None,
    max_pixels: int | None = None,
    max_memory_gb: float | None = None,
    report: bool = True,
    anchor: str | None = None,
    progress: bool | Callable[[int, int], None] = False,
    command: str | None = None,
    codec_files: Sequence[str | os.PathLike[str]] = (),
    executor: str = "local",
    scheduler: object = None,
    targets: Sequence[str] | str | None = None,
) -> BenchResult:
    """Encode every image of ``dataset`` with every codec point, decode, score, write the run and its report.

    Parameters
    ----------
    dataset : corpus name from ``datasets.yaml`` or a folder of images (default: the built-in ``sample``).
    codecs : codec specs, e.g. ``["jpeg", "avif:speed=4:q=20/40/60"]``.
    metrics : metric names; ``None`` runs qk's default set (every cheap metric available here).
    out : run directory (default ``reports/<corpus>-<UTC time>[-N]``, unique per call); an
        existing run there is refused unless ``overwrite``.
    jobs : worker processes (default: every core).
    device : ``auto`` (CUDA when available), ``cpu`` or ``cuda``, for PyTorch metrics and codecs.
    cache : SQLite cache file (default ``$QK_CACHE`` or ``~/.cache/qualitykit/cache.sqlite``).
    max_pixels : largest image accepted, in pixels (default: Pillow's decompression-bomb limit).
    max_memory_gb : memory limit for the whole run in GiB (default: 80 % of what is available).
    report : write ``index.html`` (BD-rates against ``anchor``; default ``jpeg``, else the first codec).
    progress : ``True`` for a progress bar on stderr, or a function ``(done, total)``.
    codec_files : TOML/YAML files defining external-command codecs (``docs/external-codecs.md``),
        loaded before ``codecs`` are resolved.
    executor : ``local`` (worker processes on this machine) or ``dask`` (a Dask cluster, ``pip install
        'qualitykit[dask]'``; ``docs/cluster.md``): same units, same results.
    scheduler : with ``executor="dask"``: the scheduler's address, a ``distributed.Client`` or a
        cluster object; ``None`` starts a local Dask cluster of ``jobs`` worker processes.
    targets : equal-quality targets, e.g. ``["ms-ssim=0.98", "vmaf=90"]``: for every image and
        codec, the smallest file reaching each target is searched over the codec's ``q`` (every
        probe cached) and written to ``targets.csv`` (:mod:`qualitykit.equal_quality`); their
        metrics are added to ``metrics``. The report and the claim check use them.

    Returns
    -------
    BenchResult
        Also on Ctrl-C nothing finished is lost: the run directory is written with status
        ``interrupted`` before :class:`KeyboardInterrupt` propagates.

    Examples
    --------
    >>> r = qualitykit.bench(codecs=["jpeg:q=30/60/90"], metrics=["psnr"])  # doctest: +SKIP
    >>> r.table.groupby("q")[["bpp", "psnr"]].mean()                          # doctest: +SKIP
    """
    build_report = _report_package().build_report
    from .runner import LocalPool, Outcome, collect, execute, make_plan
    from .runner.plan import workers_for

    if executor not in EXECUTORS:
        raise BadInput(f"--executor {executor!r}: use one of {', '.join(EXECUTORS)}")
    if scheduler is not None and executor != "dask":
        raise BadInput("--scheduler is the address of a Dask scheduler: give it with --executor dask")
    jobs_given = jobs is not None
    jobs = workers_for(jobs)
    if jobs < 1:
        raise BadInput(f"--jobs {jobs}: give at least 1 worker process")
    if max_memory_gb is not None and max_memory_gb <= 0:
        raise BadInput(f"--max-memory {max_memory_gb}: give a positive number of GiB")
    if codec_files:
        from .codecs.external import load_codec_file

        for path in codec_files:
            load_codec_file(path)
    from .equal_quality import parse_targets, search, write_targets

    target_list = parse_targets(targets) if targets else []
    if target_list and metrics is not None:
        metrics = list(dict.fromkeys([*metrics, *(t.metric for t in target_list)]))
    corpus = datasets.resolve(dataset)
    cache_path = Path(cache) if cache else None
    timings: dict[str, float] = {}
    with Store(cache_path) as store, contextlib.ExitStack() as cleanup:
        notes = [store.recovered] if store.recovered else []
        memory_limit = int(max_memory_gb * 2**30) if max_memory_gb else None
        plan_options: dict[str, Any] = {"jobs": jobs}
        if executor == "dask":  # connect first: the device and the memory plan are the workers'
            from .runner.dask import DaskPool

            t0 = time.perf_counter()
            pool: Any = DaskPool(scheduler, jobs)
            cleanup.callback(pool.close, True)
            timings["connect to Dask"] = time.perf_counter() - t0
            worker_memory, worker_threads = pool.memory_plan()
            plan_options = {"jobs": worker_threads, "device_check": pool.check_device}
            memory_limit = memory_limit or worker_memory
            if scheduler is None:
                notes.append(f"no --scheduler: started a local Dask cluster of {jobs} worker processes on this machine")
            elif jobs_given:
                notes.append(f"--jobs {jobs} ignored: the Dask cluster at {pool.address} has its own workers")
        t0 = time.perf_counter()
        plan = make_plan(
            corpus, codecs, metrics, device, store=store, max_pixels=max_pixels, memory_limit=memory_limit,
            **plan_options,
        )  # fmt: skip
        missing = [t.metric for t in target_list if t.metric not in plan.metric_objects]
        if missing:  # the default metric set lacks a target's metric: plan again with it added
            first = plan
            plan = make_plan(
                corpus, codecs, [*plan.metric_objects, *dict.fromkeys(missing)], device, store=store,
                max_pixels=max_pixels, memory_limit=memory_limit, **plan_options,
            )  # fmt: skip
            plan.metrics_unavailable = {**first.metrics_unavailable, **plan.metrics_unavailable}
        timings["plan (hash images)"] = time.perf_counter() - t0
        anchor_label, anchor_note = _anchor(plan, anchor) if report and plan.codecs else (None, None)
        notes += [anchor_note] if anchor_note else []
        run_dir = new_run_dir(out, corpus.name, overwrite)
        if executor == "dask":
            pool.bind(plan)
        else:
            pool = LocalPool.for_device(jobs, plan.device, plan.memory_limit)
        manifest = _manifest(plan, command, store.path, pool.describe())
        if executor == "dask" and plan.device == "cuda":
            manifest.gpu = pool.gpu_name()
        write_manifest(run_dir, manifest)
        bar = _Bar(progress, plan.n_items, corpus.name)
        outcome = Outcome()
        found = None
        try:
            execute(plan, store, pool, bar, outcome)
            if target_list:
                t1 = time.perf_counter()
                found = search(plan, store, pool, target_list, collect(plan, store))
                outcome.encoded += found.encoded
                outcome.scored += found.scored
                outcome.errors += found.errors
                timings["equal-quality search"] = time.perf_counter() - t1
            manifest.status = "complete"
        except KeyboardInterrupt:
            manifest.status = "interrupted"
        except QKError:
            manifest.status = "failed"
            raise
        finally:
            manifest.executor = pool.describe()  # the workers seen during the run, tasks per worker
            pool.close(kill=manifest.status != "complete")
            bar.close()
            manifest.work = Work(outcome.encoded, outcome.scored)
            manifest.errors += outcome.errors
            manifest.dataset.images = [
                replace(i, conversion=outcome.conversions.get(i.image, i.conversion)) for i in manifest.dataset.images
            ]
            timings.update(outcome.profile)
            try:
                results = collect(plan, store)
                write_run(run_dir, results, manifest)
            except QKError:
                if manifest.status == "complete":
                    raise
        if manifest.status == "interrupted":
            raise Interrupted(run_dir, len(results), plan.n_items)
        if found is not None:
            write_targets(run_dir, found.table)
    result = BenchResult(results, run_dir, manifest, notes=notes, profile=timings,
                         targets=found.table if found is not None else None)  # fmt: skip
    if report and len(results):
        t0 = time.perf_counter()
        steps: dict[str, float] = {}
        try:
            result.report, result.answer = build_report(run_dir, anchor=anchor_label, profile=steps)
        except QKError as exc:  # the results are on disk: say what failed, keep them
            result.notes.append(f"report not written: {exc}")
        timings["report"] = time.perf_counter() - t0
        timings.update({f"report: {k}": v for k, v in steps.items()})
    return result


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


def _report_package() -> Any:
    """The package :mod:`qualitykit.report`, imported without hiding :func:`report`: Python's first import of a
    submodule sets the parent's attribute of that name, which would make ``qualitykit.report`` the package after a
    notebook's first :func:`bench`."""
    import importlib

    package = importlib.import_module(f"{__package__}.report")
    parent = sys.modules.get(__package__)
    if parent is not None and getattr(parent, "report", None) is not report:
        parent.report = report
    return package


def report(run_dir: str | os.PathLike[str], anchor: str | None = None, **options: Any) -> Path:
    """Write the run's ``index.html`` (and ``bdrate.json``, ``plots/``); return its path.

    Options are those of :func:`qualitykit.report.write_report` (``out_dir``, ``method``,
    ``min_overlap``, ``n_boot``, ``seed``, ``comparisons``, ``crop``).
    """
    return _report_package().write_report(run_dir, anchor=anchor, **options)


def bd_table(run: str | os.PathLike[str] | Run, anchor: str | None = DEFAULT_ANCHOR, **options: Any):
    """BD-rate table of a run (a directory or a :class:`~qualitykit.rundir.Run`) against ``anchor``, or of
    every ordered pair of its codecs with ``anchor=None``; see :func:`qualitykit.analysis.bd_table`."""
    from .analysis import bd_table as _bd_table

    return _bd_table(run if isinstance(run, Run) else Run.load(run), anchor, **options)


def answer(run: str | os.PathLike[str] | Run, n_boot: int = 1000, seed: int = 0, **options: Any):
    """The answer of a run: verdict sentences, caveats and the pairwise matrix
    (:class:`~qualitykit.analysis.answer.Answer`; ``print(answer)`` or :func:`render_text` gives it as text), from every pair's
    BD-rate and the run's equal-quality targets. Options as :func:`qualitykit.analysis.bd_table`."""
    from .analysis import bd_table as _bd_table
    from .analysis.answer import answer as _answer
    from .analysis.targets import summarize_targets
    from .equal_quality import read_targets

    run = run if isinstance(run, Run) else Run.load(run)
    bd = _bd_table(run, None, n_boot=n_boot, seed=seed, **options)
    targets = read_targets(run.path) if run.path is not None else None
    return _answer(run, bd, summarize_targets(targets, n_boot, seed) if targets is not None and len(targets) else None)


def render_text(answer: Any, width: int = 100) -> str:
    """An :func:`answer` as plain text at most ``width`` columns wide, as ``qk bench`` ends (``str(answer)`` is this at
    100 columns)."""
    from .analysis.answer import render_text as _render

    return _render(answer, width)


def bd_matrix(curves: Sequence[str | os.PathLike[str]], metrics: Sequence[str] = ("psnr",),
              anchors: Sequence[str | os.PathLike[str]] | None = None, all_pairs: bool = False, **options: Any) -> pd.DataFrame:  # fmt: skip
    """BD-rate and BD-metric of many curves (CompressAI JSONs, CSVs, one-codec runs): every curve against
    each of ``anchors`` (default: the first curve), or every ordered pair; one row per pair × metric with
    the range each number holds over. See :func:`qualitykit.analysis.sources.compare_many`."""
    from .analysis.sources import compare_many

    return compare_many(list(curves), list(metrics), list(anchors) if anchors else None, all_pairs=all_pairs, **options)


def check_claims(run: str | os.PathLike[str] | Run, claims: str, *, file: bool = False, **options: Any):
    """Check savings claimed for codecs against a run (``"neural vs jpeg 40..60 % at equal ms-ssim"``, or a
    YAML file with ``file=True``); see :mod:`qualitykit.claims`. Returns a :class:`~qualitykit.claims.ClaimCheck`."""
    from .claims import check_claims as _check, load_claims

    return _check(run, load_claims(claims) if file else claims, **options)


def bd_curves(anchor: str | os.PathLike[str], test: str | os.PathLike[str], metric: str = "psnr",
              codecs: Sequence[str | None] = (None, None), **options: Any):  # fmt: skip
    """BD-rate and BD-metric of the ``test`` curve against the ``anchor`` curve; see
    :func:`qualitykit.analysis.sources.compare_curves`."""
    from .analysis.sources import compare_curves

    return compare_curves(anchor, test, metric, codecs, **options)


def save_baseline(run_dir: str | os.PathLike[str], to: str | os.PathLike[str]) -> Path:
    """Store a run as the baseline a later :func:`gate` compares with."""
    from .gate import save_baseline as _save

    return _save(run_dir, to)


def gate(
    baseline: str | os.PathLike[str],
    run: str | os.PathLike[str] | None = None,
    *,
    max_bd_rate: float | None = None,
    per_metric: dict[str, float] | None = None,
    allow_version_drift: bool = False,
    require_all: bool = False,
    method: str = "pchip",
    **bench_options: Any,
):
    """Compare a run with a baseline file (see :mod:`qualitykit.gate`).

    Without ``run``, the baseline's grid (its dataset, codec specs and metrics, unless given in
    ``bench_options``) is run now with :func:`bench` (no report) and judged.
    Returns a :class:`~qualitykit.gate.GateResult` whose ``run_dir`` names the run judged.
    """
    from .gate import DEFAULT_TOLERANCE, gate as _gate, load_baseline

    base = load_baseline(baseline)
    if run is None:
        bench_options.setdefault("dataset", base.dataset_name)
        bench_options.setdefault("codecs", [c.spec for c in base.codecs])
        bench_options.setdefault("metrics", list(base.metrics))
        run = bench(report=False, **bench_options).run_dir
    result = _gate(
        base, Run.load(run), DEFAULT_TOLERANCE if max_bd_rate is None else max_bd_rate, per_metric,
        allow_version_drift, method, require_all=require_all,
    )  # fmt: skip
    result.run_dir = Path(run)
    return result


def compare(reference: str | os.PathLike[str], distorted: str | os.PathLike[str],
            metrics: Sequence[str] | None = None, device: str = "auto") -> dict[str, Any]:  # fmt: skip
    """Every metric (or those named) on one pair of image files; see :func:`qualitykit.compare.compare`."""
    from .compare import compare as _compare

    return _compare(reference, distorted, metrics, device)
