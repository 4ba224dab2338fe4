"""The grid runner and its cache: reruns do no work, crashes lose nothing, bad inputs are named."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import qualitykit
from qualitykit.codecs import registry as codecs
from qualitykit.codecs.jpeg import JPEG
from qualitykit.errors import BadInput, StorageError, Unavailable
from qualitykit.rundir import COLUMNS, Run
from qualitykit.store import Store

from . import torture

CODECS = ["jpeg:q=20/50/80", "webp:q=30/70"]


def test_results_table_and_manifest_follow_the_run_directory_contract(small_corpus, cache, tmp_path):
    result = qualitykit.bench(small_corpus, CODECS, ["psnr", "ms-ssim"], out=tmp_path / "run", jobs=1, cache=cache, report=False)
    df = result.table
    assert list(df.columns) == COLUMNS + ["psnr", "ms-ssim"]
    assert len(df) == 4 * 5 and df[["psnr", "ms-ssim"]].notna().all().all()
    np.testing.assert_allclose(df["bpp"], df["bytes"] * 8 / (df["width"] * df["height"]))  # rate of the real file
    assert (df["width"] == 200).all() and (df["height"] == 176).all()
    assert set(df["codec_label"]) == {"jpeg", "webp"} and df["encode_key"].str.len().eq(64).all()
    run = Run.load(tmp_path / "run")
    pd.testing.assert_frame_equal(run.results, df, check_dtype=False)
    man = run.manifest
    assert man.status == "complete" and man.format == "qualitykit-run/2"
    assert [c.id for c in man.codecs] == ["jpeg:optimize=0:progressive=0:subsampling=420", "webp:method=4"]
    assert [m.name for m in man.metrics] == ["psnr", "ms-ssim"] and man.metrics[0].unit == "dB"
    assert all((i.width, i.height) == (200, 176) and len(i.sha256) == 64 for i in man.dataset.images)
    assert "pillow" in man.libraries and man.machine["cpus"] and man.cache == str(cache.resolve())
    assert man.work.encoded == 20 and man.work.scored == 40


def test_second_run_does_no_work_and_a_new_metric_is_computed_alone(small_corpus, cache, tmp_path):
    first = qualitykit.bench(small_corpus, CODECS, ["psnr", "ssim"], out=tmp_path / "a", jobs=2, cache=cache, report=False)
    assert (first.work.encoded, first.work.scored) == (20, 40)
    second = qualitykit.bench(small_corpus, CODECS, ["psnr", "ssim"], out=tmp_path / "b", jobs=2, cache=cache, report=False)
    assert (second.work.encoded, second.work.scored) == (0, 0)
    keep = [c for c in first.table.columns if c not in ("encode_s", "decode_s")]
    pd.testing.assert_frame_equal(second.table[keep], first.table[keep])
    third = qualitykit.bench(small_corpus, CODECS, ["psnr", "ssim", "ms-ssim"], out=tmp_path / "c", jobs=1, cache=cache, report=False)
    assert (third.work.encoded, third.work.scored) == (0, 20)
    # a changed setting is a different codec id: it is encoded afresh
    fourth = qualitykit.bench(small_corpus, ["jpeg:subsampling=444:q=20/50/80"], ["psnr"], out=tmp_path / "d", jobs=1, cache=cache, report=False)
    assert fourth.work.encoded == 12


def test_default_run_directories_are_unique_even_in_the_same_second(small_corpus, cache, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dirs = [qualitykit.bench(small_corpus, ["jpeg:q=50"], ["psnr"], jobs=1, cache=cache, report=False).run_dir for _ in range(3)]
    assert len(set(dirs)) == 3 and all((d / "results.csv").is_file() for d in dirs)
    with pytest.raises(BadInput, match="already holds a run; .* --overwrite"):
        qualitykit.bench(small_corpus, ["jpeg:q=50"], ["psnr"], out=dirs[0], jobs=1, cache=cache)
    again = qualitykit.bench(small_corpus, ["jpeg:q=50"], ["psnr"], out=dirs[0], overwrite=True, jobs=1, cache=cache, report=False)
    assert again.run_dir == dirs[0]


def test_torture_corpus_every_input_named_and_the_rest_completes(tmp_path, cache):
    folder = torture.make(tmp_path / "torture")
    result = qualitykit.bench(folder, ["jpeg:q=30/70"], ["psnr", "ms-ssim"], out=tmp_path / "run", jobs=2, cache=cache, report=False)
    scored = set(result.table["image"])
    errors = {e.image: e for e in result.errors}
    images = {i.image: i for i in result.manifest.dataset.images}
    for name, (what, phrase) in torture.CASES.items():
        if what == "convert":
            assert name in scored, name
            assert phrase in images[name].conversion, (name, images[name].conversion)
            assert result.table.loc[result.table["image"] == name, "psnr"].notna().all()
        else:
            assert name not in scored and errors[name].stage == "load" and phrase in errors[name].message, name
            assert str(folder / name) in errors[name].message  # the file is named
    # the image too small for MS-SSIM is excluded for that metric only, with the reason
    small = result.table[result.table["image"] == "small-150x120.png"]
    assert small["psnr"].notna().all() and small["ms-ssim"].isna().all()
    assert "150x120 px; needs at least 161" in errors["small-150x120.png"].message
    assert Run.load(tmp_path / "run").manifest.errors == result.errors


def test_plan_time_file_problems_are_named(small_corpus, cache, tmp_path, monkeypatch):
    import qualitykit.store as store

    real = store.sha256_file

    def unreadable(path):
        if Path(path).name == "crop1.png":
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(store, "sha256_file", unreadable)
    result = qualitykit.bench(small_corpus, ["jpeg:q=50"], ["psnr"], out=tmp_path / "run", jobs=1, cache=cache, report=False)
    assert sorted(result.table["image"]) == ["crop0.png", "crop2.png", "crop3.png"]
    (error,) = result.errors
    assert error.image == "crop1.png" and "crop1.png: cannot read (Permission denied)" in error.message


def test_a_file_that_vanishes_during_the_scan_is_named(small_corpus, cache, tmp_path):
    """Files listed, then gone before they are read: each named as a load error, the rest planned."""
    from qualitykit import datasets
    from qualitykit.runner import make_plan

    corpus = datasets.resolve(small_corpus)

    def vanish(n):  # called as each image is scanned: the next one disappears
        for name in ("crop2.png",):
            (small_corpus / name).unlink(missing_ok=True)

    plan = make_plan(corpus, ["jpeg:q=50"], ["psnr"], jobs=1, progress=vanish)
    assert [i.image for i in plan.images] == ["crop0.png", "crop1.png", "crop3.png"]
    (error,) = plan.errors
    assert error.image == "crop2.png" and error.stage == "load" and "no such file" in error.message


def test_a_runaway_jobs_request_is_capped_with_a_note(small_corpus, cache, tmp_path):
    """--jobs 1000 starts no more workers than the CPUs, the memory and the units of work allow."""
    from qualitykit.processes import cpus_available

    result = qualitykit.bench(small_corpus, ["jpeg:q=50"], ["psnr"], out=tmp_path / "run", jobs=1000, cache=cache, report=False)
    workers = min(cpus_available(), 4)  # 4 images × 1 codec
    assert result.manifest.executor["workers"] == workers and len(result.table) == 4
    note = next(n for n in result.notes if n.startswith("--jobs 1000 reduced to"))
    assert note == result.manifest.executor["note"] == Run.load(tmp_path / "run").manifest.executor["note"]
    assert note.startswith(f"--jobs 1000 reduced to {workers}: ")


def test_workers_are_capped_by_cpus_memory_and_units(monkeypatch):
    from qualitykit.rundir import SourceImage
    from qualitykit.runner import plan as plan_module

    monkeypatch.setattr(plan_module, "cpus_available", lambda: 64)
    images = [SourceImage(f"i{n}.png", f"/i{n}.png", "0" * 64, 4000, 3000) for n in range(10)]
    jobs, note = plan_module.cap_workers(1000, images, 3, {}, 4 * 2**30)
    per_worker = plan_module.WORKER_BASE_BYTES + plan_module.plan_memory(images[0], {}, 1, 0.0, float("inf"))[2]
    assert jobs == int(4 * 2**30 // per_worker) == 4
    assert note == "--jobs 1000 reduced to 4: 4 workers of about 1.0 GiB that fit in the memory limit of 4.0 GiB"
    assert plan_module.cap_workers(1000, images[:1], 4, {}, 1e15) == (4, "--jobs 1000 reduced to 4: 4 units of work (image × codec)")
    assert plan_module.cap_workers(1000, images, 3, {}, 1e15)[0] == 30
    assert plan_module.cap_workers(1000, images * 10, 3, {}, 1e15) == (64, "--jobs 1000 reduced to 64: 64 CPUs this process may use")
    assert plan_module.cap_workers(2, images, 3, {}, 1e15) == (2, None)


def test_bad_options_are_refused_before_any_work(small_corpus, cache, tmp_path):
    with pytest.raises(BadInput, match="--jobs 0"):
        qualitykit.bench(small_corpus, ["jpeg"], ["psnr"], jobs=0, cache=cache)
    with pytest.raises(BadInput, match="is a directory"):
        qualitykit.bench(small_corpus, ["jpeg"], ["psnr"], cache=tmp_path)
    with pytest.raises(StorageError, match="cannot create the run directory"):
        qualitykit.bench(small_corpus, ["jpeg"], ["psnr"], out=small_corpus / "crop0.png" / "run", cache=cache)
    with pytest.raises(Exception, match="no codec 'hevc'"):
        qualitykit.bench(small_corpus, ["jpeg"], ["psnr"], anchor="hevc", out=tmp_path / "r", cache=cache)
    assert not (tmp_path / "r").exists()
    with pytest.raises(Exception, match="unknown metric 'psnr-z'; did you mean 'psnr-y'"):
        qualitykit.bench(small_corpus, ["jpeg"], ["psnr-z"], cache=cache)
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(Unavailable, match="--device cuda: PyTorch sees no CUDA GPU"):
            qualitykit.bench(small_corpus, ["jpeg"], ["psnr"], device="cuda", cache=cache)
    with Store(cache) as store:
        assert store.counts()["encodes"] == 0


def test_images_above_the_pixel_limit_are_refused_unless_allowed(small_corpus, cache, tmp_path):
    result = qualitykit.bench(small_corpus, ["jpeg:q=50"], ["psnr"], max_pixels=30_000, out=tmp_path / "a", jobs=1, cache=cache, report=False)
    assert result.table.empty and len(result.errors) == 4
    assert "200x176 = 0.0 megapixels, above the limit" in result.errors[0].message and "--max-pixels" in result.errors[0].message
    result = qualitykit.bench(small_corpus, ["jpeg:q=50"], ["psnr"], max_pixels=40_000, out=tmp_path / "b", jobs=1, cache=cache, report=False)
    assert len(result.table) == 4 and not result.errors


def test_a_metric_too_large_for_the_memory_limit_is_excluded_for_that_image_only(small_corpus, cache, tmp_path, monkeypatch):
    from qualitykit.metrics.ssim import SSIM
    from qualitykit.runner.plan import WORKER_BASE_BYTES

    monkeypatch.setattr(SSIM, "memory_per_pixel", 10_000.0)  # the plan (made here) sizes SSIM as a huge model
    limit_gb = (WORKER_BASE_BYTES + 200 * 176 * 100) / 2**30  # room for psnr, not for ssim
    result = qualitykit.bench(small_corpus, ["jpeg:q=50"], ["psnr", "ssim"], max_memory_gb=limit_gb, out=tmp_path / "r", jobs=1, cache=cache, report=False)
    assert result.table["psnr"].notna().all() and result.table["ssim"].isna().all()
    assert {e.stage for e in result.errors} == {"metric ssim"}
    assert "to score with ssim, above the memory limit" in result.errors[0].message


def test_a_corrupt_cache_is_moved_aside_and_rebuilt(small_corpus, cache, tmp_path):
    cache.write_bytes(b"garbage, not SQLite" * 100)
    result = qualitykit.bench(small_corpus, ["jpeg:q=50"], ["psnr"], out=tmp_path / "r", jobs=1, cache=cache, report=False)
    assert len(result.table) == 4
    (note,) = result.notes
    assert f"cache {cache} was unreadable" in note and ".corrupt-" in note
    assert list(cache.parent.glob("cache.sqlite.corrupt-*"))


def test_a_full_disk_stops_the_run_cleanly_naming_the_cache(small_corpus, cache, tmp_path, monkeypatch):
    original = Store._open

    def tiny(self):
        db = original(self)
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        db.execute(f"PRAGMA max_page_count = {pages + 2}")  # SQLite then reports "database or disk is full"
        return db

    monkeypatch.setattr(Store, "_open", tiny)
    with pytest.raises(StorageError, match=f"the cache {cache}: the disk is full"):
        qualitykit.bench(small_corpus, ["jpeg:q=10/30/50/70/90"], ["psnr"], out=tmp_path / "r", jobs=1, cache=cache)
    assert json.loads((tmp_path / "r" / "manifest.json").read_text())["status"] == "failed"


class Crashy(JPEG):
    """JPEG whose worker dies (SIGKILL, as the OOM killer does) on images whose top-left pixel is odd."""

    name = "crashy"

    def encode(self, image, q):
        if image[0, 0, 0] % 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().encode(image, q)


def test_an_image_that_kills_its_worker_fails_alone_and_everything_else_completes(small_corpus, cache, tmp_path):
    lethal = np.asarray(Image.open(small_corpus / "crop0.png")).copy()
    lethal[0, 0, 0] |= 1
    Image.fromarray(lethal).save(small_corpus / "crop0.png")
    for i in (1, 2, 3):
        safe = np.asarray(Image.open(small_corpus / f"crop{i}.png")).copy()
        safe[0, 0, 0] &= 254
        Image.fromarray(safe).save(small_corpus / f"crop{i}.png")
    with codecs.temporarily(Crashy):
        result = qualitykit.bench(small_corpus, ["crashy:q=30/60", "webp:q=50"], ["psnr"], out=tmp_path / "r", jobs=2, cache=cache, report=False)
    assert len(result.table) == 4 * 3 - 2 and result.table["psnr"].notna().all()
    (error,) = result.errors
    assert error.image == "crop0.png" and error.stage == "worker"
    assert "worker died twice on crop0.png (200x176, 0.0 MP)" in error.message and "SIGKILL" in error.message


def _qk(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "qualitykit", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _rows(cache: Path) -> tuple[int, int]:
    with sqlite3.connect(cache) as db:
        try:
            return (db.execute("SELECT COUNT(*) FROM encodes").fetchone()[0],
                    db.execute("SELECT COUNT(*) FROM scores").fetchone()[0])  # fmt: skip
        except sqlite3.OperationalError:  # the file exists, its tables not yet (the run is starting)
            return 0, 0


#: Items of :func:`_slow_run`: images × 3 AVIF points. Slow enough per item (speed 1–2) to act mid-run,
#: few enough that completing the rest stays cheap (was 10 images of 320×320: 2.6× the encoding).
SLOW_IMAGES = 6
SLOW_ITEMS = SLOW_IMAGES * 3


def _slow_run(tmp_path: Path, cache: Path, astronaut: np.ndarray, speed: int, encodes: int) -> tuple[list[str], subprocess.Popen]:
    """Start ``qk bench`` on 6 images of 256×256 × 3 slow AVIF points (18 items); return once ``encodes`` are cached."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(SLOW_IMAGES):
        Image.fromarray(np.roll(astronaut, 37 * i, axis=1)[:256, :256]).save(corpus / f"img{i}.png")
    args = ["bench", "--dataset", str(corpus), "--codecs", f"avif:speed={speed}:q=20/40/60", "--metrics", "psnr",
            "--jobs", "2", "--cache", str(cache), "--out", str(tmp_path / "run")]  # fmt: skip
    proc = _qk(*args, "--quiet")
    deadline = time.time() + 120
    while time.time() < deadline and (not cache.exists() or _rows(cache)[0] < encodes):
        time.sleep(0.1)
    return args, proc


@pytest.mark.slow
def test_killing_a_worker_mid_run_still_completes_every_item(tmp_path, cache, astronaut):
    psutil = pytest.importorskip("psutil")
    _, proc = _slow_run(tmp_path, cache, astronaut, speed=2, encodes=3)
    workers = psutil.Process(proc.pid).children()
    assert workers, "the run had no worker processes"
    os.kill(workers[0].pid, signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert _rows(cache) == (SLOW_ITEMS, SLOW_ITEMS)
    with Store(cache) as store:
        assert store.counts()["duplicates"] == 0
    df = pd.read_csv(tmp_path / "run" / "results.csv")
    assert len(df) == SLOW_ITEMS and df["psnr"].notna().all()


@pytest.mark.slow
def test_ctrl_c_stops_within_seconds_keeps_what_finished_and_leaves_no_process(tmp_path, cache, astronaut):
    psutil = pytest.importorskip("psutil")
    args, proc = _slow_run(tmp_path, cache, astronaut, speed=1, encodes=2)
    workers = psutil.Process(proc.pid).children(recursive=True)
    t0 = time.time()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert time.time() - t0 < 5 and proc.returncode == 130
    assert "interrupted:" in err and "Rerun the same command to finish" in err
    time.sleep(0.5)
    assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]
    finished, _ = _rows(cache)
    assert 2 <= finished < SLOW_ITEMS
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["status"] == "interrupted"
    rerun = _qk(*args, "--overwrite")
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert f"this run computed {SLOW_ITEMS - finished} encodes" in out


@pytest.mark.slow
def test_a_killed_driver_takes_its_workers_with_it(tmp_path, cache, astronaut):
    psutil = pytest.importorskip("psutil")
    _, proc = _slow_run(tmp_path, cache, astronaut, speed=1, encodes=1)
    workers = psutil.Process(proc.pid).children()
    assert len(workers) == 2
    proc.kill()
    proc.communicate(timeout=30)
    gone, alive = psutil.wait_procs(workers, timeout=5)
    assert not alive


@pytest.mark.slow
def test_two_concurrent_runs_share_the_work_and_write_two_directories(small_corpus, cache, tmp_path):
    args = ["bench", "--dataset", str(small_corpus), "--codecs", "jpeg:q=10/30/50/70/90,avif:speed=4:q=30/60",
            "--metrics", "psnr,ssim", "--jobs", "2", "--cache", str(cache), "--quiet", "--no-report"]  # fmt: skip
    procs = [_qk(*args, cwd=tmp_path) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    runs = sorted((tmp_path / "reports").iterdir())
    assert len(runs) == 2  # default --out: one directory each, even when started in the same second
    manifests = [Run.load(r).manifest for r in runs]
    assert all(m.status == "complete" for m in manifests)
    assert sum(m.work.encoded for m in manifests) == 28  # each item encoded once across both runs
    assert _rows(cache) == (28, 56)
    with Store(cache) as store:
        assert store.counts()["duplicates"] == 0
    a, b = (pd.read_csv(r / "results.csv").drop(columns=["encode_s", "decode_s"]) for r in runs)
    pd.testing.assert_frame_equal(a, b)


def test_requested_metric_without_weights_is_named_and_the_rest_completes(small_corpus, cache, tmp_path, monkeypatch):
    from qualitykit.metrics.lpips import _LPIPS

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("QK_WEIGHTS_DIR", raising=False)

    def offline(cls):
        raise OSError("network unreachable")

    monkeypatch.setattr(_LPIPS, "fetch", classmethod(offline))  # never touch the network in tests
    result = qualitykit.bench(small_corpus, ["jpeg:q=30/60"], ["psnr", "lpips"], out=tmp_path / "run", jobs=1, cache=cache, report=False)
    assert "lpips" not in result.table.columns and result.table["psnr"].notna().all() and len(result.table) == 8
    why = result.metrics_unavailable["lpips"]
    assert "alexnet" in why and "network unreachable" in why
    assert Run.load(tmp_path / "run").manifest.metrics_unavailable["lpips"] == why


class MissingWeights(JPEG):
    name = "missing-weights"

    @classmethod
    def available(cls):
        return "model file /nowhere/model.pth is missing; put it there"


def test_unavailable_codec_is_reported_and_the_other_codecs_complete(small_corpus, cache, tmp_path):
    with codecs.temporarily(MissingWeights):
        result = qualitykit.bench(small_corpus, ["jpeg:q=50", "missing-weights"], ["psnr"], out=tmp_path / "run", jobs=1, cache=cache, report=False)
    assert len(result.table) == 4 and result.table["psnr"].notna().all()
    assert "/nowhere/model.pth" in result.codecs_unavailable["missing-weights"]
    assert "missing-weights" not in codecs.names()  # the registry is left as it was


def test_a_notebook_that_already_ran_pytorch_can_still_run_a_grid(small_corpus, cache, tmp_path):
    """Forked workers of a process that already ran a multi-threaded PyTorch op must not hang
    (GNU OpenMP is not fork-safe): before the fix this waited forever in the worker's first op."""
    script = f"""
import torch, qualitykit
torch.set_num_threads(2)
torch.nn.functional.conv2d(torch.rand(1, 3, 256, 256), torch.rand(3, 1, 11, 11), groups=3)
res = qualitykit.bench({str(small_corpus)!r}, ["jpeg:q=50"], ["ssim"], out={str(tmp_path / "run")!r},
                       jobs=1, cache={str(cache)!r}, report=False, progress=False)
print("scored", int(res.table["ssim"].notna().sum()))
"""
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "scored 4" in res.stdout


def test_workers_share_the_cpus_they_may_use_and_honour_omp_num_threads(monkeypatch) -> None:
    from qualitykit.runner.pool import LocalPool
    from qualitykit.runner.work import threads_per_worker

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert [threads_per_worker(n) for n in (1, 3, 8, 16)] == [8, 2, 1, 1]
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert threads_per_worker(1) == 2 and threads_per_worker(8) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "many")
    assert threads_per_worker(2) == 4
    # PyTorch already imported here (this test session): forked workers get one thread each
    assert LocalPool.for_device(1, "cpu", 2**30).init.torch_threads == 1
    # a run without PyTorch codecs or metrics: workers never import it (0 threads = leave it alone)
    assert LocalPool.for_device(1, "cpu", 2**30, torch=False).init.torch_threads == 0
    # numpy's BLAS shares the cores the same way, PyTorch or not
    assert LocalPool.for_device(2, "cpu", 2**30, torch=False).init.blas_threads == 4


def test_set_worker_threads_caps_numpys_blas_in_this_process() -> None:
    script = (
        "import numpy, threadpoolctl\n"
        "import sys\n"
        "from qualitykit.runner.work import set_worker_threads\n"
        "set_worker_threads(1, 0)\n"
        "assert 'torch' not in sys.modules\n"
        "blas = [p for p in threadpoolctl.threadpool_info() if p['user_api'] == 'blas']\n"
        "print(len(blas), {p['num_threads'] for p in blas})\n"
    )
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split(maxsplit=1)[0] != "0" and res.stdout.strip().endswith("{1}")


def test_workers_import_pytorch_only_for_a_plan_that_computes_with_it(small_corpus):
    from qualitykit.datasets import resolve
    from qualitykit.runner.plan import make_plan

    assert not make_plan(resolve(str(small_corpus)), ["jpeg:q=50", "webp:q=50"], ["psnr", "vmaf"], device="cpu").uses_torch
    assert make_plan(resolve(str(small_corpus)), ["jpeg:q=50"], ["psnr", "ssim"], device="cpu").uses_torch
