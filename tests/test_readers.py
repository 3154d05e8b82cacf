""".ci/readers.py: what execute-notebooks writes into a chapter for Jupyter and Colab readers."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".ci"))
import readers  # noqa: E402

TABLE = {
    "R": ("\\mathbb{R}", 0),
    "d": ("\\mathrm{d}", 0),
    "kron": ("\\otimes", 0),
    "vec": ("\\operatorname{vec}", 0),
    "fro": ("\\lVert #1 \\rVert_F", 1),
    "inner": ("\\langle #1, #2 \\rangle", 2),
    "pinv": ("{#1}^{+}", 1),
}


@pytest.mark.parametrize(
    ("tex", "want"),
    [
        ("\\R^{m \\times n}", "\\mathbb{R}^{m \\times n}"),
        ("\\vec(X)", "\\operatorname{vec}(X)"),
        ("\\d X + \\dim V + \\det A", "\\mathrm{d} X + \\dim V + \\det A"),  # \dim is not \d
        ("A\\kron B", "A\\otimes B"),
        ("\\fro{A \\kron B}", "\\lVert A \\otimes B \\rVert_F"),  # nested, braces dropped
        ("\\inner{\\vec X}{Y}", "\\langle \\operatorname{vec} X, Y \\rangle"),
        ("\\pinv X", "{X}^{+}"),  # one-token argument
        ("\\pinv\\Sigma", "{\\Sigma}^{+}"),
        ("\\fro{\\{a\\}}", "\\lVert \\{a\\} \\rVert_F"),  # escaped braces inside an argument
    ],
)
def test_expand_macros(tex, want):
    assert readers.expand_macros(tex, TABLE) == want


def test_expand_macros_refuses_unbalanced_braces():
    with pytest.raises(ValueError, match="unbalanced"):
        readers.expand_macros("\\fro{A", TABLE)


def test_macro_cell_defines_every_configured_macro_for_myst_and_mathjax():
    src = readers.macro_cell_source()
    assert src.startswith("---\n")
    front, _, rest = src[4:].partition("\n---\n")
    math = yaml.safe_load(front)["math"]
    table = readers.macros()
    assert math == {f"\\{k}": body for k, (body, _) in table.items()}
    for name, (body, nargs) in table.items():
        params = "".join(f"#{i}" for i in range(1, nargs + 1))
        assert f"\\def\\{name}{params}{{{body}}}" in rest
    # Without front matter, CommonMark sees a rule, an HTML comment (the YAML) and a rule.
    lines = src.splitlines()
    assert lines[1].startswith("<!--") and lines[-3].startswith("-->") and lines[-2] == "---"
    assert readers.is_macro_cell(new_markdown_cell(src))


def _chapter() -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.cells = [
        new_code_cell(readers.SETUP_MARK + " old\nurl = 'x'"),
        new_markdown_cell("# Title"),
        new_markdown_cell(":::{exercise} Try\n:label: ex-t-1\n\nDo it.\n:::"),
        new_code_cell("stub = None"),
        new_markdown_cell(":::{solution-start} ex-t-1\n:class: dropdown\n:::"),
        new_markdown_cell("Because."),
        new_code_cell("answer = 1"),
        new_markdown_cell(":::{solution-end}\n:::"),
        new_code_cell("after = 2"),
    ]
    return nb


def test_prepare_writes_setup_and_macro_cells_and_folds_solutions_only():
    nb = _chapter()
    readers.prepare(nb)
    readers.prepare(nb)  # idempotent: one macro cell, same folding
    url, ref = readers.repository()
    assert nb.cells[0].source == readers.setup_cell_source(url, ref)
    assert f'url, ref = "{url}", "{ref}"' in nb.cells[0].source
    assert nb.cells[0].metadata["jupyter"] == {"source_hidden": True}  # its message stays visible
    assert "remove-cell" in nb.cells[0].metadata["tags"]
    assert readers.is_macro_cell(nb.cells[1]) and nb.cells[1].metadata["tags"] == ["remove-cell"]
    assert sum(map(readers.is_macro_cell, nb.cells)) == 1
    folded = {i: c.metadata.get("jupyter") for i, c in enumerate(nb.cells) if i}
    assert folded == {
        1: None,
        2: None,
        3: None,  # "### Exercise 1"
        4: None,
        5: None,
        6: None,  # "#### Solution to exercise 1", collapsed
        7: None,
        8: {"source_hidden": True},  # the solution's prose
        9: {"source_hidden": True, "outputs_hidden": True},  # its code and outputs
        10: None,
        11: None,  # "### After the exercises"
        12: None,
    }
    # The generated headings: hidden on the site; the solution's collapsed in JupyterLab, so Run
    # All shows nothing of it; the closing one ends the collapsed part before the chapter goes on.
    headings = {i: c for i, c in enumerate(nb.cells) if readers.is_heading_cell(c)}
    assert [c.source for c in headings.values()] == [
        "### Exercise 1",
        "#### Solution to exercise 1",
        "### After the exercises",
    ]
    assert list(headings) == [3, 6, 11]
    assert all(c.metadata["tags"] == ["remove-cell"] for c in headings.values())
    assert [bool(c.metadata.get(readers.COLLAPSED)) for c in headings.values()] == [
        False,
        True,
        False,
    ]
    assert sum(map(readers.is_heading_cell, nb.cells)) == 3  # idempotent


def test_prepare_refuses_a_heading_inside_an_exercise():
    nb = _chapter()
    nb.cells[5].source = "## A section inside the solution\n\nBecause."
    with pytest.raises(SystemExit, match="heading"):
        readers.prepare(nb)


def test_prepare_refuses_a_chapter_without_the_setup_cell():
    nb = _chapter()
    nb.cells.pop(0)
    with pytest.raises(SystemExit, match="first cell"):
        readers.prepare(nb)


def _run_setup(monkeypatch, returncode: int, log: str):
    """Execute the set-up cell as in a kernel where hessnotes is missing and pip reports ``log``."""
    calls = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, returncode, stdout="", stderr=log)

    monkeypatch.setitem(sys.modules, "hessnotes", None)  # `import hessnotes` raises ImportError
    monkeypatch.setattr(subprocess, "run", fake_run)
    src = readers.setup_cell_source("https://github.com/o/r", "v1")
    exec(compile(src, "setup-cell", "exec"), {})
    return calls


def test_setup_cell_installs_the_configured_ref(monkeypatch, capsys):
    calls = _run_setup(monkeypatch, 0, "")
    assert calls == [
        [sys.executable, "-m", "pip", "install", "-q", "hessnotes @ git+https://github.com/o/r@v1"]
    ]
    assert capsys.readouterr().out == ""  # nothing upgraded, nothing said


def test_setup_cell_says_in_one_line_what_it_upgraded(monkeypatch, capsys):
    """An upgrade of a package the runtime already has (Colab's ipywidgets 7) is said in one line,
    with the restart it needs when the old version was already imported."""
    import importlib.metadata as md

    class Dist:
        def __init__(self, name, version):
            self.metadata, self.version = {"Name": name}, version

    calls = iter([[Dist("ipywidgets", "7.7.1"), Dist("numpy", "2.4.4")]])
    monkeypatch.setattr(
        md,
        "distributions",
        lambda: next(calls, [Dist("ipywidgets", "8.1.9"), Dist("numpy", "2.4.4")]),
    )
    monkeypatch.setattr(md, "packages_distributions", lambda: {"ipywidgets": ["ipywidgets"]})
    monkeypatch.setitem(sys.modules, "ipywidgets", object())  # imported before the upgrade
    _run_setup(monkeypatch, 0, "")
    out = capsys.readouterr().out
    assert out == (
        "Upgraded for hessnotes, which needs newer versions: ipywidgets 7.7.1 -> 8.1.9."
        " Restart the session and run the notebook again.\n"
    )


@pytest.mark.parametrize(
    ("log", "says"),
    [
        ("fatal: unable to access: Could not resolve host: github.com", "no network connection"),
        (  # pip colours its output; the sentence keeps its ERROR line, without escapes
            "\x1b[31mERROR: No matching distribution found for torch>=2.4\x1b[0m\n\x1b[0m",
            "(ERROR: No matching distribution found for torch>=2.4)",
        ),
    ],
)
def test_setup_cell_failure_is_one_sentence_with_cause_and_fix(monkeypatch, log, says):
    with pytest.raises(Exception) as info:
        _run_setup(monkeypatch, 1, "  ╭─ some pip box\n" + log + "\n")
    err = info.value
    assert type(err).__name__ == "SetupError" and err.__suppress_context__  # no chained traceback
    assert err._render_traceback_() == [str(err)]  # IPython prints this line, no traceback
    assert says in str(err) and "\n" not in str(err) and "╭" not in str(err)
    assert "\x1b" not in str(err)
    assert "run this cell again" in str(err) or "pip install" in str(err)


def _slider_nb() -> nbformat.NotebookNode:
    """An executed notebook whose one output is a two-level slider (as hessnotes.widgets makes)."""
    png = base64.b64encode(b"\x89PNG fake").decode()
    img = (
        f'<img class="hn-frame" src="data:image/png;base64,{png}" alt="n = 2. Spectrum"'
        ' width="640">'
    )
    state = {
        "box": {"state": {"children": ["IPY_MODEL_slider", "IPY_MODEL_outer"]}},
        "slider": {"state": {"_dom_classes": ["hn-slider"]}},
        "outer": {
            "state": {
                "_dom_classes": ["hn-frames"],
                "_view_name": "StackView",
                "children": ["IPY_MODEL_a", "IPY_MODEL_inner"],
                "selected_index": 1,
            }
        },
        "a": {"state": {"value": "<img>"}},
        "inner": {
            "state": {"_view_name": "StackView", "children": ["IPY_MODEL_b"], "selected_index": 0}
        },
        "b": {"state": {"value": img}},
    }
    nb = new_notebook()
    out = new_output(
        "execute_result",
        data={"text/plain": "VBox(...)", readers.WIDGET_VIEW: {"model_id": "box"}},
        execution_count=1,
    )
    other = new_output(
        "display_data", data={"text/plain": "x", readers.WIDGET_VIEW: {"model_id": "?"}}
    )
    nb.cells = [new_code_cell("frame_sliders(...)", outputs=[out, other])]
    nb.metadata["widgets"] = {readers.WIDGET_STATE: {"state": state}}
    return nb, png


def test_frames_to_images_stores_the_first_frame_and_drops_widget_state():
    nb, png = _slider_nb()
    readers.frames_to_images(nb)
    first, other = nb.cells[0].outputs
    assert first["data"] == {"text/plain": "VBox(...)", "image/png": png}
    assert first["metadata"]["image/png"] == {"width": 640, "alt": "n = 2. Spectrum"}
    assert other["data"] == {"text/plain": "x"}  # another widget keeps its text form
    assert "widgets" not in nb.metadata


def _book() -> readers.Book:
    return readers.Book(
        number={"ch": 3},
        title={"ch": "The chapter", "other": "Other chapter", "exercises": "All exercises"},
        page={"ch": True, "other": True, "exercises": False},
        equation={"eq-a": "3.1", "eq-b": "4.2"},
        target={"thm-a": "Theorem 3.1", "ex-ch-1": "Exercise 3.1"},
        cite={"k1": ("Higham", "2002"), "k2": ("Nocedal and Wright", "2006")},
        refs={"k1": "Higham (2002). *Accuracy*.", "k2": "Nocedal and Wright (2006). *Opt*."},
        colab="https://colab.example/c/",
    )


def test_colab_copy_turns_myst_into_plain_markdown():
    nb = new_notebook()
    nb.cells = [
        new_code_cell(readers.setup_cell_source("https://github.com/o/r", "main")),
        new_markdown_cell(readers.macro_cell_source()),
        new_markdown_cell(
            "# The chapter\n\nSee {doc}`other`, {doc}`exercises`, {eq}`eq-b` and"
            " {cite}`k1,k2`; {cite:t}`k2` say $\\vec(X) \\in \\R^n$. Code `{eq}` stays.\n\n"
            "$$\nx = 1\n$$ (eq-a)"
        ),
        new_markdown_cell(
            ":::{prf:theorem} Name\n:label: thm-a\n\nIt holds.\n:::\n\n:::{prf:proof}\n"
            "By {prf:ref}`thm-a`.\n:::"
        ),
        new_markdown_cell(":::{exercise} Try $\\d X$\n:label: ex-ch-1\n\nDo it.\n:::"),
        new_markdown_cell(":::{solution-start} ex-ch-1\n:class: dropdown\n:::"),
        new_code_cell(
            "print('(eq-a) holds')", outputs=[new_output("stream", text="(eq-a) holds\n")]
        ),
        new_markdown_cell(":::{solution-end}\n:::"),
    ]
    copy = readers.colab_copy(nb, "ch", _book())
    md = [c.source for c in copy.cells if c.cell_type == "markdown"]
    assert md[0] == (
        "# The chapter\n\nSee [Other chapter](https://colab.example/c/other.ipynb),"
        " *All exercises*, (4.2) and [Higham, 2002; Nocedal and Wright, 2006]; Nocedal and"
        " Wright [2006] say $\\operatorname{vec}(X) \\in \\mathbb{R}^n$. Code `{eq}` stays."
        "\n\n$$\nx = 1\n\\tag{3.1} $$"
    )
    assert md[1] == "**Theorem 3.1** (Name).\n\nIt holds.\n\n*Proof.*\nBy Theorem 3.1. ∎"
    assert md[2] == "### Exercise 3.1 (Try $\\mathrm{d} X$)\n\nDo it."
    assert md[3] == "#### Solution to Exercise 3.1"
    assert md[4].startswith("#### References\n\n- Higham (2002)")
    assert len(copy.cells) == 7  # no macro cell, no solution-end cell, one references cell
    assert (
        copy.cells[0].source.startswith("#@title ") and copy.cells[0].metadata["cellView"] == "form"
    )
    assert copy.cells[5].outputs[0]["text"] == "(3.1) holds\n"
    assert copy.metadata["colab"]["collapsed_sections"] == [copy.cells[4].metadata["id"]]
    assert nb.cells[2].source.startswith("# The chapter\n\nSee {doc}")  # the chapter is unchanged
