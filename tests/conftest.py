"""Shared fixtures. Figures are closed after every test; randomness is seeded per test."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # tests never display; notebooks (run by nbval) use the inline backend

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch


@pytest.fixture
def pyplot():
    """Give a test pyplot and close every figure it made afterwards."""
    yield plt
    plt.close("all")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


# --------------------------------------------------------------------------------------------------
# The built book, shared by the browser tests (test_site.py) and the PDF tests (test_pdf.py)
# --------------------------------------------------------------------------------------------------
@dataclass
class Book:
    """A strict build of the site: ``html`` in ``out`` (None when reusing ``HESSNOTES_SITE``)."""

    out: Path | None
    html: Path


def _report(request, line: str) -> None:
    """A line on the terminal, past pytest's output capture (the phase times of the build)."""
    plugins = request.config.pluginmanager
    with plugins.get_plugin("capturemanager").global_and_fixture_disabled():
        plugins.get_plugin("terminalreporter").write_line(f"[build] {line}")


@pytest.fixture(scope="session")
def book(tmp_path_factory, request) -> Book:
    """Build the site strictly (warnings are errors) into a temporary folder.

    To iterate on the browser checks alone, set ``HESSNOTES_SITE`` to an existing build
    (e.g. ``_build/html`` from ``make book``, or ``make pdf`` for the PDF tests); the build test
    in test_site.py then fails, to say so.
    """
    from book_build import build_site

    if os.environ.get("HESSNOTES_SITE"):
        return Book(None, Path(os.environ["HESSNOTES_SITE"]).resolve())
    out = tmp_path_factory.mktemp("book")
    html, _, elapsed = build_site(out)
    _report(request, f"strict site build: {elapsed:.0f} s")
    return Book(out, html)


@pytest.fixture(scope="session")
def book_pdf(book, request) -> Path:
    """The whole book as one PDF, from the site build's environment (no chapter runs again)."""
    from book_build import PDF_NAME, build_pdf

    if book.out is None:  # HESSNOTES_SITE: `make pdf` built it beside the site
        pdf = book.html.parent / "latex" / PDF_NAME
        assert pdf.exists() and (book.html / PDF_NAME).exists(), f"{pdf}: run `make pdf` first"
        return pdf
    pdf, _, elapsed = build_pdf(book.out)
    _report(request, f"PDF from the site's environment (LaTeX, xelatex): {elapsed:.0f} s")
    return pdf
