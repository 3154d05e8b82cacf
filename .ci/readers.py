"""What a chapter notebook carries for readers in Jupyter and Colab (used by execute-notebooks).

Every piece is generated from the chapter and ``_config.yml`` by ``make notebooks``, so re-running
it after any edit gives the same result on every chapter; nothing here is edited by hand.

1. **The set-up cell** (first cell, hidden on the site): installs ``hessnotes`` from the repository
   at the configured branch when it is not importable (Colab). A failed install ends in one plain
   sentence with the cause and the fix, not pip's output and a traceback; a package that Colab
   ships and the book needs newer is upgraded with one line saying so. Folded in Jupyter.
2. **The macro cell** (second cell, hidden on the site): the book's LaTeX macros from
   ``sphinx.config.mathjax3_config.tex.macros``. jupyterlab-myst (KaTeX) reads them from the YAML
   front matter of a notebook's first Markdown cell, where they may redefine built-ins such as
   ``\\vec``; the front matter sits inside an HTML comment, so renderers without front matter show
   two rules instead of YAML. ``\\def`` (which KaTeX accepts for existing names, unlike
   ``\\newcommand``) defines them for MathJax 2 (Colab). JupyterLab's own MathJax 3 forgets
   definitions between cells (jupyterlab/jupyterlab#18116), so no cell can serve it; Binder
   therefore renders Markdown with jupyterlab-myst.
3. **Solutions hidden until opened, even after Run All**: before each exercise a generated Markdown
   heading "### Exercise k", and before each ``:::{solution-start}`` a heading "#### Solution to
   exercise k" with ``jp-MarkdownHeadingCollapsed: true`` (cells tagged ``remove-cell``, so the site
   never shows them; ids ``hn-heading-*``, replaced on every run). JupyterLab hides every cell under
   a collapsed heading (Notebook 7 shares its notebook widget; not tested here), up to the next
   heading of the same or a higher level (the next exercise, or "### After the exercises", added
   after the last solution unless a heading of level 1-3 follows), and keeps them hidden when Run
   All runs them: the reader sees "n cells hidden" under the heading and opens the solution with a
   click (``make test-lab`` checks both in JupyterLab). A heading of level 1-4 inside an exercise or
   its solution would end the hidden part early, so it is refused. Inside, the cells also keep
   ``jupyter.source_hidden`` (and ``outputs_hidden`` for code): once opened, the code stays folded
   until clicked (Run All shows the Markdown it renders and the outputs of the cells it runs,
   ``cellexecutor.ts`` and ``CodeCell.execute`` in JupyterLab 4.4). Run All still executes the
   solutions; they are hidden, not skipped. The Colab copies drop these headings: Colab folds the
   section under its own "Solution to Exercise" heading (``colab.collapsed_sections``).
4. **Slider first frames**: a cell that shows a slider (``hessnotes.widgets``) stores the frame it
   starts on as a static PNG; running the cell replaces it with the live widget.
5. **Colab copies** (``book/colab/<chapter>.ipynb``, which the Colab button opens): Colab renders no
   MyST (and whether its MathJax keeps a definition from one cell to the next could not be checked
   offline), so each copy is the executed chapter with its Markdown turned into plain Markdown:
   macros expanded, equations, theorems and exercises numbered as on the site (a site test checks),
   ``{doc}`` as links to the other copies, citations as "Author [Year]", directives as bold
   lead-ins and headings.
"""

from __future__ import annotations

import copy
import html
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG_PATH = ROOT / "_config.yml"
COLAB_DIR = "colab"  # under book/
SETUP_MARK = "# Colab and bare Jupyter: make `hessnotes` importable."
MACRO_MARK = "<!--: The book's LaTeX macros"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def config() -> dict:
    return yaml.safe_load(CONFIG_PATH.read_text())


# --------------------------------------------------------------------------------------------------
# 1. The set-up cell
# --------------------------------------------------------------------------------------------------
def repository() -> tuple[str, str]:
    """The one repository setting: ``repository.url`` and the branch the book is built from."""
    repo = config()["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


SETUP_TEMPLATE = r"""
# Colab and bare Jupyter: make `hessnotes` importable. The book's own environment has it already.
try:
    import hessnotes  # noqa: F401
except ImportError:
    import importlib
    import importlib.metadata as md
    import re
    import subprocess
    import sys

    url, ref = "{url}", "{ref}"

    class SetupError(Exception):
        def _render_traceback_(self):  # IPython shows this sentence instead of a traceback
            return [str(self)]

    def versions():
        importlib.invalidate_caches()
        return {{d.metadata["Name"].lower(): d.version for d in md.distributions()}}

    before = versions()
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", f"hessnotes @ git+{{url}}@{{ref}}"],
        capture_output=True,
        text=True,
    )
    if pip.returncode:
        log = pip.stdout + pip.stderr
        if re.search(r"resolve host|Name or service|name resolution|unreachable|Failed to", log):
            raise SetupError(
                f"hessnotes could not be installed from {{url}} because this machine has no "
                "network connection: connect it to the internet and run this cell again."
            ) from None
        lines = [ln.strip() for ln in re.sub(r"\x1b\[[0-9;]*m", "", log).splitlines()]
        why = [ln for ln in lines if ln.startswith("ERROR:")] or [ln for ln in lines if ln]
        why = why[-1] if why else f"exit status {{pip.returncode}}"
        raise SetupError(
            f"hessnotes could not be installed from {{url}}@{{ref}} ({{why}}): run "
            f'`pip install "hessnotes @ git+{{url}}@{{ref}}"` in a terminal to see why.'
        ) from None
    now = versions()
    changed = {{n: f"{{n}} {{v}} -> {{now[n]}}" for n, v in before.items() if now.get(n, v) != v}}
    if changed:  # pip upgrades only what hessnotes needs newer (upgrade strategy only-if-needed)
        imported = [ds for m, ds in md.packages_distributions().items() if m in sys.modules]
        stale = set(changed) & {{d.lower() for ds in imported for d in ds}}
        again = " Restart the session and run the notebook again." if stale else ""
        upgraded = ", ".join(changed.values())
        print(f"Upgraded for hessnotes, which needs newer versions: {{upgraded}}.{{again}}")
"""


def setup_cell_source(url: str, ref: str) -> str:
    return SETUP_TEMPLATE.format(url=url, ref=ref).strip("\n")


# --------------------------------------------------------------------------------------------------
# 2. The macro cell
# --------------------------------------------------------------------------------------------------
def macros() -> dict[str, tuple[str, int]]:
    """The book's macros, name -> (body, number of arguments), from ``_config.yml``."""
    table = config()["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
    out = {}
    for name, value in table.items():
        body, nargs = (value, 0) if isinstance(value, str) else (value[0], int(value[1]))
        out[name] = (body, nargs)
    return out


def macro_cell_source() -> str:
    defs = "".join(
        f"\\def\\{name}" + "".join(f"#{i}" for i in range(1, n + 1)) + "{" + body + "}"
        for name, (body, n) in macros().items()
    )
    front = yaml.safe_dump(
        {"math": {f"\\{name}": body for name, (body, _) in macros().items()}},
        allow_unicode=True,
        default_flow_style=False,
        sort_keys=False,
        width=1000,
    )
    return (
        "---\n"
        f"{MACRO_MARK}, generated from _config.yml by `make notebooks`; do not edit.\n"
        f"{front}"
        "-->: jupyterlab-myst reads the macros above; MathJax 2 (Colab) the definitions below.\n"
        "---\n"
        f"${defs}$"
    )


def is_macro_cell(cell) -> bool:
    return cell.cell_type == "markdown" and MACRO_MARK in cell.source


# --------------------------------------------------------------------------------------------------
# 3. Folded solutions; preparing a chapter before it runs
# --------------------------------------------------------------------------------------------------
def solution_cells(nb) -> set[int]:
    """Indices of the cells strictly between ``:::{solution-start}`` and ``:::{solution-end}``."""
    out, inside = set(), False
    for i, cell in enumerate(nb.cells):
        src = cell.source.lstrip()
        if cell.cell_type == "markdown" and src.startswith(":::{solution-start}"):
            inside = True
        elif cell.cell_type == "markdown" and src.startswith(":::{solution-end}"):
            inside = False
        elif inside:
            out.add(i)
    return out


def _fold(cell, source: bool, outputs: bool) -> None:
    jupyter = dict(cell.metadata.get("jupyter", {}))
    for key in ("source_hidden", "outputs_hidden"):
        jupyter.pop(key, None)
    if source:
        jupyter["source_hidden"] = True
    if outputs and cell.cell_type == "code":
        jupyter["outputs_hidden"] = True
    if jupyter:
        cell.metadata["jupyter"] = jupyter
    else:
        cell.metadata.pop("jupyter", None)


HEADING_ID = "hn-heading-"  # ids of the generated heading cells
COLLAPSED = "jp-MarkdownHeadingCollapsed"


def is_heading_cell(cell) -> bool:
    return cell.cell_type == "markdown" and cell.get("id", "").startswith(HEADING_ID)


def _heading(text: str, key: str, *, collapsed: bool = False):
    cell = nbformat.v4.new_markdown_cell(text, metadata={"tags": ["remove-cell"]})
    if collapsed:
        cell.metadata[COLLAPSED] = True
    cell.id = HEADING_ID + key
    return cell


def _starts(cell, directive: str) -> bool:
    return cell.cell_type == "markdown" and cell.source.lstrip().startswith(f":::{{{directive}}}")


def _heading_level(cell) -> int | None:
    levels = [len(m[1]) for m in re.finditer(r"^(#{1,6})\s", cell.source, re.M)]
    return min(levels) if cell.cell_type == "markdown" and levels else None


def add_headings(nb) -> None:
    """Collapsed headings around each solution (see the module docstring), fresh: generated
    heading cells already in ``nb`` are dropped first, so running it again changes nothing."""
    cells, k, inside = [], 0, False
    old = [c for c in nb.cells if not is_heading_cell(c)]
    for i, cell in enumerate(old):
        if _starts(cell, "exercise"):
            k, inside = k + 1, True
            cells.append(_heading(f"### Exercise {k}", f"exercise-{k}"))
        elif _starts(cell, "solution-start"):
            cells.append(
                _heading(f"#### Solution to exercise {k}", f"solution-{k}", collapsed=True)
            )
        elif _starts(cell, "solution-end"):
            inside = False
        elif inside and (_heading_level(cell) or 9) <= 4:
            # It would end the collapsed section early and show the rest of the solution.
            raise SystemExit(
                f"cell {cell.get('id')}: a heading of level 1-4 inside exercise {k} or its "
                "solution; use level 5 or bold text"
            )
        cells.append(cell)
        if _starts(cell, "solution-end") and not any(_starts(c, "solution-start") for c in old[i:]):
            level = _heading_level(old[i + 1]) if i + 1 < len(old) else None
            if level is None or level > 3:
                cells.append(_heading("### After the exercises", "end"))
    nb.cells = cells


def prepare(nb) -> None:
    """Before execution: the set-up cell, the macro cell, the solution headings and the folding
    metadata, fresh."""
    setup = nb.cells[0]
    if setup.cell_type != "code" or not setup.source.startswith(SETUP_MARK):
        raise SystemExit("the first cell must be the hidden Colab set-up cell (see README.md)")
    setup.source = setup_cell_source(*repository())
    setup.metadata["tags"] = sorted(set(setup.metadata.get("tags", [])) | {"remove-cell"})
    nb.cells = [setup] + [c for c in nb.cells[1:] if not is_macro_cell(c)]
    cell = nbformat.v4.new_markdown_cell(macro_cell_source(), metadata={"tags": ["remove-cell"]})
    cell.id = "hn-macros"
    nb.cells.insert(1, cell)
    add_headings(nb)
    folded = solution_cells(nb)
    for i, c in enumerate(nb.cells):
        # The set-up cell folds its code only: a failed install must show its sentence.
        _fold(c, source=i == 0 or i in folded, outputs=i in folded)


# --------------------------------------------------------------------------------------------------
# 4. Slider first frames
# --------------------------------------------------------------------------------------------------
_IMG = re.compile(
    r'<img class="hn-frame" src="data:image/png;base64,([^"]+)" alt="([^"]*)" width="(\d+)"'
)


def _first_frame(model_id: str, state: dict) -> tuple[str, str, int] | None:
    """(PNG base64, alt, CSS width) of the frame a slider box shows first, or None."""

    def model(ref: str) -> dict:
        return state[ref.removeprefix("IPY_MODEL_")]["state"]

    def leaf(m: dict):
        if "hn-frames" in m.get("_dom_classes", ()) or m.get("_view_name") == "StackView":
            child = m["children"][m.get("selected_index") or 0]
            return leaf(model(child))
        found = _IMG.search(m.get("value", ""))
        return None if found is None else (found[1], html.unescape(found[2]), int(found[3]))

    box = state.get(model_id, {}).get("state", {})
    stacks = [model(c) for c in box.get("children", ()) if c.startswith("IPY_MODEL_")]
    stacks = [m for m in stacks if "hn-frames" in m.get("_dom_classes", ())]
    return leaf(stacks[0]) if stacks else None


def frames_to_images(nb) -> None:
    """After execution with widget state: each slider view becomes its first frame (static PNG);
    every other widget view keeps its text form. The widget state is then dropped."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data")
            if not data or WIDGET_VIEW not in data:
                continue
            view = data.pop(WIDGET_VIEW)
            frame = _first_frame(view.get("model_id", ""), state)
            if frame is not None:
                png, alt, width = frame
                data["image/png"] = png
                out.setdefault("metadata", {})["image/png"] = {"width": width, "alt": alt}
    nb.metadata.pop("widgets", None)


# --------------------------------------------------------------------------------------------------
# 5. Colab copies
# --------------------------------------------------------------------------------------------------
@dataclass
class Book:
    """Numbers and titles as the site shows them, from _toc.yml and the chapters' sources."""

    number: dict[str, int] = field(default_factory=dict)  # chapter -> number (numbered parts)
    title: dict[str, str] = field(default_factory=dict)
    page: dict[str, bool] = field(default_factory=dict)  # chapter -> is a notebook (has a copy)
    equation: dict[str, str] = field(default_factory=dict)  # eq label -> "9.3"
    target: dict[str, str] = field(default_factory=dict)  # prf/exercise label -> "Theorem 9.1"
    cite: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (authors, year)
    refs: dict[str, str] = field(default_factory=dict)  # key -> reference line
    colab: str = ""  # URL prefix of the Colab copies

    @classmethod
    def load(cls) -> Book:
        book = cls()
        toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
        chapters = [(toc["root"], False)]
        for part in toc["parts"]:
            chapters += [(c["file"], bool(part.get("numbered"))) for c in part["chapters"]]
        k = 0
        for path, numbered in chapters:
            nbpath, name = ROOT / f"{path}.ipynb", Path(path).name
            if not nbpath.exists():
                md = ROOT / f"{path}.md"
                m = re.search(r"^#\s+(.+)$", md.read_text(), re.M) if md.exists() else None
                if m:
                    book.title[name], book.page[name] = m[1].strip(), False
                continue
            book.page[name] = True
            if numbered:
                k += 1
                book.number[name] = k
            book._read(name, nbformat.read(nbpath, as_version=4))
        book._read_bib()
        url, ref = repository()
        colab = config()["launch_buttons"]["colab_url"].rstrip("/")
        org_repo = url.split("github.com/", 1)[-1]
        book.colab = f"{colab}/github/{org_repo}/blob/{ref}/book/{COLAB_DIR}/"
        return book

    def _prefix(self, name: str) -> str:
        return f"{self.number[name]}." if name in self.number else ""

    def _read(self, name: str, nb) -> None:
        counts: dict[str, int] = {}
        pre = self._prefix(name)
        pending = None  # the caption of the numbered directive whose :label: comes next
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            if name not in self.title:
                m = re.search(r"^#\s+(.+)$", cell.source, re.M)
                if m:
                    self.title[name] = m[1].strip()
            for m in _NUMBERED.finditer(cell.source):
                if m["eq"]:
                    counts["eq"] = counts.get("eq", 0) + 1
                    self.equation[m["eq"]] = f"{pre}{counts['eq']}"
                elif m["directive"]:
                    kind = DIRECTIVE_NAMES.get(m["directive"])
                    pending = None
                    if kind:
                        counts[kind] = counts.get(kind, 0) + 1
                        pending = f"{kind} {pre}{counts[kind]}"
                elif pending:
                    self.target[m["label"]] = pending
                    pending = None

    def _read_bib(self) -> None:
        from pybtex.database import parse_file

        sys.path.insert(0, str(ROOT / "book" / "_ext"))
        try:
            from hn_bib import _last
        finally:
            sys.path.pop(0)
        for key, entry in parse_file(str(ROOT / "book" / "references.bib")).entries.items():
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [_last(p) for p in people]
            if not names:
                # no author: what the site shows, the entry's key field (a title), else its key
                who = entry.fields.get("organization") or entry.fields.get("key") or key
            elif len(names) == 1:
                who = names[0]
            elif len(names) == 2:
                who = f"{names[0]} and {names[1]}"
            else:
                who = f"{names[0]} et al."
            year = entry.fields.get("year", "n.d.")
            self.cite[key] = (who, year)
            title = re.sub(r"[{}]", "", entry.fields.get("title", ""))
            venue = entry.fields.get("journal") or entry.fields.get("booktitle") or ""
            venue = venue or entry.fields.get("publisher") or entry.fields.get("howpublished", "")
            venue = re.sub(r"[{}]|\\url", "", venue)
            self.refs[key] = f"{who} ({year}). *{title}*." + (f" {venue}." if venue else "")


_NUMBERED = re.compile(
    r"\$\$[ \t]*\((?P<eq>[\w-]+)\)|^:{3,}\{(?P<directive>[\w:-]+)\}|^:label:\s*(?P<label>\S+)", re.M
)
# Directives with a number on the site, and their caption word.
DIRECTIVE_NAMES = {
    "prf:theorem": "Theorem",
    "prf:proposition": "Proposition",
    "prf:lemma": "Lemma",
    "prf:corollary": "Corollary",
    "prf:definition": "Definition",
    "prf:example": "Example",
    "exercise": "Exercise",
}


def expand_macros(tex: str, table: dict[str, tuple[str, int]] | None = None) -> str:
    """Replace the book's macros in TeX by their definitions (arguments in braces or one token)."""
    table = macros() if table is None else table
    names = "|".join(sorted(map(re.escape, table), key=len, reverse=True))
    pattern = re.compile(rf"\\({names})(?![A-Za-z])")

    def argument(s: str, i: int) -> tuple[str, int]:
        while i < len(s) and s[i] in " \t\n":
            i += 1
        if i < len(s) and s[i] == "{":
            depth, j = 0, i
            while j < len(s):
                depth += {"{": 1, "}": -1}.get(s[j], 0)
                if depth == 0:
                    return s[i + 1 : j], j + 1
                j += 1 if s[j] != "\\" else 2
            raise ValueError(f"unbalanced braces in {s!r}")
        m = re.match(r"\\[A-Za-z]+|\\.|.", s[i:], re.S)
        return m[0], i + len(m[0])

    for _ in range(10):
        out, pos, changed = [], 0, False
        for m in pattern.finditer(tex):
            if m.start() < pos:
                continue
            body, n = table[m[1]]
            end, args = m.end(), []
            for _ in range(n):
                a, end = argument(tex, end)
                args.append(a)
            for k, a in enumerate(args, 1):
                body = body.replace(f"#{k}", a)
            out += [tex[pos : m.start()], body]
            pos, changed = end, True
        out.append(tex[pos:])
        tex = "".join(out)
        if not changed:
            return tex
    raise ValueError("macro expansion did not terminate")


# A role, a fenced code block or an inline code span (roles first: `{eq}` is followed by one).
_TOKEN = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<arg>[^`]*)`|(?P<code>```.*?```|`[^`\n]*`)", re.S)


class _Converter:
    """One chapter's Markdown cells, MyST to plain Markdown."""

    def __init__(self, book: Book, name: str):
        self.book, self.name = book, name
        self.cited: list[str] = []
        self.table = macros()

    def role(self, m: re.Match) -> str:
        kind, arg = m["role"], m["arg"]
        label = re.sub(r"^.*<(.+)>$", r"\1", arg).strip()
        if kind == "eq":
            return f"({self.book.equation[label]})"
        if kind == "doc":
            target = Path(label).name
            if not self.book.page[target]:
                return f"*{self.book.title[target]}*"
            return f"[{self.book.title[target]}]({self.book.colab}{target}.ipynb)"
        if kind in ("prf:ref", "numref", "ref"):
            return self.book.target.get(label, label)
        if kind.startswith("cite"):
            keys = [k.strip() for k in label.split(",")]
            self.cited += [k for k in keys if k not in self.cited]
            who = [self.book.cite[k] for k in keys]
            if kind == "cite:t":
                return "; ".join(f"{name} [{year}]" for name, year in who)
            return "[" + "; ".join(f"{name}, {year}" for name, year in who) + "]"
        if kind in ("math",):
            return f"${arg}$"
        return arg

    def text(self, s: str) -> str:
        """Roles replaced, macros expanded; code left alone."""
        out, pos = [], 0
        for m in _TOKEN.finditer(s):
            out.append(expand_macros(s[pos : m.start()], self.table))
            out.append(m[0] if m["code"] else self.role(m))
            pos = m.end()
        out.append(expand_macros(s[pos:], self.table))
        return "".join(out)

    def cell(self, src: str) -> tuple[str, str | None]:
        """(converted Markdown, "start"/"end" for a solution marker or None)."""
        if src.lstrip().startswith(":::{solution-end}"):
            return "", "end"
        m = re.match(r"\s*:::\{solution-start\}\s*(\S+)", src)
        if m:
            return f"#### Solution to {self.book.target.get(m[1], m[1])}", "start"
        src = re.sub(
            r"\$\$[ \t]*\(([\w-]+)\)",
            lambda m: f"\\tag{{{self.book.equation[m[1]]}}} $$",
            src,
        )
        lines: list[str] = []
        stack: list[dict] = []
        for line in src.split("\n"):
            opened = re.match(r"^(:{3,})\{([\w:-]+)\}\s*(.*)$", line)
            if opened:
                self._lead(stack, lines)
                stack.append(
                    {"colons": opened[1], "kind": opened[2], "title": opened[3].strip(), "new": 1}
                )
                continue
            option = re.match(r"^:([\w-]+):\s*(.*)$", line)
            if option and stack and stack[-1]["new"]:
                if option[1] == "label":
                    stack[-1]["label"] = option[2].strip()
                continue
            if stack and line.strip() == stack[-1]["colons"]:
                self._lead(stack, lines)
                if stack.pop()["kind"] == "prf:proof":
                    while lines and not lines[-1].strip():
                        lines.pop()
                    lines.append((lines.pop() + " ∎") if lines else "∎")
                continue
            self._lead(stack, lines)
            lines.append(line)
        self._lead(stack, lines)
        return self.text("\n".join(lines)).strip("\n"), None

    def _lead(self, stack: list[dict], lines: list[str]) -> None:
        """The lead-in of the innermost directive, once its options are read."""
        if not stack or not stack[-1]["new"]:
            return
        d = stack[-1]
        d["new"] = 0
        if d["kind"] == "prf:proof":
            lines.append("*Proof.*")
            return
        name = DIRECTIVE_NAMES.get(d["kind"], d["kind"].split(":")[-1].capitalize())
        numbered = self.book.target.get(d.get("label", ""), name)
        title = f" ({d['title']})" if d["title"] else ""
        if d["kind"] == "exercise":
            lines.append(f"### {numbered}{title}")
        else:
            lines.append(f"**{numbered}**{title}.")

    def outputs(self, outputs: list) -> list:
        def number(t: str) -> str:
            return re.sub(
                r"\((eq-[\w-]+)\)", lambda m: f"({self.book.equation.get(m[1], m[1])})", t
            )

        for out in outputs:
            if "text" in out:
                out["text"] = number(out["text"])
            for key in ("text/plain", "text/html", "text/markdown"):
                if key in out.get("data", {}):
                    out["data"][key] = number(out["data"][key])
                    if key == "text/markdown":
                        out["data"][key] = expand_macros(out["data"][key], self.table)
        return outputs


def colab_copy(nb, name: str, book: Book):
    """The Colab-ready copy of an executed chapter (see the module docstring)."""
    nb = copy.deepcopy(nb)
    conv = _Converter(book, name)
    cells, collapsed = [], []
    for i, cell in enumerate(nb.cells):
        if is_macro_cell(cell) or is_heading_cell(cell):  # Colab folds by its own headings
            continue
        cell.metadata.pop("jupyter", None)
        cell.metadata.pop("tags", None)
        if i == 0:
            cell.source = "#@title Install hessnotes (run this cell first)\n" + cell.source
            cell.metadata["cellView"] = "form"
        if cell.cell_type == "markdown":
            cell.source, marker = conv.cell(cell.source)
            if marker == "end":
                continue
            if marker == "start":
                cell.metadata["id"] = cell.id
                collapsed.append(cell.id)
        elif cell.cell_type == "code":
            cell.outputs = conv.outputs(cell.outputs)
        cells.append(cell)
    if conv.cited:
        refs = "\n".join(f"- {book.refs[k]}" for k in conv.cited)
        cells.append(nbformat.v4.new_markdown_cell(f"#### References\n\n{refs}"))
        cells[-1].id = "hn-references"
    nb.cells = cells
    nb.metadata["colab"] = {"provenance": [], "toc_visible": True, "collapsed_sections": collapsed}
    nb.metadata["hessnotes"] = {
        "source": f"book/{name}.ipynb",
        "note": "Generated by `make notebooks` for Colab; edit the chapter, not this copy.",
    }
    return nb


def colab_path(chapter: Path) -> Path:
    return chapter.parent / COLAB_DIR / chapter.name


def write_colab_copy(nb, chapter: Path, book: Book) -> Path:
    out = colab_path(chapter)
    out.parent.mkdir(exist_ok=True)
    nbformat.write(colab_copy(nb, chapter.stem, book), out)
    return out
