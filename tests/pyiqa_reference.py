"""pyiqa's own metric networks for the equality tests, built without importing pyiqa's package.

pyiqa is installed without its dependencies (``pip install --no-deps pyiqa==0.1.16``, as ``.ci/run``
does): ``import pyiqa`` pulls OpenCV, transformers, timm and more. Its classical archs need only
torch, numpy and scipy, so :func:`pyiqa_nets` registers bare package objects for ``pyiqa``,
``pyiqa.utils`` and ``pyiqa.archs`` (their ``__init__`` files are what import the heavy stack),
imports the arch modules asked for, pyiqa's default configurations and its registry, and builds
each metric exactly as ``create_metric`` does: the ``metric_opts`` of its default config. The
tests build these independently of qk's own loader (``qualitykit.metrics._pyiqa``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Iterable
from pathlib import Path

import pytest


def pyiqa_nets(arch_modules: Iterable[str], names: Iterable[str], version: str) -> dict:
    """pyiqa's network for each of ``names`` (pyiqa's metric names), in eval mode, after importing
    ``pyiqa.archs.<module>`` for each of ``arch_modules``; skips without pyiqa, fails on another
    pyiqa ``version`` than the one qk was checked against."""
    spec = importlib.util.find_spec("pyiqa")
    if spec is None or spec.origin is None:
        pytest.skip("pyiqa is not installed: pip install --no-deps pyiqa==0.1.16 (.ci/run does)")
    root = Path(spec.origin).parent
    saved = {k: v for k, v in sys.modules.items() if k == "pyiqa" or k.startswith("pyiqa.")}
    for name, folder in (("pyiqa", root), ("pyiqa.utils", root / "utils"), ("pyiqa.archs", root / "archs")):
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]
        sys.modules[name] = package
    try:
        for module in arch_modules:
            importlib.import_module(f"pyiqa.archs.{module}")
        configs = importlib.import_module("pyiqa.default_model_configs").DEFAULT_CONFIGS
        registry = importlib.import_module("pyiqa.utils.registry").ARCH_REGISTRY
        installed = (root / "version.py").read_text()
    finally:
        for name in [k for k in sys.modules if k == "pyiqa" or k.startswith("pyiqa.")]:
            del sys.modules[name]
        sys.modules.update(saved)
    assert f"__version__ = version = '{version}'" in installed, "qk was checked against pyiqa " + version
    nets = {}
    for name in names:
        options = dict(configs[name]["metric_opts"])
        nets[name] = registry.get(options.pop("type"))(**options).eval()
    return nets
