"""The two test tiers: ``python -m pytest -m "not slow"`` (the fast tier) still tests every module.

A test marked ``slow`` runs only in the whole suite (``python -m pytest``). Marking a module's heavy
tests slow is fine while a lighter test of the same module stays in the fast tier; a module whose
every test is slow would drop out of the fast tier unnoticed, which this check refuses.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def _is_slow_mark(node: ast.expr) -> bool:
    """``pytest.mark.slow`` (or a list/tuple holding it), as a decorator or a ``pytestmark`` value."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return any(_is_slow_mark(e) for e in node.elts)
    return isinstance(node, ast.Attribute) and node.attr == "slow"


def fast_tests(path: Path) -> list[str]:
    """The module-level test functions of ``path`` that are not marked slow (none if the whole module is)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "pytestmark" for t in node.targets):
            if _is_slow_mark(node.value):
                return []
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")
            and not any(_is_slow_mark(d) for d in n.decorator_list)]  # fmt: skip


@pytest.mark.parametrize("path", sorted(TESTS.glob("test_*.py")), ids=lambda p: p.name)
def test_every_test_module_keeps_a_fast_test(path: Path) -> None:
    assert fast_tests(path), f"{path.name}: every test is marked slow; keep a light one in the fast tier"


def test_the_check_sees_slow_marks(tmp_path: Path) -> None:
    module = tmp_path / "test_x.py"
    module.write_text("import pytest\n\n@pytest.mark.slow\ndef test_a():\n    pass\n\ndef test_b():\n    pass\n")
    assert fast_tests(module) == ["test_b"]
    module.write_text("import pytest\npytestmark = [pytest.mark.slow]\n\ndef test_b():\n    pass\n")
    assert fast_tests(module) == []
