"""The built book in headless Chromium with no network: formulas typeset, figures shown, and no
request leaving the machine."""

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


def open_page(browser, url):
    """Load ``url``; every request that is not to the local server is recorded and refused."""
    outside = []
    page = browser.new_page()

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


@pytest.mark.parametrize("path", PAGES)
def test_page_makes_no_request_outside(browser, server, path):
    page, outside = open_page(browser, f"{server}/{path}")
    title = page.title()
    page.close()
    assert outside == [], f"requests left the machine: {outside}"
    assert title and "404" not in title


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
