"""The import graph: layers point down, and there are no import cycles between modules.

Every module of the package belongs to one layer (:data:`LAYERS`, lowest first). A module may
import from its own layer or the layers below, never from a layer above — imports inside
functions included, since they are dependencies all the same. Add a new module to a layer here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "qualitykit"

#: Layers, lowest first: module paths (dotted, relative to the package) or package prefixes ending in ".".
LAYERS: list[tuple[str, ...]] = [
    ("_version", "errors", "extras", "fsutil", "device", "provenance", "ffmpeg", "_registry"),
    ("imageio", "assets"),
    ("metrics.", "neural.", "codecs."),
    ("store", "datasets", "compare"),
    ("rundir",),
    ("runner.", "equal_quality"),
    ("analysis.", "claims"),
    ("report.", "gate."),
    ("api", "__init__"),
    ("cli.", "__main__"),
]


def layer_of(module: str) -> int:
    for i, members in enumerate(LAYERS):
        for m in members:
            if module == m or (m.endswith(".") and (module == m[:-1] or module.startswith(m))):
                return i
    raise AssertionError(f"qualitykit.{module} is in no layer of tests/test_architecture.py; add it to one")


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(module: str, path: Path) -> set[str]:
    """Modules of the package that ``module`` imports (anywhere in the file), as dotted names."""
    is_package = path.name == "__init__.py"
    base = module.split(".") if is_package else module.split(".")[:-1]
    if module == "__init__":
        base = []
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = [*anchor, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == "qualitykit":
                target = node.module.split(".")[1:]
            else:
                continue
            found.update(".".join([*target, a.name]) for a in node.names)  # a submodule, or a name in target
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".", 1)[1] for a in node.names if a.name.startswith("qualitykit."))
    known = modules()
    resolved = set()
    for name in found:
        while name and name not in known:
            name = name.rpartition(".")[0]
        name = name or "__init__"
        if name != module:
            resolved.add(name)
    return resolved


GRAPH = {m: imports(m, p) for m, p in modules().items()}


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_module_imports_from_a_layer_above(module):
    mine = layer_of(module)
    above = sorted(t for t in GRAPH[module] if layer_of(t) > mine)
    assert not above, f"qualitykit.{module} (layer {mine}) imports from higher layers: {above}"


def test_no_import_cycles():
    # package __init__ modules import their own members by name (registries load them lazily by string)
    edges = {m: {t for t in ts if not (m == t.rpartition(".")[0] or t == m.rpartition(".")[0])} for m, ts in GRAPH.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(edges.get(m, ())):
            if state.get(t) == 1:
                cycle = stack[stack.index(t):] + [t]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
