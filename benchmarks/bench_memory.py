"""Peak memory of a whole ``qk bench`` process tree on one 24-megapixel photograph, and on one Kodak image.

    python benchmarks/bench_memory.py [--jobs 2] [--metrics psnr,ssim,ms-ssim,vmaf,lpips] [--write]

The 24 MP photograph is a mosaic of real photographs: 8 × 8 Kodak images (768 × 512 each, cycling
through the 24 with flips so that neighbours differ) = 6144 × 4096 = 25.2 MP, saved as PNG. The
Kodak figure uses kodim01 alone. Each run is ``qk bench`` with the default ``jpeg,webp,avif``
ladders (24 encodes per image), an empty cache, ``--jobs`` workers; the peak is the largest sum,
over the driver and all its worker processes, of their proportional set size (PSS: shared pages
counted once, split between the processes sharing them), sampled every 0.2 s, plus the files the
run keeps in ``/dev/shm``. ``--write`` replaces the "memory" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
from PIL import Image

from _results import KODAK, machine, write_section


def mosaic(out: Path, tiles: tuple[int, int] = (8, 8)) -> Path:
    files = sorted(KODAK.glob("kodim*.png"))
    if not files:
        sys.exit(f"Kodak not found at {KODAK} (../shared beside the checkout)")
    rows = []
    for r in range(tiles[1]):
        row = []
        for c in range(tiles[0]):
            k = r * tiles[0] + c
            im = np.asarray(Image.open(files[k % len(files)]).convert("RGB"))
            if im.shape[0] > im.shape[1]:
                im = np.rot90(im)
            if (k // len(files)) % 2:
                im = im[:, ::-1]
            row.append(im)
        rows.append(np.concatenate(row, axis=1))
    Image.fromarray(np.concatenate(rows, axis=0)).save(out)
    return out


def tree_pss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def shm_bytes() -> int:
    return sum(f.stat().st_size for f in Path("/dev/shm").rglob("*") if f.is_file()) if os.path.isdir("/dev/shm") else 0


def peak_of(folder: Path, jobs: int, metrics: str, work: Path) -> tuple[float, float, int]:
    """(peak GiB, wall seconds, exit status) of one ``qk bench`` on ``folder``."""
    cmd = [sys.executable, "-m", "qualitykit", "bench", "--dataset", str(folder), "--metrics", metrics,
           "--jobs", str(jobs), "--cache", str(work / "cache.sqlite"), "--out", str(work / "run"),
           "--quiet", "--no-report"]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    base_shm = shm_bytes()
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_pss(ps) + max(0, shm_bytes() - base_shm))
        time.sleep(0.2)
    err = proc.stderr.read() if proc.stderr else ""
    if proc.returncode:
        print(err[-2000:], file=sys.stderr)
    return peak / 2**30, time.perf_counter() - start, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--metrics", default="psnr,ssim,ms-ssim,vmaf,lpips")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        big, small = tmp / "big", tmp / "small"
        big.mkdir()
        small.mkdir()
        mosaic(big / "mosaic-6144x4096.png")
        Image.open(KODAK / "kodim01.png").save(small / "kodim01.png")
        for label, folder in (("Kodak kodim01, 768 × 512 (0.39 MP)", small), ("mosaic of Kodak photos, 6144 × 4096 (25.2 MP)", big)):
            work = tmp / f"work-{folder.name}"
            work.mkdir()
            gib, seconds, status = peak_of(folder, args.jobs, args.metrics, work)
            rows.append((label, gib, seconds, status))
            print(f"{label}: peak {gib:.2f} GiB, {seconds:.0f} s, exit {status}", flush=True)
    body = "\n".join(
        [
            "## Peak memory of a run (whole process tree)",
            "",
            f"Command (repository root): `QK_WEIGHTS_DIR=../shared/weights python benchmarks/bench_memory.py --jobs {args.jobs} --metrics {args.metrics}{' --write' if args.write else ''}`  ",
            f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC  ",
            f"Machine: {machine()}, {psutil.virtual_memory().total / 2**30:.0f} GiB",
            "",
            f"`qk bench --metrics {args.metrics} --jobs {args.jobs}` with the default jpeg, webp and avif ladders (24 encodes "
            "per image), empty cache, no report. Peak = largest sum of PSS over the driver and its workers, plus qk's files "
            "in /dev/shm, sampled every 0.2 s.",
            "",
            "| image | peak memory (GiB) | wall time (s) | exit status |",
            "|---|---:|---:|---:|",
            *[f"| {label} | {gib:.2f} | {seconds:.0f} | {status} |" for label, gib, seconds, status in rows],
        ]
    )
    print(body)
    if args.write:
        write_section("memory", body)


if __name__ == "__main__":
    main()
