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
import pytest

import qualitykit
from qualitykit.runner import COLUMNS
from qualitykit.store import Store

CODECS = ["jpeg:q=20/50/80", "webp:q=30/70"]


def test_results_table_follows_the_conventions(small_corpus, cache, tmp_path):
    df = qualitykit.bench(small_corpus, CODECS, ["psnr", "ms-ssim"], out=tmp_path / "run", jobs=1, cache=cache)
    assert list(df.columns) == COLUMNS + ["psnr", "ms-ssim"]
    assert len(df) == 4 * 5 and df[["psnr", "ms-ssim"]].notna().all().all()
    # bpp is the size of the real file
    np.testing.assert_allclose(df["bpp"], df["bytes"] * 8 / (df["width"] * df["height"]))
    assert (df["width"] == 200).all() and (df["height"] == 176).all()
    saved = (tmp_path / "run" / "results.csv").read_text().splitlines()
    assert len(saved) == 21 and saved[0].startswith("image,image_sha256,width,height,codec,quality,bytes,bpp")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert [c["id"] for c in manifest["codecs"]] == ["jpeg:optimize=0:progressive=0:subsampling=420", "webp:method=4"]
    assert {m["name"] for m in manifest["metrics"]} == {"psnr", "ms-ssim"}
    assert len(manifest["dataset"]["images"]) == 4 and all(len(i["sha256"]) == 64 for i in manifest["dataset"]["images"])
    assert "pillow" in manifest["libraries"] and manifest["machine"]["cpus"]


def test_second_run_does_no_codec_or_metric_work(small_corpus, cache, tmp_path):
    first = qualitykit.bench(small_corpus, CODECS, ["psnr", "ssim"], out=tmp_path / "a", jobs=2, cache=cache)
    assert first.attrs["work"] == {"encoded": 20, "metric_values": 40}
    second = qualitykit.bench(small_corpus, CODECS, ["psnr", "ssim"], out=tmp_path / "b", jobs=2, cache=cache)
    assert second.attrs["work"] == {"encoded": 0, "metric_values": 0}
    assert second.drop(columns=["encode_s", "decode_s"]).equals(first.drop(columns=["encode_s", "decode_s"]))
    # a new metric computes only that metric, on the cached bitstreams
    third = qualitykit.bench(small_corpus, CODECS, ["psnr", "ssim", "ms-ssim"], out=tmp_path / "c", jobs=1, cache=cache)
    assert third.attrs["work"] == {"encoded": 0, "metric_values": 20}
    # a changed setting is a different codec id: it is encoded afresh
    fourth = qualitykit.bench(small_corpus, ["jpeg:subsampling=444:q=20/50/80"], ["psnr"], out=tmp_path / "d", jobs=1, cache=cache)
    assert fourth.attrs["work"]["encoded"] == 12


def test_corrupt_input_is_named_and_the_rest_completes(small_corpus, cache, tmp_path):
    (small_corpus / "broken.png").write_bytes(b"this is not a PNG")
    df = qualitykit.bench(small_corpus, CODECS, ["psnr"], out=tmp_path / "run", jobs=2, cache=cache)
    assert sorted(df["image"].unique()) == ["crop0.png", "crop1.png", "crop2.png", "crop3.png"]
    assert df["psnr"].notna().all() and len(df) == 20
    errors = df.attrs["errors"]
    assert errors and all(e["image"] == "broken.png" and e["stage"] == "load" for e in errors)
    assert "broken.png: not an image file" in errors[0]["message"]
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["errors"] == errors


def test_too_small_image_for_a_metric_is_named_and_other_metrics_complete(small_corpus, cache, tmp_path):
    from PIL import Image

    Image.fromarray(np.full((100, 120, 3), 90, np.uint8)).save(small_corpus / "tiny.png")
    df = qualitykit.bench(small_corpus, ["jpeg:q=50"], ["psnr", "ms-ssim"], out=tmp_path / "run", jobs=1, cache=cache)
    tiny = df[df["image"] == "tiny.png"]
    assert tiny["psnr"].notna().all() and tiny["ms-ssim"].isna().all()
    assert df[df["image"] != "tiny.png"]["ms-ssim"].notna().all()
    (error,) = df.attrs["errors"]
    assert error["stage"] == "metric ms-ssim" and "tiny.png" in error["message"] and "120x100 px" in error["message"]


def _qk(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "qualitykit", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _rows(cache: Path) -> tuple[int, int]:
    with sqlite3.connect(cache) as db:
        try:
            return (db.execute("SELECT COUNT(*) FROM encodes").fetchone()[0],
                    db.execute("SELECT COUNT(*) FROM metric_values").fetchone()[0])  # fmt: skip
        except sqlite3.OperationalError:  # the file exists, its tables not yet (the run is starting)
            return 0, 0


@pytest.mark.slow
def test_killed_worker_loses_nothing_and_rerun_resumes(tmp_path, cache, astronaut):
    psutil = pytest.importorskip("psutil")
    from PIL import Image

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(10):
        Image.fromarray(np.roll(astronaut, 37 * i, axis=1)[:320, :320]).save(corpus / f"img{i}.png")
    args = ["bench", "--dataset", str(corpus), "--codecs", "avif:speed=2:q=20/40/60", "--metrics", "psnr",
            "--jobs", "2", "--cache", str(cache), "--out", str(tmp_path / "run")]  # fmt: skip
    proc = _qk(*args, "--quiet")
    deadline = time.time() + 120
    while time.time() < deadline and (not cache.exists() or _rows(cache)[0] < 3):
        time.sleep(0.1)
    workers = psutil.Process(proc.pid).children()
    assert workers, "the run had no worker processes"
    os.kill(workers[0].pid, signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1 and "worker process died" in err
    encodes_before, _ = _rows(cache)
    assert 3 <= encodes_before < 30
    with Store(cache) as store:
        assert store.counts()["duplicates"] == 0
    # the rerun computes exactly what is missing, and the table is complete
    rerun = _qk(*args)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert f"{30 - encodes_before} encoded" in out
    assert _rows(cache) == (30, 30)
    df = __import__("pandas").read_csv(tmp_path / "run" / "results.csv")
    assert len(df) == 30 and df["psnr"].notna().all()


@pytest.mark.slow
def test_two_runs_sharing_a_cache_stay_consistent(small_corpus, cache, tmp_path):
    args = ["bench", "--dataset", str(small_corpus), "--codecs", "jpeg:q=10/30/50/70/90,avif:speed=8:q=30/60",
            "--metrics", "psnr,ssim", "--jobs", "2", "--cache", str(cache), "--quiet"]  # fmt: skip
    procs = [_qk(*args, "--out", str(tmp_path / f"run{i}")) for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert _rows(cache) == (28, 56)
    with Store(cache) as store:
        assert store.counts()["duplicates"] == 0
    a, b = (__import__("pandas").read_csv(tmp_path / f"run{i}" / "results.csv") for i in range(2))
    assert a.equals(b)


def test_requested_metric_without_weights_is_named_and_the_rest_completes(small_corpus, cache, tmp_path, monkeypatch):
    from qualitykit.metrics.lpips import _LPIPS

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("QK_WEIGHTS_DIR", raising=False)

    def offline(cls):
        raise OSError("network unreachable")

    monkeypatch.setattr(_LPIPS, "fetch", classmethod(offline))  # never touch the network in tests
    df = qualitykit.bench(small_corpus, ["jpeg:q=30/60"], ["psnr", "lpips"], out=tmp_path / "run", jobs=1, cache=cache)
    assert "lpips" not in df.columns and df["psnr"].notna().all() and len(df) == 8
    why = df.attrs["unavailable"]["lpips"]
    assert "alexnet-owt-7be5be79.pth" in why and "qk weights --download" in why and "network unreachable" in why
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["metrics_unavailable"]["lpips"] == why


def test_unavailable_codec_is_reported_and_the_other_codecs_complete(small_corpus, cache, tmp_path):
    from qualitykit.codecs import register
    from qualitykit.codecs.jpeg import JPEG

    @register
    class Missing(JPEG):
        name = "missing-weights"

        @classmethod
        def available(cls):
            return "model file /nowhere/model.pth is missing; put it there"

    df = qualitykit.bench(small_corpus, ["jpeg:q=50", "missing-weights"], ["psnr"], out=tmp_path / "run", jobs=1, cache=cache)
    assert len(df) == 4 and df["psnr"].notna().all()
    (error,) = df.attrs["errors"]
    assert error["codec"] == "missing-weights" and "/nowhere/model.pth" in error["message"]
