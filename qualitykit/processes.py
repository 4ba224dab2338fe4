"""Processes: who is alive, and the child programs qk starts, none of which outlives its call.

Identity of a process across machines and time: ``(host, pid, start time)``. A pid alone is
not enough — the system reuses pids — so :func:`start_time` (clock ticks since boot on Linux,
read from ``/proc``; ``psutil``'s creation time elsewhere when it is installed) tells a process
from a later one given the same pid. :func:`is_gone` says whether such a process has ended.

Child programs (:func:`run_program`) run in their own process group, so that the program and
everything it started can be killed together. That group is killed on every exit path of the
call: when the program exits (a background process it left behind goes too), when the call's
time is up, and when the caller stops — an exception, Ctrl-C, or :func:`stop_children`, which a
process's SIGTERM handler calls before it dies. The child also gets ``PR_SET_PDEATHSIG`` on
Linux: if the caller is killed with SIGKILL, the program dies with it, and whoever notices the
death (the worker pool) calls :func:`reap_scratch_of` to kill what still runs in the caller's
scratch folders and remove them. Output goes to temporary files, not pipes, so a leftover process
holding stderr open cannot make qk wait: the timeout bounds the whole call.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: Process groups of the children now running (pgid → their scratch folder, or ``None``).
_CHILDREN: dict[int, str | None] = {}
#: Scratch folders of children now running, removed by :func:`stop_children`.
_FOLDERS: set[str] = set()


def start_time(pid: int) -> str | None:
    """When process ``pid`` started, as an opaque string comparable only with itself; ``None`` if unknown or gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()  # field 22 of stat(5): starttime, after the comm's closing ")"
    except (OSError, IndexError):
        pass
    if sys.platform.startswith("linux"):
        return None
    try:
        import psutil

        return f"{psutil.Process(pid).create_time():.3f}"
    except Exception:  # no psutil, or no such process
        return None


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X")
    except (OSError, IndexError):
        return False


def is_gone(pid: int, started: str | None) -> bool:
    """Whether the process ``pid`` on this machine that started at ``started`` has ended: no such
    pid, a zombie, or the pid now belongs to a process started at another time."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: alive
        pass
    if _zombie(pid):
        return True
    now = start_time(pid)
    return started is not None and now is not None and now != started


def cpus_available() -> int:
    """The CPUs this process may run on: its affinity (a container's or ``taskset``'s share) where
    the system tells, else every core."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class ProcessId:
    """A process, told apart from any later one with the same pid: host name, pid, start time."""

    host: str
    pid: int
    started: str | None

    @classmethod
    def current(cls) -> ProcessId:
        return cls(socket.gethostname(), os.getpid(), start_time(os.getpid()))

    def is_gone(self) -> bool:
        """Known to have ended; ``False`` when alive or on another machine (which cannot be asked)."""
        return self.host == socket.gethostname() and is_gone(self.pid, self.started)


# ------------------------------------------------------------ child programs


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl`` (Linux), loaded in the parent: the child between fork and exec must not import."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6", use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


def die_with_parent() -> None:
    """Have this process killed (SIGKILL) when its parent dies (Linux; nothing elsewhere). Also
    run in a child program between fork and exec, so it imports nothing."""
    prctl = _prctl()
    if prctl is not None:
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def kill_group(pgid: int) -> None:
    """SIGKILL every process of group ``pgid``; nothing if it is gone."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def scratch_folder(prefix: str) -> str:
    """A new temporary folder ``<tmp>/<prefix><pid>-*`` that :func:`stop_children` removes if the
    process is stopped while it exists, and :func:`reap_scratch_of` if it is killed outright;
    remove it with :func:`remove_scratch`."""
    path = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-")
    _FOLDERS.add(path)
    return path


def reap_scratch_of(pid: int) -> None:
    """After process ``pid`` died without cleaning up (SIGKILL): kill what still runs in its
    scratch folders (Linux: any process whose working folder is inside one) and remove them."""
    folders = [str(p) for p in Path(tempfile.gettempdir()).glob(f"qk-*-{pid}-*") if p.is_dir()]
    if not folders:
        return
    try:
        names = [n for n in os.listdir("/proc") if n.isdigit()]
    except OSError:
        names = []
    for name in names:
        try:
            cwd = os.readlink(f"/proc/{name}/cwd")
        except OSError:
            continue
        if any(cwd == f or cwd.startswith(f + os.sep) for f in folders):
            try:
                os.kill(int(name), signal.SIGKILL)
            except OSError:
                pass
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def remove_scratch(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
    _FOLDERS.discard(path)


def run_program(argv: list[str], timeout: float, cwd: str | None = None) -> tuple[int | None, bytes, bytes]:
    """Run ``argv`` (no shell) in its own process group for at most ``timeout`` seconds in all;
    return ``(exit status, stdout, stderr)``, the status ``None`` when time ran out.

    The group is killed when the call ends, however it ends (see the module docstring). Raises
    :class:`OSError` when the program cannot start.
    """
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        preexec = die_with_parent if _prctl() is not None else None
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True, preexec_fn=preexec)  # fmt: skip
        _CHILDREN[proc.pid] = cwd
        timed_out = False
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            kill_group(proc.pid)  # the program if still running, and whatever it left behind
            proc.wait()
            _CHILDREN.pop(proc.pid, None)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    return None if timed_out else proc.returncode, stdout, stderr


def timeout_for(pixels: int, seconds_per_megapixel: float = 30.0) -> float:
    """A generous time limit, in seconds, for a metric's program scoring ``pixels`` pixels in all: a
    minute plus ``seconds_per_megapixel`` (at least 10× what libvmaf or butteraugli_main take on one
    core), so that only a hung program reaches it."""
    return 60.0 + seconds_per_megapixel * pixels / 1e6


def _direct_children() -> list[int]:
    """Pids of this process's children (Linux: from ``/proc``; elsewhere none are found)."""
    me, found = os.getpid(), []
    try:
        names = [n for n in os.listdir("/proc") if n.isdigit()]
    except OSError:
        return []
    for name in names:
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                if int(f.read().rsplit(b")", 1)[1].split()[1]) == me:
                    found.append(int(name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def stop_children() -> None:
    """Kill every child program group now running, and any other child process (a program a
    library started with :mod:`subprocess`), and remove every scratch folder (a signal handler's
    last act)."""
    for pgid in list(_CHILDREN):
        kill_group(pgid)
    _CHILDREN.clear()
    for pid in _direct_children():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for path in list(_FOLDERS):
        shutil.rmtree(path, ignore_errors=True)
    _FOLDERS.clear()


def die_by_signal(signum: int, frame: object = None) -> None:
    """A SIGTERM handler: stop the children (:func:`stop_children`), then die by the signal as the default would."""
    stop_children()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
