"""Claim checks: the syntax, the YAML form, and verdicts against a run whose BD-rates are known exactly."""

from __future__ import annotations

import json

import pytest

from qualitykit.claims import EXAMPLES, Claim, check_claims, load_claims, parse_claims, verdict
from qualitykit.cli import main
from qualitykit.errors import BadInput
from .rundir_fixtures import synthetic_run


def test_the_one_line_syntax():
    claims = parse_claims(EXAMPLES["ai-codecs"])
    assert [(c.codec_label, c.anchor_label, c.lo, c.hi) for c in claims] == [
        ("neural", "jpeg", 40, 60), ("neural", "webp", 20, 30), ("neural", "avif", 10, 20)]  # fmt: skip
    assert all(c.metrics == ("ms-ssim", "vmaf", "lpips") for c in claims)
    more = parse_claims("avif vs jpeg 30-50% at equal psnr and ssim; webp vs. jpeg 10 to 20 % smaller")
    assert [(c.codec_label, c.anchor_label, c.lo, c.hi, c.metrics) for c in more] == [
        ("avif", "jpeg", 30, 50, ("psnr", "ssim")), ("webp", "jpeg", 10, 20, ())]  # fmt: skip
    for bad, why in [("neural is better", "CODEC vs ANCHOR"), ("neural vs jpeg lots", "not ANCHOR LO..HI"),
                     ("neural vs jpeg 60..40 %", "runs backwards"), ("", "no claim given")]:  # fmt: skip
        with pytest.raises(BadInput, match=why):
            parse_claims(bad)


def test_the_yaml_form(tmp_path):
    f = tmp_path / "claims.yaml"
    f.write_text("claims:\n  - codec: neural\n    against: {jpeg: 40..60, webp: [20, 30]}\n    metrics: [ms-ssim, vmaf]\n"
                 "  - avif vs jpeg 30..50 % at equal psnr\n")  # fmt: skip
    claims = load_claims(f)
    assert claims == [
        Claim("neural", "jpeg", 40, 60, ("ms-ssim", "vmaf"), "neural vs jpeg 40..60 % at equal ms-ssim, vmaf"),
        Claim("neural", "webp", 20, 30, ("ms-ssim", "vmaf"), "neural vs webp 20..30 % at equal ms-ssim, vmaf"),
        Claim("avif", "jpeg", 30, 50, ("psnr",), "avif vs jpeg 30..50 % at equal psnr"),
    ]
    f.write_text("claims:\n  - codec: neural\n")
    with pytest.raises(BadInput, match="needs codec: and against:"):
        load_claims(f)


@pytest.mark.parametrize(
    "interval,expected",
    [((42, 55), "confirmed"), ((40, 60), "confirmed"), ((20, 35), "contradicted"), ((-30, -10), "contradicted"),
     ((61, 70), "exceeded"), ((35, 45), "inconclusive"), ((55, 65), "inconclusive"), ((30, 70), "inconclusive"),
     ((None, None), "not measured")],  # fmt: skip
)
def test_verdicts(interval, expected):
    """A claimed saving of 40..60 %: beating its better end is ``exceeded``, never ``contradicted``."""
    assert verdict(*interval, 40, 60) == expected


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return synthetic_run(tmp_path_factory.mktemp("claims") / "run")


def test_claims_against_exact_bd_rates(run):
    # AVIF needs exactly 30 % fewer bytes than JPEG on every metric; WebP 20 % (MS-SSIM interval 19.7–20.0 %)
    check = check_claims(run, "avif vs jpeg 25..35 %, webp 40..60 % at equal psnr, lpips; webp vs jpeg 19.9..25 % at equal ms-ssim; "
                              "avif vs jpeg 10..20 % at equal ms-ssim, ssimulacra2; avif vs heic 10..20 %", n_boot=200)  # fmt: skip
    t = check.table.set_index(["codec_label", "anchor_label", "claimed", "metric"])
    assert t.loc[("avif", "jpeg", "25..35 %", "psnr"), "verdict"] == "confirmed"
    assert t.loc[("avif", "jpeg", "25..35 %", "psnr"), "saving"] == pytest.approx(30.0)
    assert t.loc[("avif", "webp", "40..60 %", "lpips"), "verdict"] == "contradicted"  # 12.5 %, not 40–60 %
    assert t.loc[("avif", "webp", "40..60 %", "psnr"), "saving"] == pytest.approx(12.5)
    assert t.loc[("webp", "jpeg", "19.9..25 %", "ms-ssim"), "verdict"] == "inconclusive"
    assert t.loc[("avif", "jpeg", "10..20 %", "ms-ssim"), "verdict"] == "exceeded"  # 30 % saved: more than claimed
    missing = t.loc[("avif", "jpeg", "10..20 %", "ssimulacra2")]
    assert missing["verdict"] == "not measured" and "not measured in this run" in missing["conditions"]
    assert t.loc[("avif", "heic", "10..20 %", "all"), "verdict"] == "not measured"
    assert all(check.table.loc[check.table["method"] == "BD-rate", "conditions"].str.contains("interval from 6 images only"))
    assert check.exit_code == 1
    md = check.markdown()
    assert md.startswith("| claim (saving) | metric | method |") and "**confirmed**" in md and "**contradicted**" in md
    assert "**exceeded**" in md and "| AVIF vs JPEG: 10..20 % |" in md
    assert "12.5 % smaller" in md  # AVIF against WebP


def test_qk_claim(run, tmp_path, capsys):
    assert main(["claim", str(run), "avif vs jpeg 25..35 % at equal psnr", "--bootstrap", "50"]) == 0
    out = capsys.readouterr().out
    assert "confirmed" in out and "30.0 % smaller" in out and "1 confirmed." in out
    assert main(["claim", str(run), "--example", "ai-codecs", "--json", "--markdown", str(tmp_path / "c.md")]) == 4
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert {r["verdict"] for r in rows} == {"not measured"} and "no codec 'neural'" in rows[0]["conditions"]
    assert (tmp_path / "c.md").read_text().count("\n") == 2 + len(rows)
    assert main(["claim", str(run)]) == 2 and "give one of" in capsys.readouterr().err


@pytest.mark.parametrize(
    "claim, word, code",
    [("avif vs jpeg 25..35 % at equal psnr", "confirmed", 0),
     ("avif vs jpeg 10..20 % at equal psnr", "exceeded", 5),
     ("avif vs webp 40..60 % at equal psnr", "contradicted", 1),
     ("webp vs jpeg 19.9..25 % at equal ms-ssim", "inconclusive", 3),
     ("avif vs jpeg 25..35 % at equal ssimulacra2", "not measured", 4)],  # fmt: skip
)
def test_each_verdict_word_has_its_own_exit_status(run, capsys, claim, word, code):
    # exact savings: AVIF 30 % against JPEG, 12.5 % against WebP; WebP 20 % against JPEG (MS-SSIM interval 19.x–20.0 %)
    assert main(["claim", str(run), claim, "--bootstrap", "200"]) == code
    out = capsys.readouterr().out
    assert f"1 {word}." in out and f"Exit status {code}." in out


def test_the_worst_verdict_decides_the_exit_status(run):
    check = check_claims(run, "avif vs jpeg 25..35 %, webp 40..60 % at equal psnr; avif vs jpeg 10..20 % at equal psnr",
                         n_boot=50)  # fmt: skip
    assert set(check.table["verdict"]) == {"confirmed", "contradicted", "exceeded"} and check.exit_code == 1
    check = check_claims(run, "avif vs jpeg 25..35 % at equal psnr; avif vs jpeg 10..20 % at equal psnr", n_boot=50)
    assert check.exit_code == 5


def test_qk_claim_help_lists_every_verdict_and_exit_status(capsys):
    with pytest.raises(SystemExit) as done:
        main(["claim", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for word in ("confirmed", "exceeded", "contradicted", "inconclusive", "not measured"):
        assert f"  {word} " in out
    assert "3 a row inconclusive" in out and "5 a row exceeded" in out


def test_a_learned_codec_is_named_by_its_model_in_every_row(tmp_path):
    import json

    run_dir = synthetic_run(tmp_path / "run")
    data = json.loads((run_dir / "manifest.json").read_text())
    data["codecs"][2]["settings"]["model"] = "qk-hyperprior-v1"  # the AVIF curves, as if a learned model made them
    (run_dir / "manifest.json").write_text(json.dumps(data))
    check = check_claims(run_dir, "avif vs jpeg 25..35 % at equal psnr", n_boot=20)
    assert list(check.table["pair"]) == ["avif (qk-hyperprior-v1) vs JPEG"]
    assert "avif (qk-hyperprior-v1) vs JPEG: 25..35 % smaller" in check.text()
