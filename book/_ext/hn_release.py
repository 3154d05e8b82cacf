"""The book as a publication: one version number, and the whole book as a PDF (a local extension).

1. **One version.** The book's version is the library's: ``version`` in ``pyproject.toml``, as
   installed (``hessnotes.__version__`` and the provenance line every chapter prints read the
   same installed metadata). It becomes Sphinx's ``version``/``release`` (the PDF's title page)
   and the MyST substitution ``{{ version }}`` (the landing page). ``CITATION.cff`` repeats it;
   ``tests/test_release.py`` pins them all together.
2. **The PDF on the site.** Every page's download menu gets a link to ``hessnotes.pdf`` at the
   site's root, the whole book, where ``make pdf`` puts it.
"""

from __future__ import annotations

from importlib import metadata

DISTRIBUTION = "hessnotes"
#: The PDF's file name: the LaTeX target in _config.yml (latex.latex_documents.targetname), and
#: where `make pdf` copies it, at the root of the site.
PDF_NAME = "hessnotes.pdf"


def book_version() -> str:
    """The installed version of the library, which is the book's version."""
    return metadata.version(DISTRIBUTION)


def _set_version(app, config):
    version = book_version()
    config.version = config.release = version
    subs = dict(config.myst_substitutions or {})
    subs.setdefault("version", version)
    config.myst_substitutions = subs


def _pdf_in_download_menu(app, pagename, templatename, context, doctree):
    """Add "hessnotes.pdf" (the whole book) to sphinx-book-theme's download menu."""
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"].append(
                {
                    "type": "link",
                    "url": context["pathto"](PDF_NAME, 1),
                    "text": PDF_NAME,
                    "tooltip": "Download the whole book as one PDF",
                    "icon": "fas fa-book",
                    "label": "download-book-pdf-button",
                }
            )


def setup(app):
    app.connect("config-inited", _set_version)
    # After sphinx-book-theme fills the header buttons (priority 501).
    app.connect("html-page-context", _pdf_in_download_menu, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
