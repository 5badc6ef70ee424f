"""The Gardner bound: how many random dichotomies one neuron can realise, and how robustly.

The replica theory of the perceptron, computed by numerical integration and root finding. A
perceptron with weights ``w`` and threshold ``theta`` realises the labels ``y_mu = +-1`` of the
input patterns ``x_mu`` with margin ``kappa`` when every ``y_mu (w . x_mu - theta)`` is at least
``kappa`` times the standard deviation of the field that input noise would cause. Gardner (1988)
computed the largest load ``alpha = P / N`` at which random dichotomies are still realisable.

Sign constraints (each afferent excitatory, ``w_j >= 0``, or inhibitory, ``w_j <= 0``, with
non-negative inputs) follow Amit, Wong & Campbell (1989), Brunel et al. (2004) and Rubin, Abbott &
Sompolinsky (2017). The last paper's two robustness measures, for a threshold fixed at 1:

- ``kappa_in``, robustness to input noise: the smallest margin divided by ``|w|``;
- ``kappa_out``, robustness to output noise: the smallest margin itself, under a bound
  ``|w| <= Gamma`` on the weights.

Their capacities, for inputs whose excitatory and inhibitory statistics differ
(:class:`AfferentStatistics`), are at the end of this module. The finite samples that check all
of it (random dichotomies, the linear and quadratic programs that solve them, networks built
from solved perceptrons) are in :mod:`helpers.perceptron`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize, special, stats

from . import _validate
from .information import binary_entropy

#: The largest margin the functions accept (in units of the field's SD, or of the threshold).
MAX_MARGIN = 50.0

# --------------------------------------------------------------------------------------------
# Replica theory
# --------------------------------------------------------------------------------------------


def gaussian_shortfall(u: float) -> float:
    """``E[(u - t)_+^2]`` for a standard normal ``t``, by numerical integration.

    The mean squared amount by which a Gaussian field falls short of ``u``: the cost of one
    pattern in Gardner's calculation at the capacity. Its closed form is
    ``(1 + u^2) Phi(u) + u phi(u)``, against which the tests check the integral.
    """
    u = float(u)

    def integrand(t):
        return (u - t) ** 2 * np.exp(-0.5 * t * t) / np.sqrt(2.0 * np.pi)

    value, _ = integrate.quad(integrand, -np.inf, u, epsabs=1e-13, epsrel=1e-12)
    return value


def _pattern_cost(bias: float, kappa: float, coding_level: float) -> float:
    # Patterns labelled +1 need t + bias >= kappa, patterns labelled -1 need -t - bias >= kappa
    # (t is the standard-normal part of the field; the threshold is absorbed in the bias).
    return coding_level * gaussian_shortfall(kappa - bias) + (1 - coding_level) * gaussian_shortfall(kappa + bias)


def optimal_bias(kappa: float = 0.0, coding_level: float = 0.5) -> float:
    """The mean field ``b`` (in units of the field's SD) that maximises the capacity.

    The threshold is free, so the capacity is ``1 / min_b [f S(kappa - b) + (1 - f) S(kappa + b)]``
    with ``S`` the :func:`gaussian_shortfall` and ``f`` the output coding level; ``b = 0`` when
    ``f = 1/2``.
    """
    kappa, f = _margin(kappa), _output_coding(coding_level)
    if f == 0.5:
        return 0.0
    result = optimize.minimize_scalar(
        _pattern_cost, bounds=(-kappa - 12.0, kappa + 12.0), args=(kappa, f), method="bounded",
        options={"xatol": 1e-12},
    )
    return float(result.x)


def gardner_capacity(kappa: float = 0.0, coding_level: float = 0.5) -> float:
    """Capacity ``alpha_c = P / N`` of a perceptron with free weights and threshold (Gardner 1988).

    ``1 / alpha_c = min_b [f S(kappa - b) + (1 - f) S(kappa + b)]``, ``S(u) = E[(u - t)_+^2]``.
    At ``f = 1/2``: ``alpha_c(0) = 2`` (Cover's counting result) and
    ``alpha_c(kappa) = [int_{-kappa}^inf Dt (t + kappa)^2]^{-1}``. A sparser output
    (``f`` away from 1/2) raises the capacity.
    """
    kappa, f = _margin(kappa), _output_coding(coding_level)
    return 1.0 / _pattern_cost(optimal_bias(kappa, f), kappa, f)


def sign_constrained_capacity(kappa: float = 0.0, coding_level: float = 0.5) -> float:
    """Capacity with the sign of every weight fixed (Amit, Wong & Campbell 1989; Brunel et al. 2004).

    Half the unconstrained capacity, at every margin and output coding level, when the threshold
    is free (so that the mean input, ``x_bar sum_j w_j``, is absorbed in it) and the margin is
    measured against the input fluctuations. The replica calculation differs from the free case
    only in the weight space: at the capacity the weights align with a Gaussian vector restricted
    to an orthant, which keeps ``E[z_+^2] / E[z^2] = 1/2`` of its squared length, and the
    pattern term is unchanged. The same factor makes half of the synapses silent at the capacity
    (Brunel et al. 2004). The fraction of excitatory afferents does not enter (it is a gauge
    choice for inputs with a symmetric distribution about their mean).
    """
    return 0.5 * gardner_capacity(kappa, coding_level)


def critical_margin(alpha: float, coding_level: float = 0.5, sign_constrained: bool = False) -> float:
    """The largest margin ``kappa`` at which load ``alpha`` is still within the capacity.

    The inverse of :func:`gardner_capacity` (or :func:`sign_constrained_capacity`) in ``kappa``:
    the margin of the maximal-margin perceptron at load ``alpha`` in the replica theory. Zero at
    and beyond the capacity at ``kappa = 0``.
    """
    alpha = _validate.positive("alpha", alpha)
    capacity = sign_constrained_capacity if sign_constrained else gardner_capacity
    if alpha >= capacity(0.0, coding_level):
        return 0.0
    high = 1.0
    while capacity(high, coding_level) > alpha:
        high *= 2.0
    return float(optimize.brentq(lambda k: capacity(k, coding_level) - alpha, 0.0, high, xtol=1e-12))


def balanced_capacity(excitatory_fraction: float, cv_ratio: float = 1.0, coding_level: float = 0.5) -> float:
    """Largest load at which a sign-constrained perceptron with threshold >= 0 can be balanced (kappa = 0).

    With excitatory and inhibitory inputs of coefficients of variation ``CV_E`` and ``CV_I``
    (``cv_ratio`` = ``CV_E / CV_I``) and a fraction ``f_E`` of excitatory afferents, the replica
    solution at the capacity has weights cut from Gaussians shifted by ``B`` and ``-B CV_E/CV_I``
    (excitatory and inhibitory), and the capacity is

    ``alpha_c(0, f) * min_B [f_E S(-B) + (1 - f_E) S(cv_ratio * B)]``

    with ``S`` the :func:`gaussian_shortfall` (Rubin, Abbott & Sompolinsky 2017, kappa = 0). The
    minimum is at ``B = 0``, where the capacity is the full sign-constrained value
    ``alpha_c(0, f) / 2``, exactly when ``f_E / (1 - f_E) = cv_ratio``.
    """
    f_e = _validate.in_range("excitatory_fraction", excitatory_fraction, 0.0, 1.0)
    phi = _validate.positive("cv_ratio", cv_ratio)

    def cost(b):
        return f_e * gaussian_shortfall(-b) + (1.0 - f_e) * gaussian_shortfall(phi * b)

    best = optimize.minimize_scalar(cost, bounds=(-12.0, 12.0), method="bounded", options={"xatol": 1e-10})
    return float(gardner_capacity(0.0, coding_level) * best.fun)


def positive_threshold_capacity(excitatory_fraction: float, cv_ratio: float = 1.0, coding_level: float = 0.5) -> float:
    """Capacity at kappa = 0 of a sign-constrained perceptron whose threshold must be >= 0.

    With enough excitation (``f_E / (1 - f_E) >= cv_ratio``) the threshold constraint is slack
    and the capacity is the sign-constrained ``alpha_c(0, f) / 2`` (reached by an unbalanced
    solution); with less, the solutions must balance and the capacity falls to
    :func:`balanced_capacity` (Rubin, Abbott & Sompolinsky 2017).
    """
    f_e = _validate.in_range("excitatory_fraction", excitatory_fraction, 0.0, 1.0)
    phi = _validate.positive("cv_ratio", cv_ratio)
    if f_e >= phi / (1.0 + phi):
        return sign_constrained_capacity(0.0, coding_level)
    return balanced_capacity(f_e, phi, coding_level)


def optimal_excitatory_fraction(cv_ratio: float = 1.0) -> float:
    """The fraction of excitatory afferents at which balanced solutions reach the full capacity.

    ``f_E / (1 - f_E) = CV_E / CV_I``: excitation and inhibition then cancel on average with the
    weights of the capacity solution (Rubin, Abbott & Sompolinsky 2017). 80 % excitatory
    afferents call for excitatory inputs four times as variable (relative to their mean) as
    inhibitory ones.
    """
    phi = _validate.positive("cv_ratio", cv_ratio)
    return phi / (1.0 + phi)


def coefficient_of_variation(input_coding: float) -> float:
    """CV of a 0/1 input that is 1 with probability ``a``: ``sqrt((1 - a) / a)``."""
    a = _validate.in_range("input_coding", input_coding, 0.0, 1.0)
    if a == 0.0:
        raise ValueError("input_coding must be > 0 for a coefficient of variation")
    return float(np.sqrt((1.0 - a) / a))


def information_per_synapse(kappa: float = 0.0, coding_level: float = 0.5, sign_constrained: bool = False) -> float:
    """Bits stored per synapse at the capacity: ``alpha_c H_2(f)`` (Gardner 1988; Brunel et al. 2004)."""
    capacity = (sign_constrained_capacity if sign_constrained else gardner_capacity)(kappa, coding_level)
    return float(capacity * binary_entropy(coding_level))


def cover_separable_probability(n_patterns: int, n_parameters: int) -> float:
    """Probability that random labels of points in general position are linearly separable.

    Cover (1965): ``C(P, D) / 2^P = 2^{1-P} sum_{k<D} binom(P-1, k)`` for ``D`` free parameters
    (``N + 1`` for N weights and a threshold). Exact at every size; its median is ``P = 2 D``.
    """
    n_patterns = _validate.integer_at_least("n_patterns", n_patterns, 1)
    n_parameters = _validate.integer_at_least("n_parameters", n_parameters, 1)
    return float(stats.binom.cdf(n_parameters - 1, n_patterns - 1, 0.5))


# --------------------------------------------------------------------------------------------
# Robustness with signed weights and a threshold (Rubin, Abbott & Sompolinsky 2017)
# --------------------------------------------------------------------------------------------
#
# The inputs are positive with means and SDs that differ between excitatory and inhibitory
# afferents, the threshold must be non-negative (kappa_in) or is fixed at 1 with |w| <= Gamma
# (kappa_out). In the replica solution at the capacity the weights, in units of the field
# fluctuation they cause (w_j sigma_j), are Gaussians cut at zero: excitatory ones
# Z_E (t - B)_+, inhibitory ones Z_I (t + phi B)_+, with a shift B that the threshold constraint
# sets and gains Z_E, Z_I that the norm in kappa_in = margin / |w| sets (an inhibitory input of SD
# lambda sigma_E gives lambda times the field per unit of |w|). The order parameters:
#
#   Q       = field variance / (sigma_E^2 |w|^2) = (a + b) / (a + b / lambda^2)
#   a, b    = f_E Z_E^2 S(-B) / 2,  (1 - f_E) Z_I^2 S(phi B) / 2      (S: gaussian_shortfall)
#   e, i    = f_E Z_E m(-B),  (1 - f_E) phi Z_I m(phi B)              (m(u) = E[(u + t)_+])
#   theta~  = (e - i) / sqrt(2 (a + b)) = CV_E (mean net input) / (sqrt(N) field SD)
#   Z_l     = 1 / (1 + (1 - Q / l^2) G(k)),  G(k) = (k / 2) d ln alpha_G(k) / dk,  k = kappa / sqrt(Q)
#   alpha   = 2 (a + b) alpha_G(k, p_out)                             (alpha_G: gardner_capacity)
#
# with k the margin in units of the field's SD. The solution is unbalanced (B = 0) when the
# net mean input it gives is positive (theta~ > 0, the threshold constraint slack) and balanced
# (theta~ = 0: excitation and inhibition cancel to leading order in N) otherwise. The equations'
# structure follows the supplementary information of Rubin et al. (2017) and its authors' code;
# this is an independent implementation in the notation above, checked against sampled
# perceptrons in the tests and in chapter 6.


@dataclass(frozen=True)
class AfferentStatistics:
    """What a sign-constrained neuron's inputs look like, in the symbols of Rubin et al. (2017).

    Attributes
    ----------
    excitatory_fraction : float
        ``f_exc``, the fraction of afferents that are excitatory (weights >= 0), in (0, 1).
    cv_ratio : float
        ``phi = CV_E / CV_I``, the ratio of the inputs' coefficients of variation (SD over mean).
    sd_ratio : float
        ``lambda = sigma_I / sigma_E``, the ratio of the inputs' SDs.
    excitatory_cv : float
        ``CV_E``. The theory needs it only to express the small ``kappa_out`` of unbalanced
        solutions in units of the threshold; samples need it to draw inputs.
    excitatory_sd : float
        ``sigma_E``, the unit of ``kappa_in`` in the theory (``kappa_in`` is reported in the
        inputs' own units).
    """

    excitatory_fraction: float = 0.8
    cv_ratio: float = 1.0
    sd_ratio: float = 1.0
    excitatory_cv: float = 1.0
    excitatory_sd: float = 1.0

    def __post_init__(self):
        f = _validate.in_range("excitatory_fraction", self.excitatory_fraction, 0.0, 1.0)
        if f in (0.0, 1.0):
            raise ValueError(f"excitatory_fraction must be in (0, 1), got {self.excitatory_fraction!r}")
        for name in ("cv_ratio", "sd_ratio", "excitatory_cv", "excitatory_sd"):
            _validate.positive(name, getattr(self, name))

    @property
    def inhibitory_cv(self) -> float:
        return self.excitatory_cv / self.cv_ratio

    @property
    def inhibitory_sd(self) -> float:
        return self.sd_ratio * self.excitatory_sd

    @property
    def means(self) -> tuple[float, float]:
        """Mean excitatory and inhibitory inputs, ``sigma / CV``."""
        return self.excitatory_sd / self.excitatory_cv, self.inhibitory_sd / self.inhibitory_cv


@dataclass(frozen=True)
class RobustCapacity:
    """The replica solution of a sign-constrained perceptron at its capacity for a robustness.

    Attributes
    ----------
    alpha : float
        The capacity: the largest load ``P / N`` at which the robustness ``kappa`` is reachable.
    kappa : float
        The robustness, ``kappa_in`` (margin over ``|w|``, in the inputs' units) or ``kappa_out``
        (margin in units of the threshold, 1).
    balanced : bool
        Whether excitation and inhibition cancel to leading order in N (``theta~ = 0``).
    shift : float
        ``B``: excitatory weights are cut Gaussians shifted down by ``B``, inhibitory ones up by
        ``phi B``.
    net_input : float
        ``theta~ = CV_E <w . x> / (sqrt(N) SD(w . x))``: the mean net input, scaled.
    margin : float
        ``k``, the robustness in units of the field's SD.
    field_ratio : float
        ``Q``, the field variance over ``sigma_E^2 |w|^2`` (1 when ``lambda = 1``).
    imbalance : float
        The imbalance index ``<w . x> / <sum_j |w_j| x_j>`` to leading order in N: 0 for balanced
        solutions (their index falls as ``1 / sqrt(N)``), positive for unbalanced ones.
    """

    alpha: float
    kappa: float
    balanced: bool
    shift: float
    net_input: float
    margin: float
    field_ratio: float
    imbalance: float


def _shortfall(u: float) -> float:
    """``E[(u + t)_+^2] = (1 + u^2) Phi(u) + u phi(u)``, the closed form of ``gaussian_shortfall``."""
    return (1.0 + u * u) * special.ndtr(u) + u * _density(u)


def _excess(u: float) -> float:
    """``E[(u + t)_+] = phi(u) + u Phi(u)``, half the derivative of ``_shortfall``."""
    return _density(u) + u * special.ndtr(u)


def _density(u: float) -> float:
    return np.exp(-0.5 * u * u) / np.sqrt(2.0 * np.pi)


def _free_capacity(k: float, p: float) -> tuple[float, float]:
    """Gardner's ``alpha_G(k, p)`` and its logarithmic slope ``d ln alpha_G / dk``.

    Closed forms with the bias from its stationarity condition ``p m(k - b) = (1 - p) m(k + b)``;
    the same capacity as :func:`gardner_capacity` (tested), fast enough to sit inside the
    nested root finding below. By the envelope theorem ``d(1 / alpha_G) / dk`` needs no
    derivative of the bias. The factor of the gains is ``G(k) = (k / 2) d ln alpha_G / dk``,
    between -1 and 0.
    """
    if p == 0.5:
        bias = 0.0
    else:
        bias = optimize.brentq(lambda b: p * _excess(k - b) - (1 - p) * _excess(k + b), -k - 40.0, k + 40.0,
                               xtol=1e-14)
    cost = p * _shortfall(k - bias) + (1 - p) * _shortfall(k + bias)
    slope = 2.0 * (p * _excess(k - bias) + (1 - p) * _excess(k + bias))
    return 1.0 / cost, -slope / cost


def _gain_factor(k: float, p: float) -> float:
    """``G(k) = (k / 2) d ln alpha_G / dk``."""
    return 0.5 * k * _free_capacity(k, p)[1]


def _order_parameters(shift: float, gains: tuple[float, float], afferents: AfferentStatistics):
    """``(a, b, e, i)`` of the notes above, for shift ``B`` and gains ``(Z_E, Z_I)``."""
    f, phi = afferents.excitatory_fraction, afferents.cv_ratio
    z_e, z_i = gains
    a = 0.5 * f * z_e**2 * _shortfall(-shift)
    b = 0.5 * (1 - f) * z_i**2 * _shortfall(phi * shift)
    e = f * z_e * _excess(-shift)
    i = (1 - f) * phi * z_i * _excess(phi * shift)
    return a, b, e, i


def _net_input(shift, gains, afferents) -> float:
    a, b, e, i = _order_parameters(shift, gains, afferents)
    return (e - i) / np.sqrt(2.0 * (a + b))


def _balancing_shift(gains, afferents) -> float:
    """The ``B`` at which the net mean input vanishes (``theta~`` falls as ``B`` grows)."""
    return optimize.brentq(lambda s: _net_input(s, gains, afferents), -30.0, 30.0, xtol=1e-13)


def _robust_solution(kappa: float, p: float, afferents: AfferentStatistics, balanced) -> RobustCapacity:
    """The capacity at margin ``kappa`` (in units of ``sigma_E``) over ``|w|``, threshold >= 0.

    ``balanced=None`` takes the solution the theory picks (unbalanced when the threshold
    constraint is slack), ``True`` forces ``theta~ = 0`` (the max-``kappa_out`` solutions below the
    balanced capacity).
    """
    lam2 = afferents.sd_ratio**2

    def gains(q):
        g = _gain_factor(kappa / np.sqrt(q), p)
        return 1.0 / (1.0 + (1.0 - q) * g), 1.0 / (1.0 + (1.0 - q / lam2) * g)

    def solve_q(shift_of):
        # Q is a weighted mean of 1 and lambda^2, so the root lies between them.
        def mismatch(q):
            z = gains(q)
            a, b, _, _ = _order_parameters(shift_of(z), z, afferents)
            return q - (a + b) / (a + b / lam2)

        low, high = sorted((1.0, lam2))
        return 1.0 if low == high else optimize.brentq(mismatch, low, high, xtol=1e-13)

    q, shift = None, 0.0
    if not balanced:
        q = solve_q(lambda z: 0.0)
        if _net_input(0.0, gains(q), afferents) < 0:
            q = None  # the threshold constraint binds: the solution must balance
    balanced = q is None
    if balanced:
        q = solve_q(lambda z: _balancing_shift(z, afferents))
        shift = _balancing_shift(gains(q), afferents)
    z = gains(q)
    a, b, e, i = _order_parameters(shift, z, afferents)
    k = kappa / np.sqrt(q)
    alpha = 2.0 * (a + b) * _free_capacity(k, p)[0]
    # A balanced solution's net input and imbalance vanish to leading order: exactly 0 here, not
    # the round-off of the shift's root.
    return RobustCapacity(
        alpha=float(alpha), kappa=float(kappa), balanced=balanced, shift=float(shift),
        net_input=0.0 if balanced else float((e - i) / np.sqrt(2.0 * (a + b))), margin=float(k),
        field_ratio=float(q), imbalance=0.0 if balanced else float((e - i) / (e + i)),
    )


def input_robustness_capacity(kappa_in: float, coding_level: float = 0.5,
                              afferents: AfferentStatistics = AfferentStatistics()) -> RobustCapacity:
    """Capacity of a sign-constrained perceptron with threshold >= 0 at input robustness ``kappa_in``.

    ``kappa_in`` is the smallest margin over ``|w|``, in the inputs' units: the SD of isotropic
    input noise that the weakest pattern withstands (to first order). Replica theory of Rubin,
    Abbott & Sompolinsky (2017); see the notes above this function for the equations. The
    solutions that reach it are unbalanced wherever the threshold constraint allows (with
    enough excitatory afferents), balanced otherwise. At ``kappa_in = 0`` the capacity is
    :func:`positive_threshold_capacity`; with ``sd_ratio = 1`` and an unbalanced solution it is
    :func:`sign_constrained_capacity` at ``kappa = kappa_in / sigma_E`` (the constraint is slack).
    """
    kappa = _margin(kappa_in / afferents.excitatory_sd)
    return _with_kappa(_robust_solution(kappa, _output_coding(coding_level), afferents, None), kappa_in)


def output_robustness_capacity(kappa_out: float, norm_bound: float, coding_level: float = 0.5,
                               afferents: AfferentStatistics = AfferentStatistics()) -> RobustCapacity:
    """Capacity at output robustness ``kappa_out`` (threshold 1, ``|w| <= Gamma``): balanced solutions.

    The margin grows with the weights, so it is used to the bound: ``|w| = Gamma`` and
    ``kappa_out = Gamma kappa_in``. The threshold (1) is negligible next to the mean inputs of
    such weights (of order ``sqrt(N)``), so the solution must balance them: the capacity is the
    balanced branch of :func:`input_robustness_capacity` at ``kappa_in = kappa_out / Gamma``
    (Rubin, Abbott & Sompolinsky 2017). It falls to the balanced capacity ``alpha_b`` as
    ``kappa_out -> 0``; between ``alpha_b`` and the capacity the best solutions are unbalanced
    with ``kappa_out`` of order ``1 / sqrt(N)`` (:func:`unbalanced_output_robustness`).
    """
    gamma = _validate.positive("norm_bound", norm_bound)
    kappa = _margin(kappa_out / (gamma * afferents.excitatory_sd))
    return _with_kappa(_robust_solution(kappa, _output_coding(coding_level), afferents, True), kappa_out)


def _with_kappa(solution: RobustCapacity, kappa: float) -> RobustCapacity:
    return RobustCapacity(**{**solution.__dict__, "kappa": float(kappa)})


def _unbalanced_net_input(shift: float, afferents: AfferentStatistics) -> float:
    return _net_input(shift, (1.0, 1.0), afferents)


def largest_unbalanced_shift(afferents: AfferentStatistics = AfferentStatistics()) -> float:
    """``B*``: the shift at which unbalanced max-``kappa_out`` solutions meet the balanced ones (``alpha_b``).

    Zero (no unbalanced branch) when the excitatory fraction is at or below its optimum, where
    every solution at the capacity is balanced.
    """
    if _unbalanced_net_input(0.0, afferents) <= 0:
        return 0.0
    return float(optimize.brentq(lambda s: _unbalanced_net_input(s, afferents), 0.0, 30.0, xtol=1e-13))


def unbalanced_output_robustness(shift: float, n_inputs: int, coding_level: float = 0.5,
                                 afferents: AfferentStatistics = AfferentStatistics()) -> RobustCapacity:
    """The max-``kappa_out`` solution between ``alpha_b`` and ``alpha_c``, parametrised by its shift ``B``.

    With ``|w| < Gamma`` the binding constraint is the threshold (1): the mean net input equals
    it, so the field's SD is of order ``1 / sqrt(N)`` and so is the margin. To leading order
    ``kappa_out = kappa_0 CV_E / sqrt(N)`` with the scaled ``kappa_0`` from the stationarity
    condition ``G(theta~ kappa_0) = -theta~ B / sqrt(2 C)``, ``C = (a + b) (1 + B (e - i) / (2 (a + b)))^2``
    (gains 1), and the load ``alpha = 2 C alpha_G(theta~ kappa_0)`` (Rubin, Abbott & Sompolinsky
    2017, whose supplementary information this follows). ``B`` runs from 0 (at the capacity
    ``alpha_c``, ``kappa_out -> 0``) to :func:`largest_unbalanced_shift` (at ``alpha_b``).
    """
    n_inputs = _validate.integer_at_least("n_inputs", n_inputs, 1)
    p = _output_coding(coding_level)
    top = largest_unbalanced_shift(afferents)
    shift = _validate.in_range("shift", shift, 0.0, top)
    a, b, e, i = _order_parameters(shift, (1.0, 1.0), afferents)
    net = (e - i) / np.sqrt(2.0 * (a + b))
    c = (a + b) * (1.0 + shift * (e - i) / (2.0 * (a + b))) ** 2
    # The stationarity condition G(theta~ kappa_0) = -theta~ B / sqrt(2 C), divided by theta~ (which
    # vanishes at B*): kappa_0 L(theta~ kappa_0) / 2 = -B / sqrt(2 C), L = d ln alpha_G / dk < 0.
    target = shift / np.sqrt(2.0 * c)
    net = max(net, 0.0)

    def stationarity(kappa_0):
        return 0.5 * kappa_0 * _free_capacity(net * kappa_0, p)[1] + target

    if shift == 0.0:
        kappa_0 = 0.0
    else:
        high = 1.0
        while stationarity(high) > 0:
            high *= 2.0
        kappa_0 = optimize.brentq(stationarity, 0.0, high, xtol=1e-13)
    k = net * kappa_0
    lam2 = afferents.sd_ratio**2
    return RobustCapacity(
        alpha=float(2.0 * c * _free_capacity(k, p)[0]),
        kappa=float(kappa_0 * afferents.excitatory_cv / np.sqrt(n_inputs)), balanced=False, shift=float(shift),
        net_input=float(net), margin=float(k),
        field_ratio=float((a + b) / (a + b / lam2)), imbalance=float((e - i) / (e + i)),
    )


def critical_input_robustness(alpha: float, coding_level: float = 0.5,
                              afferents: AfferentStatistics = AfferentStatistics()) -> RobustCapacity:
    """The max-``kappa_in`` solution at load ``alpha``: :func:`input_robustness_capacity` inverted in ``kappa_in``.

    Raises ValueError beyond the capacity at ``kappa_in = 0``.
    """
    alpha = _validate.positive("alpha", alpha)
    scale = afferents.excitatory_sd

    def capacity(kappa):
        return input_robustness_capacity(kappa * scale, coding_level, afferents)

    return _invert(capacity, alpha, "alpha", "the capacity at kappa_in = 0")


def critical_output_robustness(alpha: float, norm_bound: float, n_inputs: int, coding_level: float = 0.5,
                               afferents: AfferentStatistics = AfferentStatistics()) -> RobustCapacity:
    """The max-``kappa_out`` solution at load ``alpha`` under ``|w| <= Gamma``, threshold 1.

    Balanced (``kappa_out`` of order 1) below the balanced capacity ``alpha_b``; unbalanced
    (``kappa_out`` of order ``1 / sqrt(N)``, hence ``n_inputs``) between ``alpha_b`` and the
    capacity ``alpha_c``. Raises ValueError beyond ``alpha_c``.
    """
    alpha = _validate.positive("alpha", alpha)
    gamma = _validate.positive("norm_bound", norm_bound)
    scale = gamma * afferents.excitatory_sd
    balanced_limit = output_robustness_capacity(0.0, gamma, coding_level, afferents)
    if alpha < balanced_limit.alpha:
        return _invert(lambda k: output_robustness_capacity(k * scale, gamma, coding_level, afferents), alpha,
                       "alpha", "alpha_b")
    top = largest_unbalanced_shift(afferents)
    if top == 0.0 or alpha >= input_robustness_capacity(0.0, coding_level, afferents).alpha:
        raise ValueError(f"alpha must be below the capacity at kappa_out = 0, got {alpha!r}")

    def load(shift):
        return unbalanced_output_robustness(shift, n_inputs, coding_level, afferents).alpha - alpha

    shift = optimize.brentq(load, 0.0, top, xtol=1e-12)
    return unbalanced_output_robustness(shift, n_inputs, coding_level, afferents)


def _invert(capacity, alpha: float, name: str, limit: str) -> RobustCapacity:
    """The solution whose capacity is ``alpha``, for ``capacity(kappa)`` falling from ``kappa = 0``."""
    top = capacity(0.0).alpha
    if top <= alpha:
        raise ValueError(f"{name} must be below {limit} ({top:.4g}), got {alpha!r}")
    high = 0.5
    while capacity(high).alpha > alpha:
        high *= 2.0
    kappa = optimize.brentq(lambda k: capacity(k).alpha - alpha, 0.0, high, xtol=1e-10)
    return capacity(kappa)


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------


def checked_margin(kappa) -> float:
    """``kappa`` if it is a margin the functions accept, in [0, MAX_MARGIN]; ValueError otherwise."""
    return _validate.in_range("kappa", kappa, 0.0, MAX_MARGIN)


def checked_coding_level(coding_level) -> float:
    """An output coding level in (0, 1); ValueError otherwise."""
    f = _validate.in_range("coding_level", coding_level, 0.0, 1.0)
    if f in (0.0, 1.0):
        raise ValueError(f"coding_level must be in (0, 1), got {coding_level!r}")
    return f


_margin, _output_coding = checked_margin, checked_coding_level

#: Where the finite-sample tools went when this module was split (a name used from here says so).
_MOVED = {
    "random_dichotomies", "input_sd", "afferent_signs", "Perceptron", "is_separable", "max_margin_perceptron",
    "critical_load", "realisable_prefixes", "critical_loads", "Extrapolation", "extrapolate_capacity",
    "max_input_robustness", "max_output_robustness", "PerceptronNetwork", "perceptron_network",
    "error_rate_under_noise", "THRESHOLD_CURVATURE",
}


def __getattr__(name):
    if name in _MOVED:
        raise AttributeError(f"helpers.gardner.{name} moved to helpers.perceptron.{name} (the finite-sample tools)")
    raise AttributeError(f"module 'helpers.gardner' has no attribute {name!r}")
