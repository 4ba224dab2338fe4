"""Butteraugli through butteraugli_main, against the reference scores in ../shared (88 Kodak pairs)."""

from __future__ import annotations

import csv
import hashlib
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from qualitykit.errors import Unavailable
from qualitykit.metrics import evaluate, get_metric, registry
from qualitykit.metrics import butteraugli as qk_butteraugli

from .conftest import KODAK, SHARED, tolerance

REFERENCE = SHARED / "reference" / "ssimulacra2"
NAMES = ("butteraugli", "butteraugli-3norm")

pytestmark = pytest.mark.skipif(
    qk_butteraugli.find_butteraugli()[0] is None,
    reason=f"{qk_butteraugli.find_butteraugli()[1]} (apt-get install libjxl-devtools; .ci/run does)",
)


def reference_pairs(every: int = 1) -> list[tuple[np.ndarray, np.ndarray, dict[str, str]]]:
    """(reference, Pillow-decoded bitstream, CSV row), the decode checked against the CSV's pixel hash."""
    if not (REFERENCE / "reference.csv").is_file() or not KODAK.is_dir():
        pytest.skip(f"reference scores not found at {REFERENCE} (../shared beside the checkout)")
    with open(REFERENCE / "reference.csv", newline="") as f:
        rows = list(csv.DictReader(f))[::every]
    pairs = []
    for row in rows:
        with Image.open(KODAK / row["reference"]) as im:
            ref = np.asarray(im.convert("RGB"))
        with Image.open(REFERENCE / "streams" / row["bitstream"]) as im:
            dist = np.asarray(im.convert("RGB"))
        assert hashlib.sha256(dist.tobytes()).hexdigest() == row["decoded_sha256"], row["bitstream"]
        pairs.append((ref, dist, row))
    return pairs


def _check(pairs) -> None:
    ours = evaluate([get_metric(n) for n in NAMES], [p[0] for p in pairs], [p[1] for p in pairs])
    for i, (_, _, row) in enumerate(pairs):
        # the CSV holds the tool's printed digits: 10 decimals (max norm), 6 (3-norm)
        assert ours["butteraugli"][i] == pytest.approx(float(row["butteraugli_max"]), abs=tolerance("butteraugli")), row["bitstream"]
        assert ours["butteraugli-3norm"][i] == pytest.approx(float(row["butteraugli_3norm"]), abs=tolerance("butteraugli-3norm")), row["bitstream"]


def test_equal_to_reference_scores_sample() -> None:
    pairs = reference_pairs(every=9)  # 10 pairs of 8 images: JPEG, WebP and AVIF, q 10…90 (every 11th was JPEG q10 only)
    assert {p[2]["codec"] for p in pairs} == {"jpeg", "webp", "avif"}
    _check(pairs)


@pytest.mark.slow
def test_equal_to_reference_scores_all_88() -> None:
    _check(reference_pairs())


def test_identical_small_and_version(photo_pairs) -> None:
    ref, dist = photo_pairs[0]
    m = get_metric("butteraugli")
    assert m(ref, ref) == 0.0 and m(ref, dist) > 1
    with pytest.raises(qk_butteraugli.BadInput, match="needs at least 8 px"):
        m(ref[:7, :50].copy(), dist[:7, :50].copy())
    version = qk_butteraugli.tool_version(qk_butteraugli.find_butteraugli()[0])
    assert m.version == f"1+{version}" and (version.startswith("libjxl-devtools ") or version.startswith("sha256:"))
    assert not registry.get("butteraugli").higher_is_better and registry.get("butteraugli-3norm").default


def test_explicit_binary_never_falls_back(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv(qk_butteraugli.ENV, str(tmp_path / "none"))
    assert "QK_BUTTERAUGLI" in (registry.get("butteraugli").available() or "")
    with pytest.raises(Unavailable, match="libjxl-devtools"):
        get_metric("butteraugli-3norm")
    # an explicit copy is used, and named by its hash when no package owns it
    copy = tmp_path / "my-butteraugli"
    monkeypatch.delenv(qk_butteraugli.ENV)
    copy.write_bytes(Path(qk_butteraugli.find_butteraugli()[0]).read_bytes())  # type: ignore[arg-type]
    copy.chmod(copy.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(qk_butteraugli.ENV, str(copy))
    assert get_metric("butteraugli").version == f"1+sha256:{hashlib.sha256(copy.read_bytes()).hexdigest()[:16]}"


def test_a_hung_tool_is_stopped_at_its_time_limit_and_named(tmp_path, monkeypatch):
    """butteraugli_main runs through processes.run_program: a tool that never answers is killed at the
    limit (here 1 s instead of a minute plus 30 s per megapixel) and the error says so."""
    from qualitykit.errors import BadInput

    hung = tmp_path / "butteraugli_main"
    hung.write_text("#!/bin/sh\nsleep 60\n")
    hung.chmod(hung.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(qk_butteraugli, "timeout_for", lambda pixels: 1.0)
    image = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(BadInput, match=r"did not finish a 16x16 pair in 1 s"):
        qk_butteraugli.run_butteraugli(image, image, str(hung), str(tmp_path))
