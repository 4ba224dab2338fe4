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

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Imported here, before ``qualitykit/__init__`` binds the function :func:`report`: Python sets a package's
# attribute to a subpackage when that is first imported, so a later first import of ``qualitykit.report``
# (e.g. a notebook's ``from qualitykit.report import write_report``) would replace the function.
from .report import build_report, write_report
from .rundir import Run
from .runner.executor import executor_names
from .runner.session import DEFAULT_ANCHOR, DEFAULT_CODECS, BenchOptions, BenchResult, RunSession, summary  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    import pandas as pd

#: The ``--executor`` names (:data:`qualitykit.runner.executor.EXECUTORS`).
EXECUTORS = tuple(executor_names())


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
    options = BenchOptions(
        dataset, codecs, metrics, out, overwrite, jobs, device, cache, max_pixels, max_memory_gb, anchor, progress,
        command, codec_files, executor, scheduler, targets,
    )  # fmt: skip
    return RunSession(options, build_report if report else None).run()


def report(run_dir: str | os.PathLike[str], anchor: str | None = None, **options: Any) -> Path:
    """Write the run's ``index.html`` (and ``bdrate.json``, ``plots/``); return its path.

    Options are those of :func:`qualitykit.report.write_report` (``out_dir``, ``method``,
    ``min_overlap``, ``n_boot``, ``seed``, ``comparisons``, ``crop``).
    """
    return write_report(run_dir, anchor=anchor, **options)


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
