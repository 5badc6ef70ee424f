"""A notebook's parameters, declared once: what each may be, checked in one call.

A chapter's cell tagged ``parameters`` sets plain values (papermill replaces them with a user's);
the cell right after it declares what each may be and checks them all::

    from helpers.parameters import FilePath, Integer, ListOf, Number, Rule, declare

    PARAMETERS = declare(
        n_neurons=Integer(at_least=1),
        window=Number(above=0, at_most=10, unit="s"),
        recovery_stimuli=ListOf(Integer(at_least=20)),
        checkpoint=FilePath(),
        rules=[Rule("n_stimuli >= 2 * n_trials", "...")],
    )
    PARAMETERS.check(globals())

``check`` stops with one ``ParameterError`` (a ``ValueError``) that names every parameter whose
value is not allowed, what is allowed, and every name the parameters cell does not know (a
misspelled ``-p n_nerons 5`` would otherwise run the whole chapter at its defaults).

Nothing is converted: a value that is not of the declared kind is rejected, never coerced (``1.0``
is not an integer, ``True`` is not a number, ``inf`` and ``nan`` are not finite numbers).

The declaration is plain data built from the kinds below, so the sweep reads it from the notebook
without executing any of the notebook's code (``read_declaration``).
"""

from __future__ import annotations

import ast
import difflib
import math
import operator
from collections.abc import Mapping
from numbers import Integral, Real

__all__ = [
    "AnyOf",
    "Choice",
    "Flag",
    "Integer",
    "ListOf",
    "Number",
    "ParameterError",
    "FilePath",
    "Record",
    "Rule",
    "Text",
    "declare",
    "read_declaration",
]


class ParameterError(ValueError):
    """A parameter's value is not allowed, or a parameter is unknown."""


def _is_number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _interval(above, at_least, below, at_most) -> str:
    low = f"({above:g}" if above is not None else f"[{at_least:g}" if at_least is not None else None
    high = f"{below:g})" if below is not None else f"{at_most:g}]" if at_most is not None else None
    if low and high:
        return f" in {low}, {high}"
    if low:
        return f" > {above:g}" if above is not None else f" >= {at_least:g}"
    if high:
        return f" < {below:g}" if below is not None else f" <= {at_most:g}"
    return ""


class Kind:
    """What a value may be.

    ``problem(value)`` is None when the value is allowed; otherwise a detail of what is wrong with
    it ('' when ``describe()`` says it all).
    """

    def describe(self) -> str:
        raise NotImplementedError

    def problem(self, value) -> str | None:
        raise NotImplementedError

    def refusal(self, name: str, value) -> str | None:
        """The message that refuses ``value`` for ``name`` ("n must be an integer >= 1, got 0"), or None."""
        detail = self.problem(value)
        if detail is None:
            return None
        return f"{name} must be {self.describe()}, got {value!r}" + (f" ({detail})" if detail else "")

    def __repr__(self) -> str:
        return f"<{self.describe()}>"


class Number(Kind):
    """A finite real number (an int or a float, not a bool), within optional bounds."""

    def __init__(self, above=None, at_least=None, below=None, at_most=None, unit: str = "", why: str = ""):
        for name, bound in (("above", above), ("at_least", at_least), ("below", below), ("at_most", at_most)):
            if bound is not None and not (_is_number(bound) and math.isfinite(bound)):
                raise TypeError(f"Number: {name} must be a finite number, got {bound!r}")
        if above is not None and at_least is not None or below is not None and at_most is not None:
            raise TypeError("Number: give one lower bound (above or at_least) and one upper (below or at_most)")
        self.above, self.at_least, self.below, self.at_most, self.unit = above, at_least, below, at_most, unit
        self.why = why

    def describe(self) -> str:
        interval = _interval(self.above, self.at_least, self.below, self.at_most)
        bounded = (self.above is not None or self.at_least is not None) and (
            self.below is not None or self.at_most is not None)
        text = ("a number" if bounded else "a finite number") + interval + (f" {self.unit}" if self.unit else "")
        return text + (f" ({self.why})" if self.why else "")

    def _within(self, value) -> bool:
        return ((self.above is None or value > self.above) and (self.at_least is None or value >= self.at_least)
                and (self.below is None or value < self.below) and (self.at_most is None or value <= self.at_most))

    def problem(self, value):
        finite = _is_number(value) and (isinstance(value, Integral) or math.isfinite(value))
        return None if finite and self._within(value) else ""


class Integer(Number):
    """An integer (not a bool, not a float such as 1.0), within optional bounds and a step."""

    def __init__(self, at_least=None, at_most=None, multiple_of: int | None = None, why: str = ""):
        super().__init__(at_least=at_least, at_most=at_most, why=why)
        self.multiple_of = multiple_of

    def describe(self) -> str:
        text = "an integer" + _interval(None, self.at_least, None, self.at_most)
        text += f", a multiple of {self.multiple_of}" if self.multiple_of else ""
        return text + (f" ({self.why})" if self.why else "")

    def problem(self, value):
        if not (isinstance(value, Integral) and not isinstance(value, bool) and self._within(value)
                and (not self.multiple_of or value % self.multiple_of == 0)):
            return ""
        return None


class Flag(Kind):
    """True or False (not 0 or 1)."""

    def describe(self) -> str:
        return "True or False"

    def problem(self, value):
        return None if isinstance(value, bool) else ""


class Text(Kind):
    """A string; ``empty=False`` rejects ''."""

    def __init__(self, empty: bool = True, meaning: str = "a string"):
        self.empty, self.meaning = empty, meaning

    def describe(self) -> str:
        return self.meaning + ("" if self.empty else " (not empty)")

    def problem(self, value):
        if not isinstance(value, str) or (not self.empty and not value):
            return ""
        return None


class FilePath(Text):
    """A file or folder path as a string; '' means none unless ``empty=False``."""

    def __init__(self, empty: bool = True, folder: bool = False):
        what = "a folder path" if folder else "a file path"
        super().__init__(empty=empty, meaning=what + (" or ''" if empty else ""))

    def describe(self) -> str:
        return self.meaning


class Choice(Kind):
    """One of a few given values."""

    def __init__(self, *values):
        if not values:
            raise TypeError("Choice: give at least one value")
        self.values = values

    def describe(self) -> str:
        return " or ".join(repr(value) for value in self.values)

    def problem(self, value):
        same = any(type(value) is type(allowed) and value == allowed for allowed in self.values)
        return None if same else ""


class Record(Kind):
    """A dict with exactly the given keys, each of its own kind."""

    def __init__(self, **fields: Kind):
        self.fields = fields

    def describe(self) -> str:
        return "a dict with exactly the keys " + ", ".join(
            f"{name} ({kind.describe()})" for name, kind in self.fields.items())

    def problem(self, value):
        if not isinstance(value, dict):
            return ""
        if set(value) != set(self.fields):
            return f"its keys are {sorted(value)}"
        for name, kind in self.fields.items():
            if kind.problem(value[name]) is not None:
                return f"its {name} must be {kind.describe()}, got {value[name]!r}"
        return None


class AnyOf(Kind):
    """A value allowed by one of several kinds."""

    def __init__(self, *kinds: Kind):
        self.kinds = kinds

    def describe(self) -> str:
        return ", or ".join(kind.describe() for kind in self.kinds)

    def problem(self, value):
        problems = [kind.problem(value) for kind in self.kinds]
        if any(problem is None for problem in problems):
            return None
        # the kind the value was meant to be (a dict for a Record) says most about what is wrong
        meant = [problem for kind, problem in zip(self.kinds, problems, strict=True)
                 if isinstance(kind, Record) and isinstance(value, dict)]
        return meant[0] if meant else ""


def _plural(description: str) -> str:
    """'a number in (0, 1]' -> 'numbers in (0, 1]'; 'an increasing list of ...' -> 'increasing lists of ...'."""
    for singular, plural in (("a finite number", "finite numbers"), ("a number", "numbers"),
                             ("an integer", "integers"), ("a list of", "lists of"),
                             ("an increasing list of", "increasing lists of"),
                             ("a decreasing list of", "decreasing lists of")):
        if description.startswith(singular):
            return plural + description[len(singular):]
    return f"values ({description})"


class ListOf(Kind):
    """A list of values of one kind, with optional length bounds, order and required members."""

    ORDERS = {"increasing": operator.lt, "decreasing": operator.gt}

    def __init__(self, item: Kind, min_length: int = 1, max_length: int | None = None,
                 order: str | None = None, distinct: bool = False, contains=None):
        if order is not None and order not in self.ORDERS:
            raise TypeError(f"ListOf: order must be one of {sorted(self.ORDERS)} or None, got {order!r}")
        self.item, self.min_length, self.max_length = item, min_length, max_length
        self.order, self.distinct, self.contains = order, distinct, contains

    def describe(self) -> str:
        if self.max_length == self.min_length:
            size = f"{self.min_length}"
        elif self.max_length is not None:
            size = f"{self.min_length} to {self.max_length}"
        elif self.min_length > 1:
            size = f"at least {self.min_length}"
        else:
            size = ""
        items = _plural(self.item.describe())
        order = f"{self.order} " if self.order else ""
        if size:
            text = f"{'an' if order.startswith('i') else 'a'} {order}list of {size} {items}"
        else:
            text = f"a non-empty {order}list of {items}"
        if self.distinct:
            text += ", all different"
        if self.contains is not None:
            text += f", including {self.contains!r}"
        return text

    def problem(self, value):
        if not isinstance(value, list):
            return ""
        if len(value) < self.min_length or (self.max_length is not None and len(value) > self.max_length):
            return f"it has {len(value)}"
        for position, item in enumerate(value, start=1):
            detail = self.item.problem(item)
            if detail is not None:
                return f"item {position}, {item!r}, is not {self.item.describe()}" + (f": {detail}" if detail else "")
        if self.order and not all(self.ORDERS[self.order](a, b) for a, b in zip(value, value[1:], strict=False)):
            return f"it is not {self.order}"
        if self.distinct and len({repr(v) for v in value}) != len(value):
            return "a value is repeated"
        if self.contains is not None and self.contains not in value:
            return f"it does not include {self.contains!r}"
        return None


# ----------------------------------------------------------------------------------------------
# Rules between parameters: small expressions over the parameters' names, evaluated without eval
# ----------------------------------------------------------------------------------------------

_OPERATORS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b, ast.USub: operator.neg, ast.Not: operator.not_,
}
_FUNCTIONS = {"min": min, "max": max, "round": round, "len": len, "abs": abs}


def _evaluate(node, names: Mapping):
    """The value of a rule's expression: arithmetic, comparisons, and/or/not, indexing, a few functions."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, names)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return names[node.id]
    if isinstance(node, ast.BinOp):
        return _OPERATORS[type(node.op)](_evaluate(node.left, names), _evaluate(node.right, names))
    if isinstance(node, ast.UnaryOp):
        return _OPERATORS[type(node.op)](_evaluate(node.operand, names))
    if isinstance(node, ast.BoolOp):
        values = (_evaluate(value, names) for value in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, names)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(right_node, names)
            if not _OPERATORS[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Subscript):
        return _evaluate(node.value, names)[_evaluate(node.slice, names)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        return _FUNCTIONS[node.func.id](*(_evaluate(arg, names) for arg in node.args))
    raise TypeError(f"Rule: {ast.unparse(node)!r} is not allowed in a rule")


class Rule:
    """A condition between parameters, e.g. ``Rule("n_probed <= sequence_length", "...")``.

    Checked only when every parameter it names has an allowed value; its message says why it holds.
    """

    def __init__(self, condition: str, why: str):
        self.condition, self.why = condition, why
        self.tree = ast.parse(condition, mode="eval")
        named = {node.id for node in ast.walk(self.tree) if isinstance(node, ast.Name)}
        self.names = sorted(named - set(_FUNCTIONS))

    def problem(self, values: Mapping) -> str | None:
        if _evaluate(self.tree, values):
            return None
        shown = ", ".join(f"{name} = {values[name]!r}" for name in self.names)
        return f"{self.condition} must hold ({self.why}); got {shown}"

    def __repr__(self) -> str:
        return f"Rule({self.condition!r})"


# ----------------------------------------------------------------------------------------------
# The declaration
# ----------------------------------------------------------------------------------------------

#: Names the IPython kernel itself puts in a notebook's namespace (besides those starting with _).
_KERNEL_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}
#: What papermill can inject: a parameter is always one of these.
_PLAIN = (int, float, str, bool, list, dict, tuple, type(None))


class Declaration:
    """A notebook's parameters: name -> kind, and rules between them."""

    def __init__(self, kinds: Mapping[str, Kind], rules: list[Rule]):
        self.kinds, self.rules = dict(kinds), list(rules)

    @property
    def names(self) -> list[str]:
        return list(self.kinds)

    def problems(self, values: Mapping) -> list[str]:
        """Every reason the values are not allowed (empty when they are): one line per parameter or rule."""
        problems, allowed = [], set()
        for name, kind in self.kinds.items():
            if name not in values:
                problems.append(f"{name} is declared but has no value (the parameters cell must set it)")
                continue
            refusal = kind.refusal(name, values[name])
            if refusal is None:
                allowed.add(name)
            else:
                problems.append(refusal)
        for rule in self.rules:
            if set(rule.names) <= allowed:
                why = rule.problem(values)
                if why is not None:
                    problems.append(why)
        return problems

    def unknown(self, names) -> list[str]:
        """Each of ``names`` that is not a parameter, with the nearest parameter's name if one is close."""
        lines = []
        for name in sorted(set(names) - set(self.kinds)):
            near = difflib.get_close_matches(name, self.kinds, n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            lines.append(f"{name} is not a parameter of this notebook{hint}")
        return lines

    def check(self, namespace: Mapping) -> None:
        """Stop unless every parameter in ``namespace`` (a notebook's ``globals()``) is declared and allowed.

        A name in the namespace that holds plain data (what papermill injects) and is not declared
        is an unknown parameter: the parameters cell sets only declared names, and the cell that
        calls ``check`` comes right after it.
        """
        hidden = set(_KERNEL_NAMES)
        try:
            hidden |= set(get_ipython().user_ns_hidden)  # noqa: F821 - defined inside a kernel only
        except NameError:
            pass
        injected = [name for name, value in namespace.items()
                    if not name.startswith("_") and name not in hidden and isinstance(value, _PLAIN)]
        problems = self.unknown(injected) + self.problems(namespace)
        if problems:
            unknown = any("is not a parameter" in line for line in problems)
            listing = f"\nthe parameters are: {', '.join(self.kinds)}" if unknown else ""
            raise ParameterError("\n".join(problems) + listing)

    def __repr__(self) -> str:
        return f"Declaration({', '.join(self.kinds)})"


def declare(rules: list[Rule] | None = None, **kinds: Kind) -> Declaration:
    """A notebook's parameters: ``declare(name=Kind(...), ..., rules=[Rule(...)])``."""
    for name, kind in kinds.items():
        if not isinstance(kind, Kind):
            raise TypeError(f"declare: {name} must be declared with a kind such as Integer(...), got {kind!r}")
    declaration = Declaration(kinds, rules or [])
    for rule in declaration.rules:
        missing = set(rule.names) - set(kinds)
        if missing:
            raise TypeError(f"declare: the rule {rule.condition!r} names {sorted(missing)}, which are not declared")
    return declaration


# ----------------------------------------------------------------------------------------------
# Reading a declaration from a notebook without running it
# ----------------------------------------------------------------------------------------------

_CONSTRUCTORS = {name: globals()[name] for name in
                 ("AnyOf", "Choice", "Flag", "Integer", "ListOf", "Number", "FilePath", "Record", "Rule", "Text",
                  "declare")}


def _construct(node):
    """Build a declaration from its syntax tree: only this module's constructors and literal values."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
        name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
        if name in _CONSTRUCTORS:
            args = [_construct(arg) for arg in node.args]
            kwargs = {keyword.arg: _construct(keyword.value) for keyword in node.keywords}
            return _CONSTRUCTORS[name](*args, **kwargs)
    if isinstance(node, ast.List):
        return [_construct(element) for element in node.elts]
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise ValueError(f"{ast.unparse(node)} is neither a kind of helpers.parameters nor a literal value") from None


def read_declaration(source: str) -> Declaration | None:
    """The declaration in a cell's source (``NAME = declare(...)``), built without running the cell.

    None when the cell declares nothing. A declaration that uses anything but this module's kinds
    and literal values is an error: the sweep must be able to read it as data.
    """
    for statement in ast.parse(source).body:
        call = statement.value if isinstance(statement, ast.Assign | ast.Expr) else None
        if isinstance(call, ast.Call) and getattr(call.func, "id", getattr(call.func, "attr", None)) == "declare":
            try:
                return _construct(call)
            except (ValueError, TypeError, SyntaxError) as error:
                raise ValueError(f"the parameters' declaration is not plain data: {error}") from error
    return None
