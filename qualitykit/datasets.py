"""Corpora: named entries of ``datasets.yaml`` or any folder of images.

``resolve("sample")`` gives the built-in corpus (three of scikit-image's sample
photographs, shipped inside qualitykit, so it works offline on a fresh install); ``resolve("kodak")`` a
fetched copy of a catalogue corpus; ``resolve("path/to/dir")`` every image file
under a folder. Every file of a named corpus is pinned by sha256.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import BadInput, UnknownName
from .fsutil import cache_home, sha256_file
from .imageio import check_regular_file

#: File extensions read as images when a folder is given (an animated file: its first frame,
#: stated as a conversion; see :mod:`qualitykit.imageio`).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".ppm", ".pgm", ".bmp", ".tif", ".tiff", ".webp", ".gif")
DEFAULT_CORPUS = "sample"


@dataclass(frozen=True)
class Corpus:
    """A list of image files. ``expected`` maps file names to pinned sha256 (named corpora only);
    ``skipped`` lists entries of a folder that look like images but are not regular files
    (broken links, FIFOs, folders named ``*.png``), each with the reason."""

    name: str
    root: Path
    files: list[str]
    expected: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def path(self, image: str) -> Path:
        return self.root / image


def catalog() -> dict[str, dict[str, Any]]:
    """The corpora declared in ``datasets.yaml`` (``$QK_DATASETS`` overrides the packaged file)."""
    path = Path(os.environ.get("QK_DATASETS") or Path(__file__).with_name("datasets.yaml"))
    with open(path) as f:
        return yaml.safe_load(f) or {}


def data_home() -> Path:
    """Where fetched corpora live: ``$QK_DATA`` or ``~/.cache/qualitykit/datasets``."""
    env = os.environ.get("QK_DATA")
    return Path(env) if env else cache_home() / "datasets"


def _entry_root(name: str, entry: dict[str, Any]) -> Path:
    if "package" in entry:
        package, _, sub = entry["package"].partition("/")
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise BadInput(f"corpus {name!r} is read from the Python package {package!r}, which is not installed")
        return Path(list(spec.submodule_search_locations)[0]) / sub
    return data_home() / name


def resolve(dataset: str | os.PathLike[str] | None = None) -> Corpus:
    """A corpus by catalogue name or folder path (default: the built-in ``sample``)."""
    dataset = str(dataset or DEFAULT_CORPUS)
    entries = catalog()
    if dataset in entries and not Path(dataset).is_dir():
        entry = entries[dataset]
        root = _entry_root(dataset, entry)
        files = list(entry["files"])
        missing = [f for f in files if not (root / f).is_file()]
        if missing:
            hint = f"qk datasets fetch {dataset}" if "url" in entry else "reinstall the package it comes from"
            raise BadInput(
                f"corpus {dataset!r}: {len(missing)} of {len(files)} files missing under {root} "
                f"(first: {missing[0]}); run `{hint}` or pass --dataset DIR"
            )
        meta = {k: v for k, v in entry.items() if k != "files"}
        return Corpus(dataset, root, files, dict(entry["files"]), meta)
    root = Path(dataset)
    if not root.is_dir():
        known = ", ".join(entries) or "none"
        raise BadInput(f"--dataset {dataset!r} is neither a folder nor a known corpus (known: {known})")
    files, skipped = _list_folder(root)
    if not files:
        why = f" ({len(skipped)} skipped: {next(iter(skipped.values()))})" if skipped else ""
        raise BadInput(f"no image files ({', '.join(IMAGE_EXTENSIONS)}) under {root}{why}")
    return Corpus(root.resolve().name, root, files, skipped=skipped)


def _list_folder(root: Path) -> tuple[list[str], dict[str, str]]:
    """The image files under ``root`` (names relative to it, sorted) and the entries left out,
    each with the reason: files that look like images but are not regular files (broken links,
    link loops, FIFOs, folders named ``*.png``) and folders that cannot be listed (named
    ``sub/``). Linked folders are not followed (no loop can make the listing endless); files
    that vanish while it is listed are left out or named, never an error of the listing."""
    files: list[Path] = []
    skipped: dict[str, str] = {}

    def walk(folder: Path) -> None:
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            name = folder.relative_to(root).as_posix() + "/"
            skipped[name] = f"{folder}: cannot list this folder ({exc.strerror or exc}); the images in it are left out"
            return
        for entry in entries:
            path = Path(entry.path)
            try:
                is_folder = entry.is_dir(follow_symlinks=False)
            except OSError:  # vanished since the listing
                continue
            if is_folder:
                walk(path)
            if path.suffix.lower() in IMAGE_EXTENSIONS:  # a folder named like an image is named too
                files.append(path)

    walk(root)
    names = []
    for path in sorted(files):
        name = path.relative_to(root).as_posix()
        try:
            check_regular_file(path)
        except BadInput as exc:
            skipped[name] = str(exc)
        else:
            names.append(name)
    return names, skipped


def verify(corpus: Corpus) -> list[str]:
    """Problems found (missing files, sha256 mismatches); empty when the copy is exact."""
    problems = []
    for image, expected in corpus.expected.items():
        path = corpus.path(image)
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif (actual := sha256_file(path)) != expected:
            problems.append(f"{path}: sha256 {actual} != expected {expected}")
    return problems


def verify_dir(name: str, folder: str | os.PathLike[str]) -> list[str]:
    """Check a folder against the pinned hashes of catalogue corpus ``name``."""
    entry = catalog().get(name)
    if entry is None:
        raise UnknownName("corpus", name, catalog())
    return verify(Corpus(name, Path(folder), list(entry["files"]), dict(entry["files"])))


def fetch(name: str, dest: str | os.PathLike[str] | None = None) -> Path:
    """Download every file of catalogue corpus ``name`` (skipping good copies), verify, return the folder."""
    entry = catalog().get(name)
    if entry is None:
        raise UnknownName("corpus", name, catalog())
    if "url" not in entry:
        return _entry_root(name, entry)
    root = Path(dest) if dest else data_home() / name
    root.mkdir(parents=True, exist_ok=True)
    for image, expected in entry["files"].items():
        target = root / image
        if target.is_file() and sha256_file(target) == expected:
            continue
        url = entry["url"].format(file=image)
        try:
            with urllib.request.urlopen(url, timeout=60) as resp, tempfile.NamedTemporaryFile(dir=root, delete=False) as tmp:
                shutil.copyfileobj(resp, tmp)
        except OSError as exc:
            raise BadInput(f"corpus {name!r}: cannot download {url}: {exc}") from None
        if (actual := sha256_file(tmp.name)) != expected:
            os.unlink(tmp.name)
            raise BadInput(f"corpus {name!r}: {url} has sha256 {actual}, expected {expected}")
        os.replace(tmp.name, target)
    return root
