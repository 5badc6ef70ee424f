"""Argument checks for the package's functions, with the kinds of ``helpers.parameters``.

The notebooks declare their parameters with the same kinds, so an argument and a parameter that
are not allowed read alike: "decay must be a number in [0, 0.999], got 1.5".
"""

from __future__ import annotations

import math

from .parameters import Integer, Kind, Number


def _checked(name: str, value, kind: Kind):
    refusal = kind.refusal(name, value)
    if refusal is not None:
        raise ValueError(refusal)
    return value


def positive(name: str, value) -> float:
    return float(_checked(name, value, Number(above=0)))


def in_range(name: str, value, low: float, high: float) -> float:
    """A finite number in [low, high]; an infinite bound is no bound."""
    bounds = {"at_least": low if math.isfinite(low) else None, "at_most": high if math.isfinite(high) else None}
    return float(_checked(name, value, Number(**bounds)))


def integer_at_least(name: str, value, minimum: int) -> int:
    return int(_checked(name, value, Integer(at_least=minimum)))
