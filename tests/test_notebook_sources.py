"""The notebooks' sources as a reader meets them: no code hiding in markdown, fences that pair
up, code that fits the book's column.

A stray closing fence once ended chapter 6's Checks cell early: the rest of the cell became a
markdown cell, its asserts never ran (in ``make book`` or in nbval), and the page showed Python
comments as headings. These tests catch that, in the ``.md`` sources and in the committed
``.ipynb``.
"""

import ast
import json
import re

import jupytext
import pytest
from conftest import ROOT

SOURCES = sorted((ROOT / "notebooks").glob("*.md"))
PAGES = SOURCES + sorted((ROOT / "book").glob("*.md"))
EXECUTED = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: The book's column holds 77 characters of code at 1280 px of screen, 75 inside a folded cell;
#: 74 leaves a margin.
CODE_WIDTH = 74

FENCE = re.compile(r"^(`{3,}|~{3,})(.*)$")


def fence_problems(text: str) -> list[str]:
    """Fences that do not pair up: an opening fence must name its language or directive (a bare
    fence where none is open is a stray closing fence), and every opened fence must close."""
    problems, opened = [], None
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line)
        if not match:
            continue
        marks, info = match.groups()
        if opened is None:
            if not info.strip():
                problems.append(f"line {number}: a fence with no language opens here (a stray closing fence?)")
            opened = (number, marks)
        elif marks[0] == opened[1][0] and len(marks) >= len(opened[1]) and not info.strip():
            opened = None
    if opened is not None:
        problems.append(f"line {opened[0]}: this fence is never closed")
    return problems


_STATEMENTS = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Assert, ast.Import, ast.ImportFrom)
_BLOCK = re.compile(r"^\s*(def|class)\s+\w+\s*\(.*\)?\s*(->.*)?:\s*$|^\s*(for|while|if|elif|with)\s.+:\s*$")


def python_in_markdown(source: str, first_cell: bool) -> list[str]:
    """Lines of a markdown cell that are Python: statements, block openers, or a ``# `` line
    (a level-1 heading is the chapter's title and belongs to its first cell only)."""
    found, in_fence = [], False
    for line in source.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        stripped = line.strip()
        if in_fence or not stripped or stripped.startswith(("$", "|", ">", "-", "*", ":", "(", "{")):
            continue
        if re.match(r"^# \S", stripped) and not first_cell:
            found.append(line)
            continue
        if _BLOCK.match(line):  # a block opener parses once given a body
            try:
                ast.parse(stripped + " pass")
            except SyntaxError:
                pass
            else:
                found.append(line)
                continue
        try:
            tree = ast.parse(stripped)
        except SyntaxError:
            continue
        for node in tree.body:
            is_call = isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            if isinstance(node, _STATEMENTS) or (is_call and isinstance(node.value.func, ast.Attribute)):
                found.append(line)
                break
    return found


BROKEN_CHECKS = """\
## Checks

```{code-cell} ipython3
assert 1 + 1 == 2
```

# The second group of checks: it never runs.
gap = abs(0.1 - 0.2)
assert gap < 0.2, gap
for value in (1, 2):
    assert value > 0
```

## Summary
"""


def test_the_checkers_catch_a_checks_cell_cut_short():
    # The shape of chapter 6's old bug: a closing fence, then code left in the markdown.
    assert fence_problems(BROKEN_CHECKS) == ["line 12: a fence with no language opens here (a stray closing fence?)",
                                             "line 12: this fence is never closed"]
    stray = BROKEN_CHECKS.split("```\n\n", 1)[1].split("```", 1)[0]
    flagged = python_in_markdown(stray, first_cell=False)
    assert flagged == [
        "# The second group of checks: it never runs.",
        "gap = abs(0.1 - 0.2)",
        "assert gap < 0.2, gap",
        "for value in (1, 2):",
        "    assert value > 0",
    ]
    prose = "The threshold (dotted) separates the two: if the network is bistable, it holds.\n## Checks"
    assert python_in_markdown(prose, first_cell=False) == []


@pytest.mark.parametrize("path", SOURCES, ids=[path.stem for path in SOURCES])
def test_fences_pair_up(path):
    assert fence_problems(path.read_text()) == []


@pytest.mark.parametrize("path", EXECUTED, ids=[path.stem for path in EXECUTED])
def test_no_markdown_cell_holds_code(path):
    cells = json.loads(path.read_text())["cells"]
    markdown = [cell for cell in cells if cell["cell_type"] == "markdown"]
    for index, cell in enumerate(markdown):
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        assert python_in_markdown(source, first_cell=index == 0) == [], f"markdown cell {index}"


@pytest.mark.parametrize("path", SOURCES, ids=[path.stem for path in SOURCES])
def test_code_fits_the_column(path):
    notebook = jupytext.read(path)
    wide = [
        line
        for cell in notebook.cells
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if len(line) > CODE_WIDTH
    ]
    assert wide == [], f"{len(wide)} code lines over {CODE_WIDTH} characters: run 'make format', then wrap the rest"


@pytest.mark.parametrize("path", PAGES, ids=[path.stem for path in PAGES])
def test_shell_examples_fit_the_column(path):
    # The commands shown in markdown (papermill, make) wrap with backslashes instead of scrolling.
    wide, info = [], None
    for line in path.read_text().splitlines():
        match = FENCE.match(line)
        if match:
            info = match.group(2) if info is None else None
            continue
        if info is not None and not info.startswith("{code-cell") and len(line) > CODE_WIDTH:
            wide.append(line)
    assert wide == []


def assertions_without_message(source: str) -> list[str]:
    """Each ``assert`` of a cell that has no message: when it fails, the reader learns nothing."""
    return [ast.unparse(node)[:90] for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Assert) and node.msg is None]


def test_the_assertion_check_catches_a_bare_assert():
    assert assertions_without_message("x = 1\nassert x > 0\nassert x, f'x is {x}'") == ["assert x > 0"]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_every_assertion_says_what_failed(path):
    bare = [line for cell in jupytext.read(path).cells if cell.cell_type == "code"
            for line in assertions_without_message(cell.source)]
    assert not bare, f"assertions without a message: {bare}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_parameter_comments_hold_no_equals_sign(path):
    """papermill reads the parameters cell line by line: a second '=' on a line (in a comment) makes
    it skip that parameter and then warn, falsely, that a user's value for it is unknown."""
    cell = next(cell for cell in jupytext.read(path).cells if "parameters" in cell.metadata.get("tags", []))
    bad = [line for line in cell.source.splitlines() if "#" in line and "=" in line.split("#", 1)[1]]
    assert not bad, f"comments with '=' in the parameters cell: {bad}"
