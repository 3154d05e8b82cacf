"""A chapter re-runs whenever anything it depends on changed (a local extension).

Sphinx re-reads, and so myst-nb re-executes, only the documents whose own file changed. A
chapter's outputs also depend on the library code it runs, on the pinned environment and on the
execution settings, none of which Sphinx sees: after an edit to ``hessnotes/secant.py`` an
incremental build re-executed nothing and the pages kept the numbers of the old code. So, for
every notebook it reads, this extension records a fingerprint of

- the ``hessnotes`` files the chapter's code imports, name by name through the re-exports
  (``from hessnotes import least_norm_hessian`` is ``hessnotes/secant.py``, plus the
  ``__init__.py`` that re-exports it), and, transitively, every ``hessnotes`` file those import;
- ``requirements.txt`` (the pinned environment), the version of ``hessnotes`` (the provenance line
  prints it) and the interpreter's version;
- the execution settings (every ``nb_execution_*`` value and ``nb_output_stderr``);

and at the next build (``env-get-outdated``) it marks outdated every chapter whose fingerprint
changed, naming the file that changed. Only those chapters are re-executed; the others are reused.

Name-level resolution relies on the library's rule that importing has no side effects: a module's
code matters to a chapter only when the chapter, or a module it uses, imports a name from it. What
the scanner cannot resolve (a star import, a cell that does not parse, an unknown name, any other
use of the bare package) makes the chapter depend on the whole package: never less than needed.
A chapter whose execution failed records nothing, so it runs again next time.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

PACKAGE = "hessnotes"
ENVIRONMENT_FILES = ("requirements.txt",)
#: Keys of the fingerprint that are not files.
EXECUTION_KEY = "(execution settings)"
PYTHON_KEY = "(python)"
VERSION_KEY = "(hessnotes version)"


# --------------------------------------------------------------------------------------------------
# The library's import graph, name by name
# --------------------------------------------------------------------------------------------------
@dataclass
class Library:
    """The ``hessnotes`` sources under ``root`` (the folder holding the package), parsed lazily.

    Modules are dotted names. A module is *used* when code defined in it can run for the chapter
    (it defines a name the chapter imports, or one that a used module imports); it is *consulted*
    when it only passes a name on (a re-exporting ``__init__``) or is a parent package of a used
    module. The dependencies of a chapter are the files of both kinds; only used modules are
    followed further.
    """

    root: Path
    package: str = PACKAGE
    _trees: dict[str, ast.Module | None] = field(default_factory=dict)
    _direct: dict[str, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)
    _imports: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    _bindings: dict[str, dict[str, tuple[str, str | None]]] = field(default_factory=dict)
    _paths: dict[str, Path | None] = field(default_factory=dict)

    def path(self, module: str) -> Path | None:
        """Source file of a dotted module name, or None when it is not in the package."""
        if module not in self._paths:
            self._paths[module] = None
            parts = module.split(".")
            if parts[0] == self.package and all(p.isidentifier() for p in parts):
                base = self.root.joinpath(*parts)
                for candidate in (base / "__init__.py", base.with_suffix(".py")):
                    if candidate.is_file():
                        self._paths[module] = candidate
                        break
        return self._paths[module]

    def everything(self) -> set[str]:
        """Every module of the package: what a chapter depends on when resolution gives up."""
        out = set()
        for f in (self.root / self.package).rglob("*.py"):
            rel = f.relative_to(self.root).with_suffix("")
            out.add(".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts))
        return out

    def ours(self, module: str) -> bool:
        return module == self.package or module.startswith(self.package + ".")

    def tree(self, module: str) -> ast.Module | None:
        if module not in self._trees:
            path = self.path(module)
            try:
                self._trees[module] = ast.parse(path.read_bytes()) if path else None
            except SyntaxError:
                self._trees[module] = None
        return self._trees[module]

    def is_package(self, module: str) -> bool:
        path = self.path(module)
        return path is not None and path.name == "__init__.py"

    @staticmethod
    def parents(module: str) -> set[str]:
        """The packages whose ``__init__`` runs before ``module`` (``a.b.c`` -> ``a``, ``a.b``)."""
        parts = module.split(".")
        return {".".join(parts[:i]) for i in range(1, len(parts))}

    def imports(self, module: str, tree: ast.AST | None = None) -> list[tuple[str, str | None]]:
        """``(module, name)`` for every import of this package anywhere in ``module``'s code.

        ``name`` is None for ``import a.b`` and ``"*"`` for a star import. Relative imports are
        resolved against ``module``. Imports inside functions and ``try`` blocks count too.
        ``tree`` scans that code instead of the module's file.
        """
        if tree is not None:
            return self._scan(module, tree)
        if module not in self._imports:
            parsed = self.tree(module)
            self._imports[module] = (
                self._scan(module, parsed)
                if parsed is not None
                else [(self.package, "*")]  # unparsable: anything may be imported
            )
        return self._imports[module]

    def _scan(self, module: str, tree: ast.AST) -> list[tuple[str, str | None]]:
        here = module if self.is_package(module) else module.rpartition(".")[0]
        out: list[tuple[str, str | None]] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                out += [(a.name, None) for a in node.names if self.ours(a.name)]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = here.split(".")
                    base = parts[: len(parts) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                if self.ours(source):
                    out += [(source, a.name) for a in node.names]
        return out

    def bindings(self, module: str) -> dict[str, tuple[str, str | None]]:
        """Names that ``module`` binds at top level by importing them from this package."""
        if module in self._bindings:
            return self._bindings[module]
        tree = self.tree(module)
        out = self._bindings[module] = {}
        for node in tree.body if tree is not None else []:
            if isinstance(node, ast.ImportFrom):
                one = ast.Module(body=[node], type_ignores=[])
                for alias, (src, name) in zip(node.names, self.imports(module, one), strict=False):
                    if name != "*":
                        out[alias.asname or name] = (src, name)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if self.ours(a.name) and a.asname:
                        out[a.asname] = (a.name, None)
        return out

    def lookup(self, module: str, name: str | None, seen=frozenset()) -> tuple[set, set]:
        """``(consulted, used)`` modules behind ``from module import name`` (``import module``)."""
        if self.path(module) is None or name == "*":
            return set(), self.everything()  # unknown or star: assume the worst
        consulted = self.parents(module)
        if name is None:
            return consulted, {module}
        if (module, name) in seen:
            return consulted, {module}
        bound = self.bindings(module).get(name)
        if bound is not None:
            more, used = self.lookup(*bound, seen=seen | {(module, name)})
            return consulted | more | {module}, used
        if self.path(f"{module}.{name}") is not None:  # a submodule
            return consulted | {module}, {f"{module}.{name}"}
        if any(n == "*" for _, n in self.imports(module)):
            return set(), self.everything()
        return consulted, {module}  # defined here (or unknown: then all this module uses)

    def direct(self, module: str) -> tuple[frozenset[str], frozenset[str]]:
        """``(consulted, used)`` modules behind every import in ``module`` (and its parents)."""
        if module not in self._direct:
            consulted, used = set(self.parents(module)), set()
            for src, name in self.imports(module):
                c, u = self.lookup(src, name)
                consulted |= c
                used |= u
            self._direct[module] = (frozenset(consulted), frozenset(used))
        return self._direct[module]

    def closure(self, used: set[str], consulted: set[str] = frozenset()) -> set[str]:
        """Every module whose file the code of ``used`` depends on, transitively (cycles too)."""
        files, todo, done = set(consulted), list(used), set()
        while todo:
            module = todo.pop()
            if module in done:
                continue
            done.add(module)
            c, u = self.direct(module)
            files |= c
            todo += [m for m in u if m not in done]
        return files | done


# --------------------------------------------------------------------------------------------------
# A notebook's imports
# --------------------------------------------------------------------------------------------------
def notebook_code(path: Path) -> list[str]:
    """The code cells of a notebook, as Python (IPython magics and shell escapes translated)."""
    from IPython.core.inputtransformer2 import TransformerManager

    cells = json.loads(path.read_bytes())["cells"]
    tm = TransformerManager()
    return [
        tm.transform_cell("".join(c["source"]) if isinstance(c["source"], list) else c["source"])
        for c in cells
        if c["cell_type"] == "code"
    ]


def chapter_modules(lib: Library, cells: list[str]) -> set[str]:
    """The ``hessnotes`` modules whose files the given cells depend on (see :class:`Library`)."""
    consulted: set[str] = set()
    used: set[str] = set()
    for source in cells:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return lib.everything()
        for src, name in lib.imports("__main__", tree):
            if name is not None:  # `import hessnotes...` is handled with its attribute uses
                c, u = lib.lookup(src, name)
                consulted |= c
                used |= u
        c, u = _bare_package_uses(lib, tree)
        consulted |= c
        used |= u
    return lib.closure(used, consulted)


def _bare_package_uses(lib: Library, tree: ast.AST) -> tuple[set[str], set[str]]:
    """``import hessnotes [as hn]`` then ``hn.name``; ``__import__("hessnotes").name``."""
    bound: dict[str, str] = {}  # local name -> module it refers to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if lib.ours(a.name):  # `import a.b` binds a; `import a.b as c` binds c to a.b
                    bound[a.asname or a.name.split(".")[0]] = (
                        a.name if a.asname else a.name.split(".")[0]
                    )
    consulted = {m for name in bound.values() for m in {name} | lib.parents(name)}
    used: set[str] = set()
    attribute_of: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        value, module = node.value, None
        if isinstance(value, ast.Name) and value.id in bound:
            attribute_of.add(id(value))
            module = bound[value.id]
        elif (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id == "__import__"
            and value.args
            and isinstance(value.args[0], ast.Constant)
            and isinstance(value.args[0].value, str)
            and lib.ours(value.args[0].value)
        ):
            module = value.args[0].value
        if module is not None:
            c, u = lib.lookup(module, node.attr)
            consulted |= c
            used |= u
    for node in ast.walk(tree):
        # Any other use of the bare package (passed around, getattr, ...): assume the worst.
        if (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and node.id in bound
            and id(node) not in attribute_of
        ):
            return set(), lib.everything()
    return consulted, used


# --------------------------------------------------------------------------------------------------
# Fingerprints and the Sphinx events
# --------------------------------------------------------------------------------------------------
def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def execution_settings(config) -> str:
    """One digest of myst-nb's execution settings (``nb_execution_*``, ``nb_output_stderr``)."""
    names = sorted(n for n in config.values if n.startswith("nb_execution_"))
    names.append("nb_output_stderr")
    return _digest(repr([(n, config[n]) for n in names]).encode())


def fingerprint(lib: Library, notebook: Path, srcdir: Path, config) -> dict[str, str]:
    """``{file or key: digest}`` of everything ``notebook``'s outputs depend on, besides itself."""
    try:
        modules = chapter_modules(lib, notebook_code(notebook))
    except Exception:  # an unreadable notebook: Sphinx will say why when it reads it
        modules = lib.everything()
    out: dict[str, str] = {}
    for module in sorted(modules):
        path = lib.path(module)
        if path is not None:
            out[_rel(path, lib.root)] = _digest(path.read_bytes())
    for name in ENVIRONMENT_FILES:
        f = srcdir / name
        out[name] = _digest(f.read_bytes()) if f.is_file() else "missing"
    out[VERSION_KEY] = _installed_version(lib.package)
    out[PYTHON_KEY] = platform.python_version()
    out[EXECUTION_KEY] = execution_settings(config)
    return out


def _installed_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def find_library(srcdir: Path) -> Library:
    """The ``hessnotes`` the chapters import: the one on ``sys.path`` (else the book's own)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is not None and spec.origin:
        return Library(Path(spec.origin).resolve().parents[1])
    return Library(srcdir)


def _notebook_docs(env) -> dict[str, Path]:
    out = {}
    for docname in env.found_docs:
        path = Path(env.doc2path(docname))
        if path.suffix == ".ipynb":
            out[docname] = path
    return out


def _changed(old: dict[str, str] | None, new: dict[str, str]) -> list[str]:
    if old is None:
        return ["(no record of its dependencies)"]
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))


def _get_outdated(app, env, added, changed, removed):
    """Chapters to re-read (re-execute) because something they depend on changed."""
    records = getattr(env, "hn_deps", {})
    lib = find_library(Path(app.srcdir))
    env.hn_deps_pending = {}
    outdated = []
    for docname, path in sorted(_notebook_docs(env).items()):
        new = fingerprint(lib, path, Path(app.srcdir), app.config)
        env.hn_deps_pending[docname] = new
        if docname in added or docname in changed or docname in removed:
            continue
        if docname not in env.all_docs:
            continue
        why = _changed(records.get(docname), new)
        if why:
            outdated.append(docname)
            shown = ", ".join(why[:3]) + (f" and {len(why) - 3} more" if len(why) > 3 else "")
            logger.info(f"[hn_deps] {docname} re-executes: {shown} changed")
    return outdated


def _record(app, doctree):
    """After a chapter was read (executed): store its fingerprint, unless execution failed."""
    env = app.env
    docname = env.docname
    pending = getattr(env, "hn_deps_pending", {})
    if docname not in pending:
        return
    from myst_nb.sphinx_ import NbMetadataCollector

    exec_data = NbMetadataCollector.get_exec_data(env, docname)
    if exec_data is not None and not exec_data.get("succeeded", True):
        return
    if not hasattr(env, "hn_deps"):
        env.hn_deps = {}
    env.hn_deps[docname] = pending[docname]


def _purge(app, env, docname):
    getattr(env, "hn_deps", {}).pop(docname, None)


def _merge(app, env, docnames, other):
    if not hasattr(env, "hn_deps"):
        env.hn_deps = {}
    for docname in docnames:
        if docname in getattr(other, "hn_deps", {}):
            env.hn_deps[docname] = other.hn_deps[docname]


def setup(app):
    app.connect("env-get-outdated", _get_outdated)
    app.connect("doctree-read", _record)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
