"""The HTML book: it builds with warnings as errors, and carries its chapters, figures and MathJax."""

import re
import shutil

import pytest
from conftest import ROOT, build_book

pytestmark = pytest.mark.book


def test_build_has_no_warnings(built_book):
    # -W already turns Sphinx warnings into errors; this also catches ones printed with --keep-going
    _, result = built_book
    assert not re.search(r"WARNING: ", result.stdout + result.stderr)


@pytest.mark.parametrize(
    ("stem", "title"),
    [
        ("01_transfer_function", "The transfer function of ITC neurons"),
        ("02_learning_rule", "Inferring the learning rule"),
        ("03_network_training", "Training a sparse recurrent network"),
        ("04_attractor_retrieval", "Attractor retrieval, mean-field theory and capacity"),
        ("05_hopfield", "The Hopfield model and its biological generalisations"),
        ("06_gardner", "The Gardner bound, sign constraints and E-I balance"),
        ("07_information", "Information about novel and familiar stimuli"),
        ("08_balanced_networks", "Balanced networks"),
        ("09_spiking_memory", "A spiking attractor memory"),
        ("10_stdp_memory", "Learning by spike timing"),
    ],
)
def test_chapters_figures_and_offline_mathjax(built_book, stem, title):
    html, _ = built_book
    chapter = (html / "notebooks" / f"{stem}.html").read_text()
    assert title in chapter
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', chapter)
    assert len(images) >= 3
    for source in images:
        assert (html / "notebooks" / source).resolve().is_file(), source
    assert 'src="../_static/mathjax/tex-svg-full.js' in chapter
    assert "cdn.jsdelivr" not in chapter


def test_pages_and_references(built_book):
    html, _ = built_book
    assert (html / "_static" / "mathjax" / "tex-svg-full.js").is_file()
    for page in ("book/intro.html", "book/notation.html", "book/reproducibility.html", "book/references.html"):
        assert (html / page).is_file(), page
    appendix = (html / "notebooks" / "appendix_benchmarks.html").read_text()
    assert "Appendix: how fast the kernels are" in appendix and "A roofline of the rate step" in appendix
    assert re.search(r'<img[^>]+src="[^"]+\.png"', appendix)
    sweep_page = (html / "notebooks" / "sweep_retrieval.html").read_text()
    assert "Rerunning at scale: retrieval over load and amplitude" in sweep_page
    assert "16 runs: 16 done, 0 failed" in sweep_page and re.search(r'<img[^>]+src="[^"]+\.png"', sweep_page)
    point = (html / "notebooks" / "retrieval_point.html").read_text()
    assert "One retrieval experiment: the unit a sweep repeats" in point
    references = (html / "book" / "references.html").read_text()
    assert "Inferring learning rules from distributions of firing rates" in references


BROKEN_CHAPTER = """---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter whose check fails

```{code-cell} ipython3
assert 1 + 1 == 3, "the science does not hold"
```
"""


def test_failing_cell_fails_the_build(tmp_path):
    # the real configuration, on a one-page book whose only cell fails
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")
    shutil.copytree(ROOT / "book", tmp_path / "book", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: broken\n")
    (tmp_path / "broken.md").write_text(BROKEN_CHAPTER)
    result = build_book(tmp_path)
    assert result.returncode != 0
    assert "the science does not hold" in result.stdout + result.stderr
