"""What each newer codec promises beyond the shared contract (test_codec_contract.py): its settings
reach the encoder, its quality scale means what the docs say, and refusals name what is allowed."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from qualitykit.codecs import codec_from_spec, registry
from qualitykit.errors import BadInput, QKError


def need(name: str) -> None:
    why = registry.get(name).available()
    if why:
        pytest.skip(f"{name} unavailable here: {why}")


@pytest.fixture(scope="module")
def photo(astronaut) -> np.ndarray:
    return np.ascontiguousarray(astronaut[:128, :160])


@pytest.mark.parametrize(
    "spec, message",
    [
        ("avif:speed=99", "avif: speed=99 is outside 0..10"),
        ("avif:speed=-1", "outside 0..10"),
        ("webp:method=7", "webp: method=7 is outside 0..6"),
        ("jpeg:q=50/50/50", "quality 50 is repeated"),
        ("jpeg:q=50.5", "not a whole number"),
        ("jpeg:subsamplng=444", "did you mean 'subsampling'"),
        ("avif:tune=vmaf", "tune=vmaf is not allowed"),
        ("avif:encoder=x264", "encoder=x264 is not allowed"),
        ("avif:speed=4:speed=5", "speed is given twice"),
        ("jpeg:q=30:q=50", "q is given twice"),  # not silently the last ladder
        ("jpeg:q=30:quality=50", "quality is given twice"),  # one setting, two spellings
        ("webp:q=30/", "empty element"),
        ("webp:q=30//50", "empty element"),
        ("webp:q=", "empty quality ladder"),
        ("jxl:effort=11", "effort=11 is outside 1..10"),
        ("jxl:q=30", "outside 0.05..25"),
        ("jpeg2000:codeblock=128", "codeblock=128 is not allowed"),
        ("heic:preset=slowest", "did you mean slower"),
        ("mozjpeg:tables=9", "tables=9 is outside 0..8"),
        ("jpegli:decoder=libjpeg", "use one of turbo, jpegli"),
    ],
)
def test_refusals_name_what_is_allowed(spec, message):
    with pytest.raises(QKError, match=message):
        codec_from_spec(spec)


def test_avif_encoder_must_be_compiled_in():
    from qualitykit.codecs.avif import ENCODERS, _encoders_here

    missing = [e for e in ENCODERS if e not in _encoders_here()]
    if not missing:
        pytest.skip("this libavif has every encoder")
    with pytest.raises(BadInput, match=f"encoder={missing[0]} is not supported by the library installed here \\(available here: aom"):
        codec_from_spec(f"avif:encoder={missing[0]}")


def test_avif_tune_and_444_reach_the_encoder(photo):
    from qualitykit.codecs.avif import _tunes_here

    sizes = {}
    for tune in ("ssim", "psnr"):
        if tune not in _tunes_here():
            pytest.skip(f"libaom here lacks tune={tune}")
        sizes[tune] = codec_from_spec(f"avif:speed=8:tune={tune}")[0].encode(photo, 50)
    assert sizes["ssim"] != sizes["psnr"]
    s420 = len(codec_from_spec("avif:speed=8")[0].encode(photo, 50))
    s444 = len(codec_from_spec("avif:speed=8:subsampling=444")[0].encode(photo, 50))
    assert s444 > s420


def test_jxl_distance_scale_and_effort(photo):
    need("jxl")
    codec, ladder = codec_from_spec("jxl")
    assert ladder[0] > ladder[-1], "distance ladder is written from fewest to most bytes"
    assert len(codec.encode(photo, 3.0)) < len(codec.encode(photo, 1.0))
    assert codec.encode(photo, 1.0)[:2] == b"\xff\x0a", "a bare JPEG XL codestream"
    fast = codec_from_spec("jxl:effort=3")[0]
    assert fast.encode(photo, 1.0) != codec.encode(photo, 1.0)
    assert codec.versions()["libjxl"][0].isdigit()


def test_jpeg2000_hits_the_target_rate(photo):
    need("jpeg2000")
    codec, _ = codec_from_spec("jpeg2000")
    for bpp in (0.25, 1.0):
        data = codec.encode(photo, bpp)
        assert abs(len(data) * 8 / (128 * 160) - bpp) / bpp < 0.05
        assert data[:4] == b"\xff\x4f\xff\x51"  # SOC, SIZ: a bare codestream
    jp2 = codec_from_spec("jpeg2000:container=jp2")[0].encode(photo, 0.5)
    assert jp2[4:8] == b"jP  "
    tiny = np.ascontiguousarray(photo[:5, :7])
    assert codec.decode(codec.encode(tiny, 4.0)).shape == (5, 7, 3), "small images get fewer resolution levels"


def test_heic_chroma_reaches_the_encoder(photo):
    need("heic")
    import pillow_heif

    data = {c: codec_from_spec(f"heic:subsampling={c}:preset=fast")[0].encode(photo, 50) for c in ("420", "444")}
    assert data["444"] != data["420"] and b"heix" in data["444"][:32]  # the 4:4:4 (RExt) brand
    assert pillow_heif.open_heif(io.BytesIO(data["444"])).info["chroma"] == 444


def test_mozjpeg_is_mozjpeg(photo):
    need("mozjpeg")
    codec, _ = codec_from_spec("mozjpeg")
    data = codec.encode(photo, 75)
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG" and im.info.get("progressive") == 1  # mozjpeg's default scan script
    turbo = codec_from_spec("jpeg")[0].encode(photo, 75)
    assert len(data) < len(turbo)
    assert len(codec_from_spec("mozjpeg:tables=0")[0].encode(photo, 75)) != len(data)
    s444 = codec_from_spec("mozjpeg:subsampling=444")[0].encode(photo, 75)
    assert len(s444) > len(data)


def test_jpegli_decoder_choice(photo):
    need("jpegli")
    turbo = codec_from_spec("jpegli")[0]
    own = codec_from_spec("jpegli:decoder=jpegli")[0]
    data = turbo.encode(photo, 75)
    assert own.encode(photo, 75) == data, "the decoder setting does not change the file"
    a, b = turbo.decode(data), own.decode(data)
    assert a.shape == b.shape == photo.shape and not np.array_equal(a, b)
    assert "libjpeg_turbo" in turbo.versions() and "libjpeg_turbo" not in own.versions()
