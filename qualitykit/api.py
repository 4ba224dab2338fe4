"""The Python API that ``qk`` and notebooks share."""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__, datasets, provenance
from .ffmpeg import find_ffmpeg
from .runner import Outcome, Plan, collect, execute, make_plan
from .store import Store, default_cache_path

DEFAULT_CODECS = ("jpeg", "webp", "avif")


def default_run_dir(corpus_name: str) -> Path:
    """``reports/<corpus>-<UTC timestamp>`` under the current directory."""
    return Path("reports") / f"{corpus_name}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"


def manifest(plan: Plan, outcome: Outcome, command: str | None = None) -> dict[str, Any]:
    """Provenance of a run: command, versions of everything, codec settings, image hashes, metric versions."""
    from .metrics import registry as metric_registry

    return {
        "qualitykit_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": command or shlex.join(sys.argv),
        "dataset": {
            "name": plan.corpus.name,
            "path": str(plan.corpus.root.resolve()),
            **{k: plan.corpus.meta[k] for k in ("description", "licence", "source") if k in plan.corpus.meta},
            "images": [
                {"image": i.image, "path": str(i.path.resolve()), "sha256": i.sha256,
                 "expected_sha256": plan.corpus.expected.get(i.image)}
                for i in plan.images
            ],  # fmt: skip
        },
        "codecs": [
            {"spec": c.spec, "label": c.label, "id": c.codec.id, "name": c.codec.name,
             "settings": c.codec.options, "ladder": list(c.ladder), "versions": c.versions}
            for c in plan.codecs
        ],  # fmt: skip
        "metrics": [metric_registry.get(n).info_for(v).to_dict() for n, v in plan.metrics.items()],
        "metrics_unavailable": plan.unavailable,
        "aggregation": "corpus value at a codec point = mean of per-image values",
        "libraries": provenance.package_versions(),
        "ffmpeg": find_ffmpeg().path,
        "machine": provenance.machine(),
        "device": plan.device,
        "gpu": provenance.gpu(),
        "work": {"encoded": outcome.encoded, "metric_values": outcome.metric_values},
        "errors": outcome.errors,
    }


def write_run(run_dir: Path, results: pd.DataFrame, meta: dict[str, Any]) -> None:
    """Write ``results.csv`` and ``manifest.json`` (each replaced atomically)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / "results.csv.tmp"
    results.to_csv(tmp, index=False)
    os.replace(tmp, run_dir / "results.csv")
    tmp = run_dir / "manifest.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2, default=str) + "\n")
    os.replace(tmp, run_dir / "manifest.json")


def bench(
    dataset: str | os.PathLike[str] | None = None,
    codecs: Sequence[str] = DEFAULT_CODECS,
    metrics: Sequence[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    device: str = "auto",
    cache: str | os.PathLike[str] | None = None,
    progress: bool = False,
    command: str | None = None,
) -> pd.DataFrame:
    """Encode every image of ``dataset`` with every codec point, decode, score; return the results table.

    Parameters
    ----------
    dataset : corpus name from ``datasets.yaml`` or a folder of images (default: the built-in ``sample``).
    codecs : codec specs, e.g. ``["jpeg", "avif:speed=4:q=20/40/60"]``.
    metrics : metric names; ``None`` runs every metric of the default set available on this machine
        (``qk metrics`` shows the set; metrics costing seconds per pair run only when named).
    out : run directory for ``results.csv`` and ``manifest.json`` (default ``reports/<corpus>-<time>``).
    jobs : worker processes (default: every core).
    device : ``auto`` (CUDA when available), ``cpu`` or ``cuda``, for PyTorch metrics and codecs.
    cache : SQLite cache file (default ``$QK_CACHE`` or ``~/.cache/qualitykit/cache.sqlite``).

    Returns
    -------
    DataFrame with one row per image × codec point (columns as in ``qualitykit.runner.COLUMNS``
    plus one per metric). ``df.attrs`` holds ``run_dir``, ``errors`` (a list of
    dicts naming image, codec, quality, stage and message), ``unavailable`` (metric →
    why it could not run here, e.g. LPIPS weights missing offline) and ``work`` (how
    many encodes and metric values this call computed rather than read from the cache).

    Examples
    --------
    >>> import qualitykit
    >>> df = qualitykit.bench(codecs=["jpeg:q=30/60/90"], metrics=["psnr"])  # doctest: +SKIP
    >>> df.groupby("quality")[["bpp", "psnr"]].mean()  # doctest: +SKIP
    """
    corpus = datasets.resolve(dataset)
    plan = make_plan(corpus, codecs, metrics, device)
    run_dir = Path(out) if out else default_run_dir(corpus.name)
    cache_path = Path(cache) if cache else default_cache_path()
    outcome = Outcome()
    outcome.errors += [
        {"image": None, "codec": spec, "quality": None, "stage": "codec", "message": why}
        for spec, why in plan.codecs_unavailable.items()
    ]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=plan.n_items, unit="item", desc=f"{corpus.name}", file=sys.stderr)
    try:
        outcome.add(execute(plan, cache_path, jobs, bar.update if bar else None))
    except KeyboardInterrupt:
        outcome.errors.append({"image": None, "codec": None, "quality": None, "stage": "run", "message": "interrupted"})
        raise
    finally:
        if bar:
            bar.close()
        with Store(cache_path) as store:
            results = collect(plan, store)
        write_run(run_dir, results, manifest(plan, outcome, command))
    results.attrs.update(run_dir=str(run_dir), errors=outcome.errors, unavailable=plan.unavailable, work={"encoded": outcome.encoded, "metric_values": outcome.metric_values})
    return results


def summary(results: pd.DataFrame, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Per codec and quality point: mean bpp and mean of every metric over the images.

    ``labels`` maps codec ids to display names (a manifest's ``codecs[].label``).
    """
    from .runner import COLUMNS

    metric_cols = [c for c in results.columns if c not in COLUMNS]
    df = results.assign(codec=results["codec"].map(labels) if labels else results["codec"])
    order = list(dict.fromkeys(df["codec"]))
    table = df.groupby(["codec", "quality"], sort=False)[["bpp", *metric_cols]].mean()
    table.insert(0, "images", df.groupby(["codec", "quality"], sort=False)["image"].count())
    return table.reindex(order, level=0)
