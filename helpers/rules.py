"""Separable learning rules ``dW_ij ~ f(r_i) g(r_j)`` of post- and pre-synaptic rates.

The family of Pereira & Brunel (2018), fitted to ITC data in the spirit of Lim et al. (2015):

    f(r) = (2 q_f - 1 + tanh(beta_f (r - x_f))) / 2,
    g(r) = (2 q_g - 1 + tanh(beta_g (r - x_g))) / 2,

with ``q_g`` not free but set so that ``g`` averages to zero over the distribution of
pre-synaptic rates; in the main simulations of that paper ``x_g = x_f`` and ``beta_g = beta_f``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validate
from .transfer import TransferParams, phi


@dataclass(frozen=True)
class RuleParams:
    """Shape and amplitude of a separable rule, in the papers' symbols.

    Attributes
    ----------
    A : float
        Amplitude. Its unit depends on where the rule is used (see the caller).
    q_f : float
        Offset of ``f``: its value at high rates, in (0, 1).
    beta_f : float
        Slope of ``f`` (1/Hz).
    x_f : float
        Rate (Hz) at the centre of the ``tanh`` of ``f``.
    beta_g, x_g : float or None
        Shape of ``g``; ``None`` means "as ``f``" (the paper's choice).
    """

    A: float = 3.55
    q_f: float = 0.83
    beta_f: float = 0.28
    x_f: float = 26.6
    beta_g: float | None = None
    x_g: float | None = None

    def __post_init__(self):
        _validate.positive("A", self.A)
        _validate.in_range("q_f", self.q_f, 0.0, 1.0)
        _validate.positive("beta_f", self.beta_f)
        _validate.in_range("x_f", self.x_f, 0.0, 1000.0)
        if self.beta_g is not None:
            _validate.positive("beta_g", self.beta_g)
        if self.x_g is not None:
            _validate.in_range("x_g", self.x_g, 0.0, 1000.0)

    @property
    def pre_slope(self) -> float:
        return self.beta_f if self.beta_g is None else self.beta_g

    @property
    def pre_centre(self) -> float:
        return self.x_f if self.x_g is None else self.x_g


#: Medians of the rule fits shipped with Pereira & Brunel (2018).
PUBLISHED_RULE = RuleParams(A=3.55, q_f=0.83, beta_f=0.28, x_f=26.6)


def post_factor(r, rule: RuleParams):
    """``f(r)``: the post-synaptic dependence of the rule."""
    return 0.5 * (2 * rule.q_f - 1 + np.tanh(rule.beta_f * (np.asarray(r, dtype=float) - rule.x_f)))


def pre_factor(r, rule: RuleParams, q_g: float):
    """``g(r)``: the pre-synaptic dependence, with offset ``q_g`` (see :func:`balanced_q_g`)."""
    return 0.5 * (2 * q_g - 1 + np.tanh(rule.pre_slope * (np.asarray(r, dtype=float) - rule.pre_centre)))


def depression_potentiation_threshold(rule: RuleParams) -> float:
    """Rate at which ``f`` changes sign: ``x_f + artanh(1 - 2 q_f) / beta_f``."""
    return rule.x_f + np.arctanh(1 - 2 * rule.q_f) / rule.beta_f


def gaussian_average(function, transfer: TransferParams, n_nodes: int = 101) -> float:
    """``E[function(phi(xi))]`` for ``xi ~ N(0, 1)``, by Gauss-Hermite quadrature."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)
    return float(np.sum(weights * function(phi(nodes, transfer))) / np.sqrt(2 * np.pi))


def balanced_q_g(rule: RuleParams, transfer: TransferParams) -> float:
    """Offset ``q_g`` making ``E[g(phi(xi))] = 0`` over Gaussian inputs.

    From ``g = (2 q_g - 1 + tanh(.)) / 2``: ``q_g = (1 - E[tanh(beta_g (phi(xi) - x_g))]) / 2``.
    """
    mean_tanh = gaussian_average(lambda r: np.tanh(rule.pre_slope * (r - rule.pre_centre)), transfer)
    return 0.5 * (1.0 - mean_tanh)
