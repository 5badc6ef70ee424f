import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

# Property tests draw the same examples on every run, so that a red CI can be rerun and seen
# again (HYPOTHESIS_PROFILE=explore draws fresh ones, to look for new failures on purpose).
settings.register_profile("reproducible", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))


def build_book(site: Path) -> subprocess.CompletedProcess:
    """``jupyter-book build`` of ``site`` as ``make book`` runs it: warnings are errors."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return subprocess.run(
        [str(jupyter_book), "build", str(site), "--all", "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The HTML book, built from the committed, executed notebooks.

    ``make book`` executes every notebook afresh; the tests render the stored outputs instead
    (nbval has already checked them against a fresh run), so a test run executes each notebook
    once for nbval and once, small, under papermill, not a third time here. The copy keeps the
    configuration of the real build but for two changes: the paired ``.ipynb`` replace the
    ``.md`` sources of ``notebooks/``, and those are not executed.
    """
    site = tmp_path_factory.mktemp("book")
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, site / name)
    shutil.copytree(ROOT / "book", site / "book", ignore=shutil.ignore_patterns("__pycache__"))
    (site / "notebooks").mkdir()
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy(notebook, site / "notebooks" / notebook.name)
    config = yaml.safe_load((site / "_config.yml").read_text())
    config["exclude_patterns"] = [p for p in config["exclude_patterns"] if p != "notebooks/*.ipynb"]
    config["execute"]["exclude_patterns"] = ["notebooks/*"]
    (site / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = build_book(site)
    html = site / "_build" / "html"
    if result.returncode != 0:
        pytest.fail(f"book build failed (exit {result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return html, result
