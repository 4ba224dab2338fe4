"""What every benchmark script shares: where Kodak is, how to name the machine, how to write RESULTS.md."""

from __future__ import annotations

import os
import platform
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
KODAK = HERE.parent.parent / "shared" / "datasets" / "kodak"


def machine() -> str:
    """``"2-core AMD EPYC …, no GPU, Python 3.11.7"``: the line every figure is quoted with."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    import torch

    gpu = f"GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "no GPU"
    return f"{os.cpu_count()}-core {cpu}, {gpu}, Python {platform.python_version()}"


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
