"""The optional parts of the install (pip extras) that codecs and metrics may need, and how to tell one is missing.

The core install (``pip install qualitykit``) has every classical codec and metric, BD-rate, the
report and the gate, and no PyTorch. ``qualitykit[learned]`` adds PyTorch and the packages built
on it; a codec or metric that needs it says so with its ``extra`` attribute. Checking an extra
never imports it (``find_spec`` only), so the core path never loads PyTorch.

>>> install_hint("learned")
"pip install 'qualitykit[learned]'"
"""

from __future__ import annotations

from importlib.util import find_spec

#: extra → (the module whose presence stands for it, what it is, in words)
EXTRAS: dict[str, tuple[str, str]] = {
    "learned": ("torch", "PyTorch"),
}


def install_hint(extra: str) -> str:
    """The command that installs ``extra``."""
    return f"pip install 'qualitykit[{extra}]'"


def missing_extra(extra: str | None) -> str | None:
    """``None`` when ``extra`` is installed (or none is needed), else why not and how to install it."""
    if extra is None:
        return None
    module, what = EXTRAS[extra]
    if find_spec(module) is None:
        return f"needs {what} (the '{extra}' extra), which is not installed: {install_hint(extra)}"
    return None
