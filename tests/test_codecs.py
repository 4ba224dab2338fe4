import io

import numpy as np
import pytest
from PIL import Image

from qualitykit.codecs import codec_from_spec, registry, split_specs
from qualitykit.errors import BadInput, QKError


@pytest.mark.parametrize("name", ["jpeg", "webp", "avif"])
def test_round_trip_shape_dtype_and_real_bytes(name, astronaut):
    image = astronaut[:150, :203]  # odd size on purpose
    codec, ladder = codec_from_spec(name)
    data = codec.encode(image, ladder[len(ladder) // 2])
    assert isinstance(data, bytes) and len(data) > 100
    out = codec.decode(data)
    assert out.shape == image.shape and out.dtype == np.uint8
    # the bytes are a complete file any decoder reads, not an estimate
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == codec.format and im.size == (203, 150)
    # lossy but close
    assert np.abs(out.astype(int) - image).mean() < 20


@pytest.mark.parametrize("name", ["jpeg", "webp", "avif"])
def test_quality_ladder_is_monotone_in_size(name, astronaut):
    codec, ladder = codec_from_spec(name)
    sizes = [len(codec.encode(astronaut[:128, :128], q)) for q in ladder]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


def test_spec_parsing_ladder_and_explicit_id():
    codec, ladder = codec_from_spec("jpeg:subsampling=444:q=10/25/50")
    assert ladder == (10.0, 25.0, 50.0)
    assert codec.id == "jpeg:optimize=0:progressive=0:subsampling=444"
    assert codec_from_spec(codec.id)[0].id == codec.id  # ids are specs
    assert codec_from_spec("webp")[0].id == "webp:method=4"
    assert codec_from_spec("avif:speed=4")[0].id == "avif:encoder=aom:speed=4:subsampling=420:tune=iq"  # tune is explicit since it changes the bitstream
    assert split_specs("jpeg:q=10/20,avif:speed=4") == ["jpeg:q=10/20", "avif:speed=4"]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("jpeg:bogus=1", "unknown setting(s) bogus"),
        ("jpeg:subsampling=411", "use one of 444, 422, 420"),
        ("webp:method=fast", "expected int"),
        ("jpeg:q=10/x", "quality ladder"),
        ("jpeg:q=0/50", "outside 1..100"),
        ("jpeg:optimize", "is not key=value"),
        ("nosuch", "unknown codec 'nosuch'"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec, message):
    with pytest.raises(QKError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        codec_from_spec(spec)


def test_jpeg_settings_reach_the_encoder(astronaut):
    image = astronaut[:128, :128]
    sizes = {s: len(codec_from_spec(f"jpeg:subsampling={s}")[0].encode(image, 75)) for s in ("420", "444")}
    assert sizes["444"] > sizes["420"]
    progressive = codec_from_spec("jpeg:progressive=1")[0].encode(image, 75)
    with Image.open(io.BytesIO(progressive)) as im:
        assert im.info.get("progressive") == 1


def test_versions_name_the_libraries():
    assert "libjpeg_turbo" in codec_from_spec("jpeg")[0].versions()
    assert "webp" in codec_from_spec("webp")[0].versions()
    assert "libavif" in codec_from_spec("avif")[0].versions()
    assert {"jpeg", "webp", "avif"} <= set(registry.names())


def test_one_codec_twice_in_a_run_is_refused(small_corpus):
    from qualitykit.datasets import resolve
    from qualitykit.runner import make_plan

    with pytest.raises(BadInput, match="are the same codec"):
        make_plan(resolve(small_corpus), ["jpeg", "jpeg:q=10/20"], ["psnr"])
