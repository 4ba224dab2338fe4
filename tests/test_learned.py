"""Learned codecs from plugin objects (qualitykit.codecs.learned): loading, real bitstreams, refusals."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import qualitykit
from qualitykit.codecs import codec_from_spec
from qualitykit.codecs import learned
from qualitykit.errors import BadInput, UnknownName
from tests.test_codec_contract import decode_in_another_process
from tests.test_codec_plugins import make_dist

TINY = "tests.fake_codecs.TinyLearned"


@pytest.fixture(autouse=True)
def _fresh_models():
    learned.load_model.cache_clear()
    yield
    learned.load_model.cache_clear()


def test_dotted_path_round_trip(astronaut):
    codec, ladder = codec_from_spec(f"learned:{TINY}")
    assert ladder == (1, 2, 3, 4) and codec.id == f"learned:model={TINY}"
    image = astronaut[:33, :47]
    sizes = [len(codec.encode(image, q)) for q in ladder]
    assert sizes == sorted(sizes)
    out = codec.decode(codec.encode(image, 4))
    assert out.shape == image.shape and out.dtype == np.uint8 and np.abs(out.astype(int) - image).max() <= 4
    assert codec.versions()["model"] == "tiny-learned-v1" and codec.versions()["weights"] == "none (test model)"


def test_entry_point_model(tmp_path, monkeypatch, astronaut):
    path = make_dist(tmp_path / "site", "[qualitykit.learned]\ntiny = tests.fake_codecs:TinyLearned\n")
    monkeypatch.syspath_prepend(str(path))
    importlib.invalidate_caches()
    assert learned.entry_point_models() == {"tiny": "tests.fake_codecs:TinyLearned"}
    codec, ladder = codec_from_spec("learned:tiny:q=2/3")
    assert codec.id == "learned:model=tiny" and ladder == (2.0, 3.0)
    assert codec.decode(codec.encode(astronaut[:8, :8], 3)).shape == (8, 8, 3)


def test_in_a_run(small_corpus, cache, tmp_path):
    result = qualitykit.bench(small_corpus, ["jpeg:q=50", f"learned:{TINY}:q=2/4"], ["psnr"], out=tmp_path / "run", jobs=2, cache=cache, report=False)
    assert not result.errors and len(result.table) == 12 and result.table["psnr"].notna().all()


def test_state_outside_the_bytes_is_caught(tmp_path, astronaut):
    """A model that keeps side information between compress and decompress fails when qk decodes elsewhere."""
    codec, _ = codec_from_spec("learned:tests.fake_codecs.StatefulLearned")
    data = codec.encode(astronaut[:16, :16], 1)
    assert codec.decode(data).shape == (16, 16, 3)  # same object: the cheat works here ...
    (tmp_path / "x.bin").write_bytes(data)
    with pytest.raises(AssertionError, match="shape"):  # ... but not from the bytes alone
        decode_in_another_process([(codec.id, tmp_path / "x.bin")])


@pytest.mark.parametrize(
    "spec, error, message",
    [
        ("learned", BadInput, "name a model"),
        ("learned:nosuch", UnknownName, "unknown learned model 'nosuch'"),
        ("learned:no_such_pkg_qk.Model", BadInput, "cannot load model"),
        ("learned:tests.fake_codecs.MAGIC", BadInput, "lacks name, qualities, compress, decompress"),
        (f"learned:{TINY}:q=5", BadInput, "not one of .* qualities 1/2/3/4"),
        (f"learned:{TINY}:q=1/1", BadInput, "repeated"),
    ],
)
def test_refusals(spec, error, message):
    with pytest.raises(error, match=message):
        codec_from_spec(spec)


def test_wrong_output_types_are_errors(monkeypatch, astronaut):
    from tests.fake_codecs import TinyLearned

    codec, _ = codec_from_spec(f"learned:{TINY}")
    monkeypatch.setattr(TinyLearned, "decompress", lambda self, data: np.zeros((4, 4), np.float32))
    with pytest.raises(TypeError, match="not \\(H, W, 3\\) uint8"):
        codec.decode(codec.encode(astronaut[:4, :4], 1))
    monkeypatch.setattr(TinyLearned, "compress", lambda self, image, q: [1, 2, 3])
    with pytest.raises(TypeError, match="returned list, not bytes"):
        codec.encode(astronaut[:4, :4], 1)
