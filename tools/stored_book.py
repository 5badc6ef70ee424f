"""Build the book from the committed, executed notebooks, without executing anything.

``make book`` executes every chapter (minutes to tens of minutes); a reader who only wants to
read, and the tests, build from the stored outputs instead, which nbval checks against a fresh
run. The staging copy keeps the real configuration but for two changes: the paired ``.ipynb``
replace the ``.md`` sources of ``notebooks/``, and they are not executed (the prose pages' few
cells, such as the package versions, are).

    python -m tools.stored_book [--out _build/html]
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def stage_site(site: Path, root: Path = ROOT) -> Path:
    """Copy the book's configuration, prose and executed notebooks into ``site``; return it."""
    site.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(root / name, site / name)
    shutil.copytree(root / "book", site / "book", ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    (site / "notebooks").mkdir(exist_ok=True)
    for notebook in (root / "notebooks").glob("*.ipynb"):
        shutil.copy(notebook, site / "notebooks" / notebook.name)
    config = yaml.safe_load((site / "_config.yml").read_text())
    config["exclude_patterns"] = [p for p in config["exclude_patterns"] if p != "notebooks/*.ipynb"]
    # The chapters keep their stored outputs; the prose pages' small cells (package versions) run.
    config["execute"]["exclude_patterns"] = ["notebooks/*"]
    (site / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return site


def build(site: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """``jupyter-book build`` of ``site`` as ``make book`` runs it: warnings are errors."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return subprocess.run(
        [str(jupyter_book), "build", str(site), "--all", "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "html", help="where the HTML goes")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="stored-book-") as scratch:
        site = stage_site(Path(scratch) / "site")
        print("building the book from the stored outputs (nothing is executed) ...", flush=True)
        result = build(site)
        if result.returncode != 0:
            print(result.stdout[-6000:], result.stderr[-6000:], sep="\n", file=sys.stderr)
            print(f"the build failed (exit {result.returncode})", file=sys.stderr)
            return result.returncode
        if args.out.exists():
            shutil.rmtree(args.out)
        shutil.copytree(site / "_build" / "html", args.out)
    print(f"The book is in {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
