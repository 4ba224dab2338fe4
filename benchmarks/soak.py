"""Soak: runs killed at random moments, and concurrent runs, on one cache; then a clean run must be exact.

    python benchmarks/soak.py [--runs 20] [--seed 1] [--keep DIR] [--write]

Each of ``--runs`` rounds does two things on one shared cache:

1. one ``qk bench`` (the sample corpus, jpeg, psnr, a 24-point ladder new to this round, two
   workers) killed at a random moment of its work (0–1.5 s after its manifest appears, i.e. once
   it is planned) by SIGINT, SIGTERM or SIGKILL, sent to the driver or to one of its workers
   (chosen at random);
2. two ``qk bench`` started together on a ladder overlapping the killed run's, so they meet its
   leases (left behind when its driver was killed with SIGKILL) and each other's.

Afterwards:

* a clean run of every ladder point used (on the soak's cache) must give results identical to an
  uninterrupted run on a fresh cache — image, ``q``, bytes and PSNR, bit for bit;
* no process started by qk survives (every driver, worker and child seen, by pid and start time,
  via psutil);
* no temporary folder or file is left (``$TMPDIR`` of the runs, ``.*.tmp`` in run folders);
* every run folder's manifest says how the run ended; the statuses found are counted, with how
  each run was stopped (a driver killed with SIGKILL cannot write anything: its manifest stays
  ``running`` unless qk's readers tell a dead run apart);
* the cache holds no duplicate rows and passes SQLite's integrity check.

``--write`` records the counts in benchmarks/RESULTS.md (section ``soak``). Needs psutil
(``pip install qualitykit[test]``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import psutil
from _results import machine, write_section

from qualitykit.rundir import Manifest, status_now

ROOT = Path(__file__).resolve().parents[1]
POINTS = 24  # ladder points per round
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}


@dataclass
class Soak:
    """The soak's folder, its environment, and everything seen while it ran."""

    root: Path
    seen: dict[int, float] = field(default_factory=dict)  # pid → create time: every qk process seen
    runs: list[dict] = field(default_factory=list)

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def env(self) -> dict[str, str]:
        return {**os.environ, "TMPDIR": str(self.tmp), "QK_CACHE": str(self.root / "cache.sqlite"),
                "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(self.root / "xdg")}  # fmt: skip

    def start(self, name: str, ladder: list[int], cache: Path | None = None) -> subprocess.Popen:
        spec = "jpeg:q=" + "/".join(str(q) for q in ladder)
        cmd = [sys.executable, "-m", "qualitykit", "bench", "--dataset", "sample", "--codecs", spec, "--metrics", "psnr",
               "--jobs", "2", "--out", str(self.root / "runs" / name), "--no-report"]  # fmt: skip
        if cache is not None:
            cmd += ["--cache", str(cache)]
        return subprocess.Popen(cmd, env=self.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)

    def watch(self, proc: subprocess.Popen) -> list[psutil.Process]:
        """Note every process of ``proc``'s tree; return its workers (children) now."""
        try:
            parent = psutil.Process(proc.pid)
            tree = parent.children(recursive=True)
            for p in [parent, *tree]:
                self.seen.setdefault(p.pid, p.create_time())
            return parent.children()
        except psutil.Error:
            return []

    def wait(self, proc: subprocess.Popen, limit: float = 120.0) -> tuple[int | None, float, str]:
        t0 = time.monotonic()
        while proc.poll() is None and time.monotonic() - t0 < limit:
            self.watch(proc)
            time.sleep(0.05)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return None, time.monotonic() - t0, "hung: killed by the soak"
        return proc.returncode, time.monotonic() - t0, proc.stderr.read().decode(errors="replace")[-300:]


def ladder(round_: int, shift: int = 0) -> list[int]:
    """Round ``round_``'s ladder: :data:`POINTS` jpeg qualities in 1..100, ``shift`` points along."""
    return sorted({1 + (round_ * POINTS + shift + k * 3) % 100 for k in range(POINTS)})


def killed_run(soak: Soak, round_: int, rng: random.Random) -> None:
    name = f"killed-{round_:02d}"
    proc = soak.start(name, ladder(round_))
    manifest = soak.root / "runs" / name / "manifest.json"
    moment = rng.uniform(0.0, 1.5)
    how, target = rng.choice(list(SIGNALS)), rng.choice(["driver", "worker"])
    workers: list[psutil.Process] = []
    t0 = time.monotonic()
    while not manifest.exists() and proc.poll() is None and time.monotonic() - t0 < 60:
        workers = soak.watch(proc) or workers  # the run is planned when its manifest appears
        time.sleep(0.02)
    t0 = time.monotonic()
    while time.monotonic() - t0 < moment and proc.poll() is None:
        workers = soak.watch(proc) or workers
        time.sleep(0.02)
    workers = soak.watch(proc) or workers
    hit = "finished before the signal"
    if proc.poll() is None:
        if target == "worker" and workers:
            victim = rng.choice(workers)
            hit = f"worker {how}"
            try:
                victim.send_signal(SIGNALS[how])
            except psutil.Error:
                hit = "worker gone before the signal"
        else:
            hit = f"driver {how}" + (" (no worker yet)" if target == "worker" else "")
            proc.send_signal(SIGNALS[how])
    status, wall, err = soak.wait(proc)
    soak.runs.append({"run": name, "kind": "killed", "signal": hit, "at_s": round(moment, 2), "exit": status,
                      "wall_s": round(wall, 1), "stderr": err})  # fmt: skip


def concurrent_runs(soak: Soak, round_: int) -> None:
    procs = [soak.start(f"pair-{round_:02d}-{k}", ladder(round_, shift=POINTS // 2)) for k in (1, 2)]
    for k, proc in enumerate(procs, 1):
        status, wall, err = soak.wait(proc)
        soak.runs.append({"run": f"pair-{round_:02d}-{k}", "kind": "concurrent", "signal": "none", "exit": status,
                          "wall_s": round(wall, 1), "stderr": err})  # fmt: skip


def table(run: Path) -> pd.DataFrame:
    df = pd.read_csv(run / "results.csv")
    return df[["image", "q", "bytes", "psnr"]].sort_values(["image", "q"]).reset_index(drop=True)


def survivors(soak: Soak) -> list[int]:
    alive = []
    for pid, created in soak.seen.items():
        try:
            p = psutil.Process(pid)
            if p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.Error:
            pass
    return alive


def leftovers(soak: Soak) -> list[str]:
    found = [str(p) for p in soak.tmp.iterdir()]
    found += [str(p) for p in (soak.root / "runs").rglob(".*.tmp")]
    return found


def statuses(soak: Soak) -> Counter:
    """(how the run was stopped, the status its manifest records) → runs. A driver killed with SIGKILL
    cannot write: its manifest stays ``running`` and every reader (:func:`qualitykit.rundir.status_now`)
    reads it as ``interrupted`` once its owner process is gone — both are shown."""
    out: Counter = Counter()
    for r in soak.runs:
        manifest = soak.root / "runs" / r["run"] / "manifest.json"
        status = "no manifest"
        if manifest.is_file():
            written = Manifest.from_dict(json.loads(manifest.read_text()))
            status, read = written.status, status_now(written)
            status += f", read as {read}" if read != status else ""
        r["status"] = status
        out[(r["signal"].split(" (")[0], status)] += 1
    return out


def integrity(cache: Path) -> tuple[str, int]:
    db = sqlite3.connect(cache)
    try:
        check = db.execute("PRAGMA integrity_check").fetchone()[0]
        dupes = db.execute("SELECT COUNT(*) - COUNT(DISTINCT key) FROM encodes").fetchone()[0]
        dupes += db.execute("SELECT COUNT(*) - COUNT(DISTINCT encode_key || metric || version) FROM scores").fetchone()[0]
    finally:
        db.close()
    return check, dupes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=20, help="killed runs (each followed by two concurrent runs)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="soak folder to keep (default: a temporary one, removed)")
    ap.add_argument("--write", action="store_true", help="write the soak section of benchmarks/RESULTS.md")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="qk-soak-") as scratch:
        soak = Soak(args.keep or Path(scratch))
        soak.tmp.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        for r in range(args.runs):
            killed_run(soak, r, rng)
            concurrent_runs(soak, r)
            print(f"round {r + 1}/{args.runs}: {soak.runs[-3]['signal']} at {soak.runs[-3]['at_s']} s -> exit "
                  f"{soak.runs[-3]['exit']}; pair exits {soak.runs[-2]['exit']}, {soak.runs[-1]['exit']}", flush=True)  # fmt: skip
        soak_s = time.monotonic() - t0
        every = sorted({q for r in range(args.runs) for q in ladder(r) + ladder(r, POINTS // 2)})
        clean = soak.start("clean", every)
        clean_status = soak.wait(clean, 600)
        fresh = soak.start("fresh", every, cache=soak.root / "fresh.sqlite")
        fresh_status = soak.wait(fresh, 600)
        if clean_status[0] != 0 or fresh_status[0] != 0:
            sys.exit(f"clean run exit {clean_status}, fresh run exit {fresh_status}")
        a, b = table(soak.root / "runs" / "clean"), table(soak.root / "runs" / "fresh")
        identical = a.equals(b)
        time.sleep(1.0)  # let the last SIGKILLs land
        alive, left = survivors(soak), leftovers(soak)
        counts = statuses(soak)
        check, dupes = integrity(soak.root / "cache.sqlite")
        pairs = [r for r in soak.runs if r["kind"] == "concurrent"]
        summary = {
            "rounds": args.runs, "qk runs": len(soak.runs) + 2, "soak seconds": round(soak_s),
            "clean run = uninterrupted run": identical, "items compared": len(a),
            "qk processes seen": len(soak.seen), "survivors": alive, "leftover temp files": left,
            "cache integrity": check, "duplicate rows": dupes,
            "concurrent runs exit 0": sum(r["exit"] == 0 for r in pairs), "concurrent runs": len(pairs),
            "slowest concurrent run (s)": max((r["wall_s"] for r in pairs), default=0),
        }  # fmt: skip
        print(json.dumps(summary, indent=1))
        print("how stopped → manifest status:")
        for (how, status), n in sorted(counts.items()):
            print(f"  {how:<28} {status:<14} {n}")
        bad = [r for r in soak.runs if r["exit"] not in (0, 130, 2, -9, -15, -2) or r["exit"] is None]
        for r in bad:
            print(f"  unexpected: {r}")
        if args.write:
            write_section("soak", render(summary, counts, machine()))
        ok = identical and not alive and not left and check == "ok" and not dupes and not bad
        sys.exit(0 if ok else 1)


def render(summary: dict, counts: Counter, where: str) -> str:
    rows = "\n".join(f"| {how} | {status} | {n} |" for (how, status), n in sorted(counts.items()))
    return f"""## Soak: killed and concurrent runs on one cache

`python benchmarks/soak.py --runs {summary['rounds']} --write` on {where}: {summary['rounds']} runs of `qk bench`
(sample corpus, jpeg, psnr, {POINTS} ladder points, 2 workers) each stopped at a random moment of its work
by SIGINT, SIGTERM or SIGKILL sent to the driver or a worker, each followed by two runs started together on one cache
({summary['qk runs']} runs, {summary['soak seconds']} s).

| check | result |
|---|---|
| clean run after the soak = uninterrupted run on a fresh cache ({summary['items compared']} items: bytes, PSNR) | {'identical' if summary['clean run = uninterrupted run'] else '**different**'} |
| processes started by qk still alive afterwards (of {summary['qk processes seen']} seen) | {len(summary['survivors'])} |
| temporary folders or files left | {len(summary['leftover temp files'])} |
| cache: SQLite integrity check, duplicate rows | {summary['cache integrity']}, {summary['duplicate rows']} |
| concurrent runs that finished (exit 0) | {summary['concurrent runs exit 0']} of {summary['concurrent runs']}, slowest {summary['slowest concurrent run (s)']} s |

How each run was stopped, and the status its manifest records:

| stopped by | manifest status | runs |
|---|---|---|
{rows}
"""


if __name__ == "__main__":
    main()
