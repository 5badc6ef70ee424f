"""helpers.parameters: a notebook's parameters declared once, checked in one call, read as data."""

import math

import pytest

from helpers.parameters import (
    AnyOf,
    Choice,
    FilePath,
    Flag,
    Integer,
    ListOf,
    Number,
    ParameterError,
    Record,
    Rule,
    declare,
    read_declaration,
)

DECLARATION = declare(
    n=Integer(at_least=1),
    c=Number(above=0, at_most=1),
    window=Number(above=0, unit="s"),
    loads=ListOf(Number(above=0, at_most=3), min_length=3, order="increasing"),
    rule=AnyOf(Choice("published"), Record(A=Number(above=0), q_f=Number(at_least=0, at_most=1))),
    folder=FilePath(folder=True),
    fixed=Flag(),
    trials=Integer(at_least=4, multiple_of=4),
    rules=[Rule("c * (n - 1) >= 20", "at least 20 inputs")],
)
GOOD = {"n": 100, "c": 0.5, "window": 1, "loads": [0.1, 0.2, 0.3], "rule": "published", "folder": "",
        "fixed": True, "trials": 8}


def test_allowed_values_pass():
    assert DECLARATION.problems(GOOD) == []
    assert DECLARATION.problems({**GOOD, "rule": {"A": 3.55, "q_f": 0.83}}) == []
    DECLARATION.check(dict(GOOD))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("n", 1.0, "n must be an integer >= 1, got 1.0"),  # not converted
        ("n", True, "n must be an integer >= 1, got True"),
        ("c", math.inf, r"c must be a number in (0, 1], got inf"),
        ("c", "0.5", "c must be a number in (0, 1], got '0.5'"),
        ("c", 10**400, "c must be a number in (0, 1], got 1000"),  # an int too large for a float
        ("window", math.nan, "window must be a finite number > 0 s, got nan"),
        ("window", -math.inf, "window must be a finite number > 0 s, got -inf"),
        ("loads", [0.1, 5.0, 0.2], "loads must be an increasing list of at least 3 numbers in (0, 3], "
         "got [0.1, 5.0, 0.2] (item 2, 5.0, is not a number in (0, 3])"),
        ("loads", [0.3, 0.2, 0.1], "(it is not increasing)"),
        ("loads", (0.1, 0.2, 0.3), "loads must be an increasing list"),
        ("rule", {"A": math.nan, "q_f": 0.5}, "(its A must be a finite number > 0, got nan)"),
        ("rule", {"A": 1.0}, "(its keys are ['A'])"),
        ("rule", "Published", "rule must be 'published', or a dict with exactly the keys A"),
        ("folder", 3, "folder must be a folder path or '', got 3"),
        ("fixed", 1, "fixed must be True or False, got 1"),
        ("trials", 6, "trials must be an integer >= 4, a multiple of 4, got 6"),
    ],
)
def test_a_value_not_allowed_is_named_with_what_is_allowed(name, value, message):
    problems = DECLARATION.problems({**GOOD, name: value})
    assert len(problems) == 1 and message in problems[0], problems


def test_a_rule_between_parameters_is_checked_once_both_are_allowed():
    assert DECLARATION.problems({**GOOD, "c": 0.1}) == [
        "c * (n - 1) >= 20 must hold (at least 20 inputs); got c = 0.1, n = 100"]
    # n is not allowed: the rule is not evaluated on it, and only n's problem is reported
    assert DECLARATION.problems({**GOOD, "n": "many"}) == ["n must be an integer >= 1, got 'many'"]


def test_check_names_unknown_parameters_and_lists_the_known_ones():
    namespace = {**GOOD, "n_nerons": 5, "np": math, "_private": 1, "In": [], "PARAMETERS": DECLARATION}
    with pytest.raises(ParameterError) as error:
        DECLARATION.check(namespace)
    message = str(error.value)
    assert "n_nerons is not a parameter of this notebook" in message
    assert message.endswith("the parameters are: n, c, window, loads, rule, folder, fixed, trials")
    assert message.count("is not a parameter") == 1, "modules, private and kernel names are not parameters"
    with pytest.raises(ParameterError, match=r"windw is not a parameter of this notebook \(did you mean window\?\)"):
        DECLARATION.check({**GOOD, "windw": 2})


def test_check_reports_every_problem_at_once():
    with pytest.raises(ParameterError) as error:
        DECLARATION.check({**GOOD, "n": 0, "c": 2.0, "typo": 1})
    lines = str(error.value).splitlines()
    assert lines[0].startswith("typo is not a parameter") and lines[1].startswith("n must be")
    assert lines[2].startswith("c must be")


def test_a_declared_parameter_the_cell_does_not_set_is_reported():
    values = dict(GOOD)
    del values["fixed"]
    assert DECLARATION.problems(values) == ["fixed is declared but has no value (the parameters cell must set it)"]


def test_declarations_are_checked_when_made():
    with pytest.raises(TypeError, match="n must be declared with a kind"):
        declare(n=5)
    with pytest.raises(TypeError, match=r"names \['m'\], which are not declared"):
        declare(n=Integer(), rules=[Rule("m > n", "x")])
    with pytest.raises(TypeError, match="is not allowed in a rule"):
        Rule("__import__('os')", "x").problem({})
    with pytest.raises(TypeError, match="give one lower bound"):
        Number(above=0, at_least=1)
    with pytest.raises(TypeError, match="order must be one of"):
        ListOf(Number(), order="sorted")


CELL = """\
from helpers.parameters import Integer, ListOf, Number, Rule, Text, declare

PARAMETERS = declare(
    n=Integer(at_least=1),
    loads=ListOf(Number(above=0), min_length=2, order="increasing"),
    name=Text(empty=False),
    rules=[Rule("len(loads) <= n", "one load per neuron at most")],
)
PARAMETERS.check(globals())
"""


def test_a_declaration_is_read_from_a_cell_without_running_it():
    declaration = read_declaration(CELL)
    assert declaration.names == ["n", "loads", "name"]
    assert declaration.problems({"n": 1, "loads": [0.1, 0.2], "name": "x"}) == [
        "len(loads) <= n must hold (one load per neuron at most); got loads = [0.1, 0.2], n = 1"]
    assert read_declaration("x = 1") is None
    with pytest.raises(ValueError, match=r"__import__\('os'\).getpid\(\) is neither a kind of helpers.parameters"):
        read_declaration("P = declare(n=Integer(at_least=__import__('os').getpid()))")
