"""The standard workload of issue 13, timed side by side: cold and warm runs, parallel efficiency,
metrics only against the peers, and 2048-px photographs.

    QK_WEIGHTS_DIR=../shared/weights python benchmarks/bench_workload.py [--repeats 3] [--write]

Rows (each the median of ``--repeats`` runs, the rows interleaved repeat by repeat):

* **cold**: ``qk bench`` on Kodak-24 × ``jpeg,webp,avif`` (default ladders, 576 items) ×
  ``psnr,ssim,ms-ssim,vmaf,lpips``, ``--jobs 2``, an empty cache; and the same with ``--jobs 1``
  (parallel efficiency = T1 / (2 · T2); the ``--jobs 1`` run with ``OMP_NUM_THREADS=1``, since a lone
  worker otherwise runs PyTorch on both cores);
* **warm**: the same command again on the cache the cold run filled (everything cached);
* **metrics only**: 24 Kodak JPEG q=50 pairs, encodes cached, scores not: the whole ``qk bench``
  against the peers in one Python process on the same decoded PNG files —
  ``ffmpeg-quality-metrics`` (vmaf + psnr + ssim, one call per pair as its CLI does),
  ``lpips.LPIPS(net='alex')`` and ``pytorch_msssim`` ``ssim``/``ms_ssim``;
* **2048 px**: 6 photographs of 2048 × 1536 px (3 × 3 Kodak mosaics, cropped: 3.1 MP each) × the
  same grid (144 items), ``--jobs 2``, empty cache: seconds per megapixel per item.

Every ``qk bench`` is a fresh process (imports included). The cold and warm rows are the full
command a user runs and reruns, report included (the warm run reuses the report's plots the cold
one drew, as a user's rerun does); the metrics-only and 2048-px rows use ``--no-report``. ``--write`` replaces the "workload" section of
benchmarks/RESULTS.md, with the per-stage profile (``--profile``) of the last cold run.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from _results import KODAK, machine, write_section

GRID = ["--codecs", "jpeg,webp,avif", "--metrics", "psnr,ssim,ms-ssim,vmaf,lpips"]
PEER_SCRIPT = r"""
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
import numpy as np, torch
from PIL import Image
from bench_torch_metrics import lpips_model
from imageio_ffmpeg import get_ffmpeg_exe
ffmpeg = get_ffmpeg_exe()  # the ffmpeg with libvmaf that qk uses too
from ffmpeg_quality_metrics import FfmpegQualityMetrics
from pytorch_msssim import ssim, ms_ssim
pairs = [(Path(sys.argv[1]) / p.name, p) for p in sorted(Path(sys.argv[2]).glob("*.png"))]
t0 = time.perf_counter()
net, _ = lpips_model("alex")  # lpips.LPIPS with the ImageNet backbone of ../shared/weights
for ref, dist in pairs:
    FfmpegQualityMetrics(str(ref), str(dist), ffmpeg_path=ffmpeg).calculate(["vmaf", "psnr", "ssim"])
    x, y = (torch.from_numpy(np.asarray(Image.open(p).convert("RGB"))).permute(2, 0, 1)[None].float() for p in (ref, dist))
    with torch.no_grad():
        ssim(x, y, data_range=255); ms_ssim(x, y, data_range=255); net(x / 127.5 - 1, y / 127.5 - 1)
print(time.perf_counter() - t0)
"""


def qk(*args: str, profile: bool = False, env: dict[str, str] | None = None) -> tuple[float, str]:
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "qualitykit", "bench", "-q", *args, *(["--profile"] if profile else [])],
                         capture_output=True, text=True, env={**os.environ, **(env or {})})  # fmt: skip
    took = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"qk bench {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}")
    return took, res.stdout + res.stderr


def peers(decoded: Path) -> None:
    res = subprocess.run([sys.executable, "-c", PEER_SCRIPT, str(KODAK), str(decoded), str(Path(__file__).parent)],
                         capture_output=True, text=True)  # fmt: skip
    if res.returncode:
        sys.exit(f"the peers' script failed:\n{res.stderr[-3000:]}")


def large_corpus(folder: Path, n: int = 6) -> Path:
    files = sorted(KODAK.glob("kodim*.png"))
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        tiles = [np.asarray(Image.open(files[(9 * i + k) % len(files)]).convert("RGB").resize((768, 512))) for k in range(9)]
        rows = [np.concatenate(tiles[r * 3 : r * 3 + 3], axis=1) for r in range(3)]
        Image.fromarray(np.concatenate(rows, axis=0)[:1536, :2048]).save(folder / f"photo{i}.png")
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    if not KODAK.is_dir():
        sys.exit(f"Kodak not found at {KODAK} (../shared beside the checkout)")
    if not os.environ.get("QK_WEIGHTS_DIR"):
        sys.exit("set QK_WEIGHTS_DIR=../shared/weights: LPIPS needs its backbone, and nothing downloads here")
    tmp = Path(tempfile.mkdtemp(prefix="qk-workload-"))
    kodak = ["--dataset", str(KODAK)]
    big = ["--dataset", str(large_corpus(tmp / "photos"))]
    # metrics only: encodes of jpeg q=50 cached once, each repeat scores them on a copy of that cache
    pairs_cache = tmp / "pairs.sqlite"
    qk(*kodak, "--codecs", "jpeg:q=50", "--metrics", "psnr", "--cache", str(pairs_cache), "--out", str(tmp / "p0"), "--no-report")
    decoded = tmp / "decoded"
    decoded.mkdir()
    from qualitykit.codecs import codec_from_spec

    jpeg, _ = codec_from_spec("jpeg")
    for f in sorted(KODAK.glob("kodim*.png")):
        Image.fromarray(jpeg.decode(jpeg.encode(np.asarray(Image.open(f).convert("RGB")), 50))).save(decoded / f.name)

    times: dict[str, list[float]] = {k: [] for k in ("cold2", "warm", "cold1", "metrics", "peers", "large")}
    profile = warm_profile = large_profile = ""
    for r in range(args.repeats):
        print(f"repeat {r + 1}/{args.repeats}", file=sys.stderr)
        cache = tmp / f"c{r}.sqlite"
        t, profile = qk(*kodak, *GRID, "--jobs", "2", "--cache", str(cache), "--out", str(tmp / f"cold2-{r}"), profile=True)
        times["cold2"].append(t)
        t, warm_profile = qk(*kodak, *GRID, "--jobs", "2", "--cache", str(cache), "--out", str(tmp / f"warm-{r}"), profile=True)
        times["warm"].append(t)
        times["cold1"].append(qk(*kodak, *GRID, "--jobs", "1", "--cache", str(tmp / f"c1-{r}.sqlite"), "--out", str(tmp / f"cold1-{r}"),
                                 env={"OMP_NUM_THREADS": "1"})[0])  # fmt: skip
        shutil.copy(pairs_cache, tmp / f"m{r}.sqlite")
        times["metrics"].append(qk(*kodak, "--codecs", "jpeg:q=50", "--metrics", "psnr,ssim,ms-ssim,vmaf,lpips", "--jobs", "2",
                                   "--cache", str(tmp / f"m{r}.sqlite"), "--out", str(tmp / f"m-{r}"), "--no-report")[0])  # fmt: skip
        t0 = time.perf_counter()
        peers(decoded)
        times["peers"].append(time.perf_counter() - t0)
        t, large_profile = qk(*big, *GRID, "--jobs", "2", "--cache", str(tmp / f"l{r}.sqlite"), "--out", str(tmp / f"l-{r}"), "--no-report",
                              profile=True)  # fmt: skip
        times["large"].append(t)
    med = {k: statistics.median(v) for k, v in times.items()}
    runs = {k: " / ".join(f"{x:.1f}" for x in v) for k, v in times.items()}
    per_mp_item = med["large"] / (6 * 2048 * 1536 / 1e6 * 24)
    efficiency = med["cold1"] / (2 * med["cold2"])
    body = f"""## Speed: the standard workload (issue 13)

{machine()}, {datetime.date.today()}, shared machine (other work running: medians of {args.repeats}, rows interleaved).
Command: `QK_WEIGHTS_DIR=../shared/weights python benchmarks/bench_workload.py --repeats {args.repeats} --write`

| work | median | runs (s) | goal |
|---|---|---|---|
| Kodak-24 × jpeg,webp,avif (576 items) × psnr,ssim,ms-ssim,vmaf,lpips, `--jobs 2`, empty cache, report included | **{med['cold2']:.1f} s** | {runs['cold2']} | ≤ 60 s |
| the same again, everything cached (report included) | **{med['warm']:.1f} s** | {runs['warm']} | ≤ 3 s |
| the same cold, `--jobs 1`, `OMP_NUM_THREADS=1` (one worker on one core) | {med['cold1']:.1f} s | {runs['cold1']} | — |
| parallel efficiency 1 → 2 workers, T1 / (2·T2) | **{efficiency:.0%}** | | ≥ 85 % |
| 24 Kodak JPEG q=50 pairs, metrics only (encodes cached), whole `qk bench --no-report` | **{med['metrics']:.1f} s** | {runs['metrics']} | ≤ 0.5 × peers |
| the peers, one process: ffmpeg-quality-metrics (vmaf+psnr+ssim) + lpips.LPIPS + pytorch_msssim ssim/ms-ssim | {med['peers']:.1f} s | {runs['peers']} | — |
| qk / peers | **{med['metrics'] / med['peers']:.2f}** | | ≤ 0.5 |
| 6 photographs 2048×1536 × the same grid (144 items), `--jobs 2`, empty cache, `--no-report` | {med['large']:.1f} s = **{per_mp_item:.3f} s per MP per item** | {runs['large']} | ≤ 0.25 s per MP per item |

Where the time of the last cold run went (`qk bench --profile`; stage times are summed over both workers):

```
{profile.strip()}
```

And of the last warm run (the stages; the rest of its wall time is starting Python and importing):

```
{warm_profile.strip()}
```

And of the last 2048-px run:

```
{large_profile.strip()}
```
"""
    print(body)
    if args.write:
        write_section("workload", body)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
