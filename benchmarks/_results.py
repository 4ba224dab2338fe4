"""What every benchmark script shares: where Kodak is, how to name the machine, how to write RESULTS.md."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
KODAK = HERE.parent.parent / "shared" / "datasets" / "kodak"


def machine() -> str:
    """``"2-core AMD EPYC …, no GPU, Python 3.11.7"``: the line every figure is quoted with."""
    from qualitykit.provenance import gpu, machine as info

    m = info()
    return f"{m['cpus']}-core {m['cpu']}, {('GPU ' + g) if (g := gpu()) else 'no GPU'}, Python {m['python']}"


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section of RESULTS.md between ``<!-- name -->`` markers."""
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)
