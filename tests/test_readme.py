"""The commands the README and the book's pages give run as written.

Each papermill command is parsed as papermill's command line parses it (``-p`` values through
papermill's own type resolution, ``-y`` as YAML) and its parameters are checked against the
notebook's declaration; each sweep command is parsed by the sweep's command line and its grid
checked the same way. Nothing is executed: the chapters' own reruns are tested elsewhere.
"""

import re
import shlex

import pytest
import yaml
from conftest import ROOT
from papermill.cli import _resolve_type

from helpers import sweep

PAGES = [ROOT / "README.md", *sorted((ROOT / "book").glob("*.md"))]


def shell_commands(path) -> list[str]:
    """Every command in the page's ```bash blocks, continuation lines joined, comments dropped."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", path.read_text(), flags=re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def papermill_parameters(words: list[str]) -> dict:
    """The parameters papermill's command line would pass (``-p``, ``-y``, ``-r``), in its order."""
    values, yaml_values, raw = {}, {}, {}
    for position, word in enumerate(words):
        if word in ("-p", "--parameters"):
            values[words[position + 1]] = _resolve_type(words[position + 2])
        elif word in ("-y", "--parameters_yaml"):
            yaml_values.update(yaml.safe_load(words[position + 1]))
        elif word in ("-r", "--parameters_raw"):
            raw[words[position + 1]] = words[position + 2]
    return {**yaml_values, **values, **raw}


COMMANDS = [(path.name, command) for path in PAGES for command in shell_commands(path)]
PAPERMILL = [(page, command) for page, command in COMMANDS if command.startswith(".venv/bin/papermill ")]
SWEEPS = [(page, command) for page, command in COMMANDS
          if "-m helpers.sweep" in command or command.startswith("make sweep ")]


def test_the_pages_give_commands_to_check():
    assert len(PAPERMILL) >= 8 and len(SWEEPS) >= 2, (len(PAPERMILL), len(SWEEPS))


def check_against_declaration(notebook, parameters):
    declaration = sweep.notebook_declaration(ROOT / notebook)
    defaults = sweep.notebook_parameters(ROOT / notebook)
    problems = declaration.unknown(parameters) + declaration.problems({**defaults, **parameters})
    assert not problems, problems


@pytest.mark.parametrize(("page", "command"), PAPERMILL, ids=[f"{p}:{c[19:60]}" for p, c in PAPERMILL])
def test_a_papermill_command_passes_parameters_the_notebook_accepts(page, command):
    words = shlex.split(command)
    check_against_declaration(words[1], papermill_parameters(words))


@pytest.mark.parametrize(("page", "command"), SWEEPS, ids=[f"{p}:{c[:40]}" for p, c in SWEEPS])
def test_a_sweep_command_gives_a_grid_the_notebook_accepts(page, command):
    words = shlex.split(command)
    if words[0] == "make":
        variables = dict(word.split("=", 1) for word in words[2:])
        notebook, (grid, fixed) = variables["NOTEBOOK"], sweep.read_grid_file(ROOT / variables["GRID"])
    else:
        args, grid, fixed = sweep.parse_command_line(words[words.index("helpers.sweep") + 1:])
        notebook = args.notebook
    sweep.check_grid(ROOT / notebook, sweep.grid_points(grid, fixed))


def test_a_list_given_with_p_is_caught_here():
    """The check is real: the form the README once gave for lists fails it."""
    words = shlex.split(".venv/bin/papermill notebooks/05_hopfield.ipynb out.ipynb -p capacity_sizes [1000,4000]")
    with pytest.raises(AssertionError, match="capacity_sizes must be an increasing list"):
        check_against_declaration(words[1], papermill_parameters(words))
