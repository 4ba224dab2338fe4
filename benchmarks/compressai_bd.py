"""BD-rate of CompressAI's published learned models against JPEG, WebP, AV1 and VTM on Kodak.

    python benchmarks/compressai_bd.py --compressai-results DIR [--write]

DIR is CompressAI's ``results/image/kodak`` folder (e.g. from a checkout of
github.com/InterDigitalInc/CompressAI); its files are read there, never copied into this
repository. Every learned-model curve (``compressai-*_cpu.json``: CompressAI's own runs;
``paper-*.json``: the papers' numbers; ``*-vbr-*``: variable-rate models) is compared with each
classic anchor on PSNR and on MS-SSIM where the file has it (MS-SSIM given in dB is read back as
MS-SSIM), with qk's range rule: every number says the quality range it holds over and the overlap
(of the narrower curve's range, and of both); a file without a metric's curve gives no row for it.
With ``--write`` the table goes to the ``compressai-bd`` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
from _results import machine, write_section

import qualitykit

ANCHORS = ("jpeg.json", "webp.json", "av1.json", "vtm.json")


def learned(folder: Path) -> list[Path]:
    files = sorted(folder.glob("compressai-*_cpu.json")) + sorted(folder.glob("*-vbr-*.json")) + sorted(folder.glob("paper-*.json"))
    return [f for f in files if f.name not in ANCHORS]


def table(folder: Path) -> pd.DataFrame:
    anchors = [folder / a for a in ANCHORS]
    tests = learned(folder)
    rows = qualitykit.bd_matrix(tests, ["psnr", "ms-ssim"], anchors)
    return rows[rows["reason"] != "no curve"].reset_index(drop=True)


def markdown(rows: pd.DataFrame) -> str:
    def cell(r: pd.Series) -> str:
        if pd.isna(r["bd_rate"]):
            return f"n/a ({r['reason']})"
        unit = f" {r['unit']}" if r["unit"] else ""
        only = " only" if r["partial"] else ""
        return f"{r['bd_rate']:+.1f} % <br><sub>{r['range_lo']:.4g}–{r['range_hi']:.4g}{unit}{only}; {r['overlap']:.0%} / {r['union']:.0%}</sub>"

    out = []
    for metric in ("psnr", "ms-ssim"):
        sub = rows[rows["metric"] == metric]
        anchors = list(dict.fromkeys(sub["anchor_label"]))
        out.append(f"#### {metric.upper()}\n")
        out.append("| learned model (file) | " + " | ".join(f"vs {a}" for a in anchors) + " |")
        out.append("|---|" + "---:|" * len(anchors))
        for codec_path, g in sub.groupby("codec_path", sort=False):
            by = {r["anchor_label"]: r for _, r in g.iterrows()}
            name = Path(codec_path).stem
            conv = " (MS-SSIM from dB)" if any("converted from dB" in (r["note"] or "") for r in by.values()) else ""
            out.append(f"| `{name}`{conv} | " + " | ".join(cell(by[a]) if a in by else "—" for a in anchors) + " |")
        out.append("")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compressai-results", type=Path, required=True, metavar="DIR")
    ap.add_argument("--write", action="store_true", help="write the compressai-bd section of benchmarks/RESULTS.md")
    args = ap.parse_args()
    folder = args.compressai_results
    if not all((folder / a).is_file() for a in ANCHORS):
        sys.exit(f"{folder}: expected CompressAI's results/image/kodak folder ({', '.join(ANCHORS)} and the learned models)")
    rows = table(folder)
    done = rows["bd_rate"].notna()
    body = "\n".join([
        "## CompressAI's published Kodak curves: every learned model against JPEG, WebP, AV1 and VTM",
        "",
        f"Machine: {machine()}. Date: {time.strftime('%Y-%m-%d', time.gmtime())}. "
        "Command: `python benchmarks/compressai_bd.py --compressai-results DIR --write` (DIR: CompressAI's "
        "`results/image/kodak`, read in place; `qk bdrate --anchor DIR/jpeg.json ... DIR/compressai-*_cpu.json "
        "--metric psnr,ms-ssim` prints the same numbers).",
        "",
        f"{int(done.sum())} of {len(rows)} learned-model × anchor × metric pairs get a number (every pair where the file "
        "has the metric). Each cell: BD-rate of the learned model against the anchor (negative: fewer bytes at equal "
        "quality), PCHIP on log10 rate, exact integral; below it the quality range it holds over and the overlap as a "
        "fraction of the narrower curve's range / of both ranges; \"only\" marks numbers over less than 75 % of the union "
        "(a model whose curve lies inside the anchor's: the number holds where both were measured). Rule: refused only "
        f"below a third of the narrower range or 2 of its points; the smallest overlap here is {rows.loc[done, 'overlap'].min():.0%} "
        "of the narrower range. The old rule (overlap ≥ 50 % of the union) would have refused "
        f"{int((rows.loc[done, 'union'] < 0.5).sum())} of these.",
        "",
        markdown(rows),
    ])  # fmt: skip
    print(body)
    if args.write:
        write_section("compressai-bd", body)


if __name__ == "__main__":
    main()
