"""The golden end-to-end run (``tests/golden.py``): results identical to the committed file."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests.golden import EXPECTED, TIMINGS, pinned_columns, run_golden


def test_pinned_columns_drop_only_timings() -> None:
    text = "image,encode_s,bpp,decode_s,psnr\na.png,0.01,0.30000000000000004,0.02,31.5\n"
    assert pinned_columns(text) == "image,bpp,psnr\na.png,0.30000000000000004,31.5\n"
    assert set(TIMINGS) == {"encode_s", "decode_s"}


def test_golden_run_is_identical(tmp_path: Path) -> None:
    text, unavailable = run_golden(tmp_path)
    if unavailable:
        pytest.skip(f"metrics unavailable here: {unavailable}")
    expected = EXPECTED.read_text(encoding="utf-8")
    diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), str(EXPECTED), "this run", n=0))
    assert text == expected, f"results changed; review and regenerate with `python -m tests.golden --write`:\n{diff[:4000]}"
