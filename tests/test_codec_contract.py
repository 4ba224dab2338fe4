"""The codec contract, checked for every registered codec (built-in, plugin or defined from a file).

A codec that cannot run here is skipped with the reason it gave, so ``pytest -ra`` lists what
was not checked and why. Entry-point plugins are included: the registry scans them when this
module is collected (see ``test_codec_plugins.py``, which installs one and runs this file).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qualitykit.codecs import codec_from_spec, registry
from qualitykit.codecs.base import _format_value
from qualitykit.errors import BadInput, QKError, UnknownName

#: Specs for codecs whose bare name is not a complete spec.
SPECS = {"learned": "learned:tests.fake_codecs.TinyLearned", "neural": "neural"}
NAMES = registry.names()


def spec_of(name: str) -> str:
    return SPECS.get(name, name)


def built(name: str):
    cls = registry.get(name)
    why = cls.available()
    if why:
        pytest.skip(f"{name} unavailable here: {why}")
    codec, ladder = codec_from_spec(spec_of(name))
    codec.device = "cpu"
    return codec, ladder


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[100:196, 150:279])  # 96 × 129: odd width on purpose


DECODE_ELSEWHERE = r"""
import json, sys
import numpy as np
from qualitykit.codecs import codec_from_spec
for codec_id, path in json.loads(sys.argv[1]):
    codec, _ = codec_from_spec(codec_id)
    codec.device = "cpu"
    np.save(path + ".npy", codec.decode(open(path, "rb").read()))
"""


def decode_in_another_process(items: list[tuple[str, Path]], extra_path: str | None = None) -> list[np.ndarray]:
    """Decode each ``(codec id, bitstream file)`` in a new Python process: only the bytes cross over."""
    import os

    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (extra_path, root, env.get("PYTHONPATH")) if p)
    arg = json.dumps([(codec_id, str(path)) for codec_id, path in items])
    done = subprocess.run([sys.executable, "-c", DECODE_ELSEWHERE, arg], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return [np.load(str(path) + ".npy") for _, path in items]


@pytest.fixture(scope="module")
def elsewhere(image, tmp_path_factory, request) -> dict[str, tuple[bytes, np.ndarray]]:
    """For every selected, available codec: its bitstream at the middle ladder point and that
    file decoded in another process (one process for all of them)."""
    folder = tmp_path_factory.mktemp("bitstreams")
    selected = {item.callspec.params["name"] for item in request.session.items
                if getattr(item, "module", None) is request.module and "name" in getattr(getattr(item, "callspec", None), "params", {})}  # fmt: skip
    items, streams = [], {}
    for name in NAMES:
        if name not in selected or registry.get(name).available():
            continue
        codec, ladder = codec_from_spec(spec_of(name))
        codec.device = "cpu"
        data = codec.encode(image, ladder[len(ladder) // 2])
        path = folder / f"{name}.{codec.extension}"
        path.write_bytes(data)
        items.append((codec.id, path))
        streams[name] = data
    decoded = decode_in_another_process(items)
    return {name: (streams[name], pixels) for name, pixels in zip(streams, decoded)}


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_shape_dtype_and_close(name, image):
    codec, ladder = built(name)
    data = codec.encode(image, ladder[len(ladder) // 2])
    assert isinstance(data, bytes) and len(data) > 8
    out = codec.decode(data)
    assert isinstance(out, np.ndarray) and out.shape == image.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - image).mean() < 25, "middle of the ladder should look like the image"
    assert codec.encode(image, ladder[len(ladder) // 2]) == data, "encoding must be deterministic (the cache relies on it)"


@pytest.mark.parametrize("name", NAMES)
def test_bytes_are_the_whole_file(name, image, elsewhere):
    """Decoding the bytes in a fresh process, from the id alone, gives the same pixels."""
    codec, ladder = built(name)
    data, pixels = elsewhere[name]
    assert np.array_equal(pixels, codec.decode(data))


@pytest.mark.parametrize("name", NAMES)
def test_id_is_a_spec_for_the_same_codec(name):
    codec, _ = built(name)
    again, _ = codec_from_spec(codec.id)
    assert again.id == codec.id and type(again) is type(codec)
    for key, value in codec.options.items():
        assert f"{key}={_format_value(value)}" in codec.id.split(":"), f"setting {key} missing from the id"


@pytest.mark.parametrize("name", NAMES)
def test_ladder_is_monotone_in_size(name, image):
    codec, ladder = built(name)
    sizes = [len(codec.encode(image, q)) for q in ladder]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1], f"ladder {ladder} gives sizes {sizes}"


@pytest.mark.parametrize("name", NAMES)
def test_versions_and_metadata(name):
    codec, ladder = built(name)
    versions = codec.versions()
    assert versions and all(isinstance(k, str) and isinstance(v, str) and v for k, v in versions.items())
    assert codec.extension and "." not in codec.extension
    lo, hi = codec.quality_range
    assert all(lo <= q <= hi for q in ladder) and len(set(ladder)) == len(ladder)


@pytest.mark.parametrize("name", NAMES)
def test_bad_settings_are_refused(name):
    codec, ladder = built(name)
    spec = spec_of(name)
    with pytest.raises(UnknownName, match="unknown setting"):
        codec_from_spec(f"{spec}:no_such_setting=1")
    with pytest.raises(BadInput, match="repeated"):
        codec_from_spec(f"{spec}:q={_format_value(ladder[0])}/{_format_value(ladder[0])}")
    lo, hi = codec.quality_range
    if math.isfinite(hi):
        # outside the scale; a codec with a fixed set of qualities (a learned model) names that set instead
        with pytest.raises(BadInput, match="outside|not one of .* trained qualities"):
            codec_from_spec(f"{spec}:q={_format_value(hi + 1)}")
    for key, setting in codec.settings.items():
        if setting.choices is not None and setting.type is str:
            with pytest.raises(QKError, match=key):
                codec_from_spec(f"{spec}:{key}=no-such-value")
        if setting.range is not None:
            for bad in (setting.range[1] + 1, setting.range[0] - 1):
                with pytest.raises(BadInput, match=f"{key}="):
                    codec_from_spec(f"{spec}:{key}={_format_value(bad)}")


@pytest.mark.parametrize("name", NAMES)
def test_settings_are_declared_setting_objects_and_encode_takes_q(name):
    """``settings`` holds the declared :class:`Setting` objects (not defaults rewritten in place) and
    every codec encodes as ``encode(image, q)``, the ``q`` of a spec and of results.csv."""
    import inspect

    from qualitykit.codecs.base import Setting

    cls = registry.get(name)
    assert all(isinstance(s, Setting) for s in cls.settings.values()), cls.settings
    assert cls.defaults() == {k: s.default for k, s in cls.settings.items()}
    assert all(new in cls.settings and old not in cls.settings for old, new in cls.renamed.items())
    assert list(inspect.signature(cls.encode).parameters) == ["self", "image", "q"]


def test_a_plain_default_becomes_a_setting_and_a_subclass_keeps_the_constraints():
    from qualitykit.codecs.base import Codec, Setting

    class Parent(Codec):
        name = "parent-test"
        settings = {"level": Setting(3, range=(0, 9)), "sigma": 0.0}
        ladder = (1.0,)

        def encode(self, image, q):
            return b""

        def decode(self, data):
            return np.zeros((1, 1, 3), np.uint8)

        def versions(self):
            return {"x": "1"}

    class Child(Parent):
        settings = {**Parent.settings, "level": 5}

    assert Parent.settings["sigma"] == Setting(0.0)
    assert Child.settings["level"] == Setting(5, range=(0, 9)) and Child.defaults() == {"level": 5, "sigma": 0.0}
    with pytest.raises(BadInput, match="outside 0..9"):
        Child(level=10)


def test_heic_chroma_is_now_subsampling_and_the_old_name_still_works():
    cls = registry.get("heic")
    if cls.available():
        pytest.skip(f"heic unavailable here: {cls.available()}")
    with pytest.warns(FutureWarning, match="'chroma' is now called 'subsampling'"):
        old, _ = codec_from_spec("heic:chroma=444")
    assert old.id == codec_from_spec("heic:subsampling=444")[0].id and "subsampling=444" in old.id
    with pytest.raises(BadInput, match="chroma and subsampling are the same setting"):
        codec_from_spec("heic:chroma=444:subsampling=420")
