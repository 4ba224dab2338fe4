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


def test_link_loops_are_skipped_and_named_and_linked_folders_not_followed(small_corpus):
    import os

    os.symlink("self.png", small_corpus / "self.png")
    os.symlink(".", small_corpus / "again")  # a folder link back to the corpus: listing it would never end
    corpus = datasets.resolve(small_corpus)
    assert corpus.files == ["crop0.png", "crop1.png", "crop2.png", "crop3.png"]
    assert corpus.skipped == {"self.png": f"{small_corpus / 'self.png'}: symbolic link loop"}


def test_a_folder_that_cannot_be_listed_is_named_and_the_rest_is_read(small_corpus, monkeypatch):
    import os

    (small_corpus / "locked").mkdir()
    (small_corpus / "crop0.png").rename(small_corpus / "locked" / "inside.png")
    real = os.scandir

    def scandir(path):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(datasets.os, "scandir", scandir)
    corpus = datasets.resolve(small_corpus)
    assert corpus.files == ["crop1.png", "crop2.png", "crop3.png"]
    assert corpus.skipped == {
        "locked/": f"{small_corpus / 'locked'}: cannot list this folder (Permission denied); the images in it are left out"
    }


def test_an_animated_gif_is_listed_not_skipped(small_corpus):
    from PIL import Image

    frames = [Image.open(small_corpus / f"crop{i}.png") for i in range(3)]
    frames[0].save(small_corpus / "moving.gif", save_all=True, append_images=frames[1:])
    assert "moving.gif" in datasets.resolve(small_corpus).files
