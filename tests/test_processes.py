"""Child programs never outlive their call, and a process tells a dead owner from a live one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from qualitykit.processes import ProcessId, cpus_available, is_gone, run_program, start_time


def _gone(pid: int, grace: float = 3.0) -> bool:
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_run_program_returns_status_and_output():
    status, out, err = run_program([sys.executable, "-c", "import sys; print('hi'); sys.exit(4)"], 30)
    assert (status, out, err) == (4, b"hi\n", b"")


def test_the_timeout_bounds_the_call_and_kills_what_the_program_left(tmp_path):
    code = "import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); print(p.pid)"
    status, out, _ = run_program([sys.executable, "-c", code], 30)
    assert status == 0 and _gone(int(out)), "a background process of a finished program is killed"
    t0 = time.monotonic()
    status, _, _ = run_program([sys.executable, "-c", "import time; time.sleep(60)"], 1)
    assert status is None and time.monotonic() - t0 < 5


def test_sigterm_kills_the_children_and_removes_the_scratch_folders(tmp_path):
    script = textwrap.dedent(f"""
        import signal, subprocess, sys
        from qualitykit.processes import die_by_signal, run_program, scratch_folder
        signal.signal(signal.SIGTERM, die_by_signal)
        folder = scratch_folder("qk-test-")
        plain = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # a library's child
        open({str(tmp_path / "pids")!r}, "w").write(f"{{plain.pid}}\\n{{folder}}\\n")
        run_program([sys.executable, "-c", "import os, time; open({str(tmp_path / "prog")!r}, 'w').write(str(os.getpid())); time.sleep(60)"], 120)
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.monotonic() + 60
    while not (tmp_path / "prog").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    plain, folder = (tmp_path / "pids").read_text().split()
    program = int((tmp_path / "prog").read_text())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == -signal.SIGTERM
    assert _gone(program) and _gone(int(plain)) and not Path(folder).exists()


def test_process_identity_tells_a_reused_pid_apart():
    me = ProcessId.current()
    assert me.started == start_time(os.getpid()) and not me.is_gone()
    assert is_gone(os.getpid(), "1") and not is_gone(os.getpid(), me.started)
    assert not ProcessId("another-host.example", os.getpid(), "1").is_gone(), "another machine cannot be asked"
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    assert is_gone(done.pid, None)
    assert cpus_available() >= 1


def test_what_a_process_killed_outright_left_in_its_scratch_folders_is_reaped(tmp_path, monkeypatch):
    """SIGKILL gives a process no chance to clean up: reap_scratch_of(pid) kills what still runs in
    its qk-*-<pid>-* folders (a program's background process) and removes them."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    from qualitykit.processes import reap_scratch_of

    monkeypatch.setattr(tempfile, "tempdir", None)  # read $TMPDIR again
    script = textwrap.dedent(f"""
        import subprocess, sys
        from qualitykit.processes import run_program, scratch_folder
        folder = scratch_folder("qk-fake-")
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], cwd=folder, start_new_session=True)
        open({str(tmp_path / "pids")!r}, "w").write(f"{{child.pid}}\\n{{folder}}\\n")
        run_program([sys.executable, "-c", "import time; time.sleep(60)"], 120, cwd=folder)
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.monotonic() + 60
    while not (tmp_path / "pids").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    child, folder = (tmp_path / "pids").read_text().split()
    assert Path(folder).name.startswith(f"qk-fake-{proc.pid}-")
    proc.kill()
    proc.wait()
    assert Path(folder).is_dir() and not _gone(int(child), 0.2), "nothing cleaned up after a SIGKILL by itself"
    reap_scratch_of(proc.pid)
    assert _gone(int(child)) and not Path(folder).exists()
