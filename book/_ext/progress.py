"""Say what the build is doing while it executes notebooks, which can take many minutes each.

Sphinx prints one status line per page before reading it; a notebook then executes in silence
(on a busy machine chapter 1 once sat silent for 22 minutes and looked hung). This prints, for
every page, its number out of the pages to read, the time it started, and how long it took
(execution included, or the cache's answer when nothing changed).
"""

import time

from sphinx.util import logging

logger = logging.getLogger(__name__)


def _before_reading(app, env, docnames):
    app.env._progress = {"total": len(docnames), "done": 0, "started": {}}


def _source_read(app, docname, source):
    progress = getattr(app.env, "_progress", None)
    if progress is None:
        return
    progress["started"][docname] = time.monotonic()
    number = progress["done"] + 1
    logger.info(
        f"[{number}/{progress['total']}] {docname}: started at {time.strftime('%H:%M:%S')}"
        + _execution_note(app, source)
    )


def _doctree_read(app, doctree):
    progress = getattr(app.env, "_progress", None)
    docname = app.env.docname
    if progress is None or docname not in progress["started"]:
        return
    progress["done"] += 1
    took = time.monotonic() - progress["started"].pop(docname)
    left = progress["total"] - progress["done"]
    logger.info(f"[{progress['done']}/{progress['total']}] {docname}: done in {took:.0f} s; {left} left")


def _execution_note(app, source) -> str:
    mode = getattr(app.config, "nb_execution_mode", "off")
    if mode == "off" or not _is_notebook(source):
        return ""
    if mode == "cache":
        return " (a notebook: it executes now unless its code is unchanged since the last build)"
    return " (a notebook: it executes now)"


def _is_notebook(source) -> bool:
    text = source[0] if source else ""
    return "kernelspec" in text[:2000] or '"cells"' in text[:2000]


def setup(app):
    app.connect("env-before-read-docs", _before_reading)
    app.connect("source-read", _source_read)
    app.connect("doctree-read", _doctree_read)
    return {"parallel_read_safe": False, "parallel_write_safe": True}
