"""``cvvdp`` and ``cvvdp:DISPLAY`` equal ColorVideoVDP's own command line on the same image files.

The pairs are written as BMP files (lossless, the same pixels): cvvdp's command line reads PNG
through imageio's FreeImage plugin, which it downloads on first use (no network in tests), and
every other image format through Pillow.
"""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from qualitykit.errors import UnknownName
from qualitykit.metrics import evaluate, get_metric, registry
from qualitykit.metrics.cvvdp import _package_dir

from .conftest import tolerance

pytestmark = pytest.mark.skipif(_package_dir() is None, reason="cvvdp is not installed (see qualitykit/metrics/cvvdp.py)")


def cli_scores(tmp_path, pairs, display: str) -> list[float]:
    """``cvvdp -t TEST... -r REF... --display DISPLAY --result CSV``: the package's own scores."""
    tests, refs = [], []
    for i, (ref, dist) in enumerate(pairs):
        for label, image, files in (("ref", ref, refs), ("dist", dist, tests)):
            path = tmp_path / f"{label}{i}.bmp"
            Image.fromarray(image).save(path)
            files.append(str(path))
    result = tmp_path / "result.csv"
    command = [sys.executable, "-m", "pycvvdp.run_cvvdp", "-t", *tests, "-r", *refs, "--device", "cpu",
               "--display", display, "--result", str(result), "--quiet"]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=600, cwd=tmp_path)
    with open(result, newline="") as f:
        rows = list(csv.reader(f, skipinitialspace=True))
    assert rows[0] == ["test", "reference", "cvvdp"]
    return [float(row[2]) for row in rows[1:]]


@pytest.mark.slow
@pytest.mark.parametrize("name, display", [("cvvdp", "standard_4k"), ("cvvdp:standard_fhd", "standard_fhd")])
def test_equal_to_the_command_line(tmp_path, photo_pairs, name, display) -> None:
    pairs = [(r[:192, :256].copy(), d[:192, :256].copy()) for r, d in photo_pairs[:3]]
    ours = evaluate([get_metric(name, device="cpu")], [p[0] for p in pairs], [p[1] for p in pairs])[name]
    np.testing.assert_allclose(ours, cli_scores(tmp_path, pairs, display), rtol=0, atol=tolerance(name))
    assert len(set(np.round(ours, 3))) == len(pairs) and all(v < 10 for v in ours)


def test_display_models_and_metadata() -> None:
    cls = registry.get("cvvdp")
    assert (cls.unit, cls.higher_is_better, cls.range, cls.display) == ("JOD", True, (None, 10.0), "standard_4k")
    fhd = registry.get("cvvdp:standard_fhd")
    assert fhd.display == "standard_fhd" and get_metric("cvvdp:standard_fhd", device="cpu").version.endswith("+standard_fhd")
    with pytest.raises(UnknownName, match="unknown cvvdp display model 'no_such_display'"):
        registry.get("cvvdp:no_such_display")
