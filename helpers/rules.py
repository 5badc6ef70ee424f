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
import pandas as pd
from scipy import optimize

from . import _validate, threads
from .rng import as_generator
from .transfer import TransferParams, fit_counts, phi, phi_inverse


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
    q_f: float = 0.827
    beta_f: float = 0.282
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
PUBLISHED_RULE = RuleParams(A=3.55, q_f=0.827, beta_f=0.282, x_f=26.6)


def _tanh_factor(r, offset, slope, centre):
    """``(2 offset - 1 + tanh(slope (r - centre))) / 2``, the shape shared by ``f`` and ``g``."""
    return 0.5 * (2 * offset - 1 + np.tanh(slope * (np.asarray(r, dtype=float) - centre)))


def post_factor(r, rule: RuleParams):
    """``f(r)``: the post-synaptic dependence of the rule."""
    return _tanh_factor(r, rule.q_f, rule.beta_f, rule.x_f)


def pre_factor(r, rule: RuleParams, q_g: float):
    """``g(r)``: the pre-synaptic dependence, with offset ``q_g`` (see :func:`balanced_q_g`)."""
    return _tanh_factor(r, q_g, rule.pre_slope, rule.pre_centre)


def depression_potentiation_threshold(rule: RuleParams) -> float:
    """Rate at which ``f`` changes sign: ``x_f + artanh(1 - 2 q_f) / beta_f``."""
    return _threshold(rule.q_f, rule.beta_f, rule.x_f)


def _gaussian_grid(n_nodes: int, half_width: float = 9.0):
    """Nodes and weights of the trapezoid rule for ``E[h(xi)]``, ``xi ~ N(0, 1)``, on [-9, 9].

    For smooth integrands with Gaussian tails the trapezoid rule converges geometrically. It is
    used rather than Gauss-Hermite because ``f(phi(xi))`` turns over within a fraction of an
    input SD, which 101 Hermite nodes resolve only to about 1e-3; 401 trapezoid nodes give 1e-12.
    """
    nodes = np.linspace(-half_width, half_width, n_nodes)
    weights = np.exp(-0.5 * nodes**2) * (nodes[1] - nodes[0]) / np.sqrt(2 * np.pi)
    return nodes, weights


#: A factor's ``tanh`` step counts as steep when it turns over within this many grid spacings in
#: ``xi``; the expectations then place nodes off it (see ``expectation_grid``).
STEEP_SPACINGS = 2.0
#: Gauss-Legendre nodes per panel of the composite rule used around steep steps.
PANEL_NODES = 8


def _steps(rule: RuleParams, transfer: TransferParams):
    """``(xi_c, width)`` of each rule factor's step, in units of the input ``xi`` (f first, then g)."""
    steps = []
    for slope, centre in ((rule.beta_f, rule.x_f), (rule.pre_slope, rule.pre_centre)):
        if 0.0 < centre < transfer.r_max:
            xi_c = float(phi_inverse(centre, transfer))
            rate_slope = transfer.beta * centre * (1.0 - centre / transfer.r_max)  # phi'(xi_c)
            steps.append((xi_c, 1.0 / (slope * rate_slope)))
    return steps


def expectation_grid(n_nodes: int, rule: RuleParams | None = None, transfer: TransferParams | None = None):
    """Nodes and weights for ``E[h(xi)]`` of functions of the rule's factors, ``xi ~ N(0, 1)``.

    The trapezoid rule of ``_gaussian_grid`` when every step of ``f`` and ``g`` spans at least
    ``STEEP_SPACINGS`` of its spacing (the published rule, by far). A steeper step, down to a
    true step function, would sit between two nodes or on one, and the rule would be wrong by
    about a spacing times the jump: then the nodes are those of a composite Gauss-Legendre rule
    with panel edges at the step's centre and at geometrically growing distances from it (its
    width times 1, 2, 4, ...), so that both sides of the step are integrated as smooth functions.
    """
    nodes, weights = _gaussian_grid(n_nodes)
    spacing = nodes[1] - nodes[0]
    steep = [] if rule is None else [(c, w) for c, w in _steps(rule, transfer) if w < STEEP_SPACINGS * spacing]
    if not steep:
        return nodes, weights
    edges = [np.linspace(-9.0, 9.0, 37)]
    for centre, width in steep:
        distances = width * 2.0 ** np.arange(0, max(1, int(np.ceil(np.log2(1.0 / width))) + 1))
        edges.append(centre + np.r_[0.0, distances, -distances])
    edges = np.unique(np.clip(np.concatenate(edges), -9.0, 9.0))
    unit_nodes, unit_weights = np.polynomial.legendre.leggauss(PANEL_NODES)
    half = 0.5 * np.diff(edges)[:, None]
    middle = 0.5 * (edges[1:] + edges[:-1])[:, None]
    nodes = (middle + half * unit_nodes).ravel()
    weights = (half * unit_weights).ravel() * np.exp(-0.5 * nodes**2) / np.sqrt(2 * np.pi)
    return nodes, weights


def gaussian_average(function, transfer: TransferParams, n_nodes: int = 401, rule: RuleParams | None = None) -> float:
    """``E[function(phi(xi))]`` for ``xi ~ N(0, 1)``, by the trapezoid rule (see ``_gaussian_grid``).

    Given the ``rule`` whose factors ``function`` involves, nodes are placed off their steps when
    they are steep (``expectation_grid``).
    """
    nodes, weights = expectation_grid(n_nodes, rule, transfer)
    return float(np.sum(weights * function(phi(nodes, transfer))))


def balanced_q_g(rule: RuleParams, transfer: TransferParams) -> float:
    """Offset ``q_g`` making ``E[g(phi(xi))] = 0`` over Gaussian inputs.

    From ``g = (2 q_g - 1 + tanh(.)) / 2``: ``q_g = (1 - E[tanh(beta_g (phi(xi) - x_g))]) / 2``.
    """
    mean_tanh = gaussian_average(lambda r: np.tanh(rule.pre_slope * (r - rule.pre_centre)), transfer, rule=rule)
    return 0.5 * (1.0 - mean_tanh)


def gaussian_moments(rule: RuleParams, transfer: TransferParams, max_order: int = 4, n_nodes: int = 401):
    """Raw moments ``E[f^k]`` and ``E[g^k]``, ``k = 1 .. max_order``, over rates ``phi(xi)``.

    ``xi ~ N(0, 1)`` and ``g`` has the balanced offset, so ``E[g] = 0`` up to quadrature error.
    Returns two arrays of length ``max_order``.
    """
    _validate.integer_at_least("max_order", max_order, 1)
    q_g = balanced_q_g(rule, transfer)
    orders = np.arange(1, max_order + 1)
    post = np.array([gaussian_average(lambda r, k=k: post_factor(r, rule) ** k, transfer, n_nodes, rule)
                     for k in orders])
    pre = np.array([gaussian_average(lambda r, k=k: pre_factor(r, rule, q_g) ** k, transfer, n_nodes, rule)
                    for k in orders])
    return post, pre


def correlated_average(first, second, transfer: TransferParams, rho, n_nodes: int = 241):
    """``E[first(phi(x)) second(phi(y))]`` for standard Gaussians ``x, y`` with correlation ``rho``.

    Two-dimensional trapezoid rule with ``y = rho x + sqrt(1 - rho^2) z``. ``rho`` may be an
    array; the result has its shape.
    """
    rho = np.asarray(rho, dtype=float)
    if np.any(np.abs(rho) > 1):
        raise ValueError("rho must be in [-1, 1]")
    nodes, weights = _gaussian_grid(n_nodes)
    first_values = first(phi(nodes, transfer))  # at x
    flat = rho.reshape(-1)
    result = np.empty(flat.size)
    for k, value in enumerate(flat):
        y = value * nodes[:, None] + np.sqrt(1 - value**2) * nodes[None, :]  # (x, z)
        result[k] = weights @ (first_values * (second(phi(y, transfer)) @ weights))
    return result.reshape(rho.shape)


# --- inference of f from novel and familiar rate distributions (Lim et al. 2015) ---------------

RULE_NAMES = ("A", "q_f", "beta_f", "x_f")


def input_change(
    novel_rates, familiar_rates, transfer: TransferParams, min_rate: float = 0.5, max_fraction: float = 0.9
):
    """Input change ``dh(r)`` that turns the novel into the familiar rate distribution.

    If learning shifts each stimulus's input by ``dh`` without changing the order of the
    stimuli, the ``u``-quantile of familiar rates comes from the ``u``-quantile of novel rates:

        dh(r) = phi^{-1}(F_fam^{-1}(F_nov(r))) - phi^{-1}(r).

    Quantiles are taken at ``u_k = (k - 1/2) / n`` for the smaller of the two sample sizes;
    levels where either rate is below ``min_rate`` (Hz) or above ``max_fraction`` of ``r_max``
    are dropped, because ``phi^{-1}`` amplifies count noise there without bound.

    Returns ``(rates, delta_h)``: novel rates and input changes (in input SDs) at the kept levels.
    """
    novel_rates = np.asarray(novel_rates, dtype=float)
    familiar_rates = np.asarray(familiar_rates, dtype=float)
    if novel_rates.size < 3 or familiar_rates.size < 3:
        raise ValueError("novel_rates and familiar_rates need at least 3 stimuli each")
    _validate.positive("min_rate", min_rate)
    _validate.in_range("max_fraction", max_fraction, 0.1, 0.999)
    n = min(novel_rates.size, familiar_rates.size)
    levels = (np.arange(n) + 0.5) / n
    novel_q, familiar_q = np.quantile(novel_rates, levels), np.quantile(familiar_rates, levels)
    top = max_fraction * transfer.r_max
    kept = (novel_q >= min_rate) & (familiar_q >= min_rate) & (novel_q <= top) & (familiar_q <= top)
    delta_h = phi_inverse(familiar_q[kept], transfer) - phi_inverse(novel_q[kept], transfer)
    return novel_q[kept], delta_h


def input_changes(totals, min_rate: float = 0.5) -> dict:
    """:func:`input_change` for every neuron of a table of stimulus totals.

    ``totals`` has one row per neuron, condition and stimulus (``helpers.data.stimulus_totals``).
    Each neuron's transfer function is fitted to its novel-stimulus spike counts
    (``transfer.fit_counts``) and its familiar rates are rank-matched through it. Returns
    ``{neuron: (rates, delta_h)}``.
    """
    curves = {}
    for neuron, group in totals.groupby("neuron", sort=True):
        novel = group[group["condition"] == "novel"]
        familiar = group[group["condition"] == "familiar"]
        transfer = fit_counts(novel["spike_count"].to_numpy(), novel["exposure"].to_numpy())
        curves[neuron] = input_change(novel["rate"], familiar["rate"], transfer, min_rate=min_rate)
    return curves


def amplitude_times_f(r, A, q_f, beta_f, x_f):
    """``A f(r)``: the input change a rule of amplitude ``A`` predicts at post-synaptic rate ``r``."""
    return A * _tanh_factor(r, q_f, beta_f, x_f)


_RULE_LOWER = np.array([1e-3, 0.0, 1e-3, 0.0])
_RULE_UPPER = np.array([20.0, 1.0, 50.0, np.inf])


def fit_post_factor(rates, delta_h, q_f: float | None = None) -> dict:
    """Least-squares fit of ``dh(r) = A f(r)`` over ``(A, q_f, beta_f, x_f)``.

    ``q_f`` given fixes it (a per-neuron fit borrowing the pooled shape). Returns a dict of the
    four parameters and ``threshold``, the rate where ``f`` changes sign.
    """
    rates, delta_h = np.asarray(rates, dtype=float), np.asarray(delta_h, dtype=float)
    if rates.size < 5 or rates.shape != delta_h.shape:
        raise ValueError("rates and delta_h must be matching arrays of at least 5 points")
    upper = _RULE_UPPER.copy()
    upper[3] = 3 * rates.max()
    start = np.array([max(np.ptp(delta_h), 0.01), 0.8, 5.0 / max(np.ptp(rates), 1e-9), np.median(rates)])
    free = np.ones(4, bool)
    if q_f is not None:
        _validate.in_range("q_f", q_f, 0.0, 1.0)
        free[1] = False
        start[1] = q_f
    start = np.clip(start, _RULE_LOWER, upper)

    def residuals(values):
        params = start.copy()
        params[free] = values
        return amplitude_times_f(rates, *params) - delta_h

    # The solver's QR and SVD go through BLAS; its threads help nothing at this size and, on a busy
    # machine, made the bootstrap 3x slower than one thread (40 neurons x 800 points: 2.95 s
    # against 0.98 s beside two spinning processes).
    with threads.one_blas_thread():
        result = optimize.least_squares(residuals, start[free], bounds=(_RULE_LOWER[free], upper[free]))
    params = start.copy()
    params[free] = result.x
    fit = dict(zip(RULE_NAMES, params, strict=True))
    fit["threshold"] = _threshold(fit["q_f"], fit["beta_f"], fit["x_f"])
    return fit


def fit_bcm_factor(rates, delta_h) -> dict:
    """Least-squares fit of ``dh(r) = a r (r - threshold)``, the post-synaptic dependence of the
    minimal triplet rule in its rate limit (BCM's parabola; chapter 10), by linear least squares
    in ``(a, a threshold)``. Returns ``{"a": ..., "threshold": ...}`` (threshold in the rates' unit)."""
    rates, delta_h = np.asarray(rates, dtype=float), np.asarray(delta_h, dtype=float)
    if rates.size < 3 or rates.shape != delta_h.shape:
        raise ValueError("rates and delta_h must be matching arrays of at least 3 points")
    if not (np.all(np.isfinite(rates)) and np.all(np.isfinite(delta_h))):
        raise ValueError("rates and delta_h must be finite")
    (a, b), *_ = np.linalg.lstsq(np.column_stack([rates**2, -rates]), delta_h, rcond=None)
    if not a > 0:
        raise ValueError(f"the fitted parabola opens downwards (a = {a:.3g}): no threshold to read")
    return {"a": float(a), "threshold": float(b / a)}


def _threshold(q_f, beta_f, x_f):
    # f = 0 where tanh(beta_f (r - x_f)) = 1 - 2 q_f; none inside (0, 1) if q_f is 0 or 1
    return x_f + np.arctanh(np.clip(1 - 2 * q_f, -1 + 1e-12, 1 - 1e-12)) / beta_f


def fit_pooled_rule(curves, n_boot: int = 200, rng=None, fit=fit_post_factor):
    """Fit ``A f(r)`` (or ``fit``'s form) to the input-change curves of many neurons pooled, with a
    bootstrap.

    Parameters
    ----------
    curves : list of (rates, delta_h)
        One pair per neuron, as from :func:`input_change`.
    n_boot : int
        Bootstrap replicates; each resamples the *neurons* with replacement, since neurons are
        the independent units (points along one neuron's curve are not).
    fit : callable
        ``fit(rates, delta_h) -> dict``: :func:`fit_post_factor` (chapter 2's ``tanh``) or
        :func:`fit_bcm_factor` (the triplet rule's parabola).

    Returns
    -------
    estimate : dict
        ``A, q_f, beta_f, x_f, threshold`` (or ``fit``'s keys).
    samples : DataFrame
        The same quantities, one row per bootstrap replicate.
    """
    curves = [(np.asarray(r, float), np.asarray(d, float)) for r, d in curves]
    if len(curves) < 2:
        raise ValueError("fit_pooled_rule needs the curves of at least 2 neurons")
    _validate.integer_at_least("n_boot", n_boot, 0)
    rng = as_generator(rng)

    def pooled(indices):
        return fit(np.concatenate([curves[i][0] for i in indices]), np.concatenate([curves[i][1] for i in indices]))

    estimate = pooled(range(len(curves)))
    draws = rng.integers(0, len(curves), size=(n_boot, len(curves)))
    samples = pd.DataFrame([pooled(indices) for indices in draws])
    return estimate, samples


def sparseness(rates, axis=-1):
    """Treves-Rolls sparseness ``<r>^2 / <r^2>``: 1 for equal rates, small when few rates dominate."""
    rates = np.asarray(rates, dtype=float)
    return np.mean(rates, axis=axis) ** 2 / np.mean(rates**2, axis=axis)
