"""Small Sphinx fixes that keep the built pages free of console errors (a local extension).

1. sphinx-thebe 0.3.1 on Sphinx 7 adds its inline configuration script twice (once with filename
   ``None``, once with ``''``), and the second copy throws "Identifier 'THEBE_JS_URL' has already
   been declared". Scripts are de-duplicated per page.
2. The ipywidgets HTML manager (1.0.6) typesets widget labels through the MathJax 2 call
   ``MathJax.Hub.Queue``, but the book loads MathJax 3, which has no ``Hub``; every widget page
   would throw. A tiny shim gives whatever object is bound to ``window.MathJax`` a ``Hub.Queue``
   that forwards to MathJax 3's ``typesetPromise`` once MathJax is ready.
3. The HTML manager finds its icon fonts relative to its require.js module URL, which resolves
   against the page unless require.js is told where the static files are. A one-line
   ``require.config({baseUrl})`` is placed just before the manager's script on each page.
4. Alt text. ``hessnotes.figures`` functions put a description of what a figure shows into the
   output's metadata (``{"image/png": {"alt": ...}}``); myst-nb 1.4 reads only ``width`` and
   ``height`` from there. :func:`_render_image_with_alt` wraps its image renderer so that the text
   becomes the ``<img alt>``. (myst-nb loads renderer plugins only from installed entry points, so a
   local extension has to wrap the method.)
"""

from __future__ import annotations

MATHJAX2_HUB_SHIM = """
(function () {
  var current = window.MathJax;
  function withHub(mj) {
    if (mj && typeof mj === "object" && !mj.Hub) {
      mj.Hub = {Queue: function () {
        var m = window.MathJax;
        if (m && m.typesetPromise) { m.typesetPromise().catch(function () {}); }
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


def _fix_scripts(app, pagename, templatename, context, doctree):
    from sphinx.builders.html._assets import _JavaScript

    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        key = (js.filename or "", tuple(sorted((k, str(v)) for k, v in js.attributes.items())))
        if key in seen:
            continue
        seen.add(key)
        if str(js.filename or "").endswith("html-manager/dist/embed-amd.js"):
            static = context["pathto"]("_static/", 1)
            body = f"require.config({{baseUrl: {static!r}}});"
            unique.append(_JavaScript("", priority=js.priority, body=body))
        unique.append(js)
    context["script_files"] = unique


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
    # Priority 1: before every other script, so the shim sees each assignment to window.MathJax.
    app.add_js_file(None, body=MATHJAX2_HUB_SHIM, priority=1)
    app.connect("html-page-context", _fix_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
