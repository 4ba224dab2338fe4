"""``psnr-hvsm`` equals the psnr-hvsm package called directly, the way its documentation shows."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from qualitykit.errors import BadInput
from qualitykit.metrics import get_metric

from .conftest import tolerance

with contextlib.redirect_stdout(io.StringIO()):  # it prints a note when its PyTorch backend is missing
    import psnr_hvsm
    from psnr_hvsm.compute_all_metrics import compute_all_metrics


def package_value(ref: np.ndarray, dist: np.ndarray) -> float:
    """The package's README recipe: Y of ``bt601ycbcr``, then ``psnr_hvs_hvsm``; PSNR-HVS-M is the second value."""
    with np.errstate(divide="ignore", invalid="ignore"):  # the package divides where it then masks
        value = float(psnr_hvsm.psnr_hvs_hvsm(psnr_hvsm.bt601ycbcr(ref)[0], psnr_hvsm.bt601ycbcr(dist)[0])[1])
        entry_point = float(compute_all_metrics(ref, dist)[1])
    assert value == pytest.approx(entry_point, abs=1e-12)  # its RGB entry point agrees
    return value


def _check(pairs) -> np.ndarray:
    ours = get_metric("psnr-hvsm").compute([p[0] for p in pairs], [p[1] for p in pairs])
    for value, (ref, dist) in zip(ours, pairs):
        assert value == pytest.approx(package_value(ref, dist), abs=tolerance("psnr-hvsm"))
    return ours


def test_equal_to_the_package_on_photos(photo_pairs) -> None:
    ours = _check(photo_pairs)
    assert len(set(np.round(ours, 3))) == len(photo_pairs) and (np.diff(ours) > 0).all()  # q = 10 … 95


@pytest.mark.slow
def test_equal_to_the_package_on_kodak(kodak_pairs) -> None:
    _check(kodak_pairs)  # landscape and portrait: two batches


def test_odd_sizes_score_the_whole_8x8_blocks(photo_pairs) -> None:
    ref, dist = photo_pairs[1]
    value = get_metric("psnr-hvsm")(ref[:101, :203].copy(), dist[:101, :203].copy())
    assert value == pytest.approx(package_value(ref[:96, :200].copy(), dist[:96, :200].copy()), abs=1e-9)
    with pytest.raises(BadInput, match="needs at least 8 px"):
        get_metric("psnr-hvsm")(ref[:7, :20].copy(), dist[:7, :20].copy())


def test_identical_images_give_100_db(photo_pairs) -> None:
    ref = photo_pairs[0][0]
    assert get_metric("psnr-hvsm")(ref, ref) == 100.0
