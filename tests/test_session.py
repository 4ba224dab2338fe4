"""The run session: one owner of the run folder, its claim, and the final status on every way out."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import qualitykit
from qualitykit import rundir
from qualitykit.api import report as write_report
from qualitykit.errors import BadInput, Interrupted, StorageError
from qualitykit.rundir import LOCK, Run

ROOT = Path(__file__).resolve().parents[1]
GRID = (["jpeg:q=30/70"], ["psnr"])


def _status(run_dir: Path) -> str:
    return json.loads((run_dir / "manifest.json").read_text())["status"]


def _bench(corpus: Path, cache: Path, out: Path, **kw):
    return qualitykit.bench(corpus, *GRID, out=out, cache=cache, jobs=1, report=False, **kw)


# ---------------------------------------------------------------- final status on every exit path


def _fail_execute(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    from qualitykit.runner import session

    def boom(*args, **kwargs):
        raise exc

    monkeypatch.setattr(session, "execute", boom)


def test_a_bug_during_the_run_leaves_a_failed_manifest(small_corpus, cache, tmp_path, monkeypatch):
    _fail_execute(monkeypatch, RuntimeError("a bug"))
    with pytest.raises(RuntimeError, match="a bug"):
        _bench(small_corpus, cache, tmp_path / "r")
    assert _status(tmp_path / "r") == "failed"
    assert not (tmp_path / "r" / LOCK).exists()  # the claim is given up


def test_ctrl_c_then_a_failing_collection_still_says_interrupted(small_corpus, cache, tmp_path, monkeypatch):
    from qualitykit.runner import session

    _fail_execute(monkeypatch, KeyboardInterrupt())

    def broken_collect(*args, **kwargs):
        raise OSError("the cache went away")

    monkeypatch.setattr(session, "collect", broken_collect)
    with pytest.raises(Interrupted):  # not an UnboundLocalError, not the OSError
        _bench(small_corpus, cache, tmp_path / "r")
    assert _status(tmp_path / "r") == "interrupted"


def test_a_failing_write_of_a_complete_run_is_raised_and_the_manifest_says_failed(small_corpus, cache, tmp_path, monkeypatch):
    from qualitykit.runner import session

    def full(*args, **kwargs):
        raise StorageError("cannot write results.csv: the disk is full")

    monkeypatch.setattr(session, "write_run", full)
    with pytest.raises(StorageError, match="disk is full"):
        _bench(small_corpus, cache, tmp_path / "r")
    assert _status(tmp_path / "r") == "failed"


def test_a_run_records_its_owner_and_a_dead_owner_reads_as_interrupted(small_corpus, cache, tmp_path):
    result = _bench(small_corpus, cache, tmp_path / "r")
    owner = result.manifest.owner
    assert owner["pid"] == os.getpid() and owner["host"] and owner["started"]
    data = json.loads((tmp_path / "r" / "manifest.json").read_text())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    data["status"], data["owner"]["pid"] = "running", int(dead.stdout)  # as a run killed with SIGKILL leaves it
    (tmp_path / "r" / "manifest.json").write_text(json.dumps(data))
    assert Run.load(tmp_path / "r").manifest.status == "interrupted"
    data["owner"]["pid"] = os.getpid()  # a live owner: still running
    (tmp_path / "r" / "manifest.json").write_text(json.dumps(data))
    assert Run.load(tmp_path / "r").manifest.status == "running"


# ---------------------------------------------------------------- claiming the folder


def test_a_folder_held_by_a_live_run_is_refused_and_a_dead_runs_claim_is_taken_over(tmp_path):
    out = tmp_path / "out"
    rundir.new_run_dir(out, "c")  # this process holds it
    code = f"from qualitykit import rundir; rundir.new_run_dir({str(out)!r}, 'c')"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert other.returncode != 0 and f"--out {out} is being written by another run" in other.stderr
    assert f"process {os.getpid()}" in other.stderr
    holder = subprocess.Popen([sys.executable, "-c", code + "; import time; time.sleep(60)"], cwd=ROOT)
    rundir.release_run_dir(out)
    assert not (out / LOCK).exists()
    try:  # another process takes the free folder; then SIGKILL leaves its lock file behind, and no lock
        for _ in range(100):
            if rundir._read_owner(out / LOCK).get("pid") == holder.pid:
                break
            time.sleep(0.1)
        assert rundir._read_owner(out / LOCK).get("pid") == holder.pid
    finally:
        holder.kill()
        holder.wait()
    assert (out / LOCK).exists()
    taker = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert taker.returncode == 0, taker.stderr


def test_two_runs_with_the_same_out_exactly_one_wins(small_corpus, tmp_path):
    out = tmp_path / "shared-out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "qualitykit", "bench", "--dataset", str(small_corpus), "--codecs", "jpeg:q=30/50/70",
           "--metrics", "psnr", "--out", str(out), "--no-report", "--quiet", "--jobs", "1"]  # fmt: skip
    runs = [subprocess.Popen([*cmd, "--cache", str(tmp_path / f"c{i}.sqlite")], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for i in range(2)]  # fmt: skip
    done = [(p.wait(120), p.stderr.read()) for p in runs]
    codes = sorted(c for c, _ in done)
    assert codes == [0, 2], done
    loser = next(err for c, err in done if c == 2)
    assert f"--out {out}" in loser and ("being written by another run" in loser or "already holds a run" in loser)
    assert _status(out) == "complete" and not (out / LOCK).exists()
    assert len(Run.load(out).results) == 4 * 3


def test_an_existing_run_is_refused_without_overwrite_and_kept(small_corpus, cache, tmp_path):
    _bench(small_corpus, cache, tmp_path / "r")
    before = (tmp_path / "r" / "results.csv").read_bytes()
    with pytest.raises(BadInput, match="already holds a run"):
        _bench(small_corpus, cache, tmp_path / "r")
    assert (tmp_path / "r" / "results.csv").read_bytes() == before and not (tmp_path / "r" / LOCK).exists()


# ---------------------------------------------------------------- a full disk while the report is written


def test_a_full_disk_at_any_report_write_is_a_storage_error(small_corpus, cache, tmp_path, monkeypatch):
    from qualitykit import fsutil

    qualitykit.bench(small_corpus, ["jpeg:q=30/70", "webp:q=30/70"], ["psnr"], out=tmp_path / "r", cache=cache,
                     jobs=1, report=False)  # fmt: skip
    real = fsutil.os.fsync
    writes: list[int] = []

    def count(fd: int) -> None:
        writes.append(fd)
        real(fd)

    monkeypatch.setattr(fsutil.os, "fsync", count)
    write_report(tmp_path / "r", out_dir=tmp_path / "first", comparisons=1)
    n = len(writes)
    assert n >= 4  # bdrate.json, plots (png, svg), index.html
    for k in range(n):
        calls = iter(range(n))

        def full(fd: int, k: int = k) -> None:
            if next(calls) == k:
                raise OSError(errno.ENOSPC, "No space left on device")
            real(fd)

        monkeypatch.setattr(fsutil.os, "fsync", full)
        with pytest.raises(StorageError, match="the disk is full"):
            write_report(tmp_path / "r", out_dir=tmp_path / f"full{k}", comparisons=1)
        assert not [p for p in (tmp_path / f"full{k}").rglob("*.tmp")]  # no half-written files left


def test_every_file_of_a_run_folder_is_written_by_rundir(small_corpus, cache, tmp_path, monkeypatch):
    """With a report and targets: each file in the folder came through rundir's atomic writer."""
    written: set[Path] = set()
    for name in ("atomic_write_bytes", "atomic_write_text"):
        real = getattr(rundir, name)
        monkeypatch.setattr(rundir, name, lambda path, data, real=real: (written.add(Path(path)), real(path, data))[1])
    qualitykit.bench(small_corpus, ["jpeg:q=30/70", "webp:q=30/70"], ["psnr"], out=tmp_path / "r", cache=cache, jobs=1,
                     targets=["psnr=30"])  # fmt: skip
    files = {p for p in (tmp_path / "r").rglob("*") if p.is_file()}
    assert {p.name for p in files} >= {"results.csv", "manifest.json", "targets.csv", "bdrate.json", "index.html"}
    assert any(p.parent.name == "plots" for p in files)
    assert files == written, f"written outside rundir: {sorted(files - written)}"


def test_a_run_killed_before_its_results_reads_as_interrupted(small_corpus, cache, tmp_path):
    """kill -9 of the driver leaves only the first manifest (``running``): readers say it was interrupted."""
    _bench(small_corpus, cache, tmp_path / "r")
    data = json.loads((tmp_path / "r" / "manifest.json").read_text())
    (tmp_path / "r" / "results.csv").unlink()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    data["status"], data["owner"]["pid"] = "running", int(dead.stdout)
    (tmp_path / "r" / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(BadInput, match=r"the run was interrupted \(process \d+ on .*\) before its results were written"):
        Run.load(tmp_path / "r")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cli = subprocess.run([sys.executable, "-m", "qualitykit", "report", str(tmp_path / "r")], capture_output=True,
                         text=True, env=env)  # fmt: skip
    assert cli.returncode == 2 and "the run was interrupted" in cli.stderr
    data["owner"]["pid"] = os.getpid()
    (tmp_path / "r" / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(BadInput, match="the run is still running"):
        Run.load(tmp_path / "r")
