"""Helpers for the book *From ITC firing rates to the limits of associative memory*.

Small modules named after the science; the notebooks in ``notebooks/`` call them, never the
other way round.
"""

__version__ = "0.1.0"

# Fixes numba's threading layer before any kernel runs (see helpers.threads).
from . import threads  # noqa: E402, F401
