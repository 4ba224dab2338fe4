"""qk against CompressAI on Kodak: the published curves, and wall time on the same work.

    python benchmarks/compressai_kodak.py reproduce --compressai-results DIR  # WebP/JPEG curves vs CompressAI's published JSON
    python benchmarks/compressai_kodak.py timing -n 3                        # wall time, qk vs `python -m compressai.utils.bench`

Both write their section of benchmarks/RESULTS.md (between markers), naming machine, date and command.
Kodak is read from ../shared/datasets/kodak (or --kodak DIR). DIR is a folder holding CompressAI's
published ``results/image/kodak/*.json`` (e.g. checked out from github.com/InterDigitalInc/CompressAI);
the files are read from there, never copied into this repository.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from _results import KODAK, RESULTS, machine, write_section

QUALITIES = list(range(5, 100, 5))
NOTES = {
    "jpeg": "bpp agrees within 1 % at every point. PSNR and MS-SSIM are slightly higher than published "
    "(≈ 0.1 dB): the published run used the libjpeg bundled with Pillow 7.1.2; qk's run uses libjpeg-turbo 3.2 "
    "for both encode and decode. Same file sizes, slightly different decoded pixels; the cause is in the library "
    "versions, not in the metric (the metric equals CompressAI's own function, see tests/test_metrics_rgb.py).\n\n",
}


def reproduce(kodak: Path, jobs: int, results_dir: Path) -> str:
    import qualitykit

    ladder = "/".join(map(str, QUALITIES))
    with tempfile.TemporaryDirectory() as tmp:
        table = qualitykit.bench(kodak, [f"webp:q={ladder}", f"jpeg:q={ladder}"], ["psnr", "ms-ssim"],
                                 out=Path(tmp, "run"), jobs=jobs, cache=Path(tmp, "cache.sqlite"), report=False).table  # fmt: skip
    means = table.groupby(["codec_id", "q"])[["bpp", "psnr", "ms-ssim"]].mean()
    out = []
    for name, codec_id in [("webp", "webp:method=4"), ("jpeg", "jpeg:optimize=0:progressive=0:subsampling=420")]:
        ref = json.loads((results_dir / f"{name}.json").read_text())["results"]
        keys = tuple(next(k for k in (a, b) if k in ref) for a, b in (("psnr-rgb", "psnr"), ("ms-ssim-rgb", "ms-ssim")))
        ours = means.loc[codec_id]
        rows = []
        for i, q in enumerate(QUALITIES):
            r = ours.loc[float(q)]
            rows.append({
                "q": q, "bpp qk": f"{r['bpp']:.4f}", "bpp CompressAI": f"{ref['bpp'][i]:.4f}",
                "Δbpp %": f"{100 * (r['bpp'] / ref['bpp'][i] - 1):+.2f}",
                "PSNR qk": f"{r['psnr']:.2f}", "PSNR CompressAI": f"{ref[keys[0]][i]:.2f}",
                "MS-SSIM qk": f"{r['ms-ssim']:.4f}", "MS-SSIM CompressAI": f"{ref[keys[1]][i]:.4f}",
            })  # fmt: skip
        table = pd.DataFrame(rows)
        same = sum((table[f"{a} qk"] == table[f"{a} CompressAI"]).all() for a in ("bpp", "PSNR", "MS-SSIM"))
        worst = max(abs(float(x)) for x in table["Δbpp %"])
        note = NOTES.get(name, "")
        out.append(f"### {name.upper()} (q = 5…95; {same}/3 columns identical at the printed digits; "
                   f"largest bpp difference {worst:.2f} %)\n\n{note}{table.to_markdown(index=False, disable_numparse=True)}\n")  # fmt: skip
    return "\n".join(out)


def _time(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0


def timing(kodak: Path, repeats: int) -> str:
    cai = [sys.executable, "-m", "compressai.utils.bench", "jpeg", str(kodak), "-q", "10,30,50,70,90", "-j", "2"]
    qk = [sys.executable, "-m", "qualitykit", "bench", "--dataset", str(kodak), "--codecs", "jpeg:q=10/30/50/70/90",
          "--metrics", "psnr,ms-ssim", "--jobs", "2", "--quiet"]  # fmt: skip
    times: dict[str, list[float]] = {"compressai": [], "qk cold": [], "qk warm": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):  # interleaved, so both see the same machine load
            cache = Path(tmp, f"cache{i}.sqlite")
            run = [*qk, "--cache", str(cache), "--out", str(Path(tmp, f"run{i}"))]
            times["compressai"].append(_time(cai))
            times["qk cold"].append(_time(run))
            times["qk warm"].append(_time(run))
    med = {k: statistics.median(v) for k, v in times.items()}
    lines = ["| run | wall times (s) | median (s) | ratio to CompressAI |", "|---|---|---|---|"]
    for k, v in times.items():
        lines.append(f"| {k} | {', '.join(f'{x:.1f}' for x in v)} | {med[k]:.2f} | {med[k] / med['compressai']:.3f} |")
    return ("Same work on both sides: 24 Kodak images × JPEG q ∈ {10,30,50,70,90}, PSNR-RGB + MS-SSIM-RGB, 2 processes.\n\n"
            f"- CompressAI: `{' '.join(cai[1:])}`\n- qk: `{' '.join(qk[1:])} --cache <fresh file> --out <tmp>` "
            "(cold: empty cache; warm: the same command again; qk's times include writing its HTML report, which CompressAI does not make)\n\n" + "\n".join(lines) + "\n")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["reproduce", "timing"])
    ap.add_argument("--kodak", type=Path, default=KODAK)
    ap.add_argument("--compressai-results", type=Path, metavar="DIR",
                    help="folder with CompressAI's results/image/kodak/{jpeg,webp}.json (needed by reproduce)")  # fmt: skip
    ap.add_argument("-n", "--repeats", type=int, default=3)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    args = ap.parse_args()
    if not (args.kodak / "kodim01.png").is_file():
        sys.exit(f"Kodak not found at {args.kodak}: pass --kodak DIR")
    header = (f"Machine: {machine()}. Date: {time.strftime('%Y-%m-%d', time.gmtime())}. "
              f"Command: `python benchmarks/compressai_kodak.py {args.what}" + (f" -n {args.repeats}`." if args.what == "timing" else "`."))  # fmt: skip
    if args.what == "reproduce":
        if args.compressai_results is None or not (args.compressai_results / "jpeg.json").is_file():
            sys.exit("reproduce needs --compressai-results DIR: CompressAI's results/image/kodak folder")
        header = header.replace("reproduce`.", "reproduce --compressai-results DIR`.")
        write_section("compressai-reproduce", "## Kodak curves vs CompressAI's published results\n\n" + header + "\n\n"
                      "Reference: CompressAI `results/image/kodak/{webp,jpeg}.json` (Pillow 7.1.2), read from DIR (a checkout "
                      "of github.com/InterDigitalInc/CompressAI; not copied here). qk: Pillow 13, libwebp 1.6, libjpeg-turbo 3.2; "
                      "corpus means of per-image values.\n\n"
                      + reproduce(args.kodak, args.jobs, args.compressai_results))  # fmt: skip
    else:
        write_section("compressai-timing", "## Wall time: qk bench vs CompressAI's bench\n\n" + header + "\n\n" + timing(args.kodak, args.repeats))
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
