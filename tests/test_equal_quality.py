"""Equal-quality targets: per image and codec, the smallest file reaching a score, searched over the codec's own scale."""

from __future__ import annotations

import pandas as pd
import pytest

import qualitykit
from qualitykit.analysis.targets import summarize_targets
from qualitykit.codecs import codec_from_spec
from qualitykit.cli import main
from qualitykit.equal_quality import TARGETS, Scale, codec_scale, parse_targets, read_targets
from qualitykit.errors import BadInput, UnknownName
from qualitykit.imageio import load_rgb
from qualitykit.metrics import registry
from qualitykit.store import Store, encode_key

TINY = "learned:tests.fake_codecs.TinyLearned"


def test_target_syntax():
    ts = parse_targets(["ms-ssim=0.98,vmaf=90", "lpips=0.2"])
    assert [t.spec for t in ts] == ["ms-ssim=0.98", "vmaf=90", "lpips=0.2"]
    assert [t.higher_is_better for t in ts] == [True, True, False]
    assert ts[0].reached(0.981) and not ts[0].reached(0.979) and ts[2].reached(0.15) and not ts[2].reached(float("nan"))
    with pytest.raises(UnknownName, match="did you mean 'ms-ssim'"):
        parse_targets("ms-sim=0.98")
    with pytest.raises(BadInput, match="METRIC=VALUE"):
        parse_targets("ms-ssim")
    with pytest.raises(BadInput, match="scores lie in"):
        parse_targets("ms-ssim=1.5")


def test_scales_and_directions_come_from_the_codecs():
    jpeg = codec_scale(codec_from_spec("jpeg")[0])
    assert (jpeg.kind, jpeg.lo, jpeg.hi, jpeg.up) == ("integer", 1, 100, True)
    j2k = codec_scale(codec_from_spec("jpeg2000")[0])
    assert j2k.kind == "continuous" and j2k.up and j2k.log  # target bpp 0.01..12: log steps
    tiny = codec_scale(codec_from_spec(TINY)[0])
    assert tiny.kind == "discrete" and tiny.values == (1, 2, 3, 4)
    # CompressAI models through `neural`: the bundled model's 4 qualities, the zoo's 8 (no download needed)
    assert codec_scale(codec_from_spec("neural")[0]).values == (1, 2, 3, 4)
    assert codec_scale(codec_from_spec("neural:bmshj2018-hyperprior")[0]).values == tuple(range(1, 9))
    # a distance scale (JPEG XL): lower q = more bytes, declared by its ladder written fewest bytes first
    dist = Scale("continuous", 0.05, 25.0, up=False, log=True)
    assert dist.q_at(0.0) == 25.0 and dist.q_at(1.0) == 0.05 and dist.u_of(dist.q_at(0.3)) == pytest.approx(0.3, abs=1e-3)
    try:
        jxl = codec_scale(codec_from_spec("jxl")[0])
    except Exception:  # imagecodecs without JPEG XL here
        return
    assert jxl.kind == "continuous" and not jxl.up


@pytest.fixture(scope="module")
def target_run(tmp_path_factory):
    from PIL import Image
    from skimage import data

    root = tmp_path_factory.mktemp("eq")
    corpus = root / "corpus"
    corpus.mkdir()
    for i, (y, x) in enumerate([(0, 0), (250, 200), (100, 300)]):
        Image.fromarray(data.astronaut()[y : y + 176, x : x + 200]).save(corpus / f"crop{i}.png")
    cache = root / "cache.sqlite"
    result = qualitykit.bench(corpus, ["jpeg:q=20/50/80", "webp:q=20/50/80", TINY], ["psnr"], out=root / "run",
                              jobs=2, cache=cache, targets=["psnr=31", "psnr=45"])  # fmt: skip
    return result, corpus, cache


def test_every_chosen_file_reaches_the_target_and_the_next_smaller_setting_does_not(target_run):
    result, corpus, cache = target_run
    t = result.targets
    assert len(t) == 2 * 3 * 3 and (result.run_dir / TARGETS).is_file()
    psnr = registry.get("psnr")()
    with Store(cache) as store:
        for r in t.itertuples():
            codec, _ = codec_from_spec(r.codec_id)
            versions = codec.versions()
            ref = load_rgb(corpus / r.image)
            sha = next(i.sha256 for i in result.manifest.dataset.images if i.image == r.image)
            if not r.reached:
                assert "cannot reach" in r.note
                continue
            # the chosen bitstream, decoded again and scored here, reaches the target
            e = store.get_encode(encode_key(sha, r.codec_id, r.q, versions))
            assert e is not None and e.bytes == r.bytes
            score = psnr.compute([ref], [codec.decode(e.bitstream)])[0]
            assert score == pytest.approx(r.score) and score >= r.value
            scale = codec_scale(codec)
            if scale.kind == "integer" and r.q > scale.lo:
                below = store.get_encode(encode_key(sha, r.codec_id, r.q - 1, versions))
                assert below is not None  # the search probed the neighbour below and it fell short
                assert psnr.compute([ref], [codec.decode(below.bitstream)])[0] < r.value
            if scale.kind == "discrete":
                assert "nearest setting at or above the target" in r.note


def test_a_rerun_costs_nothing_and_gives_the_same_answer(target_run, tmp_path):
    result, corpus, cache = target_run
    again = qualitykit.bench(corpus, ["jpeg:q=20/50/80", "webp:q=20/50/80", TINY], ["psnr"], out=tmp_path / "again",
                             jobs=2, cache=cache, targets=["psnr=31", "psnr=45"], report=False)  # fmt: skip
    assert again.work.encoded == 0 and again.work.scored == 0
    pd.testing.assert_frame_equal(again.targets.reset_index(drop=True), result.targets.reset_index(drop=True))


def test_unreachable_targets_are_counted_and_named(target_run):
    result, _, _ = target_run
    s = summarize_targets(read_targets(result.run_dir), n_boot=100)
    tot = s.totals.set_index(["target", "codec_label"])
    # the tiny learned model tops out near 40 dB: 45 dB is out of its reach on every image, and each is named
    tiny = tot.loc[("psnr=45", TINY)]
    assert tiny["reached"] == 0 and all(f"crop{i}.png (cannot reach psnr ≥ 45: best is" in tiny["not_reached"] for i in range(3))
    assert tot.loc[("psnr=31", TINY), "reached"] == 3
    for r in result.targets[~result.targets["reached"]].itertuples():
        assert r.image in tot.loc[(r.target, r.codec_label), "not_reached"] and "cannot reach" in r.note
    assert pd.isna(s.saving("psnr=45", TINY, "jpeg")["delta"])  # no image where both reach it
    sav = s.saving("psnr=31", "webp", "jpeg")
    assert sav["delta"] < 0 and sav["ci_low"] <= sav["delta"] <= sav["ci_high"]
    # Δ bytes is the ratio of the totals over the images both reach
    t = result.targets[result.targets["target"] == "psnr=31"].pivot(index="image", columns="codec_label", values="bytes")
    assert sav["delta"] == pytest.approx(100 * (t["webp"].sum() / t["jpeg"].sum() - 1))


def test_targets_reach_the_report_and_the_cli(target_run, tmp_path, capsys):
    result, corpus, cache = target_run
    page = result.report.read_text(encoding="utf-8")
    assert "Equal quality, per image" in page and "psnr=31" in page and "nearest setting at or above the target" in page
    code = main(["bench", "--dataset", str(corpus), "--codecs", "jpeg:q=20/50/80,webp:q=20/50/80", "--metrics", "psnr",
                 "--target", "psnr=31", "--cache", str(cache), "--out", str(tmp_path / "cli"), "--jobs", "2", "--no-report"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "Per image at PSNR = 31" in out and "@psnr=31" in out
    assert (tmp_path / "cli" / TARGETS).is_file()
