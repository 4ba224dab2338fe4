"""The external-command codec: definitions from a file, round trips, errors, timeouts, validation."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import qualitykit
from qualitykit.codecs import codec_from_spec, registry
from qualitykit.codecs import external
from qualitykit.codecs.external import CommandFailed, define, load_codec_file
from qualitykit.errors import BadInput, UnknownName

SCRIPT = Path(__file__).with_name("external_codec_script.py")
PY = f"{shlex.quote(sys.executable)} {shlex.quote(str(SCRIPT))}"

TOML = f"""
[codecs.fakeext]
description = "test stand-in"
encode = "{PY} encode {{input}} {{output}} {{q}} --behave {{behave}}"
decode = "{PY} decode {{input}} {{output}}"
version = "{PY} --version"
extension = "qkx"
ladder = [2, 4, 6]
quality_range = [1, 8]
quality_integer = true
timeout = 2
settings = {{ behave = {{ default = "ok", choices = ["ok", "fail", "sleep", "nothing", "linger"] }} }}
"""


@pytest.fixture
def codec_file(tmp_path, monkeypatch) -> Path:
    """The definition file, loaded into the registry for one test and forgotten afterwards."""
    monkeypatch.delenv(external.ENV, raising=False)
    path = tmp_path / "codecs.toml"
    path.write_text(TOML)
    with registry.isolated():
        assert load_codec_file(path) == ["fakeext"]
        yield path


def test_round_trip_and_provenance(codec_file, astronaut):
    codec, ladder = codec_from_spec("fakeext")
    assert codec.id == "fakeext:behave=ok" and ladder == (2.0, 4.0, 6.0)
    image = astronaut[:30, :41]
    sizes = [len(codec.encode(image, q)) for q in ladder]
    assert sizes == sorted(sizes)
    data = codec.encode(image, 6)
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "the bitstream is the file the encoder wrote"
    out = codec.decode(data)
    assert out.shape == image.shape and out.dtype == np.uint8 and np.abs(out.astype(int) - image).max() < 4
    versions = codec.versions()
    assert versions["version"] == "fake-codec 1.2.3 (test stand-in)"
    assert "{input}" in versions["encode"] and "{q}" in versions["encode"]
    assert os.environ[external.ENV] == str(codec_file.resolve())


def test_failure_names_the_command_and_the_stderr_tail(codec_file, astronaut):
    codec, _ = codec_from_spec("fakeext:behave=fail")
    with pytest.raises(CommandFailed) as err:
        codec.encode(astronaut[:8, :8], 2)
    message = str(err.value)
    assert "external_codec_script.py encode" in message and "exited with status 3" in message
    assert "fatal: cannot encode this (simulated)" in message and "warming up" not in message  # the tail only


def test_timeout_kills_the_command(codec_file, astronaut):
    codec, _ = codec_from_spec("fakeext:behave=sleep")
    t0 = time.monotonic()
    with pytest.raises(CommandFailed, match="timed out after 2 s"):
        codec.encode(astronaut[:8, :8], 2)
    assert time.monotonic() - t0 < 30


def test_no_output_file_is_an_error(codec_file, astronaut):
    with pytest.raises(CommandFailed, match="wrote no output.qkx"):
        codec_from_spec("fakeext:behave=nothing")[0].encode(astronaut[:8, :8], 2)


def test_a_run_records_the_failure_per_item_and_finishes(codec_file, small_corpus, cache, tmp_path):
    result = qualitykit.bench(small_corpus, ["jpeg:q=50", "fakeext:behave=fail:q=3"], ["psnr"], out=tmp_path / "run", jobs=1, cache=cache, report=False)
    df = result.table
    assert df[df["codec_id"].str.startswith("jpeg")]["psnr"].notna().all()
    errors = result.errors
    assert len(errors) == 4 and all("exited with status 3" in e.message and e.q == 3 for e in errors)


def test_bench_through_a_worker_pool(codec_file, small_corpus, cache, tmp_path):
    result = qualitykit.bench(small_corpus, ["fakeext:q=4/6"], ["psnr"], out=tmp_path / "run", jobs=2, cache=cache, report=False)
    assert len(result.table) == 8 and result.table["psnr"].notna().all() and not result.errors


@pytest.mark.parametrize(
    "spec, message",
    [
        ("fakeext:behave=explode", "behave=explode is not allowed"),
        ("fakeext:q=2/2", "repeated"),
        ("fakeext:q=9", "outside 1..8"),
        ("fakeext:q=2.5", "not a whole number"),
        ("fakeext:behav=ok", "did you mean 'behave'"),
    ],
)
def test_bad_specs(codec_file, spec, message):
    with pytest.raises((BadInput, UnknownName), match=message):
        codec_from_spec(spec)


GOOD = {"encode": "enc {input} {output} {q}", "decode": "dec {input} {output}", "extension": "x", "ladder": [1, 2]}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"encoder": "x"}, "unknown key in \\[codecs.bad\\] 'encoder'; did you mean 'encode'"),
        ({"encode": "enc {input} {q}"}, "must contain {output}"),
        ({"encode": "enc {input} {output}"}, "must contain {q}"),
        ({"encode": "enc {input} {output} {q} -e {efort}", "settings": {"effort": 7}}, "did you mean {effort}"),
        ({"settings": {"effort": 7}}, "appear in no command"),
        ({"settings": {"q": 7}}, "reserved"),
        ({"input_format": "bmp"}, "use png or ppm"),
        ({"ladder": [1, 1]}, "repeated"),
        ({"settings": {"e": {"default": 11, "range": [1, 10]}}, "encode": "enc {input} {output} {q} {e}"}, "e=11 is outside"),
    ],
)
def test_bad_definitions_are_refused_before_any_work(change, message):
    with registry.isolated():
        with pytest.raises((BadInput, UnknownName), match=message):
            define("bad", {**GOOD, **change})


def test_names_are_not_taken_over():
    with registry.isolated(), pytest.raises(BadInput, match="already taken"):
        define("jpeg", GOOD)


def test_missing_program_is_unavailable_not_an_error():
    with registry.isolated():
        cls = define("ghost", {**GOOD, "encode": "qk-no-such-encoder {input} {output} {q}"})
        assert "qk-no-such-encoder" in cls.available()


def test_yaml_definitions(tmp_path, monkeypatch):
    monkeypatch.delenv(external.ENV, raising=False)
    path = tmp_path / "c.yaml"
    path.write_text(f"codecs:\n  yamlext:\n    encode: {PY} encode {{input}} {{output}} {{q}}\n"
                    f"    decode: {PY} decode {{input}} {{output}}\n    extension: png\n    ladder: [3, 5]\n")  # fmt: skip
    with registry.isolated():
        load_codec_file(path)
        codec, ladder = codec_from_spec("yamlext")
        assert codec.decode(codec.encode(np.zeros((9, 7, 3), np.uint8), 5)).shape == (9, 7, 3)


@pytest.mark.skipif(not (shutil.which("cjxl") and shutil.which("djxl")), reason="cjxl/djxl not installed (apt-get install libjxl-tools)")
def test_documented_cjxl_example(tmp_path, monkeypatch, astronaut):
    """The cjxl/djxl definition from docs/external-codecs.md, run for real."""
    monkeypatch.delenv(external.ENV, raising=False)
    doc = (Path(__file__).resolve().parents[1] / "docs" / "external-codecs.md").read_text()
    block = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "codecs.toml"
    path.write_text(block)
    with registry.isolated():
        names = load_codec_file(path)
        assert "cjxl" in names
        codec, ladder = codec_from_spec("cjxl:q=3/1")
        image = np.ascontiguousarray(astronaut[:64, :80])
        sizes = [len(codec.encode(image, q)) for q in ladder]
        assert sizes[0] < sizes[1]
        assert codec.decode(codec.encode(image, 1)).shape == image.shape


def _pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _alive(pid: int, grace: float = 2.0) -> bool:
    """Whether ``pid`` still runs ``grace`` seconds from now (a SIGKILL takes a moment to land;
    a zombie, not yet reaped by its parent, is dead)."""
    deadline = time.monotonic() + grace
    while True:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return False
        except FileNotFoundError:
            return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.05)


def test_a_lingering_background_process_does_not_outlast_the_timeout(codec_file, astronaut, tmp_path, monkeypatch):
    """The encoder exits 0 but leaves a process holding stderr: qk neither waits for it nor leaves it running."""
    monkeypatch.setenv("QK_TEST_PIDS", str(tmp_path / "pids"))
    codec, _ = codec_from_spec("fakeext:behave=linger")
    t0 = time.monotonic()
    data = codec.encode(astronaut[:8, :8], 2)
    assert time.monotonic() - t0 < 2 + 1.5, "the timeout (2 s) bounds the whole call, draining included"
    assert data[:4] == b"\x89PNG"
    pids = _pids(tmp_path / "pids")
    assert len(pids) == 2 and not any(_alive(p) for p in pids), "the background process was killed with its group"


def test_a_decoder_failure_is_labelled_decode(tmp_path, small_corpus, cache, monkeypatch):
    monkeypatch.delenv(external.ENV, raising=False)
    path = tmp_path / "codecs.toml"
    path.write_text(f"""
[codecs.fakedec]
encode = "{PY} encode {{input}} {{output}} {{q}}"
decode = "{PY} decode {{input}} {{output}} --behave fail"
extension = "qkx"
ladder = [3]
quality_range = [1, 8]
""")
    with registry.isolated():
        load_codec_file(path)
        result = qualitykit.bench(small_corpus, ["fakedec"], ["psnr"], out=tmp_path / "run", jobs=1, cache=cache, report=False)
    assert len(result.errors) == 4
    assert {e.stage for e in result.errors} == {"decode"} and all("decode" in e.message for e in result.errors)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stopping_qk_kills_the_encoder_and_removes_its_folder(signum, tmp_path, small_corpus):
    """SIGTERM or Ctrl-C to `qk bench` while an external encoder runs in a worker: no encoder
    survives and no qk-<codec>-* folder is left behind."""
    toml = tmp_path / "codecs.toml"
    toml.write_text(TOML.replace("timeout = 2", "timeout = 120"))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    pids = tmp_path / "pids"
    env = {**os.environ, "TMPDIR": str(scratch), "QK_TEST_PIDS": str(pids), "QK_CACHE": str(tmp_path / "c.sqlite"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop(external.ENV, None)
    qk = subprocess.Popen(
        [sys.executable, "-m", "qualitykit", "bench", "--dataset", str(small_corpus), "--codec-file", str(toml),
         "--codecs", "fakeext:behave=sleep:q=2", "--metrics", "psnr", "--jobs", "2", "--out", str(tmp_path / "run"),
         "--no-report"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(_pids(pids)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    encoders = _pids(pids)
    assert len(encoders) >= 2 and list(scratch.glob("qk-fakeext-*")), "two encoders run, each in its folder"
    qk.send_signal(signum)
    _, err = qk.communicate(timeout=30)
    assert qk.returncode == 130, err.decode()
    assert not [p for p in encoders if _alive(p)], "an encoder outlived qk"
    assert not list(scratch.glob("qk-fakeext-*")), "a temp folder was left behind"
