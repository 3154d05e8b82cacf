"""The whole book as one PDF (``make pdf``), as a reader downloads it from the site.

The ``book_pdf`` fixture (conftest.py) builds it with jupyter-book's LaTeX builder from the strict
site build's environment, so no chapter is executed twice; it runs in the site phase
(``make test-site``, or ``make test-pdf`` for these tests alone). The PDF is read back with
poppler-utils (pdfinfo, pdftotext, pdfimages) and checked against the build, not against
numbers written here:

* every chapter of _toc.yml opens a chapter page with its title, in the order of the toc;
* no reference is unresolved ("??" in the text; an undefined reference, a missing glyph or a
  doubly defined label in the LaTeX log);
* every figure the pages show is in the PDF, chapter by chapter, each slider as the frame it
  shows first with its caption;
* the landing page and the PDF show the book's version, as every chapter's provenance line does.

Those tests are marked ``site``; the unit tests of the LaTeX that book/_ext/hn_pdf.py generates
are not.
"""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
import unicodedata
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from docutils import nodes
from test_site import PAGES, ROOT, source_of

sys.path.insert(0, str(ROOT / "book" / "_ext"))

import hn_pdf

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
IMAGE_TYPES = ("image/png", "image/jpeg", "application/pdf")
CHAPTERS = PAGES[1:]  # the landing page opens the book; it is not a chapter


# --------------------------------------------------------------------------------------------------
# Reading the PDF and the build
# --------------------------------------------------------------------------------------------------
@cache
def pages_of(pdf: Path) -> tuple[str, ...]:
    """The text of every page (pdftotext separates pages by form feeds)."""
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    return tuple(text.stdout.split("\f")[:-1])


def page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    return int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))


def image_pages(pdf: Path) -> list[int]:
    """The page of every image drawn in the PDF (soft masks are not images)."""
    out = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True).stdout
    rows = [line.split() for line in out.splitlines()[2:]]
    return [int(row[0]) for row in rows if row[2] == "image"]


def normalise(text: str) -> str:
    """Upper case, one space, plain quotes and dashes: titles as pdftotext gives them."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'")
    return " ".join(text.replace("–", "-").replace("—", "-").upper().split())


def title_of(page: str) -> str:
    """The first ``# `` heading of a page's source (MyST markup removed)."""
    path = source_of(page)
    if path.suffix == ".ipynb":
        import nbformat

        nb = nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    else:
        text = path.read_text()
    title = next(ln[2:] for ln in text.splitlines() if ln.startswith("# "))
    return re.sub(r"[*_`]", "", title)


def chapter_pages(pdf: Path) -> dict[str, int]:
    """Page index (0-based) where each chapter of the toc opens, by its title."""
    pages = [normalise(p) for p in pages_of(pdf)]
    opens = {}
    for chapter in CHAPTERS:
        title = normalise(title_of(chapter))
        hits = [
            i
            for i, p in enumerate(pages)
            if title in p and re.match(r"^(CHAPTER|APPENDIX) ", p.split(title)[0][-40:].lstrip())
        ]
        opens[chapter] = hits[0] if hits else -1
    return opens


def doctree_dir(book) -> Path:
    return (book.out / "_build" if book.out is not None else book.html.parent) / ".doctrees"


def figures_in(book, page: str) -> tuple[int, int]:
    """(figures, slider stills) the page shows, read from its executed doctree.

    A figure is an output whose data include an image (the PDF shows the image; a slider's
    output holds its widget and the still of the frame it shows first), or a Markdown image.
    """
    with open(doctree_dir(book) / f"{page}.doctree", "rb") as f:
        doctree = pickle.load(f)
    figures = stills = 0
    for bundle in doctree.findall(nodes.container):
        if bundle.get("nb_element") != "mime_bundle":
            continue
        types = {c.get("mime_type") for c in bundle.children}
        if types & set(IMAGE_TYPES):
            figures += 1
            stills += WIDGET_VIEW in types

    def outside_outputs(node) -> bool:
        while node is not None:
            if isinstance(node, nodes.container) and node.get("nb_element") == "mime_bundle":
                return False
            node = node.parent
        return True

    figures += sum(outside_outputs(img) for img in doctree.findall(nodes.image))
    return figures, stills


# --------------------------------------------------------------------------------------------------
# The LaTeX the extension writes (no build)
# --------------------------------------------------------------------------------------------------
def test_latex_macros_come_from_the_mathjax_config():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    macros = config["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
    lines = hn_pdf.latex_macros(macros).splitlines()
    assert len(lines) == len(macros)
    assert "\\providecommand{\\tr}{}\\renewcommand{\\tr}{\\operatorname{tr}}" in lines
    assert "\\providecommand{\\fro}{}\\renewcommand{\\fro}[1]{\\lVert #1 \\rVert_F}" in lines
    assert hn_pdf.latex_macros({"x": ["#1 + #2", 2, "0"]}) == (
        "\\providecommand{\\x}{}\\renewcommand{\\x}[2][0]{#1 + #2}"
    )
    with pytest.raises(ValueError, match="letters only"):
        hn_pdf.latex_macros({"x1": "y"})
    with pytest.raises(ValueError, match="not a string or"):
        hn_pdf.latex_macros({"x": ["y"]})


def test_fallback_glyphs_print_in_text_and_in_math():
    tex = hn_pdf.fallback_glyphs({"ℓ": "\\ell"})
    assert "\\newunicodechar{ℓ}{\\ifmmode\\ell\\else" in tex and '\\char"2113' in tex


def test_mono_fallback_glyphs_print_upright():
    tex = hn_pdf.mono_fallback_glyphs(["✗"])
    assert "\\newfontface\\hnmonofallback{DejaVu Sans Mono}" in tex
    assert '\\newunicodechar{✗}{{\\upshape\\hnmonofallback\\char"2717}}' in tex


# --------------------------------------------------------------------------------------------------
# The PDF
# --------------------------------------------------------------------------------------------------
@pytest.mark.site
def test_every_chapter_in_order_with_its_title(book_pdf: Path):
    log = (book_pdf.parent / "hessnotes.log").read_text(errors="replace")
    pages = page_count(book_pdf)
    written = re.search(r"Output written on hessnotes\.pdf \((\d+) pages", log)
    assert written and int(written.group(1)) == pages == len(pages_of(book_pdf))
    assert pages >= 4 * len(CHAPTERS), f"{pages} pages for {len(CHAPTERS)} chapters"
    opens = chapter_pages(book_pdf)
    missing = [c for c, p in opens.items() if p < 0]
    assert not missing, f"chapters with no chapter page carrying their title: {missing}"
    order = list(opens.values())
    assert order == sorted(order), f"chapters out of the toc's order: {opens}"
    print(f"\nPDF: {pages} pages, {book_pdf.stat().st_size / 1e6:.1f} MB")


@pytest.mark.site
def test_no_unresolved_reference_or_missing_glyph(book_pdf: Path):
    text = "\f".join(pages_of(book_pdf))
    unresolved = [ln for ln in text.splitlines() if "??" in ln]
    assert not unresolved, f"unresolved references in the text: {unresolved[:10]}"
    assert "(eq-" not in text, "an equation label printed instead of its number"
    log = (book_pdf.parent / "hessnotes.log").read_text(errors="replace")
    problems = re.findall(
        r"(Reference `[^']*' on page \d+ undefined|Citation `[^']*' on page \d+ undefined|"
        r"Label `[^']*' multiply defined|Missing character: There is no \S+ \(U\+\w+\))",
        log,
    )
    assert not problems, (
        f"{len(problems)} problems in the LaTeX log, e.g. {sorted(set(problems))[:8]}; for a "
        "missing character add it to FALLBACK_GLYPHS in book/_ext/hn_pdf.py"
    )
    # Equation numbers are by chapter, as on the site: "(3.8)".
    assert re.search(r"\(\d+\.\d+\)", text)


@pytest.mark.site
def test_every_figure_of_every_chapter_is_in_the_pdf(book, book_pdf: Path):
    opens = chapter_pages(book_pdf)
    starts = [0] + [opens[c] for c in CHAPTERS] + [len(pages_of(book_pdf))]
    drawn = image_pages(book_pdf)
    texts = pages_of(book_pdf)
    report = []
    for i, page in enumerate(PAGES):
        first, last = starts[i], starts[i + 1]  # page indices [first, last)
        want, stills = figures_in(book, page)
        got = sum(first < p <= last for p in drawn)  # pdfimages numbers pages from 1
        captions = sum(t.count("Slider at ") for t in texts[first:last])
        report.append((page, want, got, stills, captions))
    wrong = [r for r in report if r[1] != r[2] or r[3] != r[4]]
    assert not wrong, (
        f"(page, figures shown, figures in the PDF, sliders, slider captions in the PDF): {wrong}"
    )
    assert sum(r[1] for r in report) > len(CHAPTERS) and sum(r[3] for r in report) > 0


@pytest.mark.site
def test_landing_page_and_pdf_show_the_books_version(book, book_pdf: Path):
    version = metadata.version("hessnotes")
    landing = (book.html / f"{PAGES[0]}.html").read_text()
    assert f"Version {version}." in landing
    texts = pages_of(book_pdf)
    assert f"Release {version}" in texts[0], texts[0]
    assert f"Version {version}." in "".join(texts)
    # Every chapter's provenance line names the same version, on the site and in the PDF.
    for page in PAGES:
        if source_of(page).suffix == ".ipynb":
            html = (book.html / f"{page}.html").read_text()
            assert f"with hessnotes {version}, " in html, f"{page}: provenance line"
    in_pdf = "".join(texts).count(f"with hessnotes {version}, ")
    notebooks = sum(source_of(p).suffix == ".ipynb" for p in PAGES)
    assert in_pdf == notebooks, f"{in_pdf} provenance lines in the PDF for {notebooks} notebooks"
