"""Assets: every file qk uses but does not compute — model weights, downloaded or bundled — each with one owner.

Vocabulary: an **asset** is one such file, declared once as an :class:`Asset` by the module that
uses it (metrics, the neural codec) with :func:`register` at import; ``qk weights`` lists every
registered asset, where it was found or how to supply it, and downloads the ones named. This
module imports neither codecs nor metrics: the ``qk weights`` command loads those registries first.

How a file is recognised, by kind of asset:

- **content** (``part`` set; LPIPS and DISTS backbones): any file in the search directories whose
  tensors under ``part`` hash to ``sha256`` — the tensor-content hash of :func:`tensor_sha256`,
  computed over the part with its prefix stripped, so torchvision's full file
  (``features.0.weight``, …) and a features-only state dict (``0.weight``, …) are the same asset,
  whatever their names;
- **name** (``filename``; CompressAI zoo checkpoints): ``filename`` in a search directory — the
  name torch.hub gives a download, whose hash prefix it checked when downloading;
- **bundled** (``bundled`` path; qk's own model, files shipped inside ``lpips`` and
  ``dists-pytorch``): that path, if its bytes have ``sha256``.

Search directories, in order: each directory in ``$QK_WEIGHTS_DIR`` (several separated by
``os.pathsep``; for machines without internet), then PyTorch's hub cache
``$TORCH_HOME/hub/checkpoints`` (default ``~/.cache/torch/hub/checkpoints``).

Download policy: nothing downloads implicitly. :func:`fetch` runs only for something the user
named — a metric in ``--metrics`` (``Metric.fetch`` from ``ensure_available``), a codec spec in
``--codecs`` (``Codec.fetch`` from the planner), ``qk weights --download NAME`` — and only in the
main process, before any work starts. Everything else (``available()``, worker processes) only
:func:`locate`\\ s, and a missing file makes its metric or codec unavailable with
:func:`why_missing`: the file, its URL and where to put it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import QKError, Unavailable
from .fsutil import atomic_write_text, cache_home, sha256_file

if TYPE_CHECKING:
    import torch

ENV = "QK_WEIGHTS_DIR"


@dataclass(frozen=True)
class Asset:
    """One file. ``name`` is its key (``qk weights --download NAME``); ``group`` joins assets
    listed on one line (a zoo model's qualities); see the module docstring for the three kinds."""

    name: str
    description: str
    filename: str = ""
    url: str = ""
    sha256: str = ""
    part: str = ""
    bundled: str = ""
    group: str = ""

    @property
    def kind(self) -> str:
        """``bundled``, ``content`` or ``name``: how a file is recognised as this asset."""
        return "bundled" if self.bundled else "content" if self.part else "name"


_registered: dict[str, Asset] = {}
_users: dict[str, list[str]] = {}


def bundled_in(package: str, *parts: str) -> str:
    """Path of a file shipped inside installed Python package ``package`` (found without importing
    it), for a bundled asset; a path that does not exist when the package is missing."""
    from importlib.util import find_spec

    spec = find_spec(package)
    root = Path(spec.origin).parent if spec and spec.origin else Path(f"<{package} not installed>")
    return str(root.joinpath(*parts))


def register(asset: Asset, used_by: str) -> Asset:
    """Declare that ``used_by`` (a metric name, a codec spec) needs ``asset``; returns ``asset``.

    Registering the same asset again adds a user; another asset under a taken name is refused."""
    other = _registered.setdefault(asset.name, asset)
    if other != asset:
        raise ValueError(f"asset {asset.name!r} is already registered as {other}")
    users = _users.setdefault(asset.name, [])
    if used_by not in users:
        users.append(used_by)
    return asset


def registered() -> list[Asset]:
    """Every asset declared so far (import the metric and codec registries first to see them all)."""
    return list(_registered.values())


def users(asset: Asset) -> list[str]:
    """What needs ``asset`` (metric names, codec specs)."""
    return list(_users.get(asset.name, []))


def hub_checkpoints() -> Path:
    """PyTorch's download cache (``$TORCH_HOME/hub/checkpoints``), where downloads go.

    Found as ``torch.hub.get_dir()`` finds it (``$TORCH_HOME``, else ``$XDG_CACHE_HOME/torch``,
    else ``~/.cache/torch``), without importing torch (seconds) when no one has; once torch is
    imported, ``torch.hub.get_dir()`` itself answers (it honours ``torch.hub.set_dir``)."""
    if "torch.hub" in sys.modules:
        return Path(sys.modules["torch.hub"].get_dir()) / "checkpoints"
    home = os.environ.get("TORCH_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "torch")
    return Path(home).expanduser() / "hub" / "checkpoints"


def search_dirs() -> list[Path]:
    """The directories searched, in order (see the module docstring)."""
    extra = [Path(p).expanduser() for p in os.environ.get(ENV, "").split(os.pathsep) if p]
    return [*extra, hub_checkpoints()]


def tensor_sha256(tensors: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 over, for each key in sorted order: the key, ``str(dtype)``, ``str(tuple(shape))`` and
    the tensor's raw bytes — a state dict's identity independent of how (and under which name) it
    was saved (the convention of ``../shared/weights/SOURCE.md``)."""
    digest = hashlib.sha256()
    for key in sorted(tensors):
        t = tensors[key].detach().cpu().contiguous()
        digest.update(key.encode())
        digest.update(str(t.dtype).encode())
        digest.update(str(tuple(t.shape)).encode())
        digest.update(t.numpy().tobytes())
    return digest.hexdigest()


_BARE_KEY = re.compile(r"^\d+\.[A-Za-z_]+$")


def select_part(state: Mapping[str, torch.Tensor], part: str) -> dict[str, torch.Tensor] | None:
    """The tensors of ``part`` with the prefix stripped: keys ``part.*`` of a full state dict, or
    every key of a part-only one (``0.weight``, ``3.bias``, …); ``None`` when it has neither."""
    prefix = part + "."
    selected = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    if selected:
        return selected
    if state and all(_BARE_KEY.match(k) for k in state):
        return dict(state)
    return None


def _load(path: Path) -> Mapping[str, torch.Tensor]:
    """A state dict read without unpickling code (memory-mapped when the file allows it)."""
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError:  # legacy (non-zip) format: no mmap
        obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not all(hasattr(v, "dtype") for v in obj.values()):
        raise ValueError(f"{path}: not a state dict")
    return obj


def content_hash_cache() -> Path:
    """The JSON file remembering :func:`content_sha256` results between processes:
    ``<cache home>/asset-content-hashes.json`` (:func:`~qualitykit.fsutil.cache_home`)."""
    return cache_home() / "asset-content-hashes.json"


_content_cache: dict[str, list] | None = None


def _content_entries() -> dict[str, list]:
    """``"path\0part"`` → ``[size, mtime_ns, inode, tensor sha256 or None]``, read once per process;
    an unreadable or malformed file counts as empty (it is only a cache)."""
    global _content_cache
    if _content_cache is None:
        try:
            loaded = json.loads(content_hash_cache().read_text())
            _content_cache = {k: v for k, v in loaded.items() if isinstance(v, list) and len(v) == 4}
        except (OSError, ValueError, AttributeError):
            _content_cache = {}
    return _content_cache


def content_sha256(path: Path, part: str) -> str | None:
    """:func:`tensor_sha256` of the ``part`` tensors in ``path``; ``None`` if it is not a state dict
    holding them.

    Remembered per file path, size, modification time and inode, in this process and in
    :func:`content_hash_cache` for the next ones (as the store remembers image hashes): hashing
    means importing PyTorch and reading the file, seconds that a rerun on a filled cache would
    otherwise spend before any work. Saving the cache is best effort (a read-only home only
    makes the next process hash again)."""
    try:
        st = path.stat()
    except OSError:
        return None
    entries = _content_entries()
    key, stamp = f"{path.resolve()}\0{part}", [st.st_size, st.st_mtime_ns, st.st_ino]
    known = entries.get(key)
    if known is not None and known[:3] == stamp:
        return known[3]
    try:
        selected = select_part(_load(path), part)
        found = tensor_sha256(selected) if selected else None
    except Exception:  # not a torch file, truncated, another format
        found = None
    entries[key] = [*stamp, found]
    for gone in [k for k in entries if not os.path.exists(k.split("\0")[0])]:
        del entries[gone]  # files deleted since (a test's temporary folders, an old hub cache)
    try:
        atomic_write_text(content_hash_cache(), json.dumps(entries, indent=0, sort_keys=True))
    except QKError:  # full disk, read-only home: the next process hashes again
        pass
    return found


_bundled_ok: dict[tuple[str, int, int], str] = {}


def _file_sha256(path: Path) -> str | None:
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _bundled_ok:
        _bundled_ok[key] = sha256_file(path)
    return _bundled_ok[key]


def _candidates(directory: Path) -> list[Path]:
    """Files in ``directory`` that may hold a content-recognised asset: every file except those known,
    by their download name, to be another asset (zoo checkpoints are large and never backbones)."""
    by_name = {a.filename for a in _registered.values() if a.kind == "name"}
    try:
        return sorted(p for p in directory.iterdir() if p.is_file() and p.name not in by_name)
    except OSError:
        return []


def locate(asset: Asset) -> Path | None:
    """Where ``asset`` is on this machine (see the module docstring), or ``None``. Never downloads."""
    if asset.kind == "bundled":
        path = Path(asset.bundled)
        return path if _file_sha256(path) == asset.sha256 else None
    for directory in search_dirs():
        if asset.kind == "name":
            if (directory / asset.filename).is_file():
                return directory / asset.filename
            continue
        for path in _candidates(directory):
            if content_sha256(path, asset.part) == asset.sha256:
                return path
    return None


def why_missing(asset: Asset) -> str:
    """Why ``asset`` is not usable here and how to supply it: the file, its URL and where to put it."""
    if asset.kind == "bundled":
        found = _file_sha256(Path(asset.bundled))
        state = "is missing" if found is None else f"has other contents (sha256 {found[:16]}…, expected {asset.sha256[:16]}…)"
        return f"{asset.description}: bundled file {asset.bundled} {state}; reinstall the package that ships it"
    places = ", ".join(str(d) for d in search_dirs())
    put = f"into {hub_checkpoints()} or a directory named by ${ENV}"
    fetch_hint = f"run `qk weights --download {asset.name}` when online, or download {asset.url}"
    if asset.kind == "name":
        return (
            f"{asset.description}: {asset.filename} not found in {places}; {fetch_hint} and save it as "
            f"{hub_checkpoints() / asset.filename} or into a directory named by ${ENV}"
        )
    others = [
        f"{path} holds other tensors"
        for directory in search_dirs()
        for path in [directory / asset.filename]
        if path.is_file() and content_sha256(path, asset.part) != asset.sha256
    ]
    return (
        f"{asset.description}: no file holding its {asset.part} tensors (tensor sha256 {asset.sha256[:16]}…) "
        f"in {places}{' (' + '; '.join(others) + ')' if others else ''}; {fetch_hint} ({asset.filename}) "
        f"{put}; any file name works, and a {asset.part}-only state dict does too"
    )


def require(asset: Asset) -> Path:
    """:func:`locate` ``asset`` or raise :class:`~qualitykit.errors.Unavailable` with :func:`why_missing`."""
    path = locate(asset)
    if path is None:
        raise Unavailable(why_missing(asset))
    return path


def fetch(asset: Asset) -> Path:
    """``asset``'s path, downloading it into the hub cache first when it is missing (the only function
    here that touches the network; see the download policy above). Raises
    :class:`~qualitykit.errors.Unavailable` when it cannot (offline, bundled file missing, a download
    whose hash or tensors are wrong)."""
    import torch.hub

    found = locate(asset)
    if found is not None:
        return found
    if asset.kind == "bundled":
        raise Unavailable(why_missing(asset))
    target = hub_checkpoints() / asset.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    match = torch.hub.HASH_REGEX.search(asset.filename)
    try:
        torch.hub.download_url_to_file(asset.url, str(target), hash_prefix=match.group(1) if match else None, progress=False)
    except Exception as exc:  # offline, HTTP error, hash mismatch
        raise Unavailable(f"{why_missing(asset)} (download failed: {type(exc).__name__}: {exc})") from None
    if asset.kind == "content" and content_sha256(target, asset.part) != asset.sha256:
        target.unlink(missing_ok=True)
        raise Unavailable(f"{asset.url}: the downloaded file does not hold {asset.description} (tensor sha256 differs)")
    return target


def load_part(asset: Asset) -> dict[str, torch.Tensor]:
    """The ``part`` tensors of a content-recognised asset, prefix stripped, from wherever it is."""
    path = require(asset)
    selected = select_part(_load(path), asset.part)
    assert selected is not None  # locate() hashed exactly this selection
    return selected


__all__ = [
    "ENV", "Asset", "bundled_in", "content_hash_cache", "content_sha256", "fetch", "hub_checkpoints", "load_part",
    "locate", "register", "registered", "require", "search_dirs", "select_part", "tensor_sha256", "users", "why_missing",
]  # fmt: skip
