"""The book as the tests build it: the site strictly, then the PDF from the same environment.

``tests/conftest.py`` wraps these in session fixtures, so the browser tests (test_site.py) and the
PDF tests (test_pdf.py) share one execution of the chapters, as ``make pdf`` does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PDF_NAME = "hessnotes.pdf"  # book/_ext/hn_release.py links it at the root of the site


def jupyter_book(out: Path, *args: str) -> tuple[str, float]:
    """Run ``jupyter-book build`` strictly into ``out``; the log and the time.

    Fails on a non-zero exit or on any Sphinx warning or error ("path: WARNING: ..."); a
    kernel's own log lines ("[IPKernelApp] WARNING | ...") are not build warnings.
    """
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going"]
    start = time.perf_counter()
    proc = subprocess.run([*cmd, *args], capture_output=True, text=True, env=env, cwd=ROOT)
    elapsed = time.perf_counter() - start
    log = proc.stdout + proc.stderr
    warnings = [ln for ln in log.splitlines() if re.search(r"WARNING:|ERROR:|Traceback", ln)]
    assert proc.returncode == 0 and not warnings, (
        f"jupyter-book build {' '.join(args)} failed (exit {proc.returncode}) with "
        f"{len(warnings)} warnings:\n"
        + "\n".join(warnings[:40])
        + "\n--- last lines ---\n"
        + "\n".join(log.splitlines()[-40:])
    )
    return log, elapsed


def build_site(out: Path) -> tuple[Path, str, float]:
    """The strict HTML build into ``out/_build/html``."""
    log, elapsed = jupyter_book(out)
    html = out / "_build" / "html"
    assert (html / "index.html").exists()
    return html, log, elapsed


def build_pdf(out: Path) -> tuple[Path, str, float]:
    """The PDF from the environment of :func:`build_site` in ``out`` (``make pdf``'s steps).

    The chapters are not executed again (the log is checked for that), the PDF is copied where
    the site's download menu links it.
    """
    log, elapsed = jupyter_book(out, "--builder", "pdflatex")
    assert "Executing notebook" not in log, "the PDF build executed chapters again"
    pdf = out / "_build" / "latex" / PDF_NAME
    assert pdf.exists(), log[-3000:]
    shutil.copy(pdf, out / "_build" / "html" / PDF_NAME)
    return pdf, log, elapsed
