"""The built book in headless Chromium with no network, as a reader meets it on a laptop screen
(1280 x 900): no JavaScript error, no code block or display equation wider than its column (folded
code opened first), every figure loaded, formulas typeset, and no request leaving the machine."""

import functools
import http.server
import shutil
import threading
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Flags from the machine notes: no background traffic, no sandbox as root, a fresh profile.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(built_book):
    html, _ = built_book
    handler = functools.partial(QuietHandler, directory=str(html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("chromium is not installed; 'make test' installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


VIEWPORT = {"width": 1280, "height": 900}


def open_page(browser, url, errors=None):
    """Load ``url``; every request that is not to the local server is recorded and refused, and
    every JavaScript error (uncaught, or logged with ``console.error``) goes into ``errors``."""
    outside = []
    page = browser.new_page(viewport=VIEWPORT)
    if errors is not None:
        def console(message):
            if message.type == "error":
                errors.append(f"console: {message.text}")

        page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
        page.on("console", console)

    def route(request_route):
        host = urlparse(request_route.request.url).hostname
        if host in ("127.0.0.1", None) or request_route.request.url.startswith("data:"):
            request_route.continue_()
        else:
            outside.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="networkidle")
    return page, outside


CHAPTERS = [
    "notebooks/01_transfer_function.html",
    "notebooks/02_learning_rule.html",
    "notebooks/03_network_training.html",
    "notebooks/04_attractor_retrieval.html",
    "notebooks/05_hopfield.html",
    "notebooks/06_gardner.html",
    "notebooks/07_information.html",
    "notebooks/08_balanced_networks.html",
    "notebooks/09_spiking_memory.html",
]
PAGES = [
    "index.html",
    "book/intro.html",
    "book/notation.html",
    *CHAPTERS,
    "notebooks/sweep_retrieval.html",
    "notebooks/retrieval_point.html",
    "notebooks/appendix_benchmarks.html",
    "book/reproducibility.html",
    "book/references.html",
]
WITH_FORMULAS = ["book/notation.html", *CHAPTERS]


@pytest.mark.parametrize("path", WITH_FORMULAS)
def test_page_typesets_formulas_offline(browser, server, path):
    page, outside = open_page(browser, f"{server}/{path}")
    page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000)
    typeset = page.evaluate("MathJax.startup.promise.then(() => document.querySelectorAll('mjx-container').length)")
    errors = page.evaluate("document.querySelectorAll('mjx-merror').length")
    page.close()
    assert outside == [], f"requests left the machine: {outside}"
    assert typeset > 5 and errors == 0, (typeset, errors)


@pytest.mark.parametrize("path", CHAPTERS)
def test_chapter_figures_are_displayed(browser, server, path):
    page, outside = open_page(browser, f"{server}/{path}")
    shown = page.evaluate(
        "Array.from(document.querySelectorAll('article img, main img'))"
        ".filter(img => img.src.endsWith('.png') && img.complete && img.naturalWidth > 100).length"
    )
    page.close()
    assert outside == []
    assert shown >= 3


# Every folded cell opened, then every code block and display equation in the article measured
# against the width it is given (1 px of rounding allowed).
MEASURE = """() => {
  document.querySelectorAll('article details').forEach(d => { d.open = true; });
  const wide = [];
  const blocks = document.querySelectorAll('article pre, article mjx-container[display="true"]');
  for (const el of blocks) {
    if (el.offsetParent === null) continue;
    const box = el.tagName === 'PRE' ? el : el.parentElement;
    if (el.scrollWidth > box.clientWidth + 1) {
      wide.push(`${el.tagName} ${el.scrollWidth} > ${box.clientWidth}: ${(el.textContent || '').slice(0, 50)}`);
    }
  }
  const images = Array.from(document.querySelectorAll('article img'));
  const broken = images.filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src);
  return {wide, broken, images: images.length};
}"""


def reader_problems(browser, url):
    """What a reader would meet on the page at ``url``: JavaScript errors, requests leaving the
    machine, code or equations wider than the column, figures that did not load."""
    errors = []
    page, outside = open_page(browser, url, errors)
    page.wait_for_timeout(300)  # late console errors (the theme's, MathJax's) arrive after load
    measured = page.evaluate(MEASURE)
    title = page.title()
    page.close()
    if not title or "404" in title:
        errors.append(f"page title {title!r}: missing, or a 404")
    return {"errors": errors, "outside": outside, "wide": measured["wide"], "broken": measured["broken"]}


@pytest.mark.parametrize("path", PAGES)
def test_page_reads_cleanly(browser, server, path):
    assert reader_problems(browser, f"{server}/{path}") == {"errors": [], "outside": [], "wide": [], "broken": []}


BROKEN_PAGE = """<!DOCTYPE html><html><head><title>broken</title></head><body>
<article style="width: 400px">
<pre>{line}</pre>
<details><summary>folded</summary><pre>{line}</pre></details>
<img src="no_such_figure.png">
</article>
<script>const twice = 1;</script><script>const twice = 2;</script>
<script>console.error("Got invalid theme mode: . Resetting to auto.");</script>
</body></html>"""


def test_the_checks_catch_a_broken_page(browser, tmp_path):
    # A page with what the book once had: a script declared twice, a console error, code wider
    # than its column (also inside a folded cell), and a figure that does not load.
    (tmp_path / "broken.html").write_text(BROKEN_PAGE.format(line="x = 1  # " + "a long comment " * 12))
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        problems = reader_problems(browser, f"http://127.0.0.1:{httpd.server_address[1]}/broken.html")
    finally:
        httpd.shutdown()
    assert any("'twice' has already been declared" in error for error in problems["errors"]), problems
    assert any("invalid theme mode" in error for error in problems["errors"]), problems
    assert len(problems["wide"]) == 2, problems
    assert problems["broken"] and problems["broken"][0].endswith("no_such_figure.png"), problems
