"""Wall time of the standard Kodak grid on the Dask executor (1 and 2 workers) next to the local executor.

    python benchmarks/bench_dask.py [--repeats 3] [--metrics psnr,ssim,ms-ssim,vmaf] [--warm] [--write]

Workload: Kodak-24 × ``jpeg,webp,avif`` at their default ladders (8 points each: 576 items) ×
``--metrics``, each run a fresh ``python -m qualitykit bench ... --no-report --quiet`` process with
an **empty cache**, so every run does all the work. Configurations, run interleaved
(``--repeats`` rounds, each round runs every configuration once), medians reported:

* ``local -j 1`` / ``local -j 2``: the local process pool;
* ``dask 1 worker`` / ``dask 2 workers``: ``--executor dask -j N`` with no ``--scheduler``, so qk
  starts (and stops) a LocalCluster of N single-threaded worker processes inside the run: the
  time includes starting the workers and their imports (PyTorch, CompressAI), as a first run on
  fresh cluster workers would;
* with ``--warm``, also ``dask 1/2 warm workers``: ``dask scheduler`` + ``dask worker --nworkers N
  --nthreads 1`` started once by this script and given with ``--scheduler``; a first unmeasured
  run warms them, as a long-lived cluster is.

Scaling efficiency = T1 / (2 · T2). Every Dask run's results.csv is compared with the local -j 2
run's of the same round (timing columns aside): they must be identical. ``--write`` replaces the
``dask-scaling`` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from _results import KODAK, machine, write_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CODECS = "jpeg,webp,avif"


def qk_command(kodak: Path, metrics: str, cache: Path, out: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "qualitykit", "bench", "--dataset", str(kodak), "--codecs", CODECS,
            "--metrics", metrics, "--cache", str(cache), "--out", str(out), "--no-report", "--quiet", *extra]  # fmt: skip


def timed(cmd: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        sys.exit(f"failed ({res.returncode}): {shlex.join(cmd)}\n{res.stderr[-3000:]}")
    return time.perf_counter() - t0


def start_cluster(workers: int, folder: Path) -> tuple[list[subprocess.Popen], str]:
    """``dask scheduler`` and ``dask worker --nworkers workers --nthreads 1``; the scheduler's address."""
    import json

    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    file = folder / f"scheduler-{workers}.json"
    log = open(folder / f"cluster-{workers}.log", "w")
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--port", "0",
                               "--dashboard-address", ":0", "--scheduler-file", str(file)], stdout=log, stderr=log, env=env)]  # fmt: skip
    deadline = time.time() + 60
    while not file.exists() and time.time() < deadline:
        time.sleep(0.2)
    procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(file),
                                   "--nworkers", str(workers), "--nthreads", "1"], stdout=log, stderr=log, env=env))  # fmt: skip
    return procs, json.loads(file.read_text())["address"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--metrics", default="psnr,ssim,ms-ssim,vmaf")
    ap.add_argument("--kodak", type=Path, default=KODAK)
    ap.add_argument("--images", type=int, default=24, help="first N Kodak images only (quick checks of this script)")
    ap.add_argument("--warm", action="store_true", help="also time long-lived (warm) dask workers given with --scheduler")
    ap.add_argument("--write", action="store_true", help="replace the dask-scaling section of benchmarks/RESULTS.md")
    args = ap.parse_args()
    if not (args.kodak / "kodim01.png").is_file():
        sys.exit(f"Kodak not found at {args.kodak} (../shared beside the checkout)")
    configs: dict[str, list[str]] = {
        "local -j 1": ["--jobs", "1"], "local -j 2": ["--jobs", "2"],
        "dask 1 worker": ["--executor", "dask", "--jobs", "1"], "dask 2 workers": ["--executor", "dask", "--jobs", "2"],
    }  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in configs}
    identical: dict[str, bool] = {}
    started = datetime.date.today().isoformat()
    with tempfile.TemporaryDirectory(prefix="qk-bench-dask-") as tmp:
        tmp_path = Path(tmp)
        corpus = args.kodak
        if args.images < 24:
            corpus = tmp_path / "kodak"
            corpus.mkdir()
            for f in sorted(args.kodak.glob("kodim*.png"))[: args.images]:
                (corpus / f.name).symlink_to(f)
        clusters = []
        if args.warm:
            for n in (1, 2):
                procs, address = start_cluster(n, tmp_path)
                clusters += procs
                name = f"dask {n} warm worker{'s' if n > 1 else ''}"
                configs[name] = ["--executor", "dask", "--scheduler", address]
                times[name] = []
                timed(qk_command(corpus, args.metrics, tmp_path / f"warmup-{n}.sqlite", tmp_path / f"warmup-{n}", configs[name]))
        try:
            for r in range(args.repeats):
                for i, (name, extra) in enumerate(configs.items()):
                    cache, out = tmp_path / f"c{r}-{i}.sqlite", tmp_path / f"run{r}-{i}"
                    seconds = timed(qk_command(corpus, args.metrics, cache, out, extra))
                    times[name].append(seconds)
                    print(f"round {r + 1}: {name}: {seconds:.1f} s", flush=True)
                    cache.unlink()
                reference = pd.read_csv(tmp_path / f"run{r}-1" / "results.csv").drop(columns=["encode_s", "decode_s"])
                for i, name in enumerate(configs):
                    other = pd.read_csv(tmp_path / f"run{r}-{i}" / "results.csv").drop(columns=["encode_s", "decode_s"])
                    identical[name] = identical.get(name, True) and other.equals(reference)
        finally:
            for p in reversed(clusters):
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
    med = {name: statistics.median(ts) for name, ts in times.items()}
    rows = []
    for name, ts in times.items():
        n = 2 if name.startswith(("local -j 2", "dask 2")) else 1
        one = {"local -j 2": "local -j 1", "dask 2 workers": "dask 1 worker", "dask 2 warm workers": "dask 1 warm worker"}.get(name)
        eff = f"{med[one] / (2 * med[name]):.2f}" if one else ""
        rows.append(f"| {name} | {n} | {', '.join(f'{t:.1f}' for t in ts)} | {med[name]:.1f} | {eff} | "
                    f"{'yes' if identical[name] else '**no**'} |")  # fmt: skip
    command = f"python benchmarks/bench_dask.py --repeats {args.repeats} --metrics {args.metrics}" + (" --warm" if args.warm else "")
    command += f" --images {args.images}" if args.images < 24 else ""
    body = "\n".join([
        "## Dask executor: scaling on one machine",
        "",
        f"Machine: {machine()} (shared with other work). Date: {started}. Command: `{command}`.",
        "",
        f"Kodak-{args.images} × `{CODECS}` default ladders ({args.images * 24} items) × `{args.metrics}`, empty cache every run, "
        f"{args.repeats} interleaved rounds; wall time of the whole `qk bench` process (plan, cluster start, work, "
        "results; no report). Efficiency = T1 / (2·T2). Identical: results.csv equals the local -j 2 run's "
        "(timing columns aside).",
        "",
        "| executor | workers | wall times (s) | median (s) | scaling efficiency | identical |",
        "|---|---|---|---|---|---|",
        *rows,
    ])  # fmt: skip
    print()
    print(body)
    if args.write:
        write_section("dask-scaling", body)


if __name__ == "__main__":
    main()
