"""The project's configuration keeps its promises: pinned, strict, offline, executed notebooks."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
MAX_NOTEBOOK_BYTES = 1_500_000


def toc_files() -> list[str]:
    files = [TOC["root"]]
    for part in TOC["parts"]:
        files += [c["file"] for c in part["chapters"]]
    return files


NOTEBOOKS = sorted(ROOT.glob("book/*.ipynb"))


def pins() -> dict[str, str]:
    out = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line or line == "-e .":
            continue
        req = Requirement(line)
        spec = str(req.specifier)
        pinned = spec.startswith("==") and "," not in spec
        assert pinned, f"requirements.txt: {line!r} is not pinned"
        out[req.name.lower().replace("_", "-")] = spec[2:]
    return out


def test_requirements_pinned_and_end_with_editable_install():
    p = pins()
    assert p["torch"] == "2.13.0", "torch must stay 2.13.0 (the CPU build on this machine's disk)"
    assert p["jupyter-book"].startswith("1."), "_config.yml/_toc.yml are Jupyter Book v1's format"
    for name in ("myst-nb", "sphinx-proof", "sphinxcontrib-bibtex", "nbval", "playwright", "ruff"):
        assert name in p, f"{name} is missing from requirements.txt"
    lines = [ln for ln in (ROOT / "requirements.txt").read_text().splitlines() if ln.strip()]
    assert lines[-1] == "-e .", "requirements.txt must end with `-e .`"


def test_pyproject_in_step_with_requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "hessnotes" and project["version"]
    p = pins()
    for dep in project["dependencies"]:
        req = Requirement(dep)
        pinned = p[req.name.lower()]
        assert req.specifier.contains(pinned), f"pyproject wants {dep}, requirements pins {pinned}"


def test_config_is_strict_and_excludes_venv():
    ex = CONFIG["execute"]
    assert ex["raise_on_error"] is True
    assert ex["execute_notebooks"] == "force"
    assert CONFIG["only_build_toc_files"] is True
    assert ".venv" in CONFIG["exclude_patterns"]
    assert (ROOT / CONFIG["bibtex_bibfiles"][0]).exists()
    assert "sphinx_proof" in CONFIG["sphinx"]["extra_extensions"]


def test_javascript_is_self_hosted():
    conf = CONFIG["sphinx"]["config"]
    (static,) = conf["html_static_path"]
    assert not (ROOT / "_static").exists(), "_static/ would inject every *.js into every page"
    assert (ROOT / static / conf["mathjax_path"]).is_file()
    for path in conf["nb_ipywidgets_js"]:
        assert "://" not in path, f"{path} would load from a CDN"
        assert (ROOT / static / path).is_file()
    licences = (ROOT / static / "README.md").read_text()
    for package in ("mathjax", "requirejs", "html-manager"):
        assert package in licences


def test_binder_uses_cpu_torch_and_jupyterlab():
    text = (ROOT / "binder" / "requirements.txt").read_text()
    assert "download.pytorch.org/whl/cpu" in text and "torch==2.13.0+cpu" in text
    p = pins()
    assert p["jupyterlab"] == "4.4.9", "the JupyterLab that Binder's image ships"
    assert f"jupyterlab-myst=={p['jupyterlab-myst']}" in text
    assert CONFIG["launch_buttons"]["notebook_interface"] == "jupyterlab", "slider keys need it"


def test_every_chapter_is_in_the_toc():
    listed = set(toc_files())
    for nb in NOTEBOOKS:
        assert f"book/{nb.stem}" in listed, f"{nb.name} is not in _toc.yml (it would not be built)"
    for f in listed:
        assert (ROOT / f"{f}.ipynb").exists() or (ROOT / f"{f}.md").exists(), f"{f} is missing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_committed_executed_and_small(path: Path):
    raw = path.read_bytes()
    assert len(raw) < MAX_NOTEBOOK_BYTES, f"{path.name} is {len(raw)} bytes; keep chapters small"
    nb = json.loads(raw)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert "widgets" not in nb["metadata"], "committed notebooks carry no widget state"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: execution counts {counts}"
    for c in code:
        assert "execution" not in c["metadata"], f"{path.name}: timing metadata was stored"
        for out in c["outputs"]:
            assert out["output_type"] != "error", f"{path.name}: a cell stored an error"
            stderr = out["output_type"] == "stream" and out["name"] == "stderr"
            assert not stderr, f"{path.name}: a cell wrote to stderr: {''.join(out['text'])[:200]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_colab_cell_points_at_the_configured_repository(path: Path):
    first = json.loads(path.read_text())["cells"][0]
    src = "".join(first["source"])
    assert "remove-cell" in first["metadata"].get("tags", []), "the set-up cell must be hidden"
    assert src.startswith("# Colab and bare Jupyter")
    found = re.findall(r'^\s*url, ref = "([^"]*)", "([^"]*)"', src, flags=re.M)
    repo = CONFIG["repository"]
    assert found == [(repo["url"], repo["branch"])], (
        f"{path.name} installs {found}, _config.yml says {repo['url']} at {repo['branch']}: "
        "run `make notebooks`"
    )


# --------------------------------------------------------------------------------------------------
# What execute-notebooks writes for readers in Jupyter and Colab (.ci/readers.py)
# --------------------------------------------------------------------------------------------------
def _readers():
    import sys

    sys.path.insert(0, str(ROOT / ".ci"))
    try:
        import readers
    finally:
        sys.path.pop(0)
    return readers


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_reader_cells_are_generated_from_the_config(path: Path):
    """Set-up cell, macro cell and folded solutions are what .ci/readers.py makes of them now."""
    import nbformat

    readers = _readers()
    nb = nbformat.read(path, as_version=4)
    want = nbformat.read(path, as_version=4)
    readers.prepare(want)
    for i, (got, cell) in enumerate(zip(nb.cells, want.cells, strict=True)):
        assert got.source == cell.source, f"{path.name}, cell {i}: run `make notebooks`"
        assert got.metadata == cell.metadata, f"{path.name}, cell {i}: run `make notebooks`"
    assert readers.is_macro_cell(nb.cells[1]) and "remove-cell" in nb.cells[1].metadata["tags"]


def _control_words(text: str, readers) -> set[str]:
    """The TeX control words of Markdown, outside code spans and blocks."""
    text = readers._TOKEN.sub(lambda m: "" if m["code"] else m[0], text)
    return set(re.findall(r"\\([A-Za-z]+)", text))


def _katex_names() -> set[str]:
    """Every command name in the KaTeX of jupyterlab-myst (its JavaScript string literals)."""
    import sys

    static = Path(sys.prefix) / "share/jupyter/labextensions/jupyterlab-myst/static"
    names: set[str] = set()
    for js in static.glob("*.js"):
        text = js.read_text(errors="replace")
        if "KaTeX parse error" in text and '"\\\\frac"' in text:
            names |= set(re.findall(r'"\\\\([A-Za-z]+)"', text))
    assert len(names) > 500, f"KaTeX not found in {static} (jupyterlab-myst is pinned)"
    return names


def _mathjax_names() -> set[str]:
    """Every command name in the site's MathJax (keys of its macro maps, string literals)."""
    conf = CONFIG["sphinx"]["config"]
    js = (ROOT / conf["html_static_path"][0] / conf["mathjax_path"]).read_text()
    return set(re.findall(r'"\\\\([A-Za-z]+)"', js)) | set(re.findall(r"[{,]([A-Za-z]+):", js))


def test_every_macro_a_chapter_uses_is_defined():
    """A control word in a chapter's Markdown (or Markdown output) is one of the book's macros
    (_config.yml) or known to both renderers: KaTeX in Jupyter, MathJax on the site."""
    readers = _readers()
    macros = set(readers.macros())
    katex, mathjax = _katex_names(), _mathjax_names()
    assert not {"vec", "tr"} - macros and "vec" in katex  # \vec is redefined, not new
    unknown = []
    for path in NOTEBOOKS:
        for i, cell in enumerate(json.loads(path.read_text())["cells"]):
            texts = ["".join(cell["source"])] if cell["cell_type"] == "markdown" else []
            texts += [
                "".join(o["data"]["text/markdown"])
                for o in cell.get("outputs", [])
                if "text/markdown" in o.get("data", {})
            ]
            for text in texts:
                for word in sorted(_control_words(text, readers) - macros):
                    if word not in katex or word not in mathjax:
                        renderer = "KaTeX" if word not in katex else "MathJax"
                        unknown.append(f"{path.name}, cell {i}: \\{word} (unknown to {renderer})")
    assert not unknown, "define these in _config.yml or write them otherwise:\n" + "\n".join(
        unknown
    )


def test_colab_copies_are_generated_from_the_chapters_and_up_to_date():
    """book/colab/<chapter>.ipynb is what .ci/readers.py makes of the chapter (run
    `make notebooks`), with no MyST and no macro of the book left in it."""
    import nbformat

    readers = _readers()
    book = readers.Book.load()
    copies = sorted((ROOT / "book" / readers.COLAB_DIR).glob("*.ipynb"))
    assert [c.name for c in copies] == [p.name for p in NOTEBOOKS], "run `make notebooks`"
    macros = "|".join(readers.macros())
    leftover = re.compile(rf"\{{[\w:-]+\}}`|^:::|^:\w+:|\\(?:{macros})(?![A-Za-z])|\(eq-", re.M)
    for path in NOTEBOOKS:
        want = readers.colab_copy(nbformat.read(path, as_version=4), path.stem, book)
        got = readers.colab_path(path).read_text()
        assert got == nbformat.writes(want) + "\n", f"{path.name}: the Colab copy is stale"
        for cell in want.cells:
            if cell.cell_type == "markdown":
                left = leftover.findall(readers._TOKEN.sub("", cell.source))
                assert not left, f"colab/{path.name}: MyST or macros left: {left}"
        assert want.cells[0].source.startswith("#@title")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_readers_of_the_notebook_see_every_output(path: Path):
    """Slider cells carry their first frame; cells nbval ignores still carry their outputs."""
    for i, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        mimes = {m for o in cell["outputs"] for m in o.get("data", {})}
        if re.search(r"^frame_sliders?\(", src, re.M):
            assert "image/png" in mimes, f"{path.name}, cell {i}: the slider has no first frame"
        if "nbval-ignore-output" in cell["metadata"].get("tags", []):
            assert cell["outputs"], f"{path.name}, cell {i}: an ignored cell stored no output"


def _imports(source: str) -> set[str]:
    import ast

    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_binder_pins_every_runtime_import():
    """binder/requirements.txt pins each distribution that hessnotes or a chapter imports, at the
    version of requirements.txt (an AST scan of the library and of the chapters' code cells)."""
    import importlib.metadata
    import sys

    modules = set()
    for py in (ROOT / "hessnotes").rglob("*.py"):
        modules |= _imports(py.read_text())
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                modules |= _imports("".join(cell["source"]))
    modules -= set(sys.stdlib_module_names) | {"hessnotes"}
    dists = importlib.metadata.packages_distributions()
    needed = {m: dists[m][0].lower().replace("_", "-") for m in modules}
    needed["ipykernel"] = "ipykernel"  # runs the chapters
    needed["jupyterlab"], needed["jupyterlab_myst"] = "jupyterlab", "jupyterlab-myst"
    binder = {}
    for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            binder[req.name.lower().replace("_", "-")] = str(req.specifier).removeprefix("==")
    p = pins()
    for module, dist in sorted(needed.items()):
        assert dist in binder, f"binder/requirements.txt lacks {dist} (imported as {module})"
        assert binder[dist].split("+")[0] == p[dist], (
            f"{dist}: binder {binder[dist]}, pins {p[dist]}"
        )
    post = [ln for ln in (ROOT / "binder" / "postBuild").read_text().splitlines() if ln[:1] != "#"]
    assert "python -m pip install -e ." in post and "--no-deps" not in "\n".join(post)


def test_binder_dockerfile_renders_offline():
    """repo2docker renders the Binder image from binder/ (no Docker engine, no network needed)."""
    import subprocess
    import sys

    r2d = Path(sys.executable).with_name("jupyter-repo2docker")
    assert r2d.exists(), "jupyter-repo2docker is pinned in requirements.txt"
    proc = subprocess.run(
        [str(r2d), "--no-build", "--debug", str(ROOT)], capture_output=True, text=True, timeout=120
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-2000:]
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in out
    assert "./binder/postBuild" in out
    assert "python=3.11" in out


def test_all_exercises_page_is_generated_from_the_chapters_and_up_to_date():
    """book/exercises.md is what .ci/list-exercises makes of the chapters (run `make notebooks`)."""
    import subprocess
    import sys

    assert "book/exercises" in toc_files(), "the All exercises page must be in _toc.yml"
    script = ROOT / ".ci" / "list-exercises"
    proc = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    page = (ROOT / "book" / "exercises.md").read_text()
    labels = re.findall(r"\{numref\}`(ex-[a-z0-9-]+)`", page)
    assert labels and len(labels) == len(set(labels)), "exercise labels must be unique"
    for path in NOTEBOOKS:
        text = path.read_text()
        n = len(re.findall(r":::\{exercise\}", text))
        assert sum(lbl.startswith(f"ex-{path.stem}-") for lbl in labels) == n, path.name


def _tampered_notebook(path: Path) -> dict[int, bool]:
    """Write an executed notebook whose stored outputs were edited; return cell -> should pass.

    Cell 0 prints a real verdict of hessnotes.checks; the others print one measured value each.
    Each stored output is the fresh one with one number edited (or left alone).
    """
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    verdict = (
        "from hessnotes.checks import check_gradient, general\n"
        "print(check_gradient(lambda X: (X**2).sum(), lambda X: 2 * X, general(3, 2)))"
    )
    cells = [  # (source, stored stdout, should pass)
        (verdict, None, True),  # stored = fresh output, filled in below
        (verdict, "tamper the central-difference error: 1e-11 -> 1e-04", False),
        ('print(f"asymmetry {1.7e-16:.1e}")', "asymmetry 1.7e-16\n", True),
        ('print(f"asymmetry {1.7e-16:.1e}")', "asymmetry 9.9e-16\n", True),  # rounding level
        ('print(f"asymmetry {1.7e-16:.1e}")', "asymmetry 0.0e+00\n", True),  # rounding level
        ('print(f"asymmetry {1.7e-16:.1e}")', "asymmetry 1.7e-03\n", False),
        ('print(f"error {5.4e-12:.1e}")', "error 5.4e-10\n", True),  # machine-dependent level
        ('print(f"error {5.4e-12:.1e}")', "error 5.4e-04\n", False),
        ('print(f"error {2.4e-03:.1e}")', "error 2.3e-03\n", True),  # last digit
        ('print(f"error {2.4e-03:.1e}")', "error 2.4e-05\n", False),
        ('print(f"error {2.4e-03:.1e}")', "error 2.4e-01\n", False),
        (
            'print(f"relative error {5.0e-01:.1e} exceeds rtol 1e-08")',
            "relative error 5.0e-01 exceeds rtol 1e-06\n",
            False,
        ),  # tolerances are compared
    ]
    from hessnotes.checks import check_gradient, general

    fresh = str(check_gradient(lambda X: (X**2).sum(), lambda X: 2 * X, general(3, 2))) + "\n"
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    expect = {}
    for i, (src, stored, ok) in enumerate(cells):
        if stored is None:
            stored = fresh
        elif stored.startswith("tamper"):
            fd = re.search(r"central differences (\d\.\de-(\d\d))", fresh)
            assert fd and int(fd.group(2)) > 6, fresh  # a rounding-level value ...
            stored = fresh.replace(fd.group(1), f"{fd.group(1)[:-2]}04")  # ... grown to 1e-04
        cell = new_code_cell(src, execution_count=i + 1)
        cell.outputs = [new_output("stream", name="stdout", text=stored)]
        nb.cells.append(cell)
        expect[i] = ok
    nbformat.write(nb, path)
    return expect


def test_nbval_sanitizer_keeps_orders_of_magnitude_under_comparison(tmp_path):
    """Strict nbval with .ci/nbval-sanitize.cfg: a stored value changed by orders of magnitude
    fails; rounding-level values (exponent <= -06, exact zeros) and last-digit changes pass."""
    import subprocess
    import sys

    nb = tmp_path / "tampered.ipynb"
    expect = _tampered_notebook(nb)
    cfg = ROOT / ".ci" / "nbval-sanitize.cfg"
    nbval = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", str(cfg)]  # as in make
    strict = [
        "-c",
        str(ROOT / "pyproject.toml"),
        "--rootdir",
        str(tmp_path),
        "-p",
        "no:cacheprovider",
    ]
    cmd = [sys.executable, "-m", "pytest", "-v", *nbval, *strict, str(nb)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    outcome = dict(re.findall(r"::Cell (\d+) (PASSED|FAILED)", proc.stdout))
    assert len(outcome) == len(expect), proc.stdout[-3000:] + proc.stderr[-2000:]
    for i, ok in expect.items():
        got = outcome[str(i)] == "PASSED"
        assert got == ok, f"cell {i} {'failed' if ok else 'passed'}:\n{proc.stdout[-4000:]}"


_LIST_MARKER = re.compile(r"\s*([-+*]|\d+\.)\s")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_inline_formula_breaks_into_a_list_item(path: Path):
    """A line inside inline math that starts with "- " or "+ " becomes a Markdown list item, and
    the reader sees raw TeX. Display math ($$ ... $$) is not affected."""
    bad = []
    for i, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        text = re.sub(r"\$\$.*?\$\$", "", "".join(cell["source"]), flags=re.S)
        inside = False
        for line in text.split("\n"):
            if inside and _LIST_MARKER.match(line):
                bad.append(f"cell {i}: {line.strip()[:60]}")
            if len(re.findall(r"(?<!\\)\$", line)) % 2:
                inside = not inside
            if not line.strip():
                inside = False
    assert not bad, f"{path.name}: move the operator to the end of the previous line: {bad}"


def test_bibliography_has_no_repeated_keys():
    """A repeated key makes pybtex drop every later entry (the build then misses citations)."""
    keys = re.findall(r"^@\w+\{([^,\s]+),", (ROOT / "book/references.bib").read_text(), re.M)
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    assert not repeated, f"book/references.bib repeats {repeated}"


def test_bibliography_entries_are_all_closed():
    """An entry missing its closing brace swallows the next one (pybtex reads both as one and the
    build loses a citation without a warning): every '@type{key,' must start an entry of its own."""
    from pybtex.database import parse_file

    text = (ROOT / "book/references.bib").read_text()
    starts = re.findall(r"^@\w+\{([^,\s]+),", text, re.M)
    parsed = parse_file(str(ROOT / "book/references.bib")).entries
    assert sorted(parsed) == sorted(starts), sorted(set(starts) - set(parsed))
    for key, entry in parsed.items():
        for field, value in entry.fields.items():
            assert "@" not in value or field in ("url", "howpublished", "note"), (key, field)


def test_lint_and_format_cover_the_same_files():
    """`make lint` checks what `make format` fixes: one list of sources, .ci scripts in it."""
    make = (ROOT / "Makefile").read_text()
    targets = {}
    for block in make.split("\n\n"):
        head, _, body = block.partition(":")
        if head.strip() in ("lint", "format"):
            targets[head.strip()] = [ln.strip() for ln in body.splitlines()[1:] if "ruff" in ln]
    assert set(targets) == {"lint", "format"} and all(len(v) == 2 for v in targets.values())
    assert all(ln.endswith("$(PYSRC)") for v in targets.values() for ln in v), targets
    pysrc = next(ln for ln in make.splitlines() if ln.startswith("PYSRC"))
    for path in (".ci/execute-notebooks", ".ci/list-exercises", "hessnotes", "tests", "book"):
        assert path in pysrc.split()


def test_the_readme_lists_each_module_once():
    """The README's layout names every module of hessnotes/ in its first column, once."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## Layout", 1)[1].split("```")[1]
    lines = block.split("hessnotes/", 1)[1].split("\ntests/", 1)[0].splitlines()[1:]
    listed: list[str] = []
    for line in lines:
        if line.startswith("  ") and not line.startswith("   "):
            first = re.split(r"\s{2,}", line.strip())[0]
            listed += [n.strip().rstrip("/") for n in first.split(",") if n.strip()]
    modules = sorted(
        p.stem if p.is_file() else p.name
        for p in (ROOT / "hessnotes").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and p.name != "__pycache__")
    )
    assert sorted(listed) == modules, (sorted(set(modules) - set(listed)), listed)
    assert len(listed) == len(set(listed)), "a module is listed twice"


def test_readers_never_see_the_word_seed():
    """The user's notes are cited by what they are (the blog post by its title): "seed" never names
    them in any Markdown a reader sees (chapters, their Colab copies, the pages) nor in a citation
    key, which jupyterlab-myst and the Colab copies may show. (A random seed, and autodiff's seed
    vector, are seeds.)"""
    pages = [*NOTEBOOKS, *sorted(ROOT.glob("book/colab/*.ipynb"))]
    notes = re.compile(
        r"\bseed(?:'s)? (?:notes?|blog|post|notebook|exercises?|recipes?|derivation)\b|the seed's",
        re.I,
    )
    seen = []
    for path in pages:
        for i, cell in enumerate(json.loads(path.read_text())["cells"]):
            if cell["cell_type"] == "markdown" and notes.search("".join(cell["source"])):
                seen.append(f"{path.relative_to(ROOT)} cell {i}")
    for path in sorted(ROOT.glob("book/*.md")):
        if notes.search(path.read_text()):
            seen.append(str(path.relative_to(ROOT)))
    keys = re.findall(r"^@\w+\{([^,]+),", (ROOT / "book" / "references.bib").read_text(), re.M)
    seen += [f"citation key {k}" for k in keys if "seed" in k.lower()]
    assert not seen, seen


def test_markdown_outputs_render_as_myst():
    """myst-nb renders a ``text/markdown`` output as CommonMark unless the cell says MyST: no
    tables, no ``$...$`` math (the catalogue once showed raw TeX and table bars). Every cell with
    such an output asks for MyST."""
    plain = []
    for path in NOTEBOOKS:
        for i, cell in enumerate(json.loads(path.read_text())["cells"]):
            outputs = cell.get("outputs", [])
            if any("text/markdown" in o.get("data", {}) for o in outputs):
                if cell["metadata"].get("mystnb", {}).get("markdown_format") != "myst":
                    plain.append(f"{path.name} cell {i}")
    assert not plain, f"set metadata mystnb.markdown_format = 'myst' in {plain}"
