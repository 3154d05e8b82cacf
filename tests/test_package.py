"""The package's public surface: every name in __all__ exists, and importing has no side effects."""

import subprocess
import sys
import tomllib
from pathlib import Path

import hessnotes


def test_all_names_exist_and_version_matches_pyproject():
    assert all(hasattr(hessnotes, n) for n in hessnotes.__all__)
    assert len(set(hessnotes.__all__)) == len(hessnotes.__all__)
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert hessnotes.__version__ == pyproject["project"]["version"]


def test_import_is_silent_and_leaves_global_state_alone():
    code = (
        "import matplotlib, torch, numpy as np\n"
        "rc = dict(matplotlib.rcParams); dt = torch.get_default_dtype()\n"
        "state = torch.random.get_rng_state().clone(); npstate = np.random.get_state()[1].copy()\n"
        "import hessnotes, hessnotes.figures.kron, hessnotes.widgets\n"
        "assert dict(matplotlib.rcParams) == rc and torch.get_default_dtype() == dt\n"
        "assert torch.equal(torch.random.get_rng_state(), state)\n"
        "assert (np.random.get_state()[1] == npstate).all()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and out.stderr == ""


def _chapter_imports() -> dict[str, set[str]]:
    """Which public module each chapter takes names from: the module it imports from, and for a
    name taken from ``hessnotes`` itself, the public module that defines (or exports) it."""
    import ast
    import importlib
    import pkgutil
    import re
    import types

    import nbformat

    public = [
        m.name
        for m in pkgutil.walk_packages(hessnotes.__path__, "hessnotes.")
        if not any(p.startswith("_") for p in m.name.split("."))
    ]
    homes: dict[int, set[str]] = {}
    for name in public:
        mod = importlib.import_module(name)
        for n in getattr(mod, "__all__", []):
            homes.setdefault(id(getattr(mod, n)), set()).add(name)
    book = Path(__file__).parents[1] / "book"
    uses: dict[str, set[str]] = {}
    for path in sorted(book.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        title = next(
            re.search(r"^# (.+)$", c.source, re.M)[1]
            for c in nb.cells
            if c.cell_type == "markdown" and re.search(r"^# (.+)$", c.source, re.M)
        )
        for cell in nb.cells[1:]:
            if cell.cell_type != "code":
                continue
            for node in ast.walk(ast.parse(cell.source)):
                if not (
                    isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hessnotes")
                ):
                    continue
                mod = importlib.import_module(node.module)
                where = {node.module} if node.module != "hessnotes" else set()
                for alias in node.names:
                    obj = getattr(mod, alias.name)
                    if isinstance(obj, types.ModuleType):
                        where.add(obj.__name__)
                    elif node.module == "hessnotes":
                        m = obj.__module__
                        private = any(p.startswith("_") for p in m.split("."))
                        where |= homes.get(id(obj), set()) if private else {m}
                for m in where:
                    uses.setdefault(m, set()).add(title.split(":")[0])
    return uses


def test_each_public_module_names_the_chapters_it_serves():
    """Chapter ↔ code in one hop: a module's docstring ends with ``Chapters: "..."`` naming every
    chapter that imports from it (or says "every chapter")."""
    import importlib
    import pkgutil

    uses = _chapter_imports()
    assert uses, "no chapter imports hessnotes?"
    for info in pkgutil.walk_packages(hessnotes.__path__, "hessnotes."):
        if any(p.startswith("_") for p in info.name.split(".")):
            continue
        doc = importlib.import_module(info.name).__doc__ or ""
        assert "\nChapters: " in doc, f"{info.name}: no 'Chapters:' line in its docstring"
        said = " ".join(doc.split("\nChapters: ", 1)[1].split())
        if said.startswith("every chapter"):
            continue
        missing = sorted(t for t in uses.get(info.name, ()) if f'"{t}"' not in said)
        assert not missing, f"{info.name} serves {missing} but its docstring does not say so"
