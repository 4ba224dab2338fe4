"""The Dask executor: a cluster run gives a local run's results, survives a lost worker, routes GPU work."""

from __future__ import annotations

import collections
import os
import signal
import sys
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import qualitykit
from qualitykit.codecs import registry as codecs
from qualitykit.codecs.jpeg import JPEG
from qualitykit.errors import BadInput, Unavailable
from qualitykit.rundir import Run
from qualitykit.runner.work import Failed, Task, WorkerState, run_task
from qualitykit.store import Store

TIMING = ["encode_s", "decode_s"]


def _image_task(path, data: bytes | None, **kw) -> Task:
    return Task(0, "crop0.png", str(path), 200, 176, "jpeg:optimize=0:progressive=0:subsampling=420",
                ((50.0, "k"),), (), ("psnr",), 1, 1.0, data=data, **kw)  # fmt: skip


def test_a_task_carries_its_image_so_workers_need_no_shared_files(small_corpus, tmp_path):
    events: list[tuple] = []
    data = (small_corpus / "crop0.png").read_bytes()
    run_task(_image_task(tmp_path / "elsewhere" / "crop0.png", data), WorkerState("cpu"), events.append)
    assert [type(e).__name__ for e in events] == ["ImageRead", "Encoded", "Scored", "Timed"]
    events.clear()
    run_task(_image_task(tmp_path / "elsewhere" / "crop0.png", b"not an image"), WorkerState("cpu"), events.append)
    (event,) = events
    assert isinstance(event, Failed) and event.error.stage == "load"
    error = event.error
    assert str(tmp_path / "elsewhere" / "crop0.png") in error.message and "not an image file" in error.message


def test_without_dask_the_executor_is_unavailable_naming_the_extra(small_corpus, cache, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed → ImportError
    with pytest.raises(Unavailable, match=r"pip install 'qualitykit\[dask\]'"):
        qualitykit.bench(small_corpus, ["jpeg:q=50"], ["psnr"], executor="dask", cache=cache, out=tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_executor_options_are_checked(small_corpus, cache):
    with pytest.raises(BadInput, match="--executor 'ray'"):
        qualitykit.bench(small_corpus, ["jpeg"], ["psnr"], executor="ray", cache=cache)
    with pytest.raises(BadInput, match="--scheduler .* --executor dask"):
        qualitykit.bench(small_corpus, ["jpeg"], ["psnr"], scheduler="tcp://127.0.0.1:8786", cache=cache)


def test_a_worker_with_other_versions_refuses_to_compute(small_corpus):
    from qualitykit.runner.dask import EnvironmentMismatch, Setup, run_remote

    data = (small_corpus / "crop0.png").read_bytes()
    task = _image_task(small_corpus / "crop0.png", data)
    with pytest.raises(EnvironmentMismatch, match="runs qualitykit .* the driver 0.0.1"):
        run_remote(task, Setup("cpu", "0.0.1", {}, {}))
    other = {task.codec_id: {"pillow": "1.0"}}
    with pytest.raises(EnvironmentMismatch, match="other versions for codec jpeg:.*driver {'pillow': '1.0'}"):
        run_remote(task, Setup("cpu", qualitykit.__version__, other, {}))


def test_gpu_work_is_known_by_codec_and_metric():
    """GPU routing reads ``uses_torch``: right for the built-in codecs and metrics."""
    from qualitykit.codecs import codec_from_spec
    from qualitykit.metrics import registry as metrics

    assert all(metrics.get(n).uses_torch for n in ("ssim", "ms-ssim", "lpips"))
    assert not any(metrics.get(n).uses_torch for n in ("psnr", "vmaf"))
    assert codec_from_spec("neural")[0].uses_torch and not codec_from_spec("jpeg")[0].uses_torch


# --- on a real Dask cluster ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client():
    """A local Dask cluster of 2 single-threaded worker processes, shared by this module's tests."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = distributed.Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()


@pytest.mark.slow
def test_a_dask_run_gives_exactly_the_local_results(small_corpus, cache, tmp_path, dask_client):
    grid = (["jpeg:q=20/50/80", "webp:q=30/70", "avif:q=30/60"], ["psnr", "ssim", "ms-ssim", "vmaf"])
    local = qualitykit.bench(small_corpus, *grid, out=tmp_path / "local", jobs=2, cache=tmp_path / "local.sqlite", report=False)
    dask = qualitykit.bench(small_corpus, *grid, out=tmp_path / "dask", executor="dask", scheduler=dask_client, cache=cache, report=False)
    a, b = (pd.read_csv(tmp_path / run / "results.csv").drop(columns=TIMING) for run in ("local", "dask"))
    assert len(a) == 4 * 7 and a[grid[1]].notna().all().all()
    pd.testing.assert_frame_equal(a, b, check_exact=True)  # same bitstreams (bytes, keys), same scores
    with Store(tmp_path / "local.sqlite") as one, Store(cache) as other:
        keys = list(a["encode_key"])
        assert {k: e.bitstream for k, e in one.get_encodes(keys).items()} == {k: e.bitstream for k, e in other.get_encodes(keys).items()}
    assert (dask.work.encoded, dask.work.scored) == (local.work.encoded, local.work.scored) == (28, 112)
    man = Run.load(tmp_path / "dask").manifest
    assert man.status == "complete" and man.executor["kind"] == "dask" and man.executor["workers"] == 2
    assert man.executor["scheduler"] == dask_client.scheduler.address and not man.executor["local_cluster"]
    assert sum(man.executor["tasks_per_worker"].values()) == 12
    assert all(w["nthreads"] == 1 and "resources" in w for w in man.executor["worker_details"].values())
    again = qualitykit.bench(small_corpus, *grid, out=tmp_path / "again", executor="dask", scheduler=dask_client, cache=cache, report=False)
    assert (again.work.encoded, again.work.scored) == (0, 0) and again.manifest.executor["tasks_per_worker"] == {}


@pytest.mark.slow
def test_device_cuda_needs_a_worker_offering_the_gpu_resource(small_corpus, cache, dask_client, tmp_path):
    with pytest.raises(Unavailable, match="no Dask worker at .* offers the GPU resource; .*--resources GPU=1"):
        qualitykit.bench(small_corpus, ["jpeg"], ["psnr"], device="cuda", executor="dask", scheduler=dask_client, cache=cache, out=tmp_path / "r")
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_killing_a_dask_worker_mid_run_still_completes_every_item_once(tmp_path, cache, astronaut):
    distributed = pytest.importorskip("distributed")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(8):
        Image.fromarray(np.roll(astronaut, 37 * i, axis=1)[:320, :320]).save(corpus / f"img{i}.png")
    # its own cluster: the killed worker's replacement must not change what the shared one's tests see
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = distributed.Client(cluster, set_as_default=False)
    killed: list[str] = []

    def kill_one_busy_worker(done: int, total: int) -> None:
        if killed or done < 3:
            return
        busy = [w for w, keys in client.processing().items() if any(str(k).startswith("qk-avif") for k in keys)]
        if busy:
            pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(busy[0])

    try:
        result = qualitykit.bench(corpus, ["avif:q=20/40/60"], ["psnr"], out=tmp_path / "run", executor="dask",
                                  scheduler=client, cache=cache, report=False, progress=kill_one_busy_worker)  # fmt: skip
        workers_after = set(client.scheduler_info(n_workers=-1)["workers"])
    finally:
        client.close()
        cluster.close()
    assert killed, "no worker was busy with a task to kill"
    assert killed[0] not in workers_after  # it died; the nanny started a new one
    assert result.manifest.status == "complete" and not result.errors
    assert (result.work.encoded, result.work.scored) == (24, 24)  # counted once, though a task ran twice
    with Store(cache) as store:
        assert store.counts() == {"encodes": 24, "scores": 24, "duplicates": 0}
    df = pd.read_csv(tmp_path / "run" / "results.csv")
    assert len(df) == 24 and df["psnr"].notna().all() and not df.duplicated("encode_key").any()
    assert Run.load(tmp_path / "run").manifest.status == "complete"


# --- GPU routing, with a fake GPU resource on an in-process cluster ----------------------------


class GPUJpeg(JPEG):
    """JPEG that declares itself PyTorch work (it runs on the CPU all the same)."""

    name = "gpujpeg"
    uses_torch = True


@pytest.fixture(scope="module")
def gpu_cluster():
    """Two in-process workers (so test-registered codecs are known to them), one offering ``GPU=1``;
    started once for this module's tests (each run leaves no task behind: the Ctrl-C test checks it)."""
    distributed = pytest.importorskip("distributed")
    from distributed.deploy.spec import SpecCluster

    spec = {
        "cpu": {"cls": distributed.Worker, "options": {"nthreads": 1}},
        "gpu": {"cls": distributed.Worker, "options": {"nthreads": 1, "resources": {"GPU": 1}}},
    }
    scheduler = {"cls": distributed.Scheduler, "options": {"dashboard_address": ":0"}}
    cluster = SpecCluster(workers=spec, scheduler=scheduler, silence_logs=False)
    client = distributed.Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()


def test_gpu_tasks_run_only_on_workers_with_the_gpu_resource(small_corpus, cache, tmp_path, gpu_cluster, monkeypatch):
    from qualitykit.runner import dask as qk_dask

    pools = []
    bind = qk_dask.DaskPool.bind
    monkeypatch.setattr(qk_dask.DaskPool, "bind", lambda self, plan: (pools.append(self), bind(self, plan))[1])
    workers = gpu_cluster.scheduler_info(n_workers=-1)["workers"]
    (gpu,) = [a for a, w in workers.items() if w["resources"].get("GPU")]
    with codecs.temporarily(GPUJpeg):
        result = qualitykit.bench(small_corpus, ["gpujpeg:q=30/60", "webp:q=50"], ["psnr"], device="auto",
                                  executor="dask", scheduler=gpu_cluster, cache=cache, out=tmp_path / "r", report=False)  # fmt: skip
    assert result.manifest.device == "cuda"  # auto: a worker offers a GPU
    assert len(result.table) == 12 and result.table["psnr"].notna().all() and not result.errors
    (pool,) = pools
    units = {u.index: u.codec_id for u in pool_units(result)}
    assert all(pool.ran_on[i] == gpu for i, codec in units.items() if codec.startswith("gpujpeg"))
    ex = result.manifest.executor
    assert ex["gpu_workers"] == 1 and ex["worker_details"][gpu]["resources"] == {"GPU": 1}


def pool_units(result):
    """The units of a finished run, rebuilt from its manifest (image × codec, in plan order)."""
    from types import SimpleNamespace

    man = result.manifest
    return [SimpleNamespace(index=i * len(man.codecs) + j, codec_id=c.id)
            for i, _ in enumerate(man.dataset.images) for j, c in enumerate(man.codecs)]  # fmt: skip


def test_a_worker_with_other_versions_stops_the_run_naming_it(small_corpus, cache, tmp_path, gpu_cluster, monkeypatch):
    from qualitykit.runner import dask as qk_dask

    bind = qk_dask.DaskPool.bind

    def other_version(self, plan):
        bind(self, plan)
        self.setup = qk_dask.replace(self.setup, qualitykit_version="0.0.1")

    monkeypatch.setattr(qk_dask.DaskPool, "bind", other_version)
    with pytest.raises(Unavailable, match="runs qualitykit .*, the driver 0.0.1"):
        qualitykit.bench(small_corpus, ["jpeg:q=50"], ["psnr"], device="cpu", executor="dask", scheduler=gpu_cluster,
                         cache=cache, out=tmp_path / "r", report=False)  # fmt: skip
    assert Run.load(tmp_path / "r").manifest.status == "failed"
    with Store(cache) as store:
        assert store.counts()["encodes"] == 0


def test_ctrl_c_cancels_the_runs_dask_tasks_and_keeps_what_finished(small_corpus, cache, tmp_path, gpu_cluster):
    from qualitykit.errors import Interrupted

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        qualitykit.bench(small_corpus, ["jpeg:q=20/40/60/80", "webp:q=30/60"], ["psnr"], device="cpu", executor="dask",
                         scheduler=gpu_cluster, cache=cache, out=tmp_path / "r", report=False, progress=stop)  # fmt: skip
    assert Run.load(tmp_path / "r").manifest.status == "interrupted"
    with Store(cache) as store:
        finished = store.counts()["encodes"]
    assert 0 < finished < 24

    def qk_tasks(dask_scheduler) -> list[str]:
        return [str(k) for k in dask_scheduler.tasks if str(k).startswith("qk-") and not str(k).startswith("qk-warm")]

    for _ in range(50):  # cancelling is asynchronous
        if not gpu_cluster.run_on_scheduler(qk_tasks):
            break
        time.sleep(0.1)
    assert gpu_cluster.run_on_scheduler(qk_tasks) == []


def test_the_command_line_passes_the_executor_and_scheduler():
    from qualitykit.cli import build_parser
    from qualitykit.cli.bench import grid_options

    args = build_parser().parse_args(["bench", "--executor", "dask", "--scheduler", "tcp://head:8786"])
    options = grid_options(args)
    assert (options["executor"], options["scheduler"]) == ("dask", "tcp://head:8786")
    assert grid_options(build_parser().parse_args(["bench"]))["executor"] == "local"


def test_gpu_tasks_queue_apart_and_have_room_only_on_gpu_threads():
    from qualitykit.runner.dask import DaskPool

    pool = DaskPool.__new__(DaskPool)  # no cluster: the bookkeeping only
    pool._workers = {f"w{i}": {"nthreads": 1, "resources": {"GPU": 1} if i == 0 else {}} for i in range(4)}
    pool._futures, pool._gpu_codecs, pool._gpu_metrics = {}, {"neural:q=1"}, set()
    pool._queues = {False: collections.deque(), True: collections.deque()}
    assert pool._room() == {False: 8, True: 2}  # two per thread that can run them
    tasks = [_image_task("a.png", None), replace(_image_task("b.png", None), codec_id="neural:q=1"), _image_task("c.png", None)]
    for t in tasks:
        pool.submit(t)
    assert [t.path for t in pool._queues[False]] == ["a.png", "c.png"] and [t.path for t in pool._queues[True]] == ["b.png"]
    assert pool.busy
