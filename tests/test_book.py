"""The HTML book: it builds with warnings as errors, and carries its chapters, figures and MathJax."""

import re

import pytest

pytestmark = pytest.mark.book


def test_build_has_no_warnings(built_book):
    # -W already turns Sphinx warnings into errors; this also catches ones printed with --keep-going
    _, result = built_book
    assert not re.search(r"WARNING: ", result.stdout + result.stderr)


def test_pages_figures_and_offline_mathjax(built_book):
    html, _ = built_book
    chapter = (html / "notebooks" / "01_transfer_function.html").read_text()
    assert "The transfer function of ITC neurons" in chapter
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', chapter)
    assert len(images) >= 3
    for source in images:
        assert (html / "notebooks" / source).resolve().is_file(), source
    assert (html / "_static" / "mathjax" / "tex-svg-full.js").is_file()
    assert 'src="../_static/mathjax/tex-svg-full.js' in chapter
    assert "cdn.jsdelivr" not in chapter
    for page in ("book/intro.html", "book/notation.html", "book/reproducibility.html", "book/references.html"):
        assert (html / page).is_file(), page
    references = (html / "book" / "references.html").read_text()
    assert "Inferring learning rules from distributions of firing rates" in references
