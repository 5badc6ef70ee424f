"""Serve MathJax from the built book, so formulas typeset with no network.

The script comes from the ``django-static-mathjax`` wheel (MathJax 3, static files only; the
package does not need Django). ``_config.yml`` points ``mathjax_path`` at ``mathjax/<SCRIPT>``,
which Sphinx resolves inside ``_static``. The SVG build carries its glyphs inside the script,
so there are no font files to fetch, and the "full" build bundles every TeX extension, so none
is loaded on demand.
"""

import shutil
from pathlib import Path

SCRIPT = "tex-svg-full.js"


def _script_path() -> Path:
    import mathjax  # installed by django-static-mathjax

    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / SCRIPT


def _check_config(app, config):
    if config.mathjax_path != f"mathjax/{SCRIPT}":
        raise ValueError(f"mathjax_path must be 'mathjax/{SCRIPT}' for the offline build, got {config.mathjax_path!r}")
    if not _script_path().is_file():
        raise FileNotFoundError(f"MathJax script {SCRIPT} not found; install django-static-mathjax")


def _copy_script(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(_script_path(), target / SCRIPT)


def setup(app):
    app.connect("config-inited", _check_config)
    app.connect("build-finished", _copy_script)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
