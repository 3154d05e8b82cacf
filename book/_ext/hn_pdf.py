"""The whole book as one PDF, through LaTeX, from the pages' own sources (a local extension).

``make pdf`` runs jupyter-book's LaTeX builder (``--builder pdflatex``) on the same Sphinx
environment as the site, so the chapters executed for the HTML build are reused, not run again.
This extension adapts the LaTeX output; the HTML build is unaffected.

1. **One source for the macros.** The MathJax macros in ``_config.yml``
   (``mathjax3_config.tex.macros``) become ``\\providecommand``/``\\renewcommand`` lines in the
   preamble, so ``\\tr``, ``\\kron``, ``\\R``, ... mean the same on the site and in the PDF. They
   are defined at ``\\begin{document}``, after unicode-math has set up its own ``\\vec``.
2. **Sphinx's own class.** sphinx-jupyterbook-latex's ``jupyterBook.cls`` loads ``bbm`` (in
   Debian's texlive-fonts-extra, 500 MB), ``mathrsfs``, TikZ and pgfplots, none of which the book
   uses. The book uses Sphinx's ``manual`` class and defines here the two environments that
   sphinx-jupyterbook-latex wraps code cells in. So Debian's ``texlive-xetex``,
   ``texlive-latex-extra``, ``texlive-fonts-recommended`` and ``latexmk``, with the FreeFont and
   DejaVu fonts, are enough (``.ci/ensure-tex`` says what each is for).
3. **Sliders print a still.** A widget has no LaTeX form. A slider's display data also holds the
   frame shown first as ``image/png`` (:class:`hessnotes.widgets.FrameSliders`), which the LaTeX
   build selects; the metadata names the value shown, which becomes a caption under the frame.
   A widget output with no still would print as its Python repr: that is a build warning.
4. **Cross-references resolve.** sphinx-proof labels some theorems ``None:<label>`` in LaTeX
   (it finds the page by its title, which fails on punctuation) and sphinx-exercise labels an
   exercise ``exercise:<label>``, while Sphinx's references point at ``<docname>:<label>``: such a
   theorem gets that label too, and a ``{numref}`` to an exercise prints the exercise's number as
   the site does ("Exercise 1.2"), linked to it. A proof's box gets the title "Proof" (sphinx-proof
   gives it none, which left an empty title bar).
5. **The bibliography is the References chapter**, not an empty chapter followed by another one
   called "Bibliography" (when, as here, the page with the bibliography comes last).
6. **One environment for both builds.** sphinx-jupyterbook-latex raises ``numfig_secnum_depth``
   to 2 when the LaTeX builder starts (equation numbers by chapter under parts). That value is
   compared with the pickled environment, so the HTML build after a PDF build would re-execute
   every chapter. It is kept at the site's value while the environment is read and saved, and
   raised only for writing the LaTeX.
7. **Every character has a glyph**: FreeSerif and DejaVu Sans Mono lack a few symbols the
   outputs print (:data:`FALLBACK_GLYPHS`); those come from Latin Modern Math, or, where it
   lacks them too, from upright DejaVu Sans Mono (:data:`MONO_FALLBACK_GLYPHS`); ``\\setminus``
   prints as ``\\smallsetminus`` (:data:`MATH_FIXES`). No index, no
   domain indices (the book has none; xindy is not needed). The chapters the site leaves
   unnumbered (the Appendix part) are lettered.
"""

from __future__ import annotations

import functools

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

# sphinx-jupyterbook-latex wraps code cells in these (its class defines them; ours is Sphinx's).
CELL_ENVIRONMENTS = r"""
\usepackage{changepage}
\definecolor{hnCodeInputFrame}{RGB}{204,204,204}
\definecolor{hnCodeInputBack}{RGB}{247,247,247}
\definecolor{hnCodeOutputFrame}{RGB}{255,255,255}
\definecolor{hnCodeOutputBack}{RGB}{255,255,255}
\newenvironment{sphinxVerbatimInput}
  {\colorlet{VerbatimBorderColor}{hnCodeInputFrame}\colorlet{VerbatimColor}{hnCodeInputBack}%
   \begin{adjustwidth}{0pt}{}}
  {\end{adjustwidth}}
\newenvironment{sphinxVerbatimOutput}
  {\colorlet{VerbatimBorderColor}{hnCodeOutputFrame}\colorlet{VerbatimColor}{hnCodeOutputBack}%
   \begin{adjustwidth}{12pt}{}}
  {\end{adjustwidth}}
"""


# Lettered chapters from here on; equations follow the letter (Sphinx's \theequation uses
# \arabic{chapter}, which would number them 1.1, 2.1, ... after A, B).
APPENDIX = "\\appendix\n\\renewcommand{\\theequation}{\\thechapter.\\arabic{equation}}\n"

# Sphinx's defaults for XeLaTeX (GNU FreeFont), but a monospace font that has every character
# the outputs print (FreeMono lacks ᵀ and ✗): DejaVu Sans Mono, scaled to FreeSerif's x-height.
FONTS = r"""
\setmainfont{FreeSerif}[Extension=.otf, UprightFont=*, ItalicFont=*Italic, BoldFont=*Bold,
  BoldItalicFont=*BoldItalic]
\setsansfont{FreeSans}[Extension=.otf, UprightFont=*, ItalicFont=*Oblique, BoldFont=*Bold,
  BoldItalicFont=*BoldOblique]
\setmonofont{DejaVu Sans Mono}[Scale=MatchLowercase]
"""


#: Characters the text fonts lack: printed from Latin Modern Math in text, as these in math.
#: The PDF test fails on any "Missing character" in the LaTeX log; add such characters here.
FALLBACK_GLYPHS = {
    "ℓ": r"\ell",
    "⪯": r"\preceq",
    "⪰": r"\succeq",
    "𝒫": r"\mathcal{P}",
    "𝒳": r"\mathcal{X}",
    "𝓑": r"\mathcal{B}",
}

#: Characters Latin Modern Math lacks too, printed from DejaVu Sans Mono (upright; its oblique,
#: used for code comments, lacks them).
MONO_FALLBACK_GLYPHS = ("✗",)

#: Math that unicode-math maps to a character Latin Modern Math lacks (``\setminus`` is U+29F5).
MATH_FIXES = r"""\AtBeginDocument{\renewcommand{\setminus}{\smallsetminus}}
"""


def fallback_glyphs(glyphs: dict[str, str]) -> str:
    r"""``\newunicodechar`` lines printing each character from Latin Modern Math (text mode)."""
    lines = [r"\usepackage{newunicodechar}", r"\newfontface\hnfallback{Latin Modern Math}"]
    for char, math in glyphs.items():
        lines.append(
            f"\\newunicodechar{{{char}}}{{\\ifmmode{math}\\else"
            f'{{\\upshape\\mdseries\\hnfallback\\char"{ord(char):X}}}\\fi}}'
        )
    return "\n".join(lines) + "\n"


def mono_fallback_glyphs(chars) -> str:
    r"""``\newunicodechar`` lines printing each character from upright DejaVu Sans Mono."""
    lines = [r"\newfontface\hnmonofallback{DejaVu Sans Mono}[Scale=MatchLowercase]"]
    for char in chars:
        lines.append(
            f'\\newunicodechar{{{char}}}{{{{\\upshape\\hnmonofallback\\char"{ord(char):X}}}}}'
        )
    return "\n".join(lines) + "\n"


def latex_macros(macros: dict) -> str:
    r"""LaTeX definitions of MathJax 3 macros: ``name: body`` or ``name: [body, nargs(, default)]``.

    ``\providecommand`` then ``\renewcommand`` defines a name whether or not LaTeX already has it
    (``\vec`` and ``\d`` exist in LaTeX with other meanings; the book's meaning wins, as in
    MathJax).

    Raises:
        ValueError: on a macro that is neither a string nor ``[body, nargs]`` /
            ``[body, nargs, default]``, or a name that is not letters only.
    """
    lines = []
    for name, spec in macros.items():
        if not name.isalpha():
            raise ValueError(f"macro name {name!r}: LaTeX control words are letters only")
        if isinstance(spec, str):
            body, args = spec, ""
        elif (
            isinstance(spec, (list, tuple))
            and len(spec) in (2, 3)
            and isinstance(spec[0], str)
            and isinstance(spec[1], int)
        ):
            body, args = spec[0], f"[{spec[1]}]" + (f"[{spec[2]}]" if len(spec) == 3 else "")
        else:
            raise ValueError(
                f"macro {name!r}: {spec!r} is not a string or [body, number of arguments]"
            )
        lines.append(f"\\providecommand{{\\{name}}}{{}}\\renewcommand{{\\{name}}}{args}{{{body}}}")
    return "\n".join(lines)


def _configure(app, config):
    """After sphinx-jupyterbook-latex (priority 500) has set its LaTeX options: adapt them."""
    macros = (config.mathjax3_config or {}).get("tex", {}).get("macros", {})
    elements = dict(config.latex_elements or {})
    elements["preamble"] = (
        elements.get("preamble", "")
        + "\n% hn_pdf: code cell environments\n"
        + CELL_ENVIRONMENTS
        + "% hn_pdf: characters the text fonts lack\n"
        + fallback_glyphs(FALLBACK_GLYPHS)
        + mono_fallback_glyphs(MONO_FALLBACK_GLYPHS)
        + MATH_FIXES
        + "% hn_pdf: the book's macros, from mathjax3_config in _config.yml\n"
        + "\\AtBeginDocument{%\n"
        + latex_macros(macros)
        + "\n}\n"
    )
    elements.setdefault("makeindex", "")
    elements.setdefault("printindex", "")
    elements.setdefault("fontpkg", FONTS)
    # The pages before the first part (the landing page) have no running head of "CONTENTS".
    elements.setdefault("tableofcontents", "\\sphinxtableofcontents\n\\markboth{}{}")
    config.latex_elements = elements
    config.latex_theme = "manual"
    config.latex_use_xindy = False
    config.latex_domain_indices = False
    app.hn_numfig_secnum_depth = config.numfig_secnum_depth  # the site's value


def _keep_environment_config(app):
    """builder-inited, after sphinx-jupyterbook-latex: the site's value while reading."""
    if app.builder.format == "latex":
        app.hn_latex_numfig_secnum_depth = app.config.numfig_secnum_depth
        app.config.numfig_secnum_depth = app.hn_numfig_secnum_depth


def _latex_numbering(app, doctree, docname):
    """doctree-resolved: the environment is saved; number equations by chapter in the LaTeX.

    The LaTeX builder resolves the whole book's doctree after saving the environment and just
    before its writer reads the config.
    """
    if app.builder.format == "latex":
        app.config.numfig_secnum_depth = app.hn_latex_numfig_secnum_depth


def _caption_slider_stills(render_image):
    """Wrap myst-nb's image renderer: a slider's still gets a caption naming the value shown."""

    @functools.wraps(render_image)  # keeps hn_site's __wrapped__ marker visible
    def render(self, data):
        out = render_image(self, data)
        slider = data.output_metadata.get(data.mime_type, {}).get("slider")
        if slider:
            text = (
                f"Slider at {slider['shown']}: the frame shown first, of {slider['frames']} "
                "(the online book and the notebook show them all)."
            )
            out.append(nodes.paragraph("", "", nodes.emphasis(text, text), classes=["hn-still"]))
        return out

    render.__hn_pdf__ = True
    return render


class WidgetsNeedAStill(SphinxPostTransform):
    """In LaTeX, a widget output with no ``image/png`` beside it would print its repr: warn."""

    default_priority = 3  # before myst-nb selects one mime type per output (priority 4)
    formats = ("latex",)

    def run(self, **kwargs):
        for bundle in self.document.findall(nodes.container):
            if bundle.get("nb_element") != "mime_bundle":
                continue
            types = {child.get("mime_type") for child in bundle.children}
            if WIDGET_VIEW in types and not types & {"image/png", "image/jpeg", "application/pdf"}:
                logger.warning(
                    "a widget output has no still (image/png) and prints as its Python repr; "
                    "use hessnotes.widgets.frame_slider(s), or display an image for print",
                    location=bundle,
                )


class LatexTargets(SphinxPostTransform):
    """Theorems and exercises answer to the references Sphinx writes (LaTeX only)."""

    default_priority = 25  # after sphinx-exercise's own reference transforms (20-22)
    formats = ("latex",)

    def run(self, **kwargs):
        from sphinx_exercise.nodes import (
            exercise_enumerable_node,
            exercise_latex_number_reference,
        )

        env = self.env
        proofs = getattr(env, "proof_list", {})

        def is_proof(node) -> bool:
            return type(node).__module__.startswith("sphinx_proof") and node.get("label") in proofs

        from sphinx_proof.nodes import find_parent

        for node in list(self.document.findall(is_proof)):
            label = node["label"]
            docname = proofs[label].get("docname")
            # sphinx-proof finds the docname by matching the section's title, which fails on
            # titles with punctuation; label those theorems under the name references use.
            if docname and find_parent(env, node, "section") != docname:
                tex = f"\\phantomsection\\label{{\\detokenize{{{docname}:{label}}}}}"
                node.parent.insert(node.parent.index(node), nodes.raw("", tex, format="latex"))

        # A proof is an admonition with no title ("Proof. " starts its text): give it one.
        for box in list(self.document.findall(nodes.admonition)):
            if "proof" not in box.get("classes", []) or isinstance(box.next_node(), nodes.title):
                continue
            first = box.next_node(nodes.Text)
            if first is not None and str(first).startswith("Proof. "):
                first.parent.replace(first, nodes.Text(str(first)[len("Proof. ") :]))
            box.insert(0, nodes.title("", "Proof"))

        exercises = getattr(env, "sphinx_exercise_registry", {})
        fmt = self.config.numfig_format.get("exercise", "Exercise %s")
        for ref in list(self.document.findall(addnodes.number_reference)):
            label = ref.get("refid") or ref.get("refuri", "").partition("#")[2]
            target = exercises.get(label)
            if not target or not isinstance(target.get("node"), exercise_enumerable_node):
                continue
            number = env.toc_fignumbers.get(target["docname"], {}).get("exercise", {}).get(label)
            if not number:
                continue
            text = fmt % ".".join(map(str, number))
            new = exercise_latex_number_reference("", "", nodes.Text(text), refid=label)
            ref.replace_self(new)


class AppendixLetters(SphinxPostTransform):
    """Chapters the site leaves unnumbered (the Appendix part) are lettered A, B, ... (LaTeX)."""

    default_priority = 800
    formats = ("latex",)

    def run(self, **kwargs):
        numbered_before = False
        for start in self.document.findall(addnodes.start_of_file):
            docname = start.get("docname")
            if docname not in self.env.all_docs or docname == self.config.root_doc:
                continue  # a part heading made by sphinx-jupyterbook-latex, or the landing page
            if self.env.toc_secnumbers.get(docname):
                numbered_before = True
            elif numbered_before:
                raw = nodes.raw("", APPENDIX, format="latex")
                start.parent.insert(start.parent.index(start), raw)
                return


class BibliographyInPlace(SphinxPostTransform):
    """The bibliography fills the last chapter when that is the page holding it (LaTeX only)."""

    default_priority = 800  # after Sphinx gathers the citations at the end (750)
    formats = ("latex",)

    def run(self, **kwargs):
        from sphinx.builders.latex.nodes import thebibliography

        bib = next(iter(self.document.findall(thebibliography)), None)
        files = list(self.document.findall(addnodes.start_of_file))
        if bib is None or not files:
            return
        last = files[-1]["docname"]
        homes = {key.docname for key in self.env.get_domain("cite").bibliographies}
        if homes != {last}:
            return  # keep Sphinx's separate "Bibliography" chapter
        title = self.env.titles[last].astext()
        tex = (
            "\\renewenvironment{sphinxthebibliography}[1]{\\begingroup"
            f"\\def\\bibname{{{title}}}\\def\\chapter##1##2{{}}\\begin{{thebibliography}}{{#1}}}}"
            "{\\end{thebibliography}\\endgroup}"
        )
        bib.parent.insert(bib.parent.index(bib), nodes.raw("", tex, format="latex"))


def setup(app):
    from myst_nb.core.render import NbElementRenderer

    if not getattr(NbElementRenderer.render_image, "__hn_pdf__", False):
        NbElementRenderer.render_image = _caption_slider_stills(NbElementRenderer.render_image)
    app.connect("config-inited", _configure, priority=900)
    app.connect("builder-inited", _keep_environment_config, priority=900)
    app.connect("doctree-resolved", _latex_numbering)
    app.add_post_transform(WidgetsNeedAStill)
    app.add_post_transform(LatexTargets)
    app.add_post_transform(AppendixLetters)
    app.add_post_transform(BibliographyInPlace)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
