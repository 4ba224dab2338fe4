"""pyiqa's own metric code, loaded without pyiqa's package ``__init__`` (which imports OpenCV,
transformers, timm, ... and whose requirements would move numpy to 2.x).

pyiqa is installed with ``pip install --no-deps pyiqa==0.1.16`` (after the ``iqa`` extra: scipy). Its
classical full-reference archs (VIF, FSIM, NLPD, GMSD, VSI, CW-SSIM, SSIM) import only torch,
torchvision, numpy and scipy. :func:`load` registers bare package objects for ``pyiqa``,
``pyiqa.utils`` and ``pyiqa.archs`` for the duration of the import, imports pyiqa's default
configurations, its registry and the one arch module that defines the class a metric needs, then
puts ``sys.modules`` back as it was (a later ``import pyiqa`` gets the real package).

Weights: pyiqa downloads a learned metric's weights on first use into its cache folder
(``$TORCH_HOME/hub/pyiqa`` by default). qk never downloads inside a metric: while an arch is
built, :func:`load_file_from_url` is replaced by a look-up that raises :class:`MissingWeights`
naming the file, the folder it goes in and its URL, and records every file it hands out (its
sha256 enters the metric's version, hence cache keys and provenance).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import importlib.util
import io
import os
import re
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..errors import Unavailable

INSTALL_HINT = "pip install 'qualitykit[iqa]' && pip install --no-deps pyiqa==0.1.16 (--no-deps keeps numpy 1.x)"


class MissingWeights(Unavailable):
    """A pyiqa arch needs a weights file that is not in pyiqa's cache folder (qk does not download it)."""


@dataclass
class Pyiqa:
    """The parts of an installed pyiqa that qk uses."""

    root: Path
    version: str
    configs: dict[str, dict[str, Any]]
    registry: Any
    #: Weights files handed to archs built so far: URL → (path, sha256).
    weights: dict[str, tuple[str, str]] = field(default_factory=dict)

    def cache_dir(self) -> Path:
        """Where pyiqa keeps downloaded weights (``pyiqa.utils.download_util.DEFAULT_CACHE_DIR``)."""
        import torch.hub

        return Path(torch.hub.get_dir()) / "pyiqa"

    def full_reference_names(self) -> list[str]:
        """pyiqa's full-reference metric names, in its own order."""
        return [n for n, c in self.configs.items() if c.get("metric_mode") == "FR"]


@contextmanager
def _bare_packages(root: Path) -> Iterator[None]:
    """``pyiqa``, ``pyiqa.utils`` and ``pyiqa.archs`` as empty packages (and ``huggingface_hub``'s
    ``hf_hub_url`` if that package is absent: pyiqa's ``arch_util`` imports it only to spell weight
    URLs) while the block runs; ``sys.modules`` is restored afterwards."""
    saved = {k: v for k, v in sys.modules.items() if k == "pyiqa" or k.startswith("pyiqa.")}
    stub_hub = importlib.util.find_spec("huggingface_hub") is None
    for name, folder in (("pyiqa", root), ("pyiqa.utils", root / "utils"), ("pyiqa.archs", root / "archs")):
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]
        sys.modules[name] = package
    if stub_hub:
        hub = types.ModuleType("huggingface_hub")
        hub.hf_hub_url = lambda repo_id, filename, **_: f"https://huggingface.co/{repo_id}/resolve/main/{filename}"  # type: ignore[attr-defined]
        sys.modules["huggingface_hub"] = hub
    try:
        yield
    finally:
        for name in [k for k in sys.modules if k == "pyiqa" or k.startswith("pyiqa.")]:
            del sys.modules[name]
        sys.modules.update(saved)
        if stub_hub:
            sys.modules.pop("huggingface_hub", None)


@functools.lru_cache(maxsize=None)
def load() -> Pyiqa:
    """The installed pyiqa's configurations and registry; raises :class:`Unavailable` if absent."""
    spec = importlib.util.find_spec("pyiqa")
    if spec is None or spec.origin is None:
        raise Unavailable(f"pyiqa is not installed: {INSTALL_HINT}")
    root = Path(spec.origin).parent
    match = re.search(r"__version__ = version = '([^']+)'", (root / "version.py").read_text())
    version = match.group(1) if match else "unknown"
    with _bare_packages(root):
        configs = importlib.import_module("pyiqa.default_model_configs").DEFAULT_CONFIGS
        registry = importlib.import_module("pyiqa.utils.registry").ARCH_REGISTRY
        # keep these module objects alive: archs imported later resolve their names through them
        loaded = {k: v for k, v in sys.modules.items() if k == "pyiqa" or k.startswith("pyiqa.")}
    out = Pyiqa(root, version, configs, registry)
    out._modules = loaded  # type: ignore[attr-defined]
    return out


def _arch_module(p: Pyiqa, arch_type: str) -> str:
    """The ``pyiqa.archs`` module that defines class ``arch_type`` (found in the source text, so the
    other archs, with their heavy imports, are never imported)."""
    pattern = re.compile(rf"^class {re.escape(arch_type)}\b", re.M)
    for path in sorted((p.root / "archs").glob("*_arch.py")):
        if pattern.search(path.read_text(encoding="utf-8")):
            return f"pyiqa.archs.{path.stem}"
    raise Unavailable(f"pyiqa {p.version}: no arch module defines {arch_type}")


def _hash(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build(name: str) -> tuple[Any, dict[str, tuple[str, str]]]:
    """pyiqa's arch for metric ``name`` built as ``pyiqa.create_metric(name)`` builds it (the
    ``metric_opts`` of its default configuration), in eval mode, and the weights files it loaded
    (URL → (path, sha256)). Raises :class:`Unavailable` (or :class:`MissingWeights`) with the reason."""
    p = load()
    options = dict(p.configs[name]["metric_opts"])
    arch_type = options.pop("type")
    used: dict[str, tuple[str, str]] = {}

    def local_file(url: str, model_dir: str | None = None, progress: bool = True, file_name: str | None = None) -> str:
        folder = Path(model_dir) if model_dir else p.cache_dir()
        file = folder / (file_name or os.path.basename(urlparse(url).path))
        if not file.is_file():
            raise MissingWeights(
                f"pyiqa:{name} needs the weights file {file.name}, not found in {folder}: download {url} "
                f"into that folder (pyiqa's cache; $TORCH_HOME moves it), e.g. once online with "
                f"python -c \"import pyiqa; pyiqa.create_metric('{name}')\""
            )
        used[url] = (str(file), _hash(str(file)))
        return str(file)

    def no_download(url: str, dst: str, *args: Any, **kwargs: Any) -> None:  # torch.hub's, for torchvision backbones
        folder = Path(dst).parent
        raise MissingWeights(
            f"pyiqa:{name} needs the weights file {os.path.basename(urlparse(url).path)}, not found in {folder}: "
            f"download {url} into that folder (torch's hub cache; $TORCH_HOME moves it)"
        )

    import torch.hub

    with _bare_packages(p.root):
        sys.modules.update(p._modules)  # type: ignore[attr-defined]
        hub_download, torch.hub.download_url_to_file = torch.hub.download_url_to_file, no_download
        try:
            download_util = importlib.import_module("pyiqa.utils.download_util")
            original = download_util.load_file_from_url
            download_util.load_file_from_url = local_file
            try:
                if arch_type not in p.registry:
                    arch_util = importlib.import_module("pyiqa.archs.arch_util")
                    arch_util.load_file_from_url = local_file
                    importlib.import_module(_arch_module(p, arch_type))
                module = sys.modules.get(p.registry.get(arch_type).__module__)
                for holder in (module, sys.modules.get("pyiqa.archs.arch_util")):
                    if holder is not None and hasattr(holder, "load_file_from_url"):
                        holder.load_file_from_url = local_file
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    net = p.registry.get(arch_type)(**options)  # pyiqa and torch.hub print what they load
            finally:
                download_util.load_file_from_url = original
        except ImportError as exc:
            raise Unavailable(
                f"pyiqa:{name} ({arch_type}) needs the Python package {exc.name!r}, which is not installed "
                "(pyiqa is installed without its dependencies; install that package alone)"
            ) from None
        finally:
            torch.hub.download_url_to_file = hub_download
            p._modules.update({k: v for k, v in sys.modules.items() if k.startswith("pyiqa.")})  # type: ignore[attr-defined]
    p.weights.update(used)
    return net.eval(), used
