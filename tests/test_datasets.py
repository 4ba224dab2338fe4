import pytest

from qualitykit import datasets
from qualitykit.errors import QKError

from .conftest import kodak_or_skip


def test_builtin_corpus_is_available_offline_and_pinned():
    corpus = datasets.resolve()
    assert corpus.name == "sample" and corpus.files == ["astronaut.png", "chelsea.png", "coffee.png"]
    assert datasets.verify(corpus) == []


def test_catalog_declares_kodak_with_every_hash():
    entry = datasets.catalog()["kodak"]
    assert len(entry["files"]) == 24 and all(len(h) == 64 for h in entry["files"].values())
    assert entry["licence"] and entry["source"] and "{file}" in entry["url"]


def test_shared_kodak_matches_the_catalog():
    kodak = kodak_or_skip()
    assert datasets.verify_dir("kodak", kodak) == []
    corpus = datasets.resolve(kodak)
    assert corpus.name == "kodak" and len(corpus.files) == 24


def test_folder_corpus_and_mismatch_reporting(tmp_path, small_corpus):
    (small_corpus / "notes.txt").write_text("not an image")
    assert datasets.resolve(small_corpus).files == ["crop0.png", "crop1.png", "crop2.png", "crop3.png"]
    (tmp_path / "kodim01.png").write_bytes(b"x")
    problems = datasets.verify_dir("kodak", tmp_path)
    assert len(problems) == 24 and "kodim01.png: sha256" in problems[0] and problems[1].endswith("missing")


def test_unfetched_or_unknown_corpus_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("QK_DATA", str(tmp_path))
    with pytest.raises(QKError, match="qk datasets fetch kodak"):
        datasets.resolve("kodak")
    with pytest.raises(QKError, match="neither a folder nor a known corpus"):
        datasets.resolve("no-such-thing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(QKError, match="no image files"):
        datasets.resolve(tmp_path / "empty")
