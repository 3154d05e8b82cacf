"""First paint of the book's pages on a slow connection, emulated in Chromium.

Usage::

    .venv/bin/python benchmarks/bench_site.py [SITE ...]

Each SITE is a built site (``_build/html`` from ``make book``, the default). The landing page and
every page with sliders is opened three times in a fresh browser context on an emulated
4 Mbit/s, 150 ms connection (Chrome DevTools' ``Network.emulateNetworkConditions``), with no
cache, and its first contentful paint is read; the table gives the median. The page's whole
weight (bytes and requests) is measured once more at full speed. With two or more sites (say,
a build from before a change and one from after), the last column is each page's first paint
relative to the first site's, measured in the same run.

Target (issue 13): the heaviest slider page paints first within 4 s on that connection.
"""

from __future__ import annotations

import functools
import http.server
import statistics
import sys
import threading
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LATENCY_MS = 150
THROUGHPUT = 4e6 / 8  # bytes per second
REPEATS = 3


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A page is closed as soon as its first paint is measured, so the browser
        # hangs up on transfers still running: expected here, not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    httpd = _Server(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def _context(browser, throttled: bool):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    if throttled:
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": LATENCY_MS,
                "downloadThroughput": THROUGHPUT,
                "uploadThroughput": THROUGHPUT,
            },
        )
    page.route(
        "**/*",
        lambda r: (
            r.continue_()
            if "127.0.0.1" in r.request.url or r.request.url.startswith("data:")
            else r.abort()
        ),
    )
    return ctx, page


def _first_paint(browser, url: str) -> float:
    """First contentful paint (ms) on the throttled connection; the page need not finish."""
    ctx, page = _context(browser, throttled=True)
    page.goto(url, wait_until="commit", timeout=120_000)
    page.wait_for_function(
        "() => performance.getEntriesByName('first-contentful-paint').length > 0",
        timeout=120_000,
        polling=50,
    )
    fcp = page.evaluate("() => performance.getEntriesByName('first-contentful-paint')[0].startTime")
    ctx.close()
    return fcp


def _weight(browser, url: str) -> tuple[int, int]:
    """Bytes and requests of the whole page, loaded at full speed until the network is idle."""
    ctx, page = _context(browser, throttled=False)
    page.goto(url, wait_until="networkidle", timeout=120_000)
    size = page.evaluate(
        "() => performance.getEntriesByType('navigation')[0].encodedBodySize"
        " + performance.getEntriesByType('resource').reduce((s, r) => s + r.encodedBodySize, 0)"
    )
    count = page.evaluate("() => performance.getEntriesByType('resource').length + 1")
    ctx.close()
    return size, count


def _slider_pages(site: Path) -> list[str]:
    pages = []
    for html in sorted((site / "book").glob("*.html")):
        text = html.read_text(errors="replace")
        if "hn-slider" in text:
            pages.append(f"book/{html.stem}")
    return pages


def main(sites: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    roots = [Path(s).resolve() for s in sites or ["_build/html"]]
    for r in roots:
        if not (r / "index.html").exists():
            print(f"{r}: no built site here (run `make book`)", file=sys.stderr)
            return 2
    pages = ["book/intro", *_slider_pages(roots[-1])]
    missing = [p for p in pages if not all((r / f"{p}.html").exists() for r in roots)]
    if missing:
        print(f"left out (not in every site): {', '.join(missing)}")
    pages = [p for p in pages if p not in missing]
    servers = [_serve(r) for r in roots]
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for page in pages:
            for i, (_, base) in enumerate(servers):
                url = f"{base}/{page}.html"
                fcp = statistics.median(_first_paint(browser, url) for _ in range(REPEATS))
                rows.append((page, i, fcp, *_weight(browser, url)))
        browser.close()
    for httpd, _ in servers:
        httpd.shutdown()

    print(
        f"First contentful paint, {THROUGHPUT * 8 / 1e6:.0f} Mbit/s, {LATENCY_MS} ms latency, "
        f"no cache, median of {REPEATS}"
    )
    for i, r in enumerate(roots):
        print(f"  site {i}: {r}")
    head = f"{'page':32s} {'site':>4s} {'FCP ms':>8s} {'MB':>6s} {'requests':>8s}"
    print(head + ("  FCP / site 0" if len(roots) > 1 else ""))
    first = {}
    for page, i, fcp, size, count in rows:
        first.setdefault(page, fcp)
        ratio = f"  {fcp / first[page]:12.2f}" if len(roots) > 1 else ""
        print(f"{page:32s} {i:4d} {fcp:8.0f} {size / 1e6:6.2f} {count:8d}{ratio}")
    heaviest = max((r for r in rows if r[1] == len(roots) - 1), key=lambda r: r[3])
    verdict = "meets" if heaviest[2] <= 4000 else "misses"
    print(
        f"heaviest page of the last site: {heaviest[0]} ({heaviest[3] / 1e6:.2f} MB), "
        f"first paint {heaviest[2]:.0f} ms: {verdict} the 4 s target"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
