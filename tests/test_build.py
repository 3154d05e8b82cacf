"""Incremental builds never show stale outputs (book/_ext/hn_deps.py).

The unit tests read the import graph of a small package written for the test, and of hessnotes
itself. The build test (marker ``build``, ``make test-build``) builds a scratch copy of the book
with a three-page table of contents, changes a value that a chapter prints through a library
function, rebuilds, and finds the new value on the page, with exactly the chapters that import the
changed module (directly or through another module) executed again; then edits one chapter and
sees only that chapter run again. A PDF left beside the pages by ``make pdf`` is removed by the
build that changed them (book/_ext/hn_release.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import hn_deps  # noqa: E402


# --------------------------------------------------------------------------------------------------
# The import graph, on a package written for the test
# --------------------------------------------------------------------------------------------------
@pytest.fixture
def lib(tmp_path: Path) -> hn_deps.Library:
    """hessnotes/{__init__, a, b, c, d, sub/__init__, sub/e}: a re-export table over a chain."""
    files = {
        "__init__.py": "from hessnotes.a import fa\nfrom .b import fb as renamed\n__all__ = []\n",
        "a.py": "from hessnotes.b import fb\n\ndef fa():\n    return fb()\n",
        "b.py": "def fb():\n    from hessnotes import c  # a lazy import inside a function\n"
        "    return c.x\n",
        "c.py": "from hessnotes.a import fa  # a cycle back to a\nx = 1\n",
        "d.py": "import numpy as np\n\ndef fd():\n    return np.zeros(1)\n",
        "sub/__init__.py": "from .e import fe\n",
        "sub/e.py": "from ..d import fd\n\ndef fe():\n    return fd()\n",
        "star.py": "from hessnotes.d import *\n",
    }
    for name, text in files.items():
        path = tmp_path / "hessnotes" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return hn_deps.Library(tmp_path)


def deps(lib: hn_deps.Library, *cells: str) -> set[str]:
    return {m.removeprefix("hessnotes.") for m in hn_deps.chapter_modules(lib, list(cells))}


def test_a_name_resolves_to_its_module_and_everything_it_imports(lib):
    # fa is defined in a; a imports b, b imports c (in a function), c imports a (a cycle).
    assert deps(lib, "from hessnotes.a import fa") == {"hessnotes", "a", "b", "c"}
    # d imports nothing of the package: neither a, b nor c.
    assert deps(lib, "from hessnotes.d import fd") == {"hessnotes", "d"}


def test_re_exports_are_followed_and_the_table_is_a_dependency(lib):
    # `renamed` is b.fb re-exported under another name by __init__: b's closure plus __init__.
    assert deps(lib, "from hessnotes import renamed") == {"hessnotes", "a", "b", "c"}
    # Relative imports in a subpackage: sub.fe -> sub.e -> d.
    assert deps(lib, "from hessnotes.sub import fe") == {"hessnotes", "sub", "sub.e", "d"}


def test_bare_package_imports_follow_attribute_uses(lib):
    # The Colab cell's `import hessnotes`: only the package's __init__ file.
    assert deps(lib, "try:\n    import hessnotes  # noqa\nexcept ImportError:\n    pass") == {
        "hessnotes"
    }
    assert deps(lib, "import hessnotes as hn\nhn.sub.fe()") == {"hessnotes", "sub", "sub.e", "d"}
    assert deps(lib, '__import__("hessnotes").d.fd()') == {"hessnotes", "d"}


def test_what_cannot_be_resolved_depends_on_everything(lib):
    everything = {m.removeprefix("hessnotes.") for m in lib.everything()}
    assert len(everything) == 8
    assert deps(lib, "from hessnotes.star import fd") == everything  # a star import on the way
    assert deps(lib, "from hessnotes.nowhere import f") == everything  # an unknown module
    assert deps(lib, "import hessnotes\nf = getattr(hessnotes, 'a')") == everything  # bare use
    assert deps(lib, "def broken(:\n") == everything  # a cell that does not parse


def test_magics_are_translated_before_parsing(tmp_path, lib):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%matplotlib inline\n!echo hi\nfrom hessnotes.d import fd"),
        nbformat.v4.new_markdown_cell("from hessnotes.a import fa (markdown: not code)"),
    ]
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nb, path)
    assert deps(lib, *hn_deps.notebook_code(path)) == {"hessnotes", "d"}


class Config(dict):
    """What ``execution_settings`` reads of a Sphinx config: ``.values`` and ``config[name]``."""

    @property
    def values(self):
        return {**self, "title": None}


SETTINGS = {"nb_execution_timeout": 180, "nb_execution_mode": "force", "nb_output_stderr": "error"}


def test_fingerprint_changes_with_library_environment_and_settings(tmp_path, lib):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from hessnotes.d import fd")]
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nb, path)
    (tmp_path / "requirements.txt").write_text("numpy==2.4.4\n")

    def fp(settings=SETTINGS):
        return hn_deps.fingerprint(lib, path, tmp_path, Config(settings))

    first = fp()
    assert set(first) >= {"hessnotes/__init__.py", "hessnotes/d.py", "requirements.txt"}
    assert "hessnotes/a.py" not in first
    assert fp() == first  # stable

    (tmp_path / "hessnotes" / "a.py").write_text("# not imported by the chapter\n")
    assert fp() == first
    (tmp_path / "hessnotes" / "d.py").write_text("def fd():\n    return 2\n")
    assert hn_deps._changed(first, fp()) == ["hessnotes/d.py"]
    second = fp()
    (tmp_path / "requirements.txt").write_text("numpy==2.4.5\n")
    assert hn_deps._changed(second, fp()) == ["requirements.txt"]
    third = fp()
    changed = hn_deps._changed(third, fp({**SETTINGS, "nb_execution_timeout": 30}))
    assert changed == [hn_deps.EXECUTION_KEY]
    assert hn_deps._changed(None, third) == ["(no record of its dependencies)"]


def test_every_chapter_depends_on_the_modules_it_imports():
    """On the real book: each chapter's direct imports are in its dependencies, and no more
    than needed (a chapter that imports no Kronecker code does not depend on kron.py)."""
    lib = hn_deps.Library(ROOT)
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        cells = hn_deps.notebook_code(path)
        modules = hn_deps.chapter_modules(lib, cells)
        direct = {
            m.group(1)
            for m in re.finditer(r"^\s*from (hessnotes(?:\.\w+)*) import", "\n".join(cells), re.M)
        }
        assert direct <= modules, f"{path.name}: {direct - modules} missing"
        assert modules < lib.everything(), f"{path.name} depends on the whole package"
    seven = hn_deps.chapter_modules(
        lib, hn_deps.notebook_code(ROOT / "book/seven-identities.ipynb")
    )
    assert "hessnotes.kron" not in seven and "hessnotes.secant" not in seven


# --------------------------------------------------------------------------------------------------
# The build: a scratch copy of the book, rebuilt after a library edit and after a chapter edit
# --------------------------------------------------------------------------------------------------
PROBE_SOURCE = 'from hessnotes.kron import build_probe\n\nprint("the library says:", build_probe())'
CHAPTERS = ["book/seven-identities", "book/conventions"]


def _scratch_book(dest: Path) -> None:
    """A copy of the book: the real config, library and extensions; a three-page toc."""
    for name in ("_config.yml", "requirements.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(
        ROOT / "hessnotes", dest / "hessnotes", ignore=shutil.ignore_patterns("__pycache__")
    )
    (dest / "book").mkdir()
    for name in ("_ext", "images"):
        shutil.copytree(
            ROOT / "book" / name, dest / "book" / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    (dest / "book" / "_vendor").symlink_to(ROOT / "book" / "_vendor")
    shutil.copy(ROOT / "book" / "references.bib", dest / "book" / "references.bib")
    for chapter in CHAPTERS:
        shutil.copy(ROOT / f"{chapter}.ipynb", dest / f"{chapter}.ipynb")
    # A value printed through a library function: build_probe, defined in a module of its own
    # and re-exported by kron (so the chapter depends on _probe only through kron; _linalg, which
    # nearly every module imports, would reach every chapter).
    (dest / "hessnotes" / "_probe.py").write_text(
        'def build_probe() -> str:\n    return "value 1"\n'
    )
    with open(dest / "hessnotes" / "kron.py", "a") as f:
        f.write("\nfrom hessnotes._probe import build_probe  # noqa: E402, F401\n")
    probe = nbformat.v4.new_notebook()
    probe.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    probe.cells = [
        nbformat.v4.new_markdown_cell("# Probe\n\nA page that prints a value from the library."),
        nbformat.v4.new_code_cell(PROBE_SOURCE),
    ]
    nbformat.write(probe, dest / "book" / "probe.ipynb")
    toc = {"format": "jb-book", "root": "book/probe", "chapters": [{"file": c} for c in CHAPTERS]}
    (dest / "_toc.yml").write_text(yaml.safe_dump(toc))


def _build(book: Path) -> tuple[set[str], float, str]:
    """Build the scratch book; the chapters that were executed, the time, the log."""
    import time

    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["PYTHONPATH"] = str(book)  # the kernel imports the scratch copy of hessnotes
    jb = Path(sys.executable).with_name("jupyter-book")
    start = time.perf_counter()
    proc = subprocess.run(
        [str(jb), "build", str(book), "-n", "--keep-going"],
        capture_output=True,
        text=True,
        env=env,
        cwd=book,
    )
    elapsed = time.perf_counter() - start
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    executed = set(re.findall(r"book/([\w-]+)\.ipynb: Executing notebook", log))
    return executed, elapsed, log


@pytest.mark.build
def test_a_library_change_reaches_exactly_the_chapters_that_import_it(tmp_path):
    book = tmp_path / "book-copy"
    book.mkdir()
    _scratch_book(book)
    page = book / "_build" / "html" / "book" / "probe.html"

    executed, first, _ = _build(book)
    assert executed == {"probe", "seven-identities", "conventions"}
    assert "the library says: value 1" in page.read_text()

    pdf = book / "_build" / "html" / "hessnotes.pdf"  # as `make pdf` leaves it
    pdf.write_bytes(b"%PDF of the first build")
    executed, noop, _ = _build(book)
    assert executed == set(), "a rebuild with no change executed chapters again"
    assert pdf.exists(), "a rebuild that changed nothing removed the PDF"

    # Change the value in _probe.py: probe (through kron's re-export) and conventions (it uses
    # kron, which imports _probe) run again; seven-identities imports neither.
    module = book / "hessnotes" / "_probe.py"
    module.write_text(module.read_text().replace('"value 1"', '"value 2"'))
    executed, library, log = _build(book)
    assert executed == {"probe", "conventions"}, log[-3000:]
    assert "[hn_deps] book/probe re-executes: hessnotes/_probe.py changed" in log
    html = page.read_text()
    assert "the library says: value 2" in html and "value 1" not in html
    assert not pdf.exists(), "the site still offers the PDF of the old pages"

    # Edit one chapter's prose: only that chapter runs again.
    path = book / "book" / "seven-identities.ipynb"
    nb = nbformat.read(path, as_version=4)
    md = next(c for c in nb.cells if c.cell_type == "markdown")
    md.source += "\n\nOne more sentence."
    nbformat.write(nb, path)
    executed, chapter, _ = _build(book)
    assert executed == {"seven-identities"}
    print(
        f"\nscratch book (3 pages): full build {first:.0f} s, no-op rebuild {noop:.0f} s, "
        f"after a library edit {library:.0f} s (probe, conventions re-ran), "
        f"after a chapter edit {chapter:.0f} s"
    )
