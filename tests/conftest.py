import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings

from tools import stored_book

ROOT = Path(__file__).resolve().parents[1]

# Property tests draw the same examples on every run, so that a red CI can be rerun and seen
# again (HYPOTHESIS_PROFILE=explore draws fresh ones, to look for new failures on purpose).
settings.register_profile("reproducible", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))


def build_book(site: Path) -> subprocess.CompletedProcess:
    """``jupyter-book build`` of ``site`` as ``make book`` runs it: warnings are errors."""
    return stored_book.build(site)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The HTML book, built from the committed, executed notebooks (``make book-stored``).

    ``make book`` executes every notebook; the tests render the stored outputs instead (nbval
    has already checked them against a fresh run), so a test run executes each notebook once
    for nbval and once, small, under papermill, not a third time here.
    """
    site = stored_book.stage_site(tmp_path_factory.mktemp("book") / "site")
    result = build_book(site)
    html = site / "_build" / "html"
    if result.returncode != 0:
        pytest.fail(f"book build failed (exit {result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return html, result
