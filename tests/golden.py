"""The golden end-to-end run: pinned results of a small ``qk bench``, so any change to numbers is a reviewed diff.

The run: the built-in ``sample`` corpus (3 images) × ``jpeg,webp`` (their default ladders) ×
``psnr,ssim,ms-ssim,vmaf``, on the CPU, with a fresh cache. :data:`EXPECTED` holds its
``results.csv`` byte for byte, less the columns that vary from run to run (:data:`TIMINGS`:
wall-clock seconds). ``tests/test_golden.py`` reruns it and compares the text exactly.

Regenerate after an intended change of numbers (or of codec/metric library versions, which enter
``encode_key`` and the scores), and review the diff::

    python -m tests.golden --write
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
from pathlib import Path

EXPECTED = Path(__file__).resolve().parent / "expected" / "golden_sample_results.csv"
CODECS = ("jpeg", "webp")
METRICS = ("psnr", "ssim", "ms-ssim", "vmaf")
#: Columns of ``results.csv`` that are measurements of time, not results: left out of the pin.
TIMINGS = ("encode_s", "decode_s")


def pinned_columns(results_csv: str) -> str:
    """``results.csv``'s text less :data:`TIMINGS`, every other field kept exactly as written."""
    rows = list(csv.reader(io.StringIO(results_csv)))
    keep = [i for i, name in enumerate(rows[0]) if name not in TIMINGS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([row[i] for i in keep])
    return out.getvalue()


def run_golden(folder: Path) -> tuple[str, dict[str, str]]:
    """Run the golden grid into ``folder`` (run directory and a fresh cache); return the pinned text
    and the metrics the run could not compute (name → reason)."""
    import qualitykit

    result = qualitykit.bench(
        "sample", codecs=list(CODECS), metrics=list(METRICS), out=folder / "run", cache=folder / "cache.sqlite",
        report=False, jobs=2, device="cpu",
    )  # fmt: skip
    text = (result.run_dir / "results.csv").read_text(encoding="utf-8")
    return pinned_columns(text), dict(result.metrics_unavailable)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.golden", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {EXPECTED.name} (otherwise: compare with it)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="qk-golden-") as tmp:
        text, unavailable = run_golden(Path(tmp))
    if unavailable:
        print(f"metrics unavailable here, not writing: {unavailable}", file=sys.stderr)
        return 1
    if args.write:
        EXPECTED.parent.mkdir(parents=True, exist_ok=True)
        EXPECTED.write_text(text, encoding="utf-8")
        print(f"wrote {EXPECTED} ({text.count(chr(10)) - 1} rows)")
        return 0
    same = EXPECTED.is_file() and EXPECTED.read_text(encoding="utf-8") == text
    print("identical" if same else f"differs from {EXPECTED}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
