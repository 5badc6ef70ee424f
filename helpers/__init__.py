"""Helpers for the book *From ITC firing rates to the limits of associative memory*.

Small modules named after the science; the notebooks in ``notebooks/`` call them, never the
other way round.
"""

__version__ = "0.1.0"
