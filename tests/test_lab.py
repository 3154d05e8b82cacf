"""The chapters as a Binder reader runs them: JupyterLab with jupyterlab-myst, in Chromium, offline.

``make test-lab`` (``pytest -m lab``) starts JupyterLab from this environment (the versions pinned
in requirements.txt and binder/requirements.txt) on 127.0.0.1, serving a *copy* of the chapters
(opening a notebook can rewrite its metadata). Debian's Chromium opens each chapter of
:data:`LAB_CHAPTERS` and does what a reader does, with every request that leaves 127.0.0.1
aborted:

* reads the chapter before running anything: every cell is scrolled into view (JupyterLab 4 only
  renders cells near the viewport) and the rendered text is searched for math errors (KaTeX error
  boxes of jupyterlab-myst, MathJax errors) and raw MyST (``{doc}`...```, ``:::{exercise}``);
  solution cells must be collapsed and every slider cell must already show its first frame;
* runs the notebook with *Run > Run All Cells* from the menu, timing it, and measures the kernel's
  peak memory (``VmHWM``, plus any processes it started);
* checks that every solution is still hidden under its collapsed heading (the generated
  "Solution to exercise k" cells, ``.ci/readers.py``), then clicks each heading's collapse toggle
  and checks that its cells appear;
* then asserts: no cell error; still no math error or raw MyST, outputs included (the opened
  solutions too); every slider moves by arrow keys and by a drag, and the frame shown changes
  with it;
* and no console error from the book (JupyterLab's own warnings about shared module versions are
  not errors; everything at level ``error`` counts, except jupyterlab-myst's "Cross reference
  target was not found" for a target another chapter, or a later cell, defines: see
  :data:`XREF_MISS`; the table counts them).

It never skips: no Chromium or no JupyterLab is a failure. ``python tests/test_lab.py [--plain]
[chapter ...]`` prints the same measurements as a table for any chapters (all by default), without
asserting; ``--plain`` disables jupyterlab-myst (JupyterLab as Binder's image ships it).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".ci"))
from kernel_memory import BUDGET_BYTES, PeakMemory  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Chapters the test phase opens: two sliders and exercises (kronecker-sums), a slider, exercises
#: and the most math (checking-derivatives), the landing page's cross-references (intro), and a
#: slider whose frames are spectra (shuffles). Together they run in about two minutes here.
LAB_CHAPTERS = ["intro", "checking-derivatives", "kronecker-sums", "shuffles"]

# jupyterlab-myst 2.x resolves a reference only to a target in the same notebook, in a cell
# rendered before it: a reference to another chapter ({prf:ref}`thm-lm-gradient` from
# checking-derivatives) or a forward one within a chapter logs this message at level error and
# shows the reference's text as a link. The site resolves every one (its strict build fails on a
# reference that does not). Such a message counts as a book error only when its target is defined
# in no chapter; the table reports the others, by target.
XREF_MISS = re.compile(r"^Cross reference target was not found: (\S+)$")
LABEL_DEFS = re.compile(r"^\s*:label:\s*(\S+)|^\s*\$\$\s*\((\S+)\)|^\((\S+)\)=\s*$", re.M)


def book_targets() -> dict[str, str]:
    """Every label the chapters define (directive ``:label:``, ``$$ (label)``, ``(label)=``),
    mapped to its chapter."""
    out: dict[str, str] = {}
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                for m in LABEL_DEFS.finditer("".join(cell["source"])):
                    out[next(g for g in m.groups() if g)] = path.stem
    return out


def split_console(messages: list[str], targets: dict[str, str]) -> tuple[list[str], list[str]]:
    """(errors, unresolved): console lines that are book errors, and the targets of references
    that jupyterlab-myst could not resolve although a chapter defines them."""
    errors, unresolved = [], []
    for line in (ln for m in messages for ln in m.splitlines() if ln.strip()):
        m = XREF_MISS.match(line.strip())
        if m and m[1] in targets:
            unresolved.append(m[1])
        else:
            errors.append(line)
    return errors, unresolved


#: Run All of one chapter; the slowest chapter takes about a minute on two busy cores.
RUN_ALL_TIMEOUT_S = 240

pytestmark = pytest.mark.lab

# Raw MyST a reader must never see as text: roles (rendered without MyST, "{doc}`x`" shows as
# "{doc}x"), directive fences and their options.
RAW_MYST = re.compile(
    r"\{(?:doc|eq|cite(?::[tp])?|prf:ref|numref|ref|math|term|download)\}|:::|```\{"
    r"|^:(?:label|class):",
    re.M,
)
# An equation named by its label in a check's output, "(eq-hd-flops)": the site shows its number.
EQ_LABEL = re.compile(r"\(eq-[\w-]+\)")


# --------------------------------------------------------------------------------------------------
# JupyterLab
# --------------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """JupyterLab from this Python environment, on a copy of the chapters, on 127.0.0.1."""

    def __init__(self, chapters: list[str], *, plain: bool = False, source: Path = ROOT / "book"):
        self.tmp = Path(tempfile.mkdtemp(prefix="hn-lab-"))
        self.root = self.tmp / "book"
        self.root.mkdir()
        for name in chapters:
            shutil.copy2(source / f"{name}.ipynb", self.root)
        if (ROOT / "book" / "images").is_dir():
            shutil.copytree(ROOT / "book" / "images", self.root / "images")
        # A private configuration: no news pop-up (it would ask to fetch from jupyter.org), and
        # jupyterlab-myst disabled only for --plain. Settings and workspaces stay in the copy.
        config = self.tmp / "config"
        (config / "labconfig").mkdir(parents=True)
        disabled = {"@jupyterlab/apputils-extension:announcements": True}
        if plain:
            disabled["jupyterlab-myst"] = True
        (config / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": disabled})
        )
        env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
        env.update(
            JUPYTER_CONFIG_DIR=str(config),
            JUPYTER_DATA_DIR=str(self.tmp / "data"),
            JUPYTER_RUNTIME_DIR=str(self.tmp / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(self.tmp / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(self.tmp / "workspaces"),
        )
        lab = Path(sys.executable).with_name("jupyter-lab")
        if not lab.exists():
            raise RuntimeError(f"{lab} is missing: JupyterLab is pinned in requirements.txt")
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [
            str(lab),
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.expose_app_in_browser=True",  # read cell models, whatever is on screen
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log = (self.tmp / "lab.log").open("w")
        self.proc = subprocess.Popen(
            cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=self.root
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.api("status")
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log = self.log_text()[-3000:]
                    self.stop()
                    raise RuntimeError(f"JupyterLab did not start:\n{log}") from None
                time.sleep(0.3)

    def api(self, path: str, method: str = "GET"):
        req = urllib.request.Request(
            f"{self.url}/api/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def kernel_pids(self) -> list[int]:
        """Process ids of the kernels this server started (children running ipykernel)."""
        import psutil

        out = []
        for p in psutil.Process(self.proc.pid).children(recursive=True):
            try:
                if "ipykernel_launcher" in " ".join(p.cmdline()):
                    out.append(p.pid)
            except psutil.Error:
                pass
        return out

    def shutdown_kernels(self) -> None:
        for k in self.api("kernels"):
            self.api(f"kernels/{k['id']}", method="DELETE")

    def log_text(self) -> str:
        self.log.flush()
        return (self.tmp / "lab.log").read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # shuts its kernels down too
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# What the page shows
# --------------------------------------------------------------------------------------------------
# Scroll the notebook's own scroller from top to bottom; at every position collect what the
# rendered cells show (JupyterLab 4 only renders cells near the viewport).
SCAN = """async () => {
  const panel = hnPanel();
  const outer = panel.node.querySelector('.jp-WindowedPanel-outer');
  const seen = new Map();
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const look = () => {
    const top = outer.getBoundingClientRect().top, bottom = top + outer.clientHeight;
    panel.content.widgets.forEach((w, i) => {
      const cell = w.node, r = cell.getBoundingClientRect();
      if (w.isHidden) {  // under a collapsed heading: nothing of it shows
        seen.set(i, {md: w.model.type === 'markdown', text: '', mathErrors: 0, hidden: true,
                     inputShown: false, outputShown: false, images: 0, citations: 0});
        return;
      }
      if (!cell.isConnected || r.height === 0 || r.bottom < top || r.top > bottom) return;
      const md = w.model.type === 'markdown';
      const rendered = cell.querySelector('.jp-MarkdownOutput, .jp-RenderedMarkdown, .myst');
      const outputs = cell.querySelector('.jp-OutputArea');
      const text = (md && rendered ? rendered.innerText : '') + '\\n'
        + (outputs ? outputs.innerText : '');
      const mathErrors = cell.querySelectorAll(
        '.katex-error, mjx-merror, .myst .text-red-500').length
        + cell.querySelectorAll('mjx-container [style*="color: red"],'
          + ' mjx-container [mathcolor="red"]').length;
      const shown = e => !!(e && e.offsetParent && e.getBoundingClientRect().height > 0);
      const inputShown = shown(cell.querySelector('.jp-Cell-inputArea'));
      const outputShown = shown(cell.querySelector('.jp-Cell-outputArea'));
      const images = cell.querySelectorAll('.jp-OutputArea img').length;
      // jupyterlab-myst 2.7 reads no bibliography: a {cite} shows its key, flagged.
      const citations = cell.querySelectorAll('[title="Citation Not Found"]').length;
      seen.set(i, {md, text, mathErrors, hidden: false, inputShown, outputShown, images,
                   citations});
    });
  };
  outer.scrollTop = 0;
  await sleep(300);
  for (let y = 0; ; y += outer.clientHeight * 0.7) {
    outer.scrollTop = y;
    await sleep(250);
    look();
    if (outer.scrollTop + outer.clientHeight >= outer.scrollHeight - 2) break;
  }
  await sleep(500);
  look();
  outer.scrollTop = 0;
  return Array.from(seen.entries());
}"""

# The notebook model, whatever is on screen: one entry per cell.
MODEL = r"""() => {
  const panel = hnPanel();
  const cells = panel.content.model.cells;
  const out = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    const j = c.toJSON();
    out.push({type: j.cell_type, count: j.execution_count ?? null, tags: (j.metadata.tags || []),
              jupyter: j.metadata.jupyter || {}, source: j.source.slice(0, 120),
              slider: /frame_sliders?\(/.test(j.source) && !/^\s*(from|import) /.test(j.source),
              outputs: (j.outputs || []).map(o => ({type: o.output_type, name: o.name || null,
                ename: o.ename || null, mime: Object.keys(o.data || {})}))});
  }
  return out;
}"""


def _by_cell(scan: list) -> dict[int, dict]:
    return {int(k): v for k, v in scan}


class LabPage:
    """JupyterLab in one browser page, offline; chapters are opened in it one after another, as a
    reader opens them from the file browser (the application loads once)."""

    def __init__(self, browser, lab: LabServer):
        self.lab = lab
        self.ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        self.console: list[str] = []
        self.external: list[str] = []
        self.ctx.route("**/*", self._route)
        self.pg = self.ctx.new_page()
        self.pg.on("console", lambda m: m.type == "error" and self.console.append(m.text[:500]))
        self.pg.on("pageerror", lambda e: self.console.append(f"page error: {e}"[:500]))
        self.pg.goto(f"{lab.url}/lab?token={lab.token}&reset", wait_until="load")
        self.pg.wait_for_function(
            "() => window.jupyterapp && jupyterapp.shell && jupyterapp.commands"
            " && jupyterapp.commands.hasCommand('docmanager:open')",
            timeout=120_000,
        )
        # The chapter's notebook panel. (Not shell.currentWidget: that follows the focus, which a
        # headless page does not have.)
        self.pg.evaluate(
            "() => { window.hnPanel = () => Array.from(jupyterapp.shell.widgets('main'))"
            ".find(w => w.context && w.context.path === window.hnPath); }"
        )

    def _route(self, route):
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlparse(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def open(self, name: str) -> float:
        """Open ``<name>.ipynb`` and wait for its kernel; the seconds it took."""
        t = time.perf_counter()
        self.pg.evaluate(
            "async path => { window.hnPath = path;"
            " await jupyterapp.commands.execute('docmanager:open', {path}); }",
            f"{name}.ipynb",
        )
        self.pg.wait_for_function(
            """() => { const w = hnPanel();
              if (!w || !w.context.isReady) return false;
              const k = w.sessionContext.session && w.sessionContext.session.kernel;
              return !!k && k.status === 'idle'; }""",
            timeout=120_000,
        )
        seconds = time.perf_counter() - t
        self.pg.evaluate("() => jupyterapp.shell.activateById(hnPanel().id)")  # the menus act on it
        self.pg.wait_for_timeout(1500)  # the cells in view finish rendering
        return seconds

    def close_notebook(self) -> None:
        """Close the current notebook without saving (Run All made it dirty)."""
        self.pg.evaluate(
            """async () => { const w = hnPanel();
              if (!w) return; w.context.model.dirty = false; w.dispose(); }"""
        )

    def model(self) -> list[dict]:
        return self.pg.evaluate(MODEL)

    def scan(self) -> dict[int, dict]:
        return _by_cell(self.pg.evaluate(SCAN))

    def run_all(self) -> float:
        """Run > Run All Cells, as a reader clicks it; seconds until the kernel, once busy, is
        idle again and every code cell has finished."""
        self.pg.evaluate(
            """() => { window.hnBusy = 0;
              hnPanel().sessionContext.session.kernel.statusChanged.connect(
                (_, status) => { if (status === 'busy') window.hnBusy += 1; }); }"""
        )
        self.pg.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        t = time.perf_counter()
        self.pg.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        self.pg.wait_for_function(
            """() => { const p = hnPanel();
              const k = p.sessionContext.session.kernel;
              const cells = p.content.model.cells; let n = 0, done = 0;
              for (let i = 0; i < cells.length; i++) { const c = cells.get(i);
                if (c.type !== 'code') continue; n++;
                if (c.executionCount !== null && c.executionState !== 'running') done++; }
              return window.hnBusy > 0 && k.status === 'idle' && done === n; }""",
            timeout=RUN_ALL_TIMEOUT_S * 1000,
            polling=200,
        )
        return time.perf_counter() - t

    def close(self) -> None:
        try:
            self.ctx.close()
        except Exception:
            pass


def count_issues(scan: dict[int, dict], model: list[dict], *, ran: bool = False) -> dict:
    """Math errors, raw MyST, equation labels and open solutions in what the reader saw.

    A solution cell is open if its input shows or, for code, its outputs do. After Run All only
    the code of a solution counts: JupyterLab 4.4's Run All un-hides the Markdown cells it renders
    and the outputs of the cells it runs (``inputHidden``/``outputHidden = false`` in
    ``cellexecutor.ts`` and ``cells/widget.ts``), whatever the metadata says.
    """
    raw, labels = [], []
    math_errors = citations = 0
    for i, c in sorted(scan.items()):
        math_errors += c["mathErrors"]
        citations += c["citations"]
        raw += [f"cell {i}: {m.group(0)!r}" for m in RAW_MYST.finditer(c["text"])]
        labels += [f"cell {i}: {m.group(0)}" for m in EQ_LABEL.finditer(c["text"])]
    solutions = solution_cells(model)
    if (
        ran
    ):  # Run All shows rendered Markdown and outputs (see above): only the code can stay folded
        solutions = [i for i in solutions if model[i]["type"] == "code"]
    open_solutions = []
    for i in solutions:
        seen = scan.get(i)
        code = model[i]["type"] == "code"
        if seen is None:
            open_solutions.append(i)  # never scrolled past: cannot say it was folded
        elif code and seen["inputShown"]:
            open_solutions.append(i)
        elif not ran and (seen["inputShown"] or (code and seen["outputShown"])):
            open_solutions.append(i)
    return {
        "math_errors": math_errors,
        "raw_myst": raw,
        "eq_labels": labels,
        "citations": citations,
        "solutions": len(solutions),
        "open_solutions": open_solutions,
        "seen_cells": len(scan),
    }


def solution_cells(model: list[dict]) -> list[int]:
    """Indices of the cells between a ``solution-start`` and its ``solution-end``."""
    out, inside = [], False
    for i, c in enumerate(model):
        src = c["source"].lstrip()
        if c["type"] == "markdown" and src.startswith(":::{solution-start}"):
            inside = True
        elif c["type"] == "markdown" and src.startswith(":::{solution-end}"):
            inside = False
        elif inside:
            out.append(i)
    return out


# Every cell as the notebook lays it out: hidden (under a collapsed heading) or not, and for a
# Markdown heading its level and whether it is collapsed.
HEADINGS = """() => hnPanel().content.widgets.map(w => {
  const md = w.model.type === 'markdown';
  return {id: w.model.id, hidden: w.isHidden, collapsed: md ? !!w.headingCollapsed : false,
          level: md && w.headingInfo ? w.headingInfo.level : -1};
})"""


def solution_headings(page: LabPage) -> list[dict]:
    """Each generated "Solution to exercise k" heading (``.ci/readers.py``): is it collapsed, which
    cells are under it (up to the next heading of its level or higher) and which of them show."""
    cells = page.pg.evaluate(HEADINGS)
    out = []
    for i, c in enumerate(cells):
        if not c["id"].startswith("hn-heading-solution-"):
            continue
        end = next(
            (j for j in range(i + 1, len(cells)) if 0 < cells[j]["level"] <= c["level"]),
            len(cells),
        )
        under = list(range(i + 1, end))
        shown = [j for j in under if not cells[j]["hidden"]]
        out.append({"heading": i, "collapsed": c["collapsed"], "under": under, "shown": shown})
    return out


def open_solutions(page: LabPage, headings: list[dict]) -> list[dict]:
    """Click each solution heading's collapse toggle, as a reader does: do its cells appear?"""
    pg, out = page.pg, []
    for h in headings:
        i = h["heading"]
        pg.evaluate(
            "async i => { const nb = hnPanel().content; await nb.scrollToItem(i, 'start'); }", i
        )
        pg.wait_for_timeout(300)
        cell = pg.evaluate_handle("i => hnPanel().content.widgets[i].node", i).as_element()
        # The toggle (a caret) shows while the pointer is over the heading; JupyterLab shows an
        # "n cells hidden" button below it at all times.
        cell.hover()
        button = cell.query_selector(".jp-collapseHeadingButton")
        if button is not None:
            button.click(timeout=5000)
            pg.wait_for_timeout(300)
        cells = pg.evaluate(HEADINGS)
        first = pg.evaluate(
            "i => hnPanel().content.widgets[i].node.getBoundingClientRect().height", i + 1
        )
        hidden = [j for j in h["under"] if cells[j]["hidden"]]
        out.append({"heading": i, "clicked": button is not None, "hidden": hidden, "height": first})
    return out


# The frames a slider box shows now (alt texts of the visible frame images).
SLIDER_STATE = """box => Array.from(box.closest('.widget-vbox').querySelectorAll('img.hn-frame'))
  .filter(i => i.offsetParent).map(i => i.alt).join('|')"""


def move_sliders(page: LabPage, cells: list[int]) -> list[dict]:
    """Every slider in the given cells, moved by arrow keys and by a drag: did the frame follow?"""
    pg = page.pg
    out = []
    for i in cells:
        pg.evaluate(
            "async i => { const nb = hnPanel().content; await nb.scrollToItem(i, 'start'); }",
            i,
        )
        pg.wait_for_timeout(500)
        cell = pg.evaluate_handle("i => hnPanel().content.widgets[i].node", i)
        for box in cell.as_element().query_selector_all(".hn-slider"):
            out.append(_move_slider(pg, box, i))
    return out


def _move_slider(pg, box, cell: int) -> dict:
    label = box.evaluate("b => (b.querySelector('.widget-label') || {}).innerText || ''")
    box.scroll_into_view_if_needed()
    pg.wait_for_timeout(200)
    handle = box.query_selector(".noUi-handle")
    start = box.evaluate(SLIDER_STATE)
    handle.focus()
    frames = [start]
    for key in ("ArrowRight", "ArrowLeft"):
        for _ in range(3):
            pg.keyboard.press(key)
            pg.wait_for_timeout(80)
        pg.wait_for_timeout(300)
        frames.append(box.evaluate(SLIDER_STATE))
    by_key = bool(start) and frames[1] != frames[0] and frames[2] != frames[1]
    track = box.query_selector(".noUi-base").bounding_box()
    y = track["y"] + track["height"] / 2
    for x1 in (track["x"] + track["width"] + 5, track["x"] - 5):  # to the right end, then back
        hb = handle.bounding_box()
        pg.mouse.move(hb["x"] + hb["width"] / 2, y)
        pg.mouse.down()
        pg.mouse.move(x1, y, steps=8)
        pg.mouse.up()
        pg.wait_for_timeout(300)
        frames.append(box.evaluate(SLIDER_STATE))
    by_drag = frames[3] != frames[2] and frames[4] != frames[3]
    return {"cell": cell, "label": label, "by_key": by_key, "by_drag": by_drag, "frames": frames}


def measure(page: LabPage, name: str, *, read_only: bool = False) -> dict:
    """Open and read one chapter; then (unless ``read_only``) Run All, read it again and move its
    sliders. Returns everything that was seen, with the seconds each phase took."""
    console, external = len(page.console), len(page.external)
    phases = {"open": page.open(name)}
    try:
        (pid,) = page.lab.kernel_pids()
        before_model = page.model()
        t = time.perf_counter()
        before = count_issues(page.scan(), before_model)
        phases["read"] = time.perf_counter() - t
        headings = solution_headings(page)
        slider_cells = [
            i for i, c in enumerate(before_model) if c["type"] == "code" and c["slider"]
        ]
        first_frames = [
            i
            for i in slider_cells
            if any("image/png" in o["mime"] for o in before_model[i]["outputs"])
        ]
        row = {
            "chapter": name,
            "before": before,
            "after": before,
            "slider_cells": len(slider_cells),
            "first_frames": len(first_frames),
            "headings_before": headings,
            "headings_after": headings,
            "opened": [],
            "run_s": float("nan"),
            "peak_bytes": float("nan"),
            "errors": [],
            "stderr": [],
            "sliders": [],
        }
        if not read_only:
            memory = PeakMemory(pid)
            row["run_s"] = page.run_all()
            row["peak_bytes"] = memory.stop()
            row["headings_after"] = solution_headings(page)
            t = time.perf_counter()
            row["opened"] = open_solutions(page, row["headings_after"])
            phases["open solutions"] = time.perf_counter() - t
            model = page.model()
            t = time.perf_counter()
            row["after"] = count_issues(page.scan(), model, ran=True)
            phases["read again"] = time.perf_counter() - t
            outputs = [(i, o) for i, c in enumerate(model) for o in c["outputs"]]
            row["errors"] = [f"cell {i}: {o['ename']}" for i, o in outputs if o["type"] == "error"]
            row["stderr"] = [
                i for i, o in outputs if o["type"] == "stream" and o["name"] == "stderr"
            ]
            t = time.perf_counter()
            row["sliders"] = move_sliders(page, slider_cells)
            phases["sliders"] = time.perf_counter() - t
        row["console"], row["xrefs"] = split_console(page.console[console:], book_targets())
        row["external"] = page.external[external:]
        row["phases"] = phases
        return row
    finally:
        page.close_notebook()
        page.lab.shutdown_kernels()


def table(rows: list[dict]) -> str:
    """The per-chapter table of the closing note (Markdown)."""
    lines = [
        "| chapter | Run All (s) | peak kernel memory (GB) | math errors before / after Run All"
        " | raw MyST | solution cells folded before / code folded after Run All"
        " | solutions hidden before / after Run All / shown by a click"
        " | slider first frames"
        " | sliders by key | sliders by drag | cell errors | console errors"
        " | (eq-…) labels shown | unresolved citations"
        " | references to other chapters or forward (distinct targets) |",
        "|---|" + "---:|" * 14,
    ]
    for r in rows:
        s, b, a = r["sliders"], r["before"], r["after"]
        sol = b["solutions"]
        lines.append(
            f"| {r['chapter']} | {r['run_s']:.1f} | {r['peak_bytes'] / 1e9:.2f}"
            f" | {b['math_errors']} / {a['math_errors']}"
            f" | {len(set(b['raw_myst']) | set(a['raw_myst']))}"
            f" | {sol - len(b['open_solutions'])}/{sol}"
            f" / {a['solutions'] - len(a['open_solutions'])}/{a['solutions']}"
            f" | {_hidden(r['headings_before'])} / {_hidden(r['headings_after'])}"
            f" / {sum(o['clicked'] and not o['hidden'] for o in r['opened'])}"
            f"/{len(r['headings_before'])}"
            f" | {r['first_frames']}/{r['slider_cells']}"
            f" | {sum(x['by_key'] for x in s)}/{len(s)}"
            f" | {sum(x['by_drag'] for x in s)}/{len(s)}"
            f" | {len(r['errors'])} | {len(r['console'])}"
            f" | {len(a['eq_labels'])} | {a['citations']}"
            f" | {len(r['xrefs'])} ({len(set(r['xrefs']))}) |"
        )
    return "\n".join(lines)


def _hidden(headings: list[dict]) -> int:
    return sum(h["collapsed"] and bool(h["under"]) and not h["shown"] for h in headings)


def _chromium(p):
    if not CHROMIUM.exists():
        raise RuntimeError(
            "Debian's Chromium is missing: run `make chromium` as root, or "
            "`sudo apt-get install -y chromium` (never `playwright install`)."
        )
    return p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


# --------------------------------------------------------------------------------------------------
# The tests (make test-lab)
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def lab():
    server = LabServer(LAB_CHAPTERS)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def page(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        try:
            browser = _chromium(p)
        except RuntimeError as e:
            pytest.fail(str(e))
        page = LabPage(browser, lab)
        yield page
        page.close()
        browser.close()


@pytest.fixture(scope="session")
def rows(request):
    """The measurements of every chapter opened; printed as the closing table at the end."""
    out: list[dict] = []
    yield out
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if out and reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # teardown output is captured otherwise
            reporter.write_line("\n" + table(out))


@pytest.mark.parametrize("name", LAB_CHAPTERS)
def test_a_reader_runs_the_chapter_in_jupyterlab(name, page, rows):
    row = measure(page, name)
    rows.append(row)
    before, after = row["before"], row["after"]
    n_cells = len(json.loads((ROOT / "book" / f"{name}.ipynb").read_text())["cells"])
    assert before["seen_cells"] == after["seen_cells"] == n_cells, (
        f"{name}: not every cell was seen"
    )
    assert not row["errors"], f"{name}: cells raised {row['errors']}"
    assert not row["stderr"], f"{name}: cells {row['stderr']} wrote to stderr"
    for when, seen in (("before Run All", before), ("after Run All", after)):
        assert not seen["math_errors"], f"{name} {when}: {seen['math_errors']} math errors"
        assert not seen["raw_myst"], f"{name} {when}: raw MyST {seen['raw_myst'][:5]}"
        assert not seen["open_solutions"], f"{name} {when}: open solutions {seen['open_solutions']}"
    assert before["solutions"] or name not in EXERCISE_CHAPTERS, f"{name}: no solutions found"
    # Run All runs the solutions too; each stays hidden under its collapsed heading until the
    # reader clicks the heading's toggle.
    n_exercises = (ROOT / "book" / f"{name}.ipynb").read_text().count(":::{exercise}")
    for when, headings in (("before", row["headings_before"]), ("after", row["headings_after"])):
        assert len(headings) == n_exercises, f"{name}: {len(headings)} solution headings"
        for h in headings:
            assert h["collapsed"] and h["under"], f"{name} {when} Run All: {h} is not collapsed"
            assert not h["shown"], f"{name} {when} Run All: solution cells {h['shown']} show"
    for o in row["opened"]:
        assert o["clicked"], f"{name}: heading cell {o['heading']} has no collapse toggle"
        assert not o["hidden"] and o["height"] > 0, f"{name}: a click did not show {o}"
    assert row["first_frames"] == row["slider_cells"], f"{name}: slider cells without a first frame"
    assert len(row["sliders"]) >= row["slider_cells"], f"{name}: {row['sliders']}"
    for s in row["sliders"]:
        assert s["by_key"], f"{name}, slider {s['label']!r}: arrow keys did not change the frame"
        assert s["by_drag"], f"{name}, slider {s['label']!r}: a drag did not change the frame"
    assert row["peak_bytes"] <= BUDGET_BYTES, f"{name}: kernel peaked at {row['peak_bytes']:.3g} B"
    assert not row["console"], f"{name}: console errors {row['console'][:3]}"
    assert not row["external"], f"{name}: requests left 127.0.0.1: {row['external'][:3]}"


def test_only_references_the_book_resolves_are_excused():
    """A reference that jupyterlab-myst cannot resolve is excused only if a chapter defines its
    target; a misspelt one, or any other console error, still fails."""
    targets = book_targets()
    assert (
        targets["thm-lm-gradient"] == "linear-maps" and targets["eq-ks-poisson"] == "kronecker-sums"
    )
    msgs = [
        "Cross reference target was not found: eq-ks-poisson\nCross reference target was not "
        "found: eq-vt-eig",
        "Cross reference target was not found: eq-no-such-label",
        "TypeError: x is undefined",
    ]
    errors, unresolved = split_console(msgs, targets)
    assert unresolved == ["eq-ks-poisson", "eq-vt-eig"]
    assert errors == [
        "Cross reference target was not found: eq-no-such-label",
        "TypeError: x is undefined",
    ]


def test_the_phase_covers_sliders_and_exercises():
    """The chapters opened include one with two sliders and ones with exercises."""
    two = [
        n for n in LAB_CHAPTERS if "frame_sliders(" in (ROOT / "book" / f"{n}.ipynb").read_text()
    ]
    assert two and EXERCISE_CHAPTERS, (two, EXERCISE_CHAPTERS)


EXERCISE_CHAPTERS = [
    n for n in LAB_CHAPTERS if ":::{exercise}" in (ROOT / "book" / f"{n}.ipynb").read_text()
]


# --------------------------------------------------------------------------------------------------
# Colab: the set-up cell in a fresh environment without hessnotes
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory) -> Path:
    """A new virtual environment that sees this project's third-party packages (numpy, torch,
    ipykernel, pip, ...) but not hessnotes, like a Colab runtime: its site-packages gets a .pth
    line to ours, which does not run our editable-install hook. (No pip of its own: ensurepip
    takes 20 s here, and ours is a current pip, as Colab's is.)"""
    import sysconfig

    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "hn_project_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    probe = subprocess.run(
        [str(python), "-c", "import numpy, ipykernel; import hessnotes"],
        capture_output=True,
        text=True,
        cwd=venv,
    )
    assert "No module named 'hessnotes'" in probe.stderr, probe.stderr[-500:]
    return python


def _run_setup_cell(python: Path, url: str, ref: str, tmp_path: Path) -> list:
    """Run a Colab copy's set-up cell, pointed at ``url``/``ref``, in a kernel of ``python``,
    then ``import hessnotes``; return the two cells' outputs."""
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    sys.path.insert(0, str(ROOT / ".ci"))
    import readers

    copy = nbformat.read(readers.colab_path(ROOT / "book" / f"{LAB_CHAPTERS[0]}.ipynb"), 4)
    setup = copy.cells[0]
    assert setup.source.startswith("#@title") and readers.SETUP_MARK in setup.source
    setup.source = re.sub(
        r'url, ref = "[^"]*", "[^"]*"', f'url, ref = "{url}", "{ref}"', setup.source
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [setup, nbformat.v4.new_code_cell("import hessnotes\nprint(hessnotes.__file__)")]
    spec = tmp_path / "kernels" / "fresh"
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "language": "python"}))
    ksm = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    client = NotebookClient(
        nb,
        kernel_name="fresh",
        timeout=600,
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},  # not the repository: no hessnotes/
    )
    client.kernel_manager_class = _kernel_manager(ksm)
    client.execute()
    return [c.outputs for c in nb.cells]


def _kernel_manager(ksm):
    from jupyter_client.manager import AsyncKernelManager

    class Manager(AsyncKernelManager):
        def __init__(self, **kw):
            super().__init__(kernel_spec_manager=ksm, **kw)

    return Manager


def test_colab_setup_cell_offline_says_what_failed_in_one_sentence(fresh_python, tmp_path):
    """No network (an unresolvable host): one sentence with the cause and the fix, raised as an
    error so that Run All stops there; no pip box, no traceback."""
    setup, _ = _run_setup_cell(fresh_python, "https://github.invalid/o/r", "main", tmp_path)
    (err,) = setup
    assert err["output_type"] == "error" and err["ename"] == "SetupError", setup
    assert err["traceback"] == [err["evalue"]], "a traceback instead of one sentence"
    assert "no network connection" in err["evalue"] and "run this cell again" in err["evalue"]
    assert "\n" not in err["evalue"] and "Traceback" not in err["evalue"]


def test_colab_setup_cell_installs_from_a_local_copy_of_the_repository(fresh_python, tmp_path):
    """The same cell against a clone of this repository (file:// URL, its HEAD commit): hessnotes
    installs into the fresh environment, nothing of Colab's (here: ours) is upgraded, and the
    next cell imports it."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True, timeout=120)
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    # A PEP 508 URL needs a host: git+file:///... is refused, git+file://localhost/... is not.
    setup, after = _run_setup_cell(fresh_python, f"file://localhost{repo}", head, tmp_path)
    assert setup == [], f"the install said something: {setup}"
    (out,) = after
    where = out["text"].strip()
    assert where.endswith("hessnotes/__init__.py") and str(ROOT) not in where, where


def main(argv: list[str]) -> None:
    """Print the per-chapter table: ``[--plain] [--read-only] [--source DIR] [chapter ...]``."""
    from playwright.sync_api import sync_playwright

    plain, read_only = "--plain" in argv, "--read-only" in argv
    source = Path(argv[argv.index("--source") + 1]) if "--source" in argv else ROOT / "book"
    skip = {argv.index("--source") + 1} if "--source" in argv else set()
    names = [a for i, a in enumerate(argv) if not a.startswith("--") and i not in skip]
    names = names or sorted(p.stem for p in source.glob("*.ipynb"))
    lab = LabServer(names, plain=plain, source=source)
    rows = []
    try:
        with sync_playwright() as p:
            browser = _chromium(p)
            page = LabPage(browser, lab)
            for name in names:
                row = measure(page, name, read_only=read_only)
                rows.append(row)
                print(json.dumps(row, default=str), file=sys.stderr, flush=True)
            page.close()
            browser.close()
    finally:
        lab.stop()
    print(table(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
