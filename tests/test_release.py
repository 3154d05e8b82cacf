"""One version for the book, its library and its citation (book/_ext/hn_release.py).

The version is ``version`` in pyproject.toml. The installed metadata (which the pages, the PDF and
every chapter's provenance line print), ``hessnotes.__version__`` and CITATION.cff must agree with
it. That the built landing page and PDF show it is checked on the build, in test_pdf.py.
"""

from __future__ import annotations

import sys
import tomllib
from importlib import metadata
from pathlib import Path

import yaml

import hessnotes
from hessnotes.provenance import provenance

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import hn_release  # noqa: E402

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def test_one_version_for_the_library_the_pages_and_the_provenance_line():
    assert metadata.version("hessnotes") == VERSION, "the installed hessnotes is stale: make venv"
    assert hessnotes.__version__ == VERSION
    assert hn_release.book_version() == VERSION  # what the pages and the PDF show
    assert f"with hessnotes {VERSION}, " in str(provenance())  # what every chapter prints


def test_citation_file_agrees_with_pyproject_and_the_book_config():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    assert cff["message"] and cff["type"] == "software"
    book = cff["preferred-citation"]
    assert book["type"] == "book"
    assert cff["version"] == book["version"] == VERSION
    assert cff["title"] == book["title"] == CONFIG["title"]
    assert [a["name"] for a in cff["authors"]] == [a["name"] for a in book["authors"]]
    assert [a["name"] for a in cff["authors"]] == [CONFIG["author"]]
    assert cff["repository-code"] == book["url"] == CONFIG["repository"]["url"]
    assert cff["license"] == PYPROJECT["project"]["license"]["text"]
    assert book["year"] == int(CONFIG["copyright"])
