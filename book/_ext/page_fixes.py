"""Small repairs to every built page, so that the pages load without JavaScript errors.

- sphinx-thebe (a dependency of Jupyter Book 1.x, even with launch buttons off) adds its inline
  configuration script twice, and the second ``const THEBE_JS_URL`` throws "Identifier
  'THEBE_JS_URL' has already been declared" on every page. Repeated scripts are dropped here.
- The book's own style sheet (``book/_static/book.css``) is added to every page.
"""

from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "_static"


def _script_key(script):
    """What a script tag shows: its file and attributes (inline body included), not its priority."""
    if isinstance(script, str):  # old-style entries are bare file names
        return script, ()
    attributes = getattr(script, "attributes", {}) or {}
    return str(script.filename or ""), tuple(sorted((name, str(value)) for name, value in attributes.items()))


def drop_repeated_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def _add_static(app):
    app.config.html_static_path = [*app.config.html_static_path, str(STATIC)]
    app.add_css_file("book.css")


def setup(app):
    app.connect("builder-inited", _add_static)
    # after every other handler has added its scripts
    app.connect("html-page-context", drop_repeated_scripts, priority=1000)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
