"""The built site: a strict build, then Debian's Chromium against it with the network off.

Both tests share one build (a session fixture) into a temporary folder. Run with ``make test-site``
(``pytest -m site``); the unit phase skips them by marker, so they never skip silently.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
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
SCREENSHOTS = ROOT / "_build" / "screenshots"

pytestmark = pytest.mark.site


def toc_pages() -> list[str]:
    """Every document in _toc.yml, in reading order (paths without suffix)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries):
        for e in entries or []:
            if "file" in e:
                pages.append(e["file"])
            walk(e.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    return pages


def source_of(page: str) -> Path:
    for suffix in (".ipynb", ".md"):
        if (ROOT / f"{page}{suffix}").exists():
            return ROOT / f"{page}{suffix}"
    raise FileNotFoundError(page)


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """Build the book strictly (warnings are errors) into a temporary folder.

    To iterate on the browser checks alone, set ``HESSNOTES_SITE`` to an existing build
    (e.g. ``_build/html`` from ``make book``); the build test then fails, to say so.
    """
    if os.environ.get("HESSNOTES_SITE"):
        return Path(os.environ["HESSNOTES_SITE"]).resolve()
    out = tmp_path_factory.mktemp("site")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run(
        [str(jb), "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    log = proc.stdout + proc.stderr
    # Sphinx reports "path: WARNING: ..." / "ERROR: ..."; a kernel's own log lines ("[IPKernelApp]
    # WARNING | ...") are not build warnings.
    warnings = [ln for ln in log.splitlines() if re.search(r"WARNING:|ERROR:|Traceback", ln)]
    assert proc.returncode == 0 and not warnings, (
        f"jupyter-book build failed (exit {proc.returncode}) with {len(warnings)} warnings:\n"
        + "\n".join(warnings[:40])
        + "\n--- last lines ---\n"
        + "\n".join(log.splitlines()[-40:])
    )
    html = out / "_build" / "html"
    assert (html / "index.html").exists()
    return html


def test_build_is_strict_and_complete(site: Path):
    """Every toc page was built, and the build left no raw cell errors in the pages."""
    skipped = os.environ.get("HESSNOTES_SITE")
    assert not skipped, "HESSNOTES_SITE is set: the strict build was skipped"
    for page in toc_pages():
        page_html = site / f"{page}.html"
        assert page_html.exists(), f"{page} is in _toc.yml but {page_html} was not built"
        text = page_html.read_text()
        assert "Traceback (most recent call last)" not in text, f"{page} shows a traceback"


@pytest.fixture(scope="session")
def server(site: Path):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output readable
        pass


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            "Debian's Chromium is missing: run `make chromium` as root, or "
            "`sudo apt-get install -y chromium` (never `playwright install`)."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _slider_count(state_text: str | None) -> int:
    """Number of hessnotes sliders in a page's saved widget state."""
    if not state_text:
        return 0
    state = json.loads(state_text)["state"]
    return sum("hn-slider" in m["state"].get("_dom_classes", []) for m in state.values())


@pytest.mark.parametrize("page", toc_pages())
def test_page_in_browser(page: str, server: str, browser):
    """No console errors, no request leaves 127.0.0.1, math typeset, images loaded, sliders live."""
    ctx = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = ctx.new_page()
    errors: list[str] = []
    failed: list[str] = []

    def route(r):
        host = urlparse(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            r.continue_()
        else:
            failed.append(f"blocked external request {r.request.url}")
            r.abort()

    pg.route("**/*", route)
    pg.on("console", lambda m: m.type == "error" and errors.append(m.text))
    pg.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    pg.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
    pg.on("response", lambda r: r.status >= 400 and failed.append(f"{r.url} -> HTTP {r.status}"))

    pg.goto(f"{server}/{page}.html", wait_until="load")
    source = source_of(page).read_text()

    # Math: MathJax typeset something and no raw display-math delimiters are left.
    if "$" in source:
        pg.wait_for_selector("mjx-container", state="attached", timeout=20_000)
    pg.wait_for_function(
        "() => !window.MathJax || !MathJax.startup || MathJax.startup.promise", timeout=20_000
    )
    pg.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    body = pg.inner_text("article")
    assert "$$" not in body, f"{page}: raw $$ shows: math was not typeset"
    assert "\\begin{" not in body, f"{page}: raw LaTeX environment shows"

    # Sliders: as many as the saved widget state holds, each moving its own figure.
    state = pg.evaluate(
        "() => { const s = document.querySelector("
        "'script[type=\"application/vnd.jupyter.widget-state+json\"]');"
        " return s && s.textContent; }"
    )
    expected = _slider_count(state)
    if expected:
        pg.wait_for_function(
            f"() => document.querySelectorAll('.hn-slider').length >= {expected}", timeout=30_000
        )
    sliders = pg.query_selector_all(".hn-slider")
    assert len(sliders) == expected, f"{page}: {len(sliders)} sliders rendered, {expected} saved"

    # Images: every <img> (figures and slider frames) has loaded.
    pg.wait_for_load_state("networkidle")
    broken = pg.evaluate(
        "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
        ".map(i => i.getAttribute('src').slice(0, 80))"
    )
    assert not broken, f"{page}: images not loaded: {broken}"
    if "image/png" in source:
        assert pg.evaluate("() => document.images.length") > 0, f"{page}: no figure shown"

    for i, slider in enumerate(sliders):
        box = slider.evaluate_handle("s => s.closest('.widget-vbox')").as_element()
        frames = box.query_selector(":scope > .hn-frames")
        box.scroll_into_view_if_needed()
        before = frames.screenshot()
        handle = slider.query_selector(".noUi-handle")
        handle.focus()
        handle.press("ArrowRight")
        pg.wait_for_timeout(300)
        after = frames.screenshot()
        if after == before:  # at the right end already: move left instead
            handle.press("ArrowLeft")
            handle.press("ArrowLeft")
            pg.wait_for_timeout(300)
            after = frames.screenshot()
        assert after != before, f"{page}: moving slider {i} did not change its figure"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SCREENSHOTS / f"{page.replace('/', '__')}.png"), full_page=True)
    ctx.close()
    assert not errors, f"{page}: console errors: {errors}"
    assert not failed, f"{page}: failed requests with the network off: {failed}"
