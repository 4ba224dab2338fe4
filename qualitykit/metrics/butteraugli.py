"""Butteraugli through libjxl's ``butteraugli_main``: ``butteraugli`` (max norm) and ``butteraugli-3norm``.

Conventions: exactly what ``butteraugli_main REF.png DIST.png --pnorm 3`` prints for the two images
written as PNG without a colour profile (so both are taken as sRGB, converted to linear light at the
tool's default intensity target of 80 nits). The first printed number is the max-norm distance
(``butteraugli``: the worst local difference), the second the 3-norm over the difference map
(``butteraugli-3norm``: an average that weighs large differences more). Distances: 0 for
identical images, higher is worse; about 1 is the threshold of a just-noticeable difference.
Images need at least 8 px per side (smaller ones score 0 in the tool).

The binary is ``$QK_BUTTERAUGLI`` when set (the only candidate then: an explicit choice never falls
back to another build), else ``butteraugli_main`` on ``PATH`` (Debian/Ubuntu:
``apt-get install libjxl-devtools``). Without it both metrics are unavailable and say so. One
process per pair, several at once; both metrics come from the same run. The tool prints no version,
so the metric version names the package that owns the binary (``dpkg-query``), or else the first
16 hex digits of the binary's SHA-256.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

import numpy as np
from PIL import Image

from . import register
from ..errors import BadInput, Unavailable
from ..fsutil import sha256_file
from ..processes import run_program, timeout_for
from .base import Metric, Reference, SharedPassMetric

ENV = "QK_BUTTERAUGLI"
TOOL = "butteraugli_main"


def find_butteraugli() -> tuple[str | None, str]:
    """The binary to run and, when there is none, why."""
    explicit = os.environ.get(ENV)
    if explicit:
        path = shutil.which(explicit)
        return (path, "") if path else (None, f"${ENV}={explicit} is not an executable file")
    path = shutil.which(TOOL)
    return (path, "") if path else (None, f"{TOOL} not found on PATH")


def _unavailable(why: str) -> str:
    return f"{why}; install libjxl's tools (Debian/Ubuntu: apt-get install libjxl-devtools) or set ${ENV} to {TOOL}"


@functools.lru_cache(maxsize=None)
def tool_version(path: str) -> str:
    """``<package> <version>`` of the Debian package owning ``path``, else ``sha256:<16 hex digits>`` of the binary."""
    real = os.path.realpath(path)
    try:
        owner = subprocess.run(["dpkg-query", "-S", real], capture_output=True, text=True, timeout=30)
        package = owner.stdout.split(":", 1)[0].strip() if owner.returncode == 0 else ""
        if package:
            res = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True, timeout=30)
            if res.returncode == 0 and res.stdout.strip():
                return f"{package} {res.stdout.strip()}"
    except (OSError, subprocess.TimeoutExpired):  # no dpkg here
        pass
    return f"sha256:{sha256_file(real)[:16]}"


_OUTPUT = re.compile(r"^\s*([0-9.eE+-]+)\s*\n\s*3-norm:\s*([0-9.eE+-]+)\s*$")


def run_butteraugli(ref: np.ndarray, dist: np.ndarray, tool: str, folder: str) -> tuple[float, float]:
    """``(max norm, 3-norm)`` of one pair: both written as PNG into ``folder``, scored by ``tool``."""
    ref_png, dist_png = os.path.join(folder, "ref.png"), os.path.join(folder, "dist.png")
    Image.fromarray(ref).save(ref_png, compress_level=1)
    Image.fromarray(dist).save(dist_png, compress_level=1)
    size = f"{ref.shape[1]}x{ref.shape[0]}"
    timeout = timeout_for(ref.shape[0] * ref.shape[1])
    status, out, err = run_program([tool, ref_png, dist_png, "--pnorm", "3"], timeout)
    if status is None:
        raise BadInput(f"{tool} did not finish a {size} pair in {timeout:.0f} s: stopped")
    stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
    match = _OUTPUT.match(stdout)
    if status != 0 or not match:
        raise BadInput(f"{tool} failed on a {size} pair: {(stderr or stdout).strip()[-300:]}")
    return float(match.group(1)), float(match.group(2))


class _Butteraugli(SharedPassMetric):
    shared_pass = "butteraugli"
    higher_is_better = False
    range = (0.0, None)
    min_side = 8
    # ~0.45 s of CPU per Kodak pair for both norms (benchmarks/bench_metrics.py): below a second, so in
    # the default set wherever butteraugli_main is installed
    memory_per_pixel = 300.0  # the tool's own process: float planes and blurred copies
    key: ClassVar[int]  # 0: max norm, 1: 3-norm

    @classmethod
    def available(cls) -> str | None:
        path, why = find_butteraugli()
        return None if path else _unavailable(why)

    @property
    def version(self) -> str:  # type: ignore[override]
        """``1+<package version or binary hash>``, e.g. ``1+libjxl-devtools 0.7.0-10+deb12u1``."""
        return f"1+{tool_version(_tool())}"

    @classmethod
    def _compute_family(
        cls, metrics: Sequence[Metric], refs: Sequence[np.ndarray], dists: Sequence[np.ndarray]
    ) -> dict[str, np.ndarray | Exception]:
        """One tool run per pair gives both norms; pairs run in parallel (one process each)."""
        tool = _tool()
        tmp_root = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        with tempfile.TemporaryDirectory(prefix="qk-butteraugli-", dir=tmp_root) as tmp:

            def one(i: int) -> tuple[float, float]:
                folder = os.path.join(tmp, str(i))
                os.mkdir(folder)
                return run_butteraugli(refs[i], dists[i], tool, folder)

            with ThreadPoolExecutor(max_workers=max(1, min(len(refs), os.cpu_count() or 1))) as pool:
                scores = np.array(list(pool.map(one, range(len(refs)))), dtype=np.float64).reshape(-1, 2)
        return {m.name: scores[:, m.key].copy() for m in metrics}  # type: ignore[attr-defined]


def _tool() -> str:
    path, why = find_butteraugli()
    if path is None:
        raise Unavailable(_unavailable(why))
    return path


def _reference(tolerance: float, note: str) -> Reference:
    return Reference(
        "butteraugli_main --pnorm 3", "Debian libjxl-devtools 0.7.0-10+deb12u1", tolerance,
        "../shared's 88 Kodak reference pairs (reference.csv)", "tests/test_metrics_butteraugli.py::_check", note,
    )


@register
class Butteraugli(_Butteraugli):
    """Butteraugli distance, max norm (see the module docstring); lower is better, 0 for identical images."""

    name = "butteraugli"
    key = 0
    description = "Butteraugli max-norm distance (libjxl butteraugli_main), sRGB, 80 nits"
    reference = _reference(1e-9, "the tool prints 10 decimals")


@register
class Butteraugli3Norm(_Butteraugli):
    """Butteraugli 3-norm of the difference map (see the module docstring); lower is better."""

    name = "butteraugli-3norm"
    key = 1
    description = "Butteraugli 3-norm distance (libjxl butteraugli_main --pnorm 3), sRGB, 80 nits"
    reference = _reference(1e-6, "the tool prints 6 decimals")
