"""Named metric sets (``--metrics jpeg-ai``) expand to registered metrics at plan time."""

from __future__ import annotations

import pytest

from qualitykit.cli import main
from qualitykit.errors import UnknownName
from qualitykit.metrics import registry
from qualitykit.metrics.sets import METRIC_SETS, expand
from qualitykit.runner.plan import resolve_metrics


@pytest.mark.parametrize("set_name", sorted(METRIC_SETS))
def test_every_member_is_a_registered_metric_and_no_set_shadows_one(set_name) -> None:
    members = METRIC_SETS[set_name].members
    assert members and len(set(members)) == len(members)
    for name in members:
        registry.get(name)  # raises UnknownName if a set names a metric qk does not have
    assert set_name not in registry.names()


def test_expand_keeps_order_and_each_metric_once() -> None:
    jpeg_ai = list(METRIC_SETS["jpeg-ai"].members)
    assert expand(["psnr", "jpeg-ai", "fsim"]) == ["psnr", *jpeg_ai]  # fsim is in the set already
    assert expand(["psnr"]) == ["psnr"]
    assert expand(["vif", "jpeg-ai"]) == ["vif", *jpeg_ai]  # qk's vif is not JPEG AI's: both run
    assert {"jpeg-ai:ms-ssim", "jpeg-ai:vif", "fsim", "jpeg-ai:nlpd", "jpeg-ai:psnr-hvs", "jpeg-ai:vmaf",
            "jpeg-ai:psnr-y", "jpeg-ai:psnr-u", "jpeg-ai:psnr-v"} <= set(jpeg_ai)  # fmt: skip


def test_jpeg_ai_members_other_than_fsim_are_the_jpeg_ai_metrics() -> None:
    """The set computes in JPEG AI's conventions: every member but ``fsim`` comes from
    :mod:`qualitykit.metrics.jpeg_ai` (a name with ':' that no prefix family claims)."""
    for name in METRIC_SETS["jpeg-ai"].members:
        if name != "fsim":
            assert name.startswith("jpeg-ai:") and registry.get(name).__module__ == "qualitykit.metrics.jpeg_ai"


def test_plan_time_expansion_runs_or_explains_every_member() -> None:
    chosen, unavailable = resolve_metrics(["jpeg-ai"], "cpu")
    assert set(chosen) | set(unavailable) == set(METRIC_SETS["jpeg-ai"].members)
    assert all(why for why in unavailable.values())
    with pytest.raises(UnknownName):
        resolve_metrics(["jpeg-ai", "no-such-metric"], "cpu")


def test_qk_metrics_lists_the_sets(capsys) -> None:
    assert main(["metrics"]) == 0
    out = capsys.readouterr().out
    assert "metric sets" in out and "jpeg-ai: " + ", ".join(METRIC_SETS["jpeg-ai"].members) in out
    assert "pyiqa:NAME" in out
