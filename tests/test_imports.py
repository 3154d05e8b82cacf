"""The shape of the library's import graph and of its functions (issue 21).

* No import cycle inside ``hessnotes``: no module imports one that imports it back, however
  indirectly, lazy imports inside functions included (the AST is walked, nothing is imported).
* The tools ``timing`` and ``flops`` import nothing of the library's domains, only ``_linalg``.
* ``checks.exercise`` (``attempt``) sits on top of the checkers: none of them imports it.
* Every name a module takes from ``hessnotes._linalg`` is in its ``__all__``.
* No function in ``hessnotes/`` is longer than 120 lines (data tables are module-level tuples).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import hessnotes

ROOT = Path(hessnotes.__file__).parent
MAX_LINES = 120


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str) -> set[str]:
    """The hessnotes modules ``name`` imports anywhere in its source (module level or lazily).

    ``from hessnotes.checks import _reader`` is an edge to the submodule ``checks._reader``
    (Python runs the package's ``__init__`` first, as for any submodule; that is not a cycle);
    ``from hessnotes.checks import check_gradient`` is an edge to the package ``hessnotes.checks``.
    """
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in MODULES}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in MODULES else base)
    return {m for m in out if m in MODULES and m != name}


GRAPH = {name: _imports(name) for name in MODULES}


def _reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in GRAPH[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_walk_sees_the_whole_library():
    assert {"hessnotes", "hessnotes.checks.gradient", "hessnotes.costs"} <= set(GRAPH)
    assert "hessnotes.checks._loop" in GRAPH["hessnotes.checks.gradient"]
    assert "hessnotes.secant" in GRAPH["hessnotes.costs"]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_one_that_imports_it_back(name):
    back = sorted(m for m in GRAPH[name] if name in _reachable(m))
    assert not back, f"{name} imports {back}, which import {name} back"


@pytest.mark.parametrize("tool", ["hessnotes.timing", "hessnotes.flops"])
def test_the_tools_import_nothing_of_the_domains(tool):
    assert _reachable(tool) <= {"hessnotes._linalg"}


def test_attempt_is_on_top_of_the_checkers():
    users = sorted(m for m, deps in GRAPH.items() if "hessnotes.checks.exercise" in deps)
    assert users == ["hessnotes.checks"]  # re-exported by the package, imported by no checker


def test_every_name_taken_from_linalg_is_in_its_all():
    from hessnotes import _linalg

    taken = set()
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "hessnotes._linalg":
                taken |= {a.name for a in node.names}
    assert taken and taken <= set(_linalg.__all__), sorted(taken - set(_linalg.__all__))


def test_no_function_is_longer_than_120_lines():
    long = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_LINES:
                    long.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} {node.name} ({n})")
    assert not long, long
