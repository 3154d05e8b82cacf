"""The book as a publication: one version number, and the whole book as a PDF (a local extension).

1. **One version.** The book's version is the library's: ``version`` in ``pyproject.toml``, as
   installed (``hessnotes.__version__`` and the provenance line every chapter prints read the
   same installed metadata). It becomes Sphinx's ``version``/``release`` (the PDF's title page),
   and the landing page says it under the book's subtitle, with a link to ``CITATION.cff``. That
   line is written here, not in ``book/intro.ipynb``, so that it never goes stale in the notebook
   or its Colab copy. ``CITATION.cff`` repeats the version; ``tests/test_release.py`` pins them
   all together.
2. **The PDF on the site.** Every page's download menu gets a link to ``hessnotes.pdf`` at the
   site's root, the whole book, where ``make pdf`` puts it. An HTML build that read any page
   again removes the PDF there, which no longer matches the pages (``make pdf`` builds it anew):
   the site never offers a stale PDF.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

DISTRIBUTION = "hessnotes"
#: The PDF's file name: the LaTeX target in _config.yml (latex.latex_documents.targetname), and
#: where `make pdf` copies it, at the root of the site.
PDF_NAME = "hessnotes.pdf"
CITATION = "CITATION.cff"


def book_version() -> str:
    """The installed version of the library, which is the book's version."""
    return metadata.version(DISTRIBUTION)


def _set_version(app, config):
    config.version = config.release = book_version()


def _version_on_landing_page(app, doctree):
    """ "Version 0.1.0. To cite the book, use CITATION.cff." under the landing page's subtitle."""
    if app.env.docname != app.config.root_doc:
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    at = section.index(section.next_node(nodes.title)) + 1
    if at < len(section) and isinstance(section[at], nodes.paragraph):
        at += 1  # after the subtitle
    options = app.config.html_theme_options or {}
    repo, branch = options.get("repository_url"), options.get("repository_branch") or "main"
    cff = (
        nodes.reference("", CITATION, refuri=f"{repo.rstrip('/')}/blob/{branch}/{CITATION}")
        if repo
        else nodes.literal("", CITATION)
    )
    line = nodes.paragraph(
        "",
        "",
        nodes.Text(f"Version {app.config.version}. To cite the book, use "),
        cff,
        nodes.Text("."),
        classes=["hn-version"],
    )
    section.insert(at, line)


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


def _note_reading(app, env, docnames):
    app.hn_pages_read = bool(docnames) or getattr(app, "hn_pages_read", False)


def _drop_stale_pdf(app, exception):
    """After an HTML build that read pages again: the PDF beside them is out of date."""
    pdf = Path(app.outdir) / PDF_NAME
    if exception is None and app.builder.format == "html" and app.hn_pages_read and pdf.exists():
        pdf.unlink()
        logger.info(f"[hn_release] removed the out-of-date {PDF_NAME}; `make pdf` builds it again")


def setup(app):
    app.hn_pages_read = False
    app.connect("env-before-read-docs", _note_reading)
    app.connect("build-finished", _drop_stale_pdf)
    app.connect("config-inited", _set_version)
    app.connect("doctree-read", _version_on_landing_page)
    # After sphinx-book-theme fills the header buttons (priority 501).
    app.connect("html-page-context", _pdf_in_download_menu, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
