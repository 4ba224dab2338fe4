"""The cache file: encodes filed under the key their inputs give, file hashes, and leases between
runs — a lease whose owner process is gone is taken over at once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

import qualitykit
from qualitykit.processes import ProcessId, start_time
from qualitykit.store import LEASE_SECONDS, Encode, Store, encode_key, new_owner, owner_process


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_owner_names_say_which_process_holds_the_lease():
    me = owner_process(new_owner())
    assert me == ProcessId(socket.gethostname(), os.getpid(), start_time(os.getpid()))
    assert me.started is not None and not me.is_gone()
    assert owner_process("host:123:abcdef12") is None, "a name from qk 0.1 (no start time) is not parsed"


def test_a_lease_of_a_dead_process_is_taken_over_at_once(cache):
    with Store(cache) as store:
        dead = f"{socket.gethostname()}:{_dead_pid()}:12345:deadbeef"
        assert store.leases.claim(["a", "b"], dead) == {"a", "b"}
        assert store.leases.claim(["a", "b", "c"], new_owner()) == {"a", "b", "c"}


def test_a_lease_of_a_reused_pid_is_taken_over_at_once(cache):
    """Same pid as a live process, another start time: the owner is gone, the pid was reused."""
    with Store(cache) as store:
        reused = f"{socket.gethostname()}:{os.getpid()}:1:deadbeef"
        store.leases.claim(["a"], reused)
        assert store.leases.claim(["a"], new_owner()) == {"a"}


def test_a_lease_of_a_live_process_or_another_host_waits_for_its_expiry(cache):
    with Store(cache) as store:
        live = new_owner()  # this process, another run in it
        elsewhere = f"another-host.example:{_dead_pid()}:1:cafe0000"
        store.leases.claim(["a"], live)
        store.leases.claim(["b"], elsewhere, seconds=0.2)
        other = new_owner()
        assert store.leases.claim(["a", "b", "c"], other) == {"c"}
        time.sleep(0.3)
        assert store.leases.claim(["a", "b"], other) == {"b"}, "another host's lease is free once it expires"
        store.leases.release(None, live)
        assert store.leases.claim(["a"], other) == {"a"}


def test_put_encode_files_it_under_the_key_of_its_inputs(cache):
    versions = {"pillow": "10"}
    key = encode_key("sha", "jpeg:q=1", 50, versions)
    with Store(cache) as store:
        assert store.put_encode("sha", "jpeg:q=1", 50, versions, Encode(key, 2, 2, 3, 0.1, 0.1, b"abc")) == key
        assert store.get_encode(key).bitstream == b"abc"
        with pytest.raises(ValueError, match="carries key"):
            store.put_encode("sha", "jpeg:q=1", 60, versions, Encode(key, 2, 2, 3, 0.1, 0.1, b"xyz"))
        assert store.counts()["encodes"] == 1


def test_file_hashes_are_remembered_until_the_file_changes(cache, tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"one")
    with Store(cache) as store:
        first = store.file_hashes.sha256(f, f.stat())
        assert store.file_hashes.get(f, f.stat()) == first
        f.write_bytes(b"two!")
        assert store.file_hashes.get(f, f.stat()) is None
        assert store.file_hashes.sha256(f, f.stat()) != first


def test_a_run_does_not_wait_for_the_leases_of_a_killed_driver(small_corpus, cache, tmp_path):
    """A driver killed with SIGKILL leaves its leases behind; the next run takes them over at once
    instead of waiting for them to expire (LEASE_SECONDS)."""
    first = qualitykit.bench(small_corpus, ["jpeg:q=50"], ["psnr"], out=tmp_path / "a", jobs=1,
                             cache=tmp_path / "other.sqlite", report=False)  # fmt: skip
    keys = list(first.table["encode_key"])
    with Store(cache) as store:
        assert store.leases.claim(keys, f"{socket.gethostname()}:{_dead_pid()}:1:0000dead") == set(keys)
    t0 = time.monotonic()
    again = qualitykit.bench(small_corpus, ["jpeg:q=50"], ["psnr"], out=tmp_path / "b", jobs=1, cache=cache, report=False)
    assert time.monotonic() - t0 < LEASE_SECONDS / 3
    assert list(again.table["psnr"]) == list(first.table["psnr"])
