"""The book's Sphinx fixes (a local extension): launch buttons, no console errors, fast pages.

1. **Theme options merge.** jupyter-book derives the theme options (launch buttons, repository
   button, ``home_page_in_navbar``, ...) from ``launch_buttons:``, ``repository:`` and ``html:``;
   a ``sphinx.config.html_theme_options`` block *replaces* all of them, which removed every launch
   button. Extra options go in ``hn_theme_options`` instead and are merged in here.
2. **Thebe names our repository.** sphinx-thebe's kernel request defaults to a demo repository.
   ``thebe_config`` is filled from the same ``repository.url``/``branch`` as the launch buttons, so
   the one setting in ``_config.yml`` drives Binder, Colab, live code and the repository button.
3. **Duplicate scripts.** sphinx-thebe 0.3.1 on Sphinx 7 adds its inline configuration twice (once
   with filename ``None``, once with ``''``): "Identifier 'THEBE_JS_URL' has already been
   declared". Scripts are de-duplicated per page.
4. **MathJax 2 call in the widget manager.** The ipywidgets HTML manager typesets widget labels
   with ``MathJax.Hub.Queue`` (MathJax 2); the book loads MathJax 3, which has no ``Hub``. A tiny
   shim gives whatever object is bound to ``window.MathJax`` a ``Hub.Queue`` that typesets the
   given element with MathJax 3, chained after any typesetting in progress (typesetting the whole
   page at once, concurrently, duplicated display equations).
5. **Widget pages paint first.** require.js and the widget manager load with ``defer`` (not in
   the way of the first paint), and the page's saved widget state (the slider frames) moves from
   ``<head>`` to the end of ``<body>``. The manager finds its icon fonts relative to require.js's
   ``baseUrl``, given as a global ``require`` object before require.js loads.
6. **Alt text.** ``hessnotes.figures`` functions put a description of what a figure shows into
   the output's metadata (``{"image/png": {"alt": ...}}``); myst-nb 1.4 reads only ``width`` and
   ``height`` from there. Its image renderer is wrapped so that the text becomes ``<img alt>``
   (myst-nb loads renderer plugins only from installed entry points, so a local extension has to
   wrap the method).
7. **Outputs cite equation numbers.** A check cell prints which equation it checks by label, e.g.
   "(eq-lnh-expand)" (a notebook cannot know the number the book gives the equation). In cell
   outputs the label is replaced by the equation's number as the page shows it, e.g. "(8.3)".
8. **Colab opens the Colab copy.** Colab renders neither MyST nor the book's macros, so
   ``make notebooks`` writes ``book/colab/<chapter>.ipynb`` (plain Markdown, see
   ``.ci/readers.py``), and the Colab button of each chapter points there instead of at the
   chapter itself.
9. ``static/hn-site.js`` and ``static/hn-site.css`` are added to every page: the sidebar toggles
   (pydata-sphinx-theme #2451), slider accessibility and a read-only readout, thebe next to
   require.js, scrolling cues for wide math and code, wrapped outputs, dark-mode widgets, print.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from docutils import nodes

STATIC = Path(__file__).parent / "static"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

MATHJAX2_HUB_SHIM = """
(function () {
  var current = window.MathJax;
  function withHub(mj) {
    if (mj && typeof mj === "object" && !mj.Hub) {
      // Hub.Queue(["Typeset", Hub, element]): typeset that element only, after any typesetting
      // in progress (concurrent typesetPromise calls duplicate equations).
      mj.Hub = {Queue: function (job) {
        var m = window.MathJax;
        if (!m || !m.typesetPromise || !m.startup) { return; }
        var el = Array.isArray(job) ? job[2] : null;
        m.startup.promise = m.startup.promise
          .then(function () { return m.typesetPromise(el ? [el] : undefined); })
          .catch(function () {});
      }};
    }
    return mj;
  }
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () { return current; },
    set: function (value) { current = withHub(value); },
  });
  window.MathJax = current;
})();
"""


def _merge_config(app, config):
    """Merge ``hn_theme_options`` into the theme options and point Thebe at our repository."""
    opts = dict(config.html_theme_options or {})
    opts.update(config.hn_theme_options or {})
    config.html_theme_options = opts
    url = opts.get("repository_url")
    if url:
        thebe = dict(config.thebe_config or {})
        thebe.setdefault("repository_url", url)
        thebe.setdefault("repository_branch", opts.get("repository_branch") or "main")
        thebe.setdefault("path_to_docs", opts.get("path_to_docs") or ".")
        config.thebe_config = thebe


def _colab_opens_the_copy(app, pagename, templatename, context, doctree):
    """Point the Colab launch button at ``book/colab/<page>.ipynb`` when that copy exists."""
    root = Path(app.srcdir)
    copy = root / Path(pagename).parent / "colab" / f"{Path(pagename).name}.ipynb"
    if not copy.exists():
        return
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []) if group.get("label") == "launch-buttons" else []:
            if button.get("text") == "Colab":
                head, _, tail = button["url"].rpartition("/")
                button["url"] = f"{head}/colab/{tail}"


def _add_static(app):
    app.config.html_static_path.append(str(STATIC))


def _fix_scripts(app, pagename, templatename, context, doctree):
    from sphinx.builders.html._assets import _JavaScript

    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique, states = set(), [], []
    for js in scripts:
        key = (js.filename or "", tuple(sorted((k, str(v)) for k, v in js.attributes.items())))
        if key in seen:
            continue
        seen.add(key)
        name = str(js.filename or "")
        if js.attributes.get("type") == WIDGET_STATE:
            states.append(js.attributes.get("body", ""))
            continue
        if name.endswith("requirejs/require.js"):
            static = context["pathto"]("_static/", 1)
            body = f"var require = {{baseUrl: {static!r}}};"
            unique.append(_JavaScript("", priority=js.priority, body=body))
        if name.endswith(("requirejs/require.js", "html-manager/dist/embed-amd.js")):
            js = _JavaScript(
                js.filename, priority=js.priority, **{**js.attributes, "defer": "defer"}
            )
        unique.append(js)
    context["script_files"] = unique
    if states:
        tags = "".join(f'<script type="{WIDGET_STATE}">{s}</script>' for s in states)
        context["body"] = context.get("body", "") + tags


_EQ_LABEL = re.compile(r"\((eq-[\w-]+)\)")


def _number_equations_in_outputs(app, doctree, docname):
    """Replace "(eq-label)" in cell outputs by the equation's number, "(8.3)"."""
    from sphinx.addnodes import start_of_file

    config = app.config
    labels = app.env.get_domain("math").equations  # label -> (docname, number)

    # The page each block comes from: the LaTeX builder joins all pages into one doctree, each
    # in a start_of_file node (found top-down: some extensions leave stale parent links).
    home = {}
    for page in doctree.findall(start_of_file):
        for block in page.findall(nodes.literal_block):
            home[id(block)] = page["docname"]

    def number_of(label: str, home: str) -> str | None:
        where = labels.get(label)
        if not where or where[0] != home:
            return None
        if config.math_numfig and config.numfig:
            numbers = app.env.toc_fignumbers.get(home, {}).get("displaymath", {})
            parts = numbers.get(f"equation-{label}")
            if not parts:
                return None
            eqno = ".".join(map(str, parts))
            return config.math_numsep.join(eqno.rsplit(".", 1))
        return str(where[1])

    def repl(home: str, m: re.Match) -> str:
        n = number_of(m.group(1), home)
        return f"({n})" if n else m.group(0)

    for block in doctree.findall(nodes.literal_block):
        text = block.astext()
        if "(eq-" not in text:
            continue

        new = _EQ_LABEL.sub(functools.partial(repl, home.get(id(block), docname)), text)
        if new != text:
            block.children = [nodes.Text(new)]


def _render_image_with_alt(render_image):
    def render(self, data):
        nodes_ = render_image(self, data)
        alt = data.output_metadata.get(data.mime_type, {}).get("alt")
        if alt:
            for node in nodes_:
                node["alt"] = str(alt)
        return nodes_

    render.__wrapped__ = render_image
    return render


def setup(app):
    from myst_nb.core.render import NbElementRenderer

    if not hasattr(NbElementRenderer.render_image, "__wrapped__"):
        NbElementRenderer.render_image = _render_image_with_alt(NbElementRenderer.render_image)
    app.add_config_value("hn_theme_options", {}, "html")
    app.connect("config-inited", _merge_config, priority=900)
    app.connect("builder-inited", _add_static)
    # Priority 1: before every other script, so the shim sees each assignment to window.MathJax.
    app.add_js_file(None, body=MATHJAX2_HUB_SHIM, priority=1)
    app.add_js_file("hn-site.js", defer="defer")
    app.add_css_file("hn-site.css")
    app.connect("html-page-context", _fix_scripts, priority=900)
    # After sphinx-book-theme adds the launch buttons (priority 501).
    app.connect("html-page-context", _colab_opens_the_copy, priority=600)
    app.connect("doctree-resolved", _number_equations_in_outputs)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
