"""Perceptrons on finite samples: random dichotomies and the programs that solve them.

The numerical side of :mod:`helpers.gardner`: draw random dichotomies, decide whether they are
separable and at which load they stop being so (linear programs in HiGHS), find the perceptrons of
largest margin (quadratic programs, quadprog's Goldfarb-Idnani method), their robustness to input
and output noise with the threshold fixed at 1 (Rubin, Abbott & Sompolinsky 2017), and recurrent
networks whose every neuron is such a perceptron.

Conventions
-----------
- ``inputs`` has shape ``(P, N)``: pattern ``mu`` is row ``mu``; ``labels`` are ``+1`` or ``-1``.
- ``signs`` (optional) has one entry per afferent, ``+1`` excitatory or ``-1`` inhibitory.
- "Realisable with margin kappa" uses the field noise of independent input noise of SD
  ``input_sd``: ``y_mu (w . x_mu - theta) >= kappa * input_sd * |w|`` for every ``mu``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import highspy
import numpy as np
import quadprog

from . import _checkpoint, _validate
from .gardner import (
    AfferentStatistics,
    checked_coding_level,
    checked_margin,
    gardner_capacity,
    sign_constrained_capacity,
)
from .rng import RandomLike, as_generator

_INF = highspy.kHighsInf
#: Curvature given to the (centred) threshold in the quadratic programs, beside 1 for each weight:
#: the Goldfarb-Idnani method needs a positive-definite Hessian.
THRESHOLD_CURVATURE = 1e-6


# --------------------------------------------------------------------------------------------
# Random dichotomies
# --------------------------------------------------------------------------------------------


def random_dichotomies(
    n_inputs: int, n_patterns: int, rng: RandomLike = None, coding_level: float = 0.5, input_coding=None
):
    """``(inputs, labels)``: ``n_patterns`` random patterns with random labels.

    Inputs are standard normal by default; with ``input_coding = a`` they are non-negative, 1 with
    probability ``a`` and 0 otherwise (afferent rates for the sign-constrained case, input SD
    ``sqrt(a (1 - a))``). Each label is +1 with probability ``coding_level``.
    """
    n_inputs = _validate.integer_at_least("n_inputs", n_inputs, 1)
    n_patterns = _validate.integer_at_least("n_patterns", n_patterns, 1)
    f = checked_coding_level(coding_level)
    rng = as_generator(rng)
    if input_coding is None:
        inputs = rng.standard_normal((n_patterns, n_inputs))
    else:
        a = _validate.in_range("input_coding", input_coding, 0.0, 1.0)
        if a in (0.0, 1.0):
            raise ValueError(f"input_coding must be in (0, 1), got {input_coding!r}")
        inputs = (rng.random((n_patterns, n_inputs)) < a).astype(np.float64)
    labels = np.where(rng.random(n_patterns) < f, 1.0, -1.0)
    return inputs, labels


def signed_dichotomies(n_inputs: int, n_patterns: int, rng: RandomLike = None, coding_level: float = 0.5,
                       afferents: AfferentStatistics | None = None):
    """``(inputs, labels, signs)``: random dichotomies of positive inputs with E/I statistics.

    The first ``round(f_exc N)`` afferents are excitatory: gamma-distributed inputs with the SD
    ``sigma_E`` and coefficient of variation ``CV_E`` of ``afferents``; the rest are inhibitory,
    with SD ``lambda sigma_E`` and CV ``CV_E / phi``. A gamma variable has any positive CV (its
    shape is ``1 / CV^2``; ``CV = 1`` is exponential, as in Rubin et al.'s example code), so every
    ``phi`` and ``lambda`` of the theory can be sampled; 0/1 inputs cannot. Each label is +1 with
    probability ``coding_level``. ``afferents=None`` takes ``AfferentStatistics()``.
    """
    afferents = AfferentStatistics() if afferents is None else afferents
    n_inputs = _validate.integer_at_least("n_inputs", n_inputs, 2)
    n_patterns = _validate.integer_at_least("n_patterns", n_patterns, 1)
    f = checked_coding_level(coding_level)
    rng = as_generator(rng)
    signs = afferent_signs(n_inputs, afferents.excitatory_fraction)
    cv = np.where(signs > 0, afferents.excitatory_cv, afferents.inhibitory_cv)
    sd = np.where(signs > 0, afferents.excitatory_sd, afferents.inhibitory_sd)
    shape = 1.0 / cv**2
    inputs = rng.gamma(shape, sd / np.sqrt(shape), size=(n_patterns, n_inputs))
    labels = np.where(rng.random(n_patterns) < f, 1.0, -1.0)
    return inputs, labels, signs


def input_sd(input_coding=None) -> float:
    """SD of one input of :func:`random_dichotomies`: 1 for Gaussian inputs, ``sqrt(a (1 - a))`` else."""
    if input_coding is None:
        return 1.0
    a = _validate.in_range("input_coding", input_coding, 0.0, 1.0)
    return float(np.sqrt(a * (1.0 - a)))


def afferent_signs(n_inputs: int, excitatory_fraction: float = 0.8) -> np.ndarray:
    """``+1`` for the first ``round(f N)`` afferents (excitatory), ``-1`` for the rest (inhibitory)."""
    n_inputs = _validate.integer_at_least("n_inputs", n_inputs, 1)
    f = _validate.in_range("excitatory_fraction", excitatory_fraction, 0.0, 1.0)
    signs = -np.ones(n_inputs)
    signs[: int(round(f * n_inputs))] = 1.0
    return signs


# --------------------------------------------------------------------------------------------
# Perceptrons and the programs that solve them
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Perceptron:
    """Weights ``w`` (length N) and threshold ``theta``: the output is +1 when ``w . x > theta``."""

    weights: np.ndarray
    threshold: float

    def fields(self, inputs) -> np.ndarray:
        """``w . x_mu - theta`` for every pattern."""
        return np.asarray(inputs, dtype=np.float64) @ self.weights - self.threshold

    def margins(self, inputs, labels) -> np.ndarray:
        """``y_mu (w . x_mu - theta)``: positive for every pattern the perceptron gets right."""
        return np.asarray(labels, dtype=np.float64) * self.fields(inputs)

    @property
    def norm(self) -> float:
        return float(np.linalg.norm(self.weights))

    def input_robustness(self, inputs, labels) -> float:
        """``kappa_in``: the smallest margin over ``|w|`` (input noise of SD s moves the field by s|w|).

        Infinite when the threshold alone gets every label right (``w = 0``).
        """
        smallest = float(self.margins(inputs, labels).min())
        if self.norm == 0:
            return np.inf if smallest > 0 else -np.inf
        return smallest / self.norm

    def output_robustness(self, inputs, labels) -> float:
        """``kappa_out``: the smallest margin, in the units of the threshold."""
        return float(self.margins(inputs, labels).min())

    def silent_fraction(self, tolerance: float = 1e-6) -> float:
        """Fraction of weights at zero (below ``tolerance`` times the largest weight)."""
        scale = np.abs(self.weights).max()
        return float(np.mean(np.abs(self.weights) <= tolerance * scale)) if scale > 0 else 1.0

    def imbalance(self, inputs) -> float:
        """Net input over total absolute input, ``<w . x> / <sum_j |w_j| x_j>`` (Rubin et al. 2017).

        Near 0 when large excitatory and inhibitory inputs cancel (balanced), near 1 when one sign
        dominates.
        """
        inputs = np.asarray(inputs, dtype=np.float64)
        return float(np.mean(inputs @ self.weights) / np.mean(inputs @ np.abs(self.weights)))


class _MarginLP:
    """The margin linear program of one sample in HiGHS, solved for prefixes of its patterns.

    Variables are the N weights (in the box ``|w_j| <= 1``, within their signs), the threshold
    and the margin ``t <= 1``; row ``mu`` reads ``y_mu (w . x_mu - theta) - t >= 0`` and the
    objective is ``max t``. Patterns beyond the prefix get their row's lower bound set to minus
    infinity, so that successive solves on the same instance start from the last basis (a warm
    start). Inputs are centred (``theta' = theta - w . x_bar``), the same program better scaled.
    """

    def __init__(self, inputs, labels, signs, nonnegative_threshold: bool = False):
        n_patterns, n_inputs = inputs.shape
        self.n_patterns, self.n_inputs = n_patterns, n_inputs
        # theta >= 0 is a bound on the uncentred threshold only, so that program is not centred.
        self.offset = np.zeros(n_inputs) if nonnegative_threshold else inputs.mean(axis=0)
        theta_low = 0.0 if nonnegative_threshold else -_INF
        low, high = _weight_bounds(signs, n_inputs, bound=1.0)
        matrix = np.hstack([labels[:, None] * (inputs - self.offset), -labels[:, None], -np.ones((n_patterns, 1))])
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_inputs + 2, n_patterns
        lp.col_cost_ = np.r_[np.zeros(n_inputs + 1), -1.0]
        lp.col_lower_, lp.col_upper_ = np.r_[low, theta_low, -_INF], np.r_[high, _INF, 1.0]
        lp.row_lower_, lp.row_upper_ = np.zeros(n_patterns), np.full(n_patterns, _INF)
        # Column-wise storage of the dense matrix (HiGHS's native layout).
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.arange(0, matrix.size + 1, n_patterns, dtype=np.int32)
        lp.a_matrix_.index_ = np.tile(np.arange(n_patterns, dtype=np.int32), n_inputs + 2)
        lp.a_matrix_.value_ = np.ascontiguousarray(matrix.T).ravel()
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_inputs + 2, n_patterns
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("threads", 1)
        self.highs.passModel(lp)
        self.active = n_patterns

    def use_prefix(self, n_active: int):
        lower = np.full(self.n_patterns, -_INF)
        lower[:n_active] = 0.0
        self.highs.changeRowsBounds(
            self.n_patterns, np.arange(self.n_patterns, dtype=np.int32), lower, np.full(self.n_patterns, _INF)
        )
        self.active = n_active

    def separating_perceptron(self, inputs, labels) -> Perceptron | None:
        """A perceptron that gets every active pattern right, or None if there is none."""
        for _ in range(2):
            self.highs.run()
            status = self.highs.getModelStatus()
            if status == highspy.HighsModelStatus.kOptimal:
                break
            self.highs.clearSolver()  # a stalled warm start: once more from scratch
        else:
            raise RuntimeError(f"HiGHS could not solve the margin LP (always feasible and bounded): {status}")
        x = np.array(self.highs.getSolution().col_value)
        weights = x[: self.n_inputs]
        candidate = Perceptron(weights, float(x[self.n_inputs] + weights @ self.offset))
        # "Separable" is certified by the hyperplane itself, recomputed in float64; "not separable"
        # rests on the LP's optimum t = 0 (no hyperplane in the box does better than w = 0).
        active = slice(0, self.active)
        if x[-1] > 0 and np.all(candidate.margins(inputs[active], labels[active]) > 0):
            return candidate
        return None


def _weight_bounds(signs, n_inputs, bound=np.inf):
    if signs is None:
        return np.full(n_inputs, -bound), np.full(n_inputs, bound)
    signs = _check_signs(signs, n_inputs)
    return np.where(signs > 0, 0.0, -bound), np.where(signs > 0, bound, 0.0)


def _prefix_separable(lp: _MarginLP, inputs, labels, p: int, signs, nonnegative_threshold: bool) -> bool:
    """Whether the first ``p`` patterns are separable: a fast certificate, then the LP for "no".

    Without sign constraints, the max-margin quadratic program (Goldfarb-Idnani, about five times
    faster than the LP on dense problems with N = 500) is tried first: weights it returns, checked
    to separate the patterns in float64, certify "separable". Otherwise, and with sign or threshold
    constraints (where the quadratic program's many bound constraints made the chapter's runs
    slower, measured), the margin LP decides, so that every "not separable" rests on HiGHS's
    optimum.
    """
    if signs is None and not nonnegative_threshold:
        solution = _min_norm(inputs[:p], labels[:p], None)
        if solution is not None and np.all(solution.margins(inputs[:p], labels[:p]) > 0):
            return True
    lp.use_prefix(p)
    return lp.separating_perceptron(inputs, labels) is not None


def is_separable(inputs, labels, signs=None) -> bool:
    """Whether some perceptron (within the sign constraints) gets every label right.

    Solves the linear program ``max t`` subject to ``y_mu (w . x_mu - theta) >= t``,
    ``|w_j| <= 1`` and ``t <= 1`` with HiGHS. The box keeps the program bounded and well
    conditioned near the capacity, where the plain feasibility program ``y (w . x - theta) >= 1``
    makes the solver report numerical difficulties (measured); the answer is "separable" exactly
    when the optimal ``t`` is positive.
    """
    inputs, labels = _check_sample(inputs, labels)
    return _MarginLP(inputs, labels, signs).separating_perceptron(inputs, labels) is not None


def _min_norm(inputs, labels, signs, threshold=None, margin: float = 1.0):
    """``min |w|^2`` subject to ``y_mu (w . x_mu - theta) >= margin`` and the signs; None if infeasible.

    A strictly convex quadratic program, solved exactly by the Goldfarb-Idnani dual active-set
    method (``quadprog``). A free threshold is found with centred inputs and a curvature of
    ``THRESHOLD_CURVATURE`` on ``theta' = theta - w . x_bar``, which the method needs (its
    Hessian must be positive definite) and which changes the objective by about 1e-6 relative;
    ``threshold=value`` pins it.
    """
    n_patterns, n_inputs = inputs.shape
    if threshold is None:
        offset = inputs.mean(axis=0)
        hessian = np.diag(np.r_[np.ones(n_inputs), THRESHOLD_CURVATURE])
        rows = np.hstack([labels[:, None] * (inputs - offset), -labels[:, None]])
        floor = np.full(n_patterns, margin)
    else:
        hessian = np.eye(n_inputs)
        rows = labels[:, None] * inputs
        floor = margin + labels * threshold
    constraints, bounds = rows.T, floor
    if signs is not None:
        signs = _check_signs(signs, n_inputs)
        sign_rows = np.zeros((rows.shape[1], n_inputs))
        sign_rows[:n_inputs] = np.diag(signs)
        constraints, bounds = np.hstack([constraints, sign_rows]), np.r_[floor, np.zeros(n_inputs)]
    try:
        x = quadprog.solve_qp(hessian, np.zeros(rows.shape[1]), np.ascontiguousarray(constraints), bounds, 0)[0]
    except ValueError as error:  # quadprog's message for an empty feasible set
        if "inconsistent" in str(error):
            return None
        raise
    weights = x[:n_inputs]
    if signs is not None:
        weights = np.where(signs > 0, np.maximum(weights, 0.0), np.minimum(weights, 0.0))
    return Perceptron(weights, float(x[n_inputs] + weights @ offset) if threshold is None else float(threshold))


def max_margin_perceptron(inputs, labels, signs=None, nonnegative_threshold: bool = False) -> Perceptron | None:
    """The perceptron of largest ``kappa_in``: minimise ``|w|^2`` subject to ``y_mu (w . x_mu - theta) >= 1``.

    A quadratic program (see ``_min_norm``). Its margin in units of the input SD ``s`` is
    ``1 / (s |w|)``. ``nonnegative_threshold`` adds ``theta >= 0`` (a neuron that needs
    excitation to fire, as in Rubin et al. 2017). Returns None when the labels are not separable.
    """
    inputs, labels = _check_sample(inputs, labels)
    solution = _min_norm(inputs, labels, signs)
    if solution is not None and nonnegative_threshold and solution.threshold < 0:
        # The program is convex, so when the free optimum has theta < 0 the optimum under
        # theta >= 0 lies on theta = 0.
        solution = _min_norm(inputs, labels, signs, threshold=0.0)
    return solution


def critical_load(inputs, labels, kappa: float = 0.0, signs=None, input_sd: float = 1.0, guess=None,
                  nonnegative_threshold: bool = False) -> float:
    """Largest load ``P / N`` at which the first P patterns of the sample are realisable with margin ``kappa``.

    The patterns are nested (adding one can only remove solutions), so the verdicts over P switch
    once, from realisable to not. The switch is located by bracketing around ``guess`` (a load;
    the replica capacity is a good one) and bisection. ``kappa = 0`` is decided as in
    :func:`realisable_prefixes` (without sign constraints a quadratic-program certificate for
    "separable"; the margin linear program for "not separable"); ``kappa > 0`` by the margin ``1 / (input_sd |w|)`` of
    the quadratic program of :func:`max_margin_perceptron`. Returns ``P_max / N`` (the caller should draw more patterns)
    when all of them are realisable. ``nonnegative_threshold`` asks for ``theta >= 0`` (only at
    ``kappa = 0``).
    """
    inputs, labels = _check_sample(inputs, labels)
    kappa = checked_margin(kappa)
    input_sd = _validate.positive("input_sd", input_sd)
    if nonnegative_threshold and kappa > 0:
        raise ValueError("nonnegative_threshold is only available at kappa = 0")
    n_patterns, n_inputs = inputs.shape
    lp = _MarginLP(inputs, labels, signs, nonnegative_threshold) if kappa == 0 else None

    def realisable(p: int) -> bool:
        if lp is not None:
            return _prefix_separable(lp, inputs, labels, p, signs, nonnegative_threshold)
        solution = _min_norm(inputs[:p], labels[:p], signs)
        if solution is None:
            return False
        # The margin this solution achieves, not the one the solver was asked for.
        return solution.input_robustness(inputs[:p], labels[:p]) / input_sd >= kappa

    start = n_patterns // 2 if guess is None else int(np.clip(round(guess * n_inputs), 1, n_patterns))
    step = max(1, int(np.sqrt(n_inputs)))
    if realisable(start):
        good, bad = start, None
        while bad is None:
            trial = min(good + step, n_patterns)
            if trial == good:
                return n_patterns / n_inputs
            if realisable(trial):
                good, step = trial, 2 * step
            else:
                bad = trial
    else:
        good, bad = 0, start
        while True:
            trial = max(bad - step, 1)
            if trial == bad:
                return 0.0
            if realisable(trial):
                good = trial
                break
            bad, step = trial, 2 * step
    while bad - good > 1:
        middle = (good + bad) // 2
        if realisable(middle):
            good = middle
        else:
            bad = middle
    return good / n_inputs


def realisable_prefixes(inputs, labels, prefix_sizes, signs=None) -> np.ndarray:
    """Whether the first P patterns of one sample are separable, for each P in ``prefix_sizes``.

    The verdicts switch once along nested prefixes, so they are found by bisection over the sorted
    sizes: about log2(k) programs for k sizes instead of k. Without sign constraints each
    "separable" is certified by the weights of the fast max-margin quadratic program; each "not
    separable" is decided by the margin LP on one warm-started HiGHS instance. The verdicts are
    those :func:`is_separable` gives for each prefix on its own.
    """
    inputs, labels = _check_sample(inputs, labels)
    sizes = np.asarray(prefix_sizes)
    if sizes.ndim != 1 or sizes.size == 0 or np.any(np.diff(sizes) <= 0) or sizes[0] < 1 or sizes[-1] > len(labels):
        raise ValueError(f"prefix_sizes must increase strictly within [1, {len(labels)}], got {prefix_sizes!r}")
    lp = _MarginLP(inputs, labels, signs)
    good, bad = -1, sizes.size  # indices: every size up to good is realisable, from bad on none is
    while bad - good > 1:
        middle = (good + bad) // 2
        if _prefix_separable(lp, inputs, labels, int(sizes[middle]), signs, False):
            good = middle
        else:
            bad = middle
    return np.arange(sizes.size) <= good


def critical_loads(
    n_inputs: int,
    n_samples: int,
    rng: RandomLike = None,
    kappa: float = 0.0,
    coding_level: float = 0.5,
    sign_constrained: bool = False,
    input_coding=0.5,
    excitatory_fraction: float = 0.8,
    max_load=None,
    nonnegative_threshold: bool = False,
    checkpoint=None,
) -> np.ndarray:
    """The :func:`critical_load` of ``n_samples`` independent samples of random dichotomies.

    Unconstrained samples have Gaussian inputs; sign-constrained ones have 0/1 inputs of coding
    level ``input_coding`` and ``excitatory_fraction`` excitatory afferents. ``input_coding`` may
    be a pair ``(a_E, a_I)``: excitatory and inhibitory afferents then fire with different
    probabilities (``kappa = 0`` only). Each sample holds ``max_load * N`` patterns (default: 1.6
    times the replica capacity plus 8 / sqrt(N)).

    Each sample draws from its own child of ``rng`` (``Generator.spawn``), so a sample's result
    does not depend on the others. ``checkpoint`` (a CSV path) records every sample as it is done,
    under a key made of its settings and its generator's seed; a rerun with the same arguments
    reads the samples already done instead of solving them again.
    """
    n_inputs = _validate.integer_at_least("n_inputs", n_inputs, 2)
    n_samples = _validate.integer_at_least("n_samples", n_samples, 1)
    theory = (sign_constrained_capacity if sign_constrained else gardner_capacity)(kappa, coding_level)
    if max_load is None:
        max_load = 1.6 * theory + 8.0 / np.sqrt(n_inputs)
    max_load = _validate.positive("max_load", max_load)
    signs = afferent_signs(n_inputs, excitatory_fraction) if sign_constrained else None
    pair = sign_constrained and np.ndim(input_coding) == 1
    if pair and (len(input_coding) != 2 or kappa > 0):
        raise ValueError(
            f"input_coding must be one coding level or, at kappa = 0, a pair (a_E, a_I); got {input_coding!r}"
        )
    coding = (input_coding[0] if pair else input_coding) if sign_constrained else None
    settings = (
        n_inputs, float(kappa), float(coding_level), bool(sign_constrained),
        repr(input_coding) if sign_constrained else None, float(excitatory_fraction) if sign_constrained else None,
        float(max_load), bool(nonnegative_threshold),
    )
    done = _read_log(checkpoint, ["critical_load"])
    loads = np.empty(n_samples)
    for s, generator in enumerate(as_generator(rng).spawn(n_samples)):
        key = _sample_key(settings, generator)
        if key in done:
            (loads[s],) = done[key]
            continue
        n_patterns = int(np.ceil(max_load * n_inputs))
        inputs, labels = random_dichotomies(n_inputs, n_patterns, generator, coding_level, coding)
        if pair:
            a_inhibitory = _validate.in_range("input_coding", input_coding[1], 0.0, 1.0)
            inhibitory = signs < 0
            inputs[:, inhibitory] = generator.random((inputs.shape[0], int(inhibitory.sum()))) < a_inhibitory
        loads[s] = critical_load(inputs, labels, kappa, signs, input_sd(coding), guess=theory,
                                 nonnegative_threshold=nonnegative_threshold)
        if checkpoint is not None:
            _append_to_log(checkpoint, key, critical_load=loads[s])
    return loads


ROBUSTNESS_KINDS = ("kappa_in", "kappa_out")


def robust_solutions(
    n_inputs: int,
    load: float,
    n_samples: int,
    rng: RandomLike = None,
    robustness: str = "kappa_in",
    coding_level: float = 0.5,
    afferents: AfferentStatistics | None = None,
    norm_bound: float = 1.0,
    tolerance: float = 1e-4,
    checkpoint=None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(kappa, imbalance)`` of the most robust perceptron of each of ``n_samples`` samples.

    Each sample is :func:`signed_dichotomies` with ``round(load * N)`` patterns. For
    ``robustness="kappa_in"`` the solution is the max-``kappa_in`` one with threshold >= 0 and no
    norm bound (the quadratic program of :func:`max_margin_perceptron`; ``kappa_in`` is scale
    free, so its canonical weights serve even when their threshold is 0); for ``"kappa_out"`` it
    is :func:`max_output_robustness` under ``|w| <= norm_bound`` with threshold 1. A sample with
    no solution (beyond its own capacity) reaches no positive robustness: its ``kappa`` is 0 and
    its imbalance NaN. The imbalance index is :meth:`Perceptron.imbalance`.

    Samples draw from children of ``rng`` and are logged to ``checkpoint`` (a CSV path) as in
    :func:`critical_loads`, so a rerun resumes.
    """
    n_inputs = _validate.integer_at_least("n_inputs", n_inputs, 2)
    load = _validate.positive("load", load)
    n_samples = _validate.integer_at_least("n_samples", n_samples, 1)
    if robustness not in ROBUSTNESS_KINDS:
        raise ValueError(f"robustness must be one of {ROBUSTNESS_KINDS}, got {robustness!r}")
    afferents = AfferentStatistics() if afferents is None else afferents
    norm_bound = _validate.positive("norm_bound", norm_bound)
    n_patterns = max(1, int(round(load * n_inputs)))
    settings = (n_inputs, n_patterns, robustness, float(coding_level), repr(afferents), float(norm_bound),
                float(tolerance))
    done = _read_log(checkpoint, ["kappa", "imbalance"])
    kappa, imbalance = np.zeros(n_samples), np.full(n_samples, np.nan)
    for s, generator in enumerate(as_generator(rng).spawn(n_samples)):
        key = _sample_key(settings, generator)
        if key in done:
            kappa[s], imbalance[s] = done[key]
            continue
        inputs, labels, signs = signed_dichotomies(n_inputs, n_patterns, generator, coding_level, afferents)
        if robustness == "kappa_in":
            solution = max_margin_perceptron(inputs, labels, signs, nonnegative_threshold=True)
        else:
            solution = max_output_robustness(inputs, labels, norm_bound, signs, tolerance)
        if solution is not None:
            measure = solution.input_robustness if robustness == "kappa_in" else solution.output_robustness
            kappa[s], imbalance[s] = measure(inputs, labels), solution.imbalance(inputs)
        if checkpoint is not None:
            _append_to_log(checkpoint, key, kappa=kappa[s], imbalance=imbalance[s])
    return kappa, imbalance


def _sample_key(settings, generator) -> str:
    """A short hash of a sample's settings and its generator's seed."""
    seed = generator.bit_generator.seed_seq
    return hashlib.sha256(repr((settings, seed.entropy, seed.spawn_key)).encode()).hexdigest()[:16]


def _read_log(path, columns: list[str]) -> dict:
    """The samples' log: each sample's key mapped to the tuple of its values in ``columns``."""
    table = _checkpoint.read_log(path, ["key", *columns], dtype={"key": str})
    if table is None:
        return {}
    return dict(zip(table["key"], zip(*(table[column] for column in columns), strict=True), strict=True))


def _append_to_log(path, key: str, **values) -> None:
    """Add one sample's row to the log (written with its header when the file is new)."""
    _checkpoint.append_to_log(path, {"key": key, **values})


@dataclass(frozen=True)
class Extrapolation:
    """``value(N) = alpha_inf + slope / N`` fitted to the medians of samples at several sizes.

    Named for its first use, critical loads (``alpha_inf`` is the extrapolated capacity); the
    same fit extrapolates any sampled quantity, such as the robustness at a fixed load.
    """

    sizes: np.ndarray
    medians: np.ndarray
    errors: np.ndarray  # bootstrap SE of each median
    alpha_inf: float
    alpha_inf_error: float
    slope: float


def extrapolate_capacity(
    critical_loads_by_size: dict, rng: RandomLike = None, n_bootstrap: int = 2000
) -> Extrapolation:
    """Finite-size analysis: median critical load at each N, linear in 1/N, extrapolated to N -> infinity.

    The median of the critical loads is the load at which half of the samples are realisable,
    ``alpha_c(N)``; its error is a bootstrap SE, at least half a pattern (with few samples every
    resampled median can coincide). For the unconstrained perceptron at ``kappa = 0``, Cover's
    theorem gives ``alpha_c(N) = 2 (N + 1) / N`` exactly, a line in 1/N.
    """
    return extrapolate_median(critical_loads_by_size, rng, n_bootstrap, error_floor=lambda n: 0.5 / n)


def extrapolate_median(values_by_size: dict, rng: RandomLike = None, n_bootstrap: int = 2000,
                       error_floor=None, power: float = 1.0) -> Extrapolation:
    """The median of a sampled quantity at each N, fitted by ``a + b / N^power`` and extrapolated to ``a``.

    ``values_by_size`` maps N to the samples' values. Each median's error is a bootstrap SE (at
    least ``error_floor(N)`` if given); a weighted least-squares line in ``1 / N^power`` gives
    the intercept and its SE (from the fit's covariance). ``power = 1/2`` suits quantities whose
    finite-size part is a fluctuation, such as the imbalance index of balanced solutions.
    """
    power = _validate.positive("power", power)
    sizes = np.array(sorted(values_by_size), dtype=np.float64)
    if sizes.size < 2:
        raise ValueError(f"values_by_size needs at least two sizes, got {sizes.size}")
    rng = as_generator(rng)
    medians, errors = [], []
    for n in sizes:
        values = np.asarray(values_by_size[int(n)], dtype=np.float64)
        if values.size < 2 or not np.all(np.isfinite(values)):
            raise ValueError(f"the values at N = {int(n)} must be at least two finite numbers")
        medians.append(np.median(values))
        resampled = np.median(rng.choice(values, size=(n_bootstrap, values.size)), axis=1)
        errors.append(max(resampled.std(ddof=1), 0.0 if error_floor is None else error_floor(n), 1e-12))
    medians, errors = np.array(medians), np.array(errors)
    design = np.column_stack([np.ones_like(sizes), sizes**-power])
    weights = 1.0 / errors**2
    covariance = np.linalg.inv(design.T @ (weights[:, None] * design))
    intercept, slope = covariance @ design.T @ (weights * medians)
    return Extrapolation(sizes, medians, errors, float(intercept), float(np.sqrt(covariance[0, 0])), float(slope))


# --------------------------------------------------------------------------------------------
# Robust solutions with the threshold fixed at 1 (Rubin, Abbott & Sompolinsky 2017)
# --------------------------------------------------------------------------------------------


def max_input_robustness(inputs, labels, signs=None, norm_bound=None) -> Perceptron | None:
    """Max-``kappa_in`` perceptron with threshold 1 (and ``|w| <= norm_bound`` if given).

    In canonical form, minimise ``|w|^2`` subject to ``y_mu (w . x_mu - theta) >= 1`` and
    ``theta >= 0``, a quadratic program; the physical weights are ``w / theta`` with threshold 1,
    their smallest margin is ``1 / theta`` and ``kappa_in = 1 / |w|``. When the optimum has
    ``theta = 0`` the best ``kappa_in`` is only approached by ever larger weights, and when the
    physical weights would break the norm bound the bound is active; in both cases, with a bound,
    the answer is the max-``kappa_out`` solution under it (at fixed ``|w| = Gamma`` the two
    margins are proportional, as in Rubin et al. 2017). Returns None when no solution exists
    (or, without a bound, when the optimum is at ``theta = 0``).
    """
    if norm_bound is not None:
        norm_bound = _validate.positive("norm_bound", norm_bound)
    solution = max_margin_perceptron(inputs, labels, signs, nonnegative_threshold=True)
    if solution is not None and solution.threshold > 0:
        physical = Perceptron(solution.weights / solution.threshold, 1.0)
        if norm_bound is None or physical.norm <= norm_bound:
            return physical
    if norm_bound is None or solution is None:
        return None
    return max_output_robustness(inputs, labels, norm_bound, signs)


def max_output_robustness(inputs, labels, norm_bound: float, signs=None, tolerance: float = 1e-6) -> Perceptron | None:
    """Max-``kappa_out`` perceptron with threshold 1 and ``|w| <= norm_bound`` (Gamma).

    Maximise ``kappa`` subject to ``y_mu (w . x_mu - 1) >= kappa`` and ``|w| <= Gamma``: a
    second-order cone program. It is solved as a sequence of quadratic programs: the smallest
    norm ``n(kappa)`` with which margin ``kappa`` is reachable is convex and increasing in
    ``kappa``, and the answer is where it reaches Gamma, bracketed and then found by regula falsi
    to ``tolerance`` (relative). Returns None when even ``kappa = 0`` needs ``|w| > Gamma``.
    """
    inputs, labels = _check_sample(inputs, labels)
    gamma = _validate.positive("norm_bound", norm_bound)

    def solve(kappa):
        solution = _min_norm(inputs, labels, signs, threshold=1.0, margin=kappa)
        return solution, (np.inf if solution is None else solution.norm)

    best, norm_low = solve(0.0)
    if norm_low > gamma:
        return None
    low, high = 0.0, 1.0
    while (result := solve(high))[1] <= gamma:
        low, high, (best, norm_low) = high, 2.0 * high, result
    norm_high = result[1]
    # Regula falsi with the Illinois modification on n(kappa) - Gamma (bisection where n is
    # infinite): a handful of quadratic programs instead of the twenty of plain bisection.
    side = 0
    while high - low > tolerance * high:
        if np.isfinite(norm_high):
            middle = low + (gamma - norm_low) * (high - low) / (norm_high - norm_low)
            middle = min(max(middle, low + 0.01 * (high - low)), high - 0.01 * (high - low))
        else:
            middle = 0.5 * (low + high)
        candidate, norm = solve(middle)
        if norm <= gamma:
            low, norm_low, best = middle, norm, candidate
            if side == -1:  # the same end moved twice: halve the other end's weight
                norm_high = gamma + 0.5 * (norm_high - gamma)
            side = -1
        else:
            high, norm_high = middle, norm
            if side == 1:
                norm_low = gamma - 0.5 * (gamma - norm_low)
            side = 1
    return best


@dataclass(frozen=True)
class PerceptronNetwork:
    """A recurrent network of 0/1 neurons whose incoming weights are each a learned perceptron.

    ``weights[i, j]`` is the synapse from ``j`` onto ``i`` (zero diagonal); every threshold is 1.
    Per neuron: ``input_robustness`` (``kappa_in``), ``output_robustness`` (``kappa_out``) and
    ``imbalance`` of its perceptron on the stored patterns.
    """

    weights: np.ndarray
    input_robustness: np.ndarray
    output_robustness: np.ndarray
    imbalance: np.ndarray


def perceptron_network(patterns, signs, method: str = "kappa_in", norm_bound: float = 10.0,
                       tolerance: float = 1e-4, checkpoint=None, save_every: int = 10) -> PerceptronNetwork:
    """Store 0/1 ``patterns`` (shape ``(P, N)``) by learning every neuron's incoming weights.

    Neuron ``i`` is a sign-constrained perceptron (the sign of each synapse is that of its
    presynaptic neuron, ``signs[j]``) with threshold 1 that must output ``xi_i^mu`` when the other
    neurons are in pattern ``mu``: ``method="kappa_in"`` takes the max-``kappa_in`` solution,
    ``"kappa_out"`` the max-``kappa_out`` one, both under ``|w| <= norm_bound`` (Rubin, Abbott &
    Sompolinsky 2017). Each stored pattern is then a fixed point of the noiseless dynamics.
    Raises ValueError naming the neuron when its perceptron has no solution.

    ``checkpoint`` (an ``.npz`` path) saves the neurons learned so far every ``save_every``
    neurons; a rerun with the same arguments resumes from it, and a checkpoint made from other
    arguments stops the run with a message.
    """
    patterns = np.asarray(patterns, dtype=np.float64)
    if patterns.ndim != 2 or not np.all(np.isin(patterns, (0.0, 1.0))):
        raise ValueError("patterns must be a (P, N) array of 0s and 1s")
    n_patterns, n = patterns.shape
    signs = _check_signs(signs, n)
    if method not in ("kappa_in", "kappa_out"):
        raise ValueError(f"method must be 'kappa_in' or 'kappa_out', got {method!r}")
    weights = np.zeros((n, n))
    kappa_in, kappa_out, imbalance = np.empty(n), np.empty(n), np.empty(n)
    digest = hashlib.sha256(patterns.tobytes() + signs.tobytes())
    digest.update(repr((method, float(norm_bound), float(tolerance))).encode())
    key, start = digest.hexdigest()[:16], 0
    saved = _checkpoint.load(checkpoint, key, "patterns, signs or settings")
    if saved is not None:
        start = int(saved["done"])
        weights[:start], kappa_in[:start] = saved["weights"][:start], saved["kappa_in"][:start]
        kappa_out[:start], imbalance[:start] = saved["kappa_out"][:start], saved["imbalance"][:start]
    for i in range(start, n):
        others = np.arange(n) != i
        inputs, labels = patterns[:, others], 2.0 * patterns[:, i] - 1.0
        if method == "kappa_in":
            solution = max_input_robustness(inputs, labels, signs[others], norm_bound)
        else:
            solution = max_output_robustness(inputs, labels, norm_bound, signs[others], tolerance)
        if solution is None:
            raise ValueError(f"neuron {i}: no sign-constrained perceptron with threshold 1 stores these patterns")
        weights[i, others] = solution.weights
        kappa_in[i] = solution.input_robustness(inputs, labels)
        kappa_out[i] = solution.output_robustness(inputs, labels)
        imbalance[i] = solution.imbalance(inputs)
        if checkpoint is not None and ((i + 1) % save_every == 0 or i + 1 == n):
            _checkpoint.save(checkpoint, key=key, done=i + 1, weights=weights, kappa_in=kappa_in,
                             kappa_out=kappa_out, imbalance=imbalance)
    return PerceptronNetwork(weights, kappa_in, kappa_out, imbalance)


def error_rate_under_noise(perceptron: Perceptron, inputs, labels, rng: RandomLike = None, input_noise: float = 0.0,
                           output_noise: float = 0.0, n_repeats: int = 20) -> float:
    """Fraction of labels a perceptron gets wrong when noise perturbs it, measured by simulation.

    Input noise adds independent Gaussian noise of SD ``input_noise`` to every input; output noise
    adds Gaussian noise of SD ``output_noise`` to the field ``w . x - theta``. Each pattern is
    tried ``n_repeats`` times.
    """
    inputs, labels = _check_sample(inputs, labels)
    input_noise = _validate.in_range("input_noise", input_noise, 0.0, np.inf)
    output_noise = _validate.in_range("output_noise", output_noise, 0.0, np.inf)
    n_repeats = _validate.integer_at_least("n_repeats", n_repeats, 1)
    rng = as_generator(rng)
    errors = 0
    for _ in range(n_repeats):
        noisy = inputs + input_noise * rng.standard_normal(inputs.shape) if input_noise > 0 else inputs
        fields = perceptron.fields(noisy) + output_noise * rng.standard_normal(labels.size)
        errors += int(np.sum(labels * fields <= 0))
    return errors / (n_repeats * labels.size)


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------


def _check_signs(signs, n_inputs) -> np.ndarray:
    signs = np.asarray(signs, dtype=np.float64)
    if signs.shape != (n_inputs,) or not np.all(np.isin(signs, (-1.0, 1.0))):
        raise ValueError(f"signs must hold {n_inputs} entries, each +1 (excitatory) or -1 (inhibitory)")
    return signs


def _check_sample(inputs, labels):
    inputs = np.asarray(inputs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if inputs.ndim != 2 or inputs.shape[0] < 1 or inputs.shape[1] < 1:
        raise ValueError(f"inputs must have shape (P, N) with P, N >= 1, got {inputs.shape}")
    if labels.shape != (inputs.shape[0],) or not np.all(np.isin(labels, (-1.0, 1.0))):
        raise ValueError(f"labels must hold one entry per pattern ({inputs.shape[0]}), each +1 or -1")
    if not np.all(np.isfinite(inputs)):
        raise ValueError("inputs must be finite")
    return inputs, labels
