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
    ("_version", "errors", "extras", "fsutil", "device", "provenance", "ffmpeg", "_registry", "processes"),
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


# ---------------------------------------------------------------- who writes files

#: Modules that write files, each with where it writes. Only ``rundir`` writes into a run folder;
#: every other writer writes somewhere a run folder is not. A new writer must be added here, with
#: its reason, or write through ``rundir``.
WRITERS = {
    "fsutil": "the atomic writer itself (every caller names the file)",
    "rundir": "the run folder: results, manifest, targets, report files, its claim",
    "assets": "the content-hash cache under qk's cache home",
    "datasets": "downloaded corpora under qk's data home (or the folder the user names)",
    "report.assets": "plot and crop cache beside the SQLite cache",
    "gate.baseline": "the baseline file the user names (qk baseline save --to)",
    "codecs.external": "the external encoder's private temporary folder",
    "metrics.libvmaf": "temporary image files for ffmpeg",
    "cli.gate": "gate outputs the user names (--junit, --markdown, --json, the GitHub job summary)",
    "cli.claim": "the --markdown file the user names",
    "metrics.table": "README.md's generated metric table (python -m qualitykit.metrics.table --readme)",
}
#: Attribute calls that write a file (``x.write_text(...)``) or create one.
WRITE_METHODS = {"write_text", "write_bytes", "to_csv", "to_json", "to_parquet", "savefig", "mkstemp",
                 "NamedTemporaryFile", "copyfile", "copy", "copy2", "copytree", "move", "replace", "rename"}  # fmt: skip
#: Functions that write the file they are given.
WRITE_FUNCTIONS = {"atomic_write_text", "atomic_write_bytes", "open"}
#: The file names of a run folder (rundir's constants): no module but ``rundir`` spells them.
RUN_FOLDER_NAMES = {"results.csv", "manifest.json", "targets.csv", "bdrate.json", "index.html", ".qk-run.lock"}


def _in_memory_names(tree: ast.AST) -> set[str]:
    """Names bound to an ``io.BytesIO()``/``io.StringIO()`` in the module (writing there is no file write)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("BytesIO", "StringIO"):
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _writes_file(call: ast.Call, in_memory: set[str]) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    target = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg in ("path_or_buf", "fname")), None)
    if name == "open":
        if isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "os":
            return True  # os.open(path, flags): creates or writes
        mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
        return isinstance(mode, ast.Constant) and any(c in str(mode.value) for c in "wax+")
    if name in ("to_csv", "to_json", "to_parquet", "savefig"):
        return target is not None and not (isinstance(target, ast.Name) and target.id in in_memory)
    if name in ("replace", "rename", "copy", "move"):  # str.replace / dict.copy are not: only os./shutil./Path calls with a target
        owner = func.value if isinstance(func, ast.Attribute) else None
        return isinstance(owner, ast.Name) and owner.id in ("os", "shutil")
    return name in WRITE_METHODS | WRITE_FUNCTIONS


def file_writers() -> dict[str, list[int]]:
    """Module → line numbers of its calls that write a file."""
    found: dict[str, list[int]] = {}
    for module, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        in_memory = _in_memory_names(tree)
        lines = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and _writes_file(n, in_memory)]
        if lines:
            found[module] = sorted(lines)
    return found


def test_the_write_check_sees_writes():
    """The check itself: it finds each way of writing a file, and not writes to memory."""
    source = (
        "import io, os\nbuf = io.StringIO()\ndf.to_csv(buf)\nfig.savefig(buf)\ns.replace('a', 'b')\n"  # not files
        "p.write_text('x')\nopen(p, 'w')\nos.open(p, 1)\ndf.to_csv(p)\natomic_write_text(p, 'x')\nos.replace(a, b)\n"
    )  # fmt: skip
    tree = ast.parse(source)
    lines = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and _writes_file(n, _in_memory_names(tree))]
    assert sorted(lines) == [6, 7, 8, 9, 10, 11]


def test_only_known_writers_write_files_and_only_rundir_writes_into_a_run_folder():
    writers = file_writers()
    unknown = {m: lines for m, lines in writers.items() if m not in WRITERS}
    assert not unknown, (
        f"modules writing files that tests/test_architecture.py does not know: {unknown}; a file in a run folder "
        "is written through qualitykit.rundir, any other file is added to WRITERS with where it goes"
    )
    assert "rundir" in writers and not set(WRITERS) - set(writers) - {"fsutil"}, "WRITERS lists a module that writes nothing"


@pytest.mark.parametrize("module", sorted(set(WRITERS) - {"rundir", "fsutil"}))
def test_writers_other_than_rundir_never_name_a_run_folder_file(module):
    """A module allowed to write files writes none of a run folder's: it does not even spell their names."""
    tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    named = {s for s in strings if any(f in s for f in RUN_FOLDER_NAMES)}
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.module or "").endswith("rundir")
                for a in n.names}  # fmt: skip
    assert not named and not imported & {"RESULTS", "MANIFEST", "TARGETS", "BDRATE", "INDEX", "PLOTS", "LOCK"}, (
        f"qualitykit.{module} writes files and names a run folder's: {named or imported}"
    )


# ---------------------------------------------------------------- executors


def test_executors_come_from_the_registry():
    import argparse

    from qualitykit.cli import bench as cli_bench
    from qualitykit.runner.executor import EXECUTORS, Executor, executor_class, executor_names

    assert executor_names() == ["local", "dask"]
    for name in EXECUTORS:
        if name == "dask":
            pytest.importorskip("distributed")
        cls = executor_class(name)
        assert cls.kind == name
        wanted = [n for n, v in vars(Executor).items() if callable(v) or isinstance(v, classmethod)]
        wanted = [n for n in wanted if not n.startswith("_")]
        assert {"open", "bind", "submit", "poll", "close", "describe"} <= set(wanted)
        missing = [m for m in wanted if not callable(getattr(cls, m, None))]
        assert not missing, f"executor {name} lacks {missing} of the Executor protocol"
    parser = argparse.ArgumentParser()
    cli_bench.add_grid_options(parser)
    (action,) = [a for a in parser._actions if "--executor" in a.option_strings]
    assert list(action.choices) == executor_names()


def test_no_module_branches_on_an_executor_name():
    """``executor == "dask"`` anywhere but the registry would be a branch the registry should hold."""
    from qualitykit.runner.executor import executor_names

    names = set(executor_names())
    found = []
    for module, path in modules().items():
        if module == "runner.executor":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare):
                consts = [c for c in [node.left, *node.comparators] if isinstance(c, ast.Constant)]
                if any(c.value in names for c in consts):
                    found.append(f"{module}:{node.lineno}")
    assert not found, f"comparisons with an executor name (use the registry's capabilities): {found}"


# ---------------------------------------------------------------- function size

#: The longest function (decorators and docstring included) a module of the package may hold.
MAX_FUNCTION_LINES = 80


def function_lengths() -> list[tuple[int, str]]:
    """``(lines, module:function)`` for every function and method of the package, longest first."""
    found = []
    for module, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                found.append((node.end_lineno - start + 1, f"{module}:{node.name}"))  # type: ignore[operator]
    return sorted(found, reverse=True)


def test_no_function_is_longer_than_80_lines():
    lengths = function_lengths()
    assert lengths and lengths[0][0] > 40  # the measure sees real functions
    long = [f"{name} ({n} lines)" for n, name in lengths if n > MAX_FUNCTION_LINES]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (split them into named steps): {long}"
