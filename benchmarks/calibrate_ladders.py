"""Calibrate a codec's default ladder on Kodak so that it spans the same quality as JPEG's.

    python benchmarks/calibrate_ladders.py --jobs 2                 # every codec below, 12 Kodak images
    python benchmarks/calibrate_ladders.py --codecs jxl,heic --images 24

How: JPEG's default ladder is run on the images and the corpus-mean PSNR of each of its 8
points is the target (≈ 25.5 … 37.5 dB). Each codec is swept over a dense quality grid with
``qualitykit.bench`` (same pipeline, same cache), and for every target the quality whose
mean PSNR equals it is interpolated (PSNR is monotone in quality) and rounded to the codec's
scale. The proposed ladder and the PSNR/bpp it reaches are printed; the ladders in the codec
classes were set from this output.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import numpy as np
from _results import KODAK

#: Dense sweeps, in each codec's own quality scale (fewest bytes first).
SWEEPS = {
    "jxl": [16, 14, 12, 10, 8, 7, 6, 5, 4.2, 3.5, 3, 2.5, 2.1, 1.8, 1.5, 1.25, 1.05, 0.85, 0.7, 0.55, 0.45, 0.35],
    "heic": list(range(0, 95, 5)),
    "jpeg2000": [0.05, 0.07, 0.1, 0.13, 0.17, 0.22, 0.3, 0.4, 0.5, 0.65, 0.8, 1.0, 1.3, 1.6, 2.0, 2.5, 3.0],
    "mozjpeg": list(range(5, 100, 5)),
    "jpegli": list(range(5, 100, 5)),
    "avif:subsampling=444": list(range(5, 95, 5)),
}


def _round(spec: str, q: float) -> float:
    from qualitykit.codecs import codec_from_spec

    codec, _ = codec_from_spec(spec)
    if codec.quality_integer:
        return float(round(q))
    digits = 1 - int(math.floor(math.log10(abs(q))))  # two significant digits
    return round(q, max(digits, 0))


def main() -> None:
    import qualitykit
    from qualitykit.codecs import codec_from_spec

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kodak", type=Path, default=KODAK)
    ap.add_argument("--images", type=int, default=12, help="use every (24/N)-th Kodak image (default 12)")
    ap.add_argument("--codecs", default=",".join(SWEEPS))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cache", default=None, help="SQLite cache (default: a temporary one)")
    args = ap.parse_args()
    step = max(1, 24 // args.images)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp, "kodak")
        corpus.mkdir()
        for i in range(1, 25, step):
            (corpus / f"kodim{i:02d}.png").symlink_to(args.kodak / f"kodim{i:02d}.png")
        cache = args.cache or Path(tmp, "cache.sqlite")
        specs = {"jpeg": "jpeg"} | {s: f"{s}:q={'/'.join(map(str, SWEEPS[s]))}" for s in args.codecs.split(",")}
        result = qualitykit.bench(corpus, list(specs.values()), ["psnr"], out=Path(tmp, "run"), jobs=args.jobs, cache=cache, report=False)
        if result.errors:
            raise SystemExit(f"errors: {result.errors[:3]}")
        df = result.table
        means = df.groupby(["codec_id", "q"], sort=False)[["bpp", "psnr"]].mean()
        ids = {s: codec_from_spec(spec)[0].id for s, spec in specs.items()}
        targets = means.loc[ids["jpeg"]]["psnr"].to_numpy()
        print(f"{len(df['image'].unique())} Kodak images; JPEG ladder PSNR targets: {np.round(targets, 2).tolist()}")
        print(f"JPEG bpp: {np.round(means.loc[ids['jpeg']]['bpp'].to_numpy(), 3).tolist()}\n")
        for short in args.codecs.split(","):
            curve = means.loc[ids[short]].reset_index().sort_values("psnr")
            qs = curve["q"].to_numpy()
            use_log = short.startswith(("jxl", "jpeg2000"))
            x = np.log(qs) if use_log else qs
            ladder = []
            for t in targets:
                q = float(np.interp(t, curve["psnr"].to_numpy(), x))
                ladder.append(_round(specs[short], math.exp(q) if use_log else q))
            ladder = list(dict.fromkeys(ladder))
            check = qualitykit.bench(corpus, [f"{short}:q={'/'.join(f'{q:g}' for q in ladder)}"], ["psnr"],
                                     out=Path(tmp, "check"), jobs=args.jobs, cache=cache, report=False).table  # fmt: skip
            got = check.groupby("q", sort=False)[["bpp", "psnr"]].mean()
            print(f"{short:22} ladder = ({', '.join(f'{q:g}' for q in ladder)})")
            print(f"{'':22} PSNR {got['psnr'].min():.2f}–{got['psnr'].max():.2f} dB, bpp {got['bpp'].min():.3f}–{got['bpp'].max():.3f}")


if __name__ == "__main__":
    main()
