"""The built site as a reader meets it: a strict build, then Debian's Chromium against it, offline.

All tests share one strict build (a session fixture) into a temporary folder, served on 127.0.0.1.
Every request that is not to 127.0.0.1 is aborted and recorded, so the site must work offline; a
console error, a page error or a failed request fails the page. Run with ``make test-site``
(``pytest -m site``); the unit phase deselects them by marker, so they never skip silently.

What a reader does, page by page:

* reads at desktop width: math typeset, no raw TeX, no display equation cut off, outputs that fit
  the column, figures loaded and described by alt text, the provenance line at the end;
* opens the launch menu and clicks Binder (JupyterLab), Colab (the chapter's Colab copy) and the
  repository (each link's URL is checked as the browser requests it), starts live code (Thebe,
  with a stand-in for its CDN script), and downloads the ``.ipynb``;
* opens the chapter list and the page contents at phone, tablet and desktop width, by tap and by
  keyboard;
* moves every slider: a held arrow key, a drag, a click on the track, typing in the readout;
* prints the page (print media): nothing cut off, a slider prints as its current frame;
* searches the book (snippets are plain text), switches to dark mode, and unfolds a solution.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import threading
from pathlib import Path
from urllib.parse import urljoin, urlparse

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
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO = CONFIG["repository"]["url"].rstrip("/")
BRANCH = CONFIG["repository"].get("branch", "main")
ORG_REPO = urlparse(REPO).path.strip("/")
THEBE_CDN = "https://unpkg.com/thebe@"

pytestmark = pytest.mark.site

# TeX that must never reach the reader as text (outside code).
RAW_TEX = re.compile(
    r"\\(?:frac|tr|mathrm|mathbb|operatorname|begin|end|top|left|right|sum|kron|vec|sym|"
    r"alpha|lambda|sigma|varepsilon|partial|nabla|otimes|oplus|R|d)\b|\$[^\s$]|\\\(|\\\["
)


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


PAGES = toc_pages()
NOTEBOOKS = [p for p in PAGES if source_of(p).suffix == ".ipynb"]


def _slider_pages() -> list[str]:
    """Pages whose notebook makes a slider (a cell calling frame_slider / frame_sliders)."""
    out = []
    for page in NOTEBOOKS:
        cells = json.loads(source_of(page).read_text())["cells"]
        if any(
            "frame_slider" in "".join(c["source"]) and c["cell_type"] == "code"
            for c in cells
            if not "".join(c["source"]).lstrip().startswith(("from ", "import "))
        ):
            out.append(page)
    return out


SLIDER_PAGES = _slider_pages()
EXERCISE_PAGES = [p for p in NOTEBOOKS if ":::{solution-start}" in source_of(p).read_text()]


# --------------------------------------------------------------------------------------------------
# Fixtures: one strict build, a local server, one browser
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def site(book) -> Path:
    """The strict build of the site (``book`` in conftest.py, shared with the PDF tests).

    To iterate on the browser checks alone, set ``HESSNOTES_SITE`` to an existing build
    (e.g. ``_build/html`` from ``make book``); the build test then fails, to say so.
    """
    return book.html


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


class Visit:
    """One page in a fresh browser context, offline, with every error and request recorded."""

    # A stand-in for thebe's CDN bundle (the site is tested offline): UMD like the real one, so
    # that the page's handling of require.js is exercised; bootstrap() records that it ran.
    THEBE_STUB = (
        "(function (root, factory) {"
        " if (typeof define === 'function' && define.amd) { define([], factory); }"
        " else { root.thebelab = factory(); } })(this, function () {"
        " return { on: function () {}, bootstrap: function () { window.hnThebeBooted = true; } };"
        " });"
    )

    def __init__(self, browser, server: str, page: str, **context):
        self.ctx = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **context})
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.external: list[str] = []
        self.ctx.route("**/*", self._route)
        self.pg = self.ctx.new_page()
        self.pg.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.pg.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.pg.on(
            "response", lambda r: r.status >= 400 and self.failed.append(f"{r.url} {r.status}")
        )
        self.page = page
        self.url = f"{server}/{page}.html"
        self.pg.goto(self.url, wait_until="load")
        self.pg.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : 0")

    def _route(self, route):
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlparse(url).hostname == "127.0.0.1":
            route.continue_()
        elif url.startswith(THEBE_CDN):
            self.external.append(url)
            route.fulfill(status=200, content_type="text/javascript", body=self.THEBE_STUB)
        else:
            self.external.append(url)
            route.abort()

    def js(self, script: str, arg=None):
        return self.pg.evaluate(script, arg)

    def article_text(self) -> str:
        """The article's text without code, as a reader sees it."""
        return self.js(
            "() => { const a = document.querySelector('article').cloneNode(true);"
            " a.querySelectorAll('pre, code, script, style, mjx-container')"
            ".forEach(e => e.remove());"
            " return a.innerText; }"
        )

    def assert_clean(self, allowed_external: tuple[str, ...] = ()):
        external = [u for u in self.external if not u.startswith(allowed_external or ("\0",))]
        self.ctx.close()
        assert not self.errors, f"{self.page}: console errors: {self.errors}"
        assert not self.failed, f"{self.page}: failed requests: {self.failed}"
        assert not external, f"{self.page}: requests left 127.0.0.1: {external}"


@pytest.fixture
def visit(browser, server):
    opened: list[Visit] = []

    def open_page(page: str, **context) -> Visit:
        v = Visit(browser, server, page, **context)
        opened.append(v)
        return v

    yield open_page
    for v in opened:
        try:
            v.ctx.close()
        except Exception:  # already closed by assert_clean
            pass


# --------------------------------------------------------------------------------------------------
# Page checks shared by the tests
# --------------------------------------------------------------------------------------------------
CLIPPED_MATH = """() => Array.from(document.querySelectorAll('mjx-container[display="true"]'))
  .filter(c => { const m = c.querySelector('mjx-math');
                 const w = e => e.getBoundingClientRect().width;
                 return m && w(m) > w(c) + 1; })
  .map(c => (c.closest('div.math') || c).id + ' ' + c.textContent.slice(0, 60))"""

OVERFLOWING_OUTPUTS = """() => Array.from(document.querySelectorAll(
    'div.cell_output pre, div.cell_output table, div.output pre'))
  .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'auto')
  .map(e => e.textContent.trim().slice(0, 60))"""


def _wait_for_sliders(v: Visit) -> int:
    state = v.js(
        "() => { const s = document.querySelector("
        "'script[type=\"application/vnd.jupyter.widget-state+json\"]');"
        " return s && s.textContent; }"
    )
    expected = 0
    if state:
        models = json.loads(state)["state"].values()
        expected = sum("hn-slider" in m["state"].get("_dom_classes", []) for m in models)
    if expected:
        v.pg.wait_for_function(
            f"() => document.querySelectorAll('.hn-slider[data-hn-fixed]').length >= {expected}",
            timeout=30_000,
        )
    return expected


def test_build_is_strict_and_complete(site: Path):
    """Every toc page was built, and the build left no raw cell errors in the pages."""
    skipped = os.environ.get("HESSNOTES_SITE")
    assert not skipped, "HESSNOTES_SITE is set: the strict build was skipped"
    for page in PAGES:
        page_html = site / f"{page}.html"
        assert page_html.exists(), f"{page} is in _toc.yml but {page_html} was not built"
        text = page_html.read_text()
        assert "Traceback (most recent call last)" not in text, f"{page} shows a traceback"


@pytest.mark.parametrize("page", PAGES)
def test_reading_a_page_at_desktop_width(page: str, visit):
    """Math typeset, no raw TeX, nothing cut off, figures with alt text, provenance, offline."""
    v = visit(page)
    source = source_of(page).read_text()
    if "$" in source:
        v.pg.wait_for_selector("mjx-container", state="attached", timeout=20_000)
    _wait_for_sliders(v)
    v.pg.wait_for_load_state("networkidle")

    text = v.article_text()
    raw = sorted({m.group(0) for m in RAW_TEX.finditer(text)})
    assert not raw, f"{page}: raw TeX shows in the text: {raw}"
    assert "(eq-" not in text, f"{page}: an output names an equation by label, not number"

    clipped = v.js(CLIPPED_MATH)
    assert not clipped, f"{page}: {len(clipped)} display equations cut off at 1280 px: {clipped}"
    overflowing = v.js(OVERFLOWING_OUTPUTS)
    assert not overflowing, f"{page}: outputs wider than the column: {overflowing}"

    images = v.js(
        "() => Array.from(document.querySelectorAll('article img')).map(i => ({"
        " ok: i.complete && i.naturalWidth > 0, alt: i.getAttribute('alt') || '',"
        " src: (i.getAttribute('src') || '').slice(0, 60)}))"
    )
    assert all(i["ok"] for i in images), f"{page}: images not loaded: {images}"
    for i in images:
        alt = i["alt"]
        assert len(alt) >= 20 and not re.search(r"\.(png|svg|jpe?g)$|^_images|[0-9a-f]{32}", alt), (
            f"{page}: image {i['src']} has no meaningful alt text: {alt!r}"
        )
        assert not re.search(r"\$[^$]+\$|\\[A-Za-z]", alt), f"{page}: raw TeX in alt text: {alt!r}"
    if "image/png" in source:
        assert images, f"{page}: the notebook has figures but the page shows none"

    if page in NOTEBOOKS:
        line = v.js("() => document.querySelector('p.hn-provenance')?.textContent || ''")
        assert re.fullmatch(
            r"Executed on \d{4}-\d{2}-\d{2} with hessnotes \S+, torch \S+, numpy \S+"
            r"(, \S+ \S+)* \(Python 3\.\d+\)\.",
            line,
        ), f"{page}: no provenance line at the end (got {line!r})"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    v.pg.screenshot(path=str(SCREENSHOTS / f"{page.replace('/', '__')}.png"), full_page=True)
    v.assert_clean()


@pytest.mark.parametrize("page", NOTEBOOKS)
def test_launch_buttons_and_download(page: str, visit, server):
    """Binder, Colab and the repository open at the right URLs; live code starts; .ipynb too."""
    v = visit(page)
    name = f"{page}.ipynb"
    colab_copy = f"{Path(page).parent}/colab/{Path(page).name}.ipynb"  # .ci/readers.py writes it
    assert (ROOT / colab_copy).is_file(), f"{colab_copy} is missing: run `make notebooks`"
    expected = {  # Binder opens JupyterLab, where the slider keys work
        "Binder": f"https://mybinder.org/v2/gh/{ORG_REPO}/{BRANCH}?urlpath=lab/tree/{name}",
        "Colab": f"https://colab.research.google.com/github/{ORG_REPO}/blob/{BRANCH}/{colab_copy}",
    }
    launch = v.pg.locator(".dropdown-launch-buttons")
    for label, url in expected.items():
        launch.locator("button.dropdown-toggle").click()
        link = launch.locator(f"a:has-text('{label}')")
        assert link.get_attribute("href") == url, f"{page}: {label} link"
        with v.ctx.expect_page() as popup:
            link.click()
        popup.value.wait_for_load_state("commit")
        assert url in v.external, f"{page}: clicking {label} requested {v.external[-1:]}"
        popup.value.close()

    repo = v.pg.locator("a.btn-source-repository-button")
    assert repo.get_attribute("href") == REPO
    with v.ctx.expect_page() as popup:
        repo.click()
    popup.value.wait_for_load_state("commit")
    assert REPO in v.external, f"{page}: the repository button requested {v.external[-1:]}"
    popup.value.close()

    # The .ipynb download is this chapter's notebook.
    dl = v.pg.locator("a.btn-download-source-button")
    href = dl.get_attribute("href")
    assert href and href.endswith(f"{Path(page).name}.ipynb"), href
    nb = v.pg.request.get(f"{server}/{page}.html".rsplit("/", 1)[0] + "/" + href).json()
    assert nb["metadata"]["kernelspec"]["name"] == "python3" and nb["cells"]

    # Live code: the Thebe configuration names this repository and branch, and the button
    # loads thebe and bootstraps it (against the stand-in for its CDN script).
    cfg = v.js("() => document.querySelector('script[type=\"text/x-thebe-config\"]').textContent")
    assert f'repo: "{ORG_REPO}"' in cfg and f'ref: "{BRANCH}"' in cfg, cfg
    launch.locator("button.dropdown-toggle").click()
    launch.locator("button:has-text('Live Code')").click()
    v.pg.wait_for_function("() => window.hnThebeBooted === true", timeout=10_000)
    assert any(u.startswith(THEBE_CDN) for u in v.external)
    v.assert_clean(
        allowed_external=(
            "https://mybinder.org/",
            "https://colab.research.google.com/",
            REPO,
            THEBE_CDN,
        )
    )


def test_download_menu_links_the_whole_book_as_one_pdf(visit, server, book_pdf: Path):
    """On the landing page and a chapter, the download menu links the book's PDF, served here."""
    for page in (PAGES[0], NOTEBOOKS[-1]):
        v = visit(page)
        menu = v.pg.locator(".dropdown-download-buttons")
        menu.locator("button.dropdown-toggle").click()
        link = menu.locator("a.btn-download-book-pdf-button")
        assert link.is_visible(), f"{page}: no PDF in the download menu"
        url = urljoin(v.url, link.get_attribute("href"))
        assert url == f"{server}/{book_pdf.name}", url
        response = v.pg.request.get(url)
        assert response.ok and response.headers["content-type"] == "application/pdf", url
        assert response.body() == book_pdf.read_bytes(), f"{url} is not the PDF that was built"
        v.assert_clean()


def _open_sidebar(v: Visit, which: str, how: str) -> None:
    button = next(b for b in v.pg.query_selector_all(f".{which}-toggle") if b.is_visible())
    if how == "tap":
        button.tap()
    elif how == "keyboard":
        button.focus()
        v.pg.keyboard.press("Enter")
    else:
        button.click()
    v.pg.wait_for_timeout(250)


@pytest.mark.parametrize("page", NOTEBOOKS)
def test_colab_copy_numbers_like_the_site(page: str, site: Path):
    """The Colab copy (generated without the site) numbers equations, theorems and exercises as
    the built page does, in the same order."""
    import html as _html

    built = _html.unescape((site / f"{page}.html").read_text())
    copy = json.loads((ROOT / Path(page).parent / "colab" / f"{Path(page).name}.ipynb").read_text())
    text = "\n".join("".join(c["source"]) for c in copy["cells"] if c["cell_type"] == "markdown")
    site_eqs = re.findall(r'<span class="eqno">\(([\d.]+)\)', built)
    assert re.findall(r"\\tag\{([\d.]+)\}", text) == site_eqs, f"{page}: equation numbers"
    caption = r"(Theorem|Proposition|Lemma|Corollary|Definition|Example|Exercise) (\d+(?:\.\d+)?)"
    site_caps = re.findall(rf'<span class="caption-number">{caption} </span>', built)
    copy_caps = re.findall(rf"^(?:\*\*|### ){caption}", text, re.M)
    assert copy_caps == site_caps, f"{page}: theorem and exercise numbers"


@pytest.mark.parametrize("width", [390, 768, 1280])
@pytest.mark.parametrize("page", PAGES)
def test_navigation_opens_at_every_width(page: str, width: int, visit):
    """The chapter list and the page contents open by tap and by keyboard; Escape closes them."""
    phone = width < 992
    v = visit(page, viewport={"width": width, "height": 800}, has_touch=phone, is_mobile=phone)
    is_open = "() => document.getElementById('pst-primary-sidebar-modal').open"
    collapsed = (
        "() => document.getElementById('pst-primary-sidebar').classList"
        ".contains('pst-sidebar-hidden')"
    )
    if phone:
        for how in ("tap", "keyboard"):
            _open_sidebar(v, "primary", how)
            assert v.js(is_open), f"{page} at {width}px: the chapter list did not open by {how}"
            links = v.js(
                "() => Array.from(document.querySelectorAll("
                "'#pst-primary-sidebar-modal nav a')).filter(a => a.offsetParent).length"
            )
            assert links >= len(PAGES) - 1, f"{page} at {width}px: {links} chapter links visible"
            v.pg.keyboard.press("Escape")
            v.pg.wait_for_timeout(150)
            assert not v.js(is_open), f"{page} at {width}px: Escape did not close the list"
    else:
        assert v.js("() => !!document.getElementById('pst-primary-sidebar').offsetParent")
        for how in ("click", "keyboard"):
            _open_sidebar(v, "primary", how)
            assert v.js(collapsed), f"{page} at {width}px: the sidebar did not collapse ({how})"
            _open_sidebar(v, "primary", how)
            assert not v.js(collapsed), f"{page} at {width}px: the sidebar did not come back"

    has_toc = v.js("() => document.querySelectorAll('#pst-secondary-sidebar nav a').length > 0")
    if has_toc and width < 1200:
        for how in ("tap" if phone else "click", "keyboard"):
            _open_sidebar(v, "secondary", how)
            shown = v.js(
                "() => { const d = document.getElementById('pst-secondary-sidebar-modal');"
                " return d.open && Array.from(d.querySelectorAll('nav a'))"
                ".filter(a => a.offsetParent).length; }"
            )
            assert shown, f"{page} at {width}px: the contents did not open by {how}"
            v.pg.keyboard.press("Escape")
            v.pg.wait_for_timeout(150)

    if width == 390:
        # Wide display equations scroll, with a visible cue (the scrolling shadows).
        bad = v.js(
            """() => Array.from(document.querySelectorAll('mjx-container[display="true"]'))
              .filter(c => c.scrollWidth > c.clientWidth + 1)
              .filter(c => { const s = getComputedStyle(c);
                  return !['auto', 'scroll'].includes(s.overflowX)
                      || !s.backgroundImage.includes('gradient'); })
              .map(c => c.textContent.slice(0, 50))"""
        )
        assert not bad, f"{page} at 390px: wide equations that neither scroll nor show a cue: {bad}"
    v.assert_clean()


@pytest.mark.parametrize("page", SLIDER_PAGES)
def test_sliders_survive_how_readers_move_them(page: str, visit):
    """Held arrow keys, drags, clicks on the track and typing in the readout: the figure follows
    the slider, the handle is labelled, and nothing logs an error."""
    v = visit(page)
    expected = _wait_for_sliders(v)
    boxes = v.pg.query_selector_all(".hn-slider")
    assert expected and len(boxes) == expected, f"{page}: {len(boxes)} sliders, {expected} saved"
    v.pg.wait_for_load_state("networkidle")
    for i, box in enumerate(boxes):
        root = box.evaluate_handle("s => s.closest('.widget-vbox')").as_element()
        frames = root.query_selector(":scope > .hn-frames")
        handle = box.query_selector(".noUi-handle")
        readout = box.query_selector(".widget-readout")
        root.scroll_into_view_if_needed()
        where = f"{page}, slider {i}"

        def state(handle=handle, frames=frames):
            return (
                handle.get_attribute("aria-valuetext"),
                frames.evaluate(
                    "f => Array.from(f.querySelectorAll('img.hn-frame'))"
                    ".filter(i => i.offsetParent).map(i => i.alt).join('|')"
                ),
            )

        name = box.query_selector(".widget-label").inner_text().strip()
        assert handle.get_attribute("aria-label") == name, f"{where}: handle has no name"
        assert handle.get_attribute("aria-valuetext") == readout.inner_text().strip()

        # Frames are readable: the smallest text is >= 10 CSS px at the shown size.
        sizes = frames.evaluate(
            "f => Array.from(f.querySelectorAll('img.hn-frame')).filter(i => i.offsetParent)"
            ".map(i => i.getBoundingClientRect().width / Number(i.getAttribute('width'))"
            " * Number(i.dataset.textPx))"
        )
        assert sizes and min(sizes) >= 10, f"{where}: smallest frame text {sizes} CSS px"

        # A held arrow key: many presses within a few milliseconds each.
        handle.focus()
        for _ in range(15):
            v.pg.keyboard.press("ArrowRight", delay=0)
        v.pg.wait_for_timeout(200)
        right = state()
        for _ in range(15):
            v.pg.keyboard.press("ArrowLeft", delay=0)
        v.pg.wait_for_timeout(200)
        left = state()
        assert right != left, f"{where}: holding an arrow key did not move the figure"
        assert right[0] in right[1] and left[0] in left[1], (
            f"{where}: the frame shown does not match the slider ({right}, {left})"
        )

        # A fast drag from the left end to the right end of the track, then a click on its middle.
        track = box.query_selector(".noUi-base").bounding_box()
        y = track["y"] + track["height"] / 2
        hb = handle.bounding_box()
        v.pg.mouse.move(hb["x"] + hb["width"] / 2, y)
        v.pg.mouse.down()
        v.pg.mouse.move(track["x"] + track["width"] + 5, y, steps=8)
        v.pg.mouse.up()
        v.pg.wait_for_timeout(150)
        dragged = state()
        assert dragged != left, f"{where}: dragging did not move the figure"
        assert dragged[0] in dragged[1]
        v.pg.mouse.click(track["x"] + track["width"] * 0.5, y)
        v.pg.wait_for_timeout(150)
        clicked = state()
        assert clicked != dragged and clicked[0] in clicked[1], f"{where}: a click on the track"

        # Typing in the readout changes nothing (it is read-only).
        readout.click()
        v.pg.keyboard.type("999")
        v.pg.keyboard.press("Enter")
        v.pg.wait_for_timeout(100)
        assert readout.get_attribute("contenteditable") == "false"
        assert state() == clicked, f"{where}: typing in the readout changed the slider"
        assert readout.inner_text().strip() == clicked[0]
    v.assert_clean()


@pytest.mark.parametrize("page", PAGES)
def test_printing_a_page_loses_nothing(page: str, visit):
    """Print media: every equation, code line and table fits the page; sliders print a frame."""
    v = visit(page, viewport={"width": 760, "height": 1000})  # about an A4 page at 96 dpi
    _wait_for_sliders(v)
    v.pg.emulate_media(media="print")
    v.js("() => window.dispatchEvent(new Event('beforeprint'))")
    v.pg.wait_for_timeout(200)
    clipped = v.js(CLIPPED_MATH)
    assert not clipped, f"{page}: equations cut off in print: {clipped}"
    cut = v.js(
        """() => Array.from(document.querySelectorAll('article pre, article table'))
          .filter(e => e.scrollWidth > e.clientWidth + 1)
          .map(e => e.textContent.trim().slice(0, 50))"""
    )
    assert not cut, f"{page}: code or tables cut off in print: {cut}"
    blank = v.js(
        """() => Array.from(document.querySelectorAll('.widget-vbox > .hn-frames'))
          .filter(f => !Array.from(f.querySelectorAll('img.hn-frame')).some(i => i.offsetParent))
          .length"""
    )
    assert not blank, f"{page}: {blank} sliders print without their current frame"
    tracks = v.js(
        "() => Array.from(document.querySelectorAll('.hn-slider .slider-container'))"
        ".filter(t => t.offsetParent).length"
    )
    assert not tracks, f"{page}: slider tracks are printed"
    v.assert_clean()


def test_search_snippets_are_plain_text(visit):
    """Search results show readable summaries, never raw TeX."""
    v = visit("search", viewport={"width": 1280, "height": 900})
    v.pg.goto(v.url + "?q=Hessian", wait_until="load")
    v.pg.wait_for_function(
        "() => document.querySelectorAll('#search-results li p.context').length >= 3",
        timeout=30_000,
    )
    snippets = v.js(
        "() => Array.from(document.querySelectorAll('#search-results li p.context'))"
        ".map(p => p.textContent)"
    )
    raw = [s for s in snippets if RAW_TEX.search(s)]
    assert not raw, f"search snippets show raw TeX: {raw[:3]}"
    v.assert_clean()


@pytest.mark.parametrize("page", SLIDER_PAGES[:1])
def test_dark_mode_widgets_sit_on_the_page(page: str, visit):
    """In dark mode the widget panel takes the page's colours (no bright panel)."""
    v = visit(page, color_scheme="dark")
    _wait_for_sliders(v)
    v.js("() => document.documentElement.setAttribute('data-theme', 'dark')")
    v.pg.wait_for_timeout(200)
    colours = v.js(
        """() => { const box = document.querySelector('.hn-slider').closest('.widget-vbox');
          const bg = e => getComputedStyle(e).backgroundColor;
          const chain = []; for (let e = box; e && !e.matches('article'); e = e.parentElement)
            chain.push(bg(e));
          return {chain, label: getComputedStyle(box.querySelector('.widget-label')).color,
                  page: bg(document.body)}; }"""
    )

    def luminance(rgb: str) -> float:
        r, g, b = (int(x) for x in re.findall(r"\d+", rgb)[:3])
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255

    opaque = [c for c in colours["chain"] if not c.endswith(", 0)") and c != "transparent"]
    assert all(luminance(c) < 0.35 for c in opaque), f"bright widget panel in dark mode: {colours}"
    assert luminance(colours["label"]) > 0.6, f"dark slider label on a dark page: {colours}"
    v.assert_clean()


def test_landing_page_shows_what_the_book_does(visit):
    v = visit(PAGES[0])
    v.pg.wait_for_load_state("networkidle")
    figure = v.js(
        "() => { const i = document.querySelector('article img');"
        " return i && {alt: i.alt, w: i.naturalWidth}; }"
    )
    assert figure and figure["w"] > 300 and "eigenvalues" in figure["alt"], figure
    empty_headers = v.js(
        "() => Array.from(document.querySelectorAll('article thead tr'))"
        ".filter(r => !r.textContent.trim()).length"
    )
    assert empty_headers == 0, "a table on the landing page has an empty header row"
    v.assert_clean()


def test_citations_use_one_style(visit):
    """In-text citations and the bibliography both read author-year."""
    v = visit("book/references")
    labels = v.js(
        "() => Array.from(document.querySelectorAll('.citation .label, div.citation span.label'))"
        ".map(s => s.textContent)"
    )
    assert labels, "the references page lists no entries"
    numeric = [s for s in labels if re.fullmatch(r"\[?\d+\]?", s.strip())]
    assert not numeric, f"numbered labels in an author-year book: {numeric[:5]}"
    v.assert_clean()


@pytest.mark.parametrize("page", EXERCISE_PAGES)
def test_unfolding_a_solution_shows_its_code_and_output(page: str, visit):
    """Solutions are folded; a click unfolds one, showing the executed code and its output."""
    v = visit(page)
    n = v.js("() => document.querySelectorAll('.solution.dropdown').length")
    exercises = v.js("() => document.querySelectorAll('.exercise').length")
    assert n >= 3 and exercises == n, f"{page}: {exercises} exercises, {n} folded solutions"
    for which in (0, n - 1):
        solution = v.pg.locator(".solution.dropdown").nth(which)
        code = solution.locator("div.cell_input pre").first
        solution.scroll_into_view_if_needed()
        assert not code.is_visible(), f"{page}: solution {which} is not folded"
        toggle = solution.locator("button.toggle-button").first
        assert toggle.get_attribute("aria-expanded") == "false"
        toggle.click()  # the reader's click on the chevron ("Click to show")
        code.wait_for(state="visible", timeout=5_000)
        assert toggle.get_attribute("aria-expanded") == "true"
        assert code.inner_text().strip(), f"{page}: solution {which} shows no code"
        out = solution.locator("div.cell_output").first
        assert out.is_visible() and out.inner_text().strip(), f"{page}: no output in {which}"
    v.assert_clean()
