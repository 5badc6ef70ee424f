"""Static transfer function of a neuron and its inference from rate distributions.

The model (Lim et al. 2015; Pereira & Brunel 2018): across novel stimuli a neuron receives an
input current ``h ~ N(0, 1)`` (mean and scale are absorbed into the parameters) and fires at

    phi(h) = r_max / (1 + exp(-beta (h - h0))).

Its rates over stimuli are then distributed as ``r = phi(h)``, so the transfer function can be
read off the rate distribution: ``phi(h) = F^{-1}(Phi(h))``, with ``F`` the distribution of rates
and ``Phi`` the standard normal distribution function.

Recorded rates are spike counts. :func:`fit_counts` fits ``(r_max, beta, h0)`` by maximum
likelihood of the counts themselves, integrating the unobserved input of each stimulus out:

    P(N_s) = integral Dz Poisson(N_s; T_s phi(z)),

with ``T_s`` the exposure (trials x window, in seconds) of stimulus ``s``. :func:`fit_quantile_map`
is the naive alternative that treats the measured rates as exact; it is kept to show the bias
that spike-count noise causes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from numba import njit
from scipy import optimize, special, stats

from . import _checkpoint, _validate, threads
from .rng import RandomLike, as_generator

#: Search box of the fits. Rates above 2 kHz or slopes beyond [0.01, 50] per input SD are not
#: physiological; an estimate on the edge of this box means the data do not pin that parameter.
R_MAX_BOUNDS = (0.5, 2000.0)
BETA_BOUNDS = (0.01, 50.0)
H0_BOUNDS = (-20.0, 40.0)


@dataclass(frozen=True)
class TransferParams:
    """Parameters of the sigmoid transfer function, in the papers' symbols.

    Attributes
    ----------
    r_max : float
        Maximal rate (Hz).
    beta : float
        Slope, per standard deviation of the input across novel stimuli.
    h0 : float
        Threshold, in standard deviations of the input.
    """

    r_max: float
    beta: float
    h0: float

    def __post_init__(self):
        _validate.positive("r_max", self.r_max)
        _validate.positive("beta", self.beta)
        if not np.isfinite(self.h0):
            raise ValueError(f"h0 must be a finite number, got {self.h0!r}")

    def as_array(self) -> np.ndarray:
        return np.array([self.r_max, self.beta, self.h0])

    @classmethod
    def from_array(cls, values) -> TransferParams:
        r_max, beta, h0 = (float(v) for v in values)
        return cls(r_max=r_max, beta=beta, h0=h0)


#: Medians of the fits to ITC neurons shipped with Pereira & Brunel (2018).
PUBLISHED_MEDIANS = TransferParams(r_max=76.2, beta=0.824, h0=2.46)

PARAMETER_NAMES = ("r_max", "beta", "h0")
#: Columns of a fit's row (``fit_population``'s table and its checkpoint), in order.
FIT_COLUMNS = ["neuron", "fit_key"] + [
    f"{name}{suffix}" for name in PARAMETER_NAMES for suffix in ("", "_naive", "_lo", "_hi", "_boot_lo", "_boot_hi")
]


def phi(h, params: TransferParams):
    """Rate ``r_max / (1 + exp(-beta (h - h0)))`` for input ``h``."""
    return params.r_max * special.expit(params.beta * (np.asarray(h, dtype=float) - params.h0))


def phi_derivative(h, params: TransferParams):
    """``phi'(h) = beta phi(h) (1 - phi(h) / r_max)``."""
    s = special.expit(params.beta * (np.asarray(h, dtype=float) - params.h0))
    return params.r_max * params.beta * s * (1.0 - s)


def phi_inverse(r, params: TransferParams):
    """Input giving rate ``r``: ``h0 + log(r / (r_max - r)) / beta``, for ``0 < r < r_max``."""
    r = np.asarray(r, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = params.h0 + special.logit(r / params.r_max) / params.beta
    return np.where((r > 0) & (r < params.r_max), h, np.nan)


def rate_density(r, params: TransferParams):
    """Density of rates when the input is standard normal.

    ``p(r) = N(phi^{-1}(r)) / phi'(phi^{-1}(r))`` on ``(0, r_max)``, zero elsewhere.
    """
    r = np.asarray(r, dtype=float)
    h = phi_inverse(r, params)
    inside = np.isfinite(h)
    density = np.zeros_like(r)
    hi = h[inside]
    density[inside] = stats.norm.pdf(hi) / phi_derivative(hi, params)
    return density


def quantile_map(rates) -> tuple[np.ndarray, np.ndarray]:
    """Non-parametric transfer function: the sorted rates against normal quantiles.

    The ``k``-th smallest of ``n`` rates is paired with ``z_k = Phi^{-1}((k - 1/2) / n)``, the
    input that a standard normal reaches with the same probability. Returns ``(z, sorted_rates)``.
    """
    rates = np.asarray(rates, dtype=float)
    if rates.ndim != 1 or rates.size < 3 or not np.all(np.isfinite(rates)):
        raise ValueError("rates must be a 1-d array of at least 3 finite values")
    n = rates.size
    z = stats.norm.ppf((np.arange(1, n + 1) - 0.5) / n)
    return z, np.sort(rates)


# --- parameter vector used by the optimisers: (log r_max, log beta, h0) -----------------------

_LOWER = np.array([np.log(R_MAX_BOUNDS[0]), np.log(BETA_BOUNDS[0]), H0_BOUNDS[0]])
_UPPER = np.array([np.log(R_MAX_BOUNDS[1]), np.log(BETA_BOUNDS[1]), H0_BOUNDS[1]])


def _to_theta(params: TransferParams, clip: bool = True) -> np.ndarray:
    """Optimiser coordinates; clipped into the search box unless ``clip`` is False."""
    theta = np.array([np.log(params.r_max), np.log(params.beta), params.h0])
    return np.clip(theta, _LOWER, _UPPER) if clip else theta


def _from_theta(theta) -> TransferParams:
    return TransferParams(r_max=float(np.exp(theta[0])), beta=float(np.exp(theta[1])), h0=float(theta[2]))


def _initial_guess(rates) -> TransferParams:
    """A rough start: ``r_max`` above the largest rate, the median rate at ``h = 0``."""
    rates = np.asarray(rates, dtype=float)
    r_max = max(1.5 * rates.max(), 1.0)
    median = np.clip(np.median(rates), 0.02 * r_max, 0.9 * r_max)
    beta = 1.0
    return TransferParams(r_max=r_max, beta=beta, h0=float(np.log(r_max / median - 1.0) / beta))


def fit_quantile_map(rates) -> TransferParams:
    """Least-squares sigmoid through the quantile map of the measured rates.

    Treats the rates as exact, so it ignores spike-count noise: the noise widens the measured
    distribution, and this fit turns that into a shallower slope ``beta``.
    """
    z, sorted_rates = quantile_map(rates)

    def residuals(theta):
        r_max, beta, h0 = np.exp(theta[0]), np.exp(theta[1]), theta[2]
        return r_max * special.expit(beta * (z - h0)) - sorted_rates

    start = _to_theta(_initial_guess(sorted_rates))
    with threads.one_blas_thread():  # as every fit here: see helpers.threads
        result = optimize.least_squares(residuals, start, bounds=(_LOWER, _UPPER))
    return _from_theta(result.x)


# --- likelihood of spike counts --------------------------------------------------------------

DEFAULT_NODES = 281


@lru_cache(maxsize=8)
def _quadrature(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Trapezoid nodes on [-7, 7] and log weights for integrals against the normal density.

    A trapezoid rule on a smooth integrand that vanishes at both ends converges exponentially;
    the spacing (0.05 by default) stays below the posterior width of a stimulus's input even for
    counts of several hundred spikes (checked against a finer grid in the tests).
    """
    z = np.linspace(-7.0, 7.0, n_nodes)
    step = z[1] - z[0]
    return z, np.log(step) + stats.norm.logpdf(z)


@njit(cache=True)
def _softplus(x):
    # log(1 + exp(x)) without overflow
    if x > 0:
        return x + np.log1p(np.exp(-x))
    return np.log1p(np.exp(x))


@njit(cache=True)
def _negative_log_likelihood(theta, counts, exposure, weights, z, log_w):
    """Weighted negative log likelihood of counts (up to a constant) and its gradient."""
    log_r_max, log_beta, h0 = theta[0], theta[1], theta[2]
    beta = np.exp(log_beta)
    n_nodes = z.size
    rate = np.empty(n_nodes)
    log_rate = np.empty(n_nodes)
    d_log_rate = np.empty((n_nodes, 3))  # d log phi(z_q) / d theta
    for q in range(n_nodes):
        u = beta * (z[q] - h0)
        log_rate[q] = log_r_max - _softplus(-u)
        rate[q] = np.exp(log_rate[q])
        one_minus_s = np.exp(-_softplus(u))
        d_log_rate[q, 0] = 1.0
        d_log_rate[q, 1] = one_minus_s * u
        d_log_rate[q, 2] = -one_minus_s * beta
    log_a = np.empty(n_nodes)
    terms = np.empty(n_nodes)
    total = 0.0
    grad = np.zeros(3)
    for s in range(counts.size):
        if weights[s] == 0.0:
            continue
        n = counts[s]
        t = exposure[s]
        log_t = np.log(t)
        peak = -np.inf
        for q in range(n_nodes):
            log_a[q] = log_w[q] + n * (log_t + log_rate[q]) - t * rate[q]
            if log_a[q] > peak:
                peak = log_a[q]
        # nodes more than e^-36 below the peak add nothing at double precision: skip their exp
        acc = 0.0
        for q in range(n_nodes):
            d = log_a[q] - peak
            terms[q] = np.exp(d) if d > -36.0 else 0.0
            acc += terms[q]
        total += weights[s] * (peak + np.log(acc))
        # gradient: posterior average over z of (N - lambda) d log lambda / d theta
        for q in range(n_nodes):
            if terms[q] == 0.0:
                continue
            factor = weights[s] * (terms[q] / acc) * (n - t * rate[q])
            for k in range(3):
                grad[k] += factor * d_log_rate[q, k]
    return -total, -grad


def _check_counts(counts, exposure):
    counts = np.asarray(counts, dtype=float)
    exposure = np.broadcast_to(np.asarray(exposure, dtype=float), counts.shape).copy()
    if counts.ndim != 1 or counts.size < 3:
        raise ValueError(f"counts must be a 1-d array with at least 3 stimuli, got shape {counts.shape}")
    if np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ValueError("counts must be non-negative integers (spike counts summed over trials)")
    if np.any(~np.isfinite(exposure)) or np.any(exposure <= 0):
        raise ValueError("exposure must be > 0 seconds for every stimulus (trials x window)")
    return counts, exposure


def log_likelihood(params: TransferParams, counts, exposure, n_nodes: int = DEFAULT_NODES) -> float:
    """Log likelihood of spike counts under Gaussian input and Poisson spiking.

    ``sum_s log integral Dz Poisson(N_s; T_s phi(z))``, including the ``-log N_s!`` terms.
    """
    counts, exposure = _check_counts(counts, exposure)
    z, log_w = _quadrature(n_nodes)
    theta = _to_theta(params, clip=False)
    nll, _ = _negative_log_likelihood(theta, counts, exposure, np.ones_like(counts), z, log_w)
    return float(-nll - special.gammaln(counts + 1).sum())


def count_distribution(params: TransferParams, exposure: float, max_count: int, n_nodes: int = DEFAULT_NODES):
    """``P(N = k)`` for ``k = 0 .. max_count`` of the spike count in ``exposure`` seconds."""
    _validate.positive("exposure", exposure)
    _validate.integer_at_least("max_count", max_count, 0)
    z, log_w = _quadrature(n_nodes)
    lam = exposure * phi(z, params)
    k = np.arange(max_count + 1)[:, None]
    return np.exp(special.logsumexp(log_w + stats.poisson.logpmf(k, lam), axis=1))


def _distinct(counts, exposure, weights):
    """Merge stimuli with equal (count, exposure): they share one likelihood term."""
    pairs, inverse = np.unique(np.stack([counts, exposure], axis=1), axis=0, return_inverse=True)
    return pairs[:, 0].copy(), pairs[:, 1].copy(), np.bincount(inverse.ravel(), weights=weights)


def _maximise(counts, exposure, weights, starts, n_nodes, bounds=None):
    z, log_w = _quadrature(n_nodes)
    counts, exposure, weights = _distinct(counts, exposure, weights)
    bounds = list(zip(_LOWER, _UPPER, strict=True)) if bounds is None else bounds
    best = None
    # Thousands of small likelihood evaluations: BLAS threads only wait for each other (threads).
    with threads.one_blas_thread():
        for start in starts:
            result = optimize.minimize(
                _negative_log_likelihood,
                start,
                args=(counts, exposure, weights, z, log_w),
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": 500, "gtol": 1e-7, "ftol": 1e-13},
            )
            if best is None or result.fun < best.fun:
                best = result
    return best.x, best.fun


def fit_counts(counts, exposure, n_nodes: int = DEFAULT_NODES) -> TransferParams:
    """Maximum-likelihood ``(r_max, beta, h0)`` from spike counts, one value per stimulus.

    Parameters
    ----------
    counts : array of int
        Spikes of one neuron per novel stimulus, summed over that stimulus's trials.
    exposure : float or array
        Seconds of recording behind each count (number of trials x response window).

    The likelihood integrates each stimulus's unknown input over ``N(0, 1)``; it is maximised
    from two starts (the quantile-map fit and the published medians) to avoid a poor local optimum.
    """
    counts, exposure = _check_counts(counts, exposure)
    starts = [_to_theta(fit_quantile_map(counts / exposure)), _to_theta(PUBLISHED_MEDIANS)]
    theta, _ = _maximise(counts, exposure, np.ones_like(counts), starts, n_nodes)
    return _from_theta(theta)


def profile_interval(
    counts, exposure, level: float = 0.95, estimate: TransferParams | None = None, n_nodes: int = DEFAULT_NODES
) -> np.ndarray:
    """Profile-likelihood intervals of ``(r_max, beta, h0)``, shape (3, 2).

    For each parameter, the interval holds the values whose profile log likelihood (the other two
    re-maximised) lies within ``chi2_1(level) / 2`` of the maximum (Wilks' theorem). Unlike a
    percentile bootstrap it follows the curved ridge along which ``r_max`` and ``h0`` trade off
    when the rates stay far below saturation. An end on the search box (:data:`R_MAX_BOUNDS`,
    ...) means the data do not bound the parameter on that side.
    """
    counts, exposure = _check_counts(counts, exposure)
    _validate.in_range("level", level, 0.5, 0.999)
    if estimate is None:
        estimate = fit_counts(counts, exposure, n_nodes=n_nodes)
    ones = np.ones_like(counts)
    theta_hat = _to_theta(estimate)
    z, log_w = _quadrature(n_nodes)
    nll_hat = _negative_log_likelihood(theta_hat, counts, exposure, ones, z, log_w)[0]
    drop = stats.chi2.ppf(level, 1) / 2
    intervals = np.empty((3, 2))
    for k in range(3):

        def excess(value, warm, k=k):
            """Profile deficit at theta_k = value, minus the allowed drop (> 0: outside)."""
            bounds = list(zip(_LOWER, _UPPER, strict=True))
            bounds[k] = (value, value)
            x0 = warm.copy()
            x0[k] = value
            theta, nll = _maximise(counts, exposure, ones, [x0], n_nodes, bounds=bounds)
            warm[:] = theta
            return nll - nll_hat - drop

        for side, edge in ((0, _LOWER[k]), (1, _UPPER[k])):
            direction = 1.0 if side else -1.0
            warm = theta_hat.copy()
            inner, step = theta_hat[k], 0.05
            while True:  # step outwards, doubling, until the profile drops out of the interval
                outer = float(np.clip(inner + direction * step, _LOWER[k], _UPPER[k]))
                outside = excess(outer, warm) > 0
                if outside or outer == edge:
                    break
                inner, step = outer, 2 * step
            if not outside:
                intervals[k, side] = edge
                continue
            for _ in range(10):  # bisection on the bracket: inside at `inner`, outside at `outer`
                middle = 0.5 * (inner + outer)
                if excess(middle, warm.copy()) > 0:
                    outer = middle
                else:
                    inner = middle
            intervals[k, side] = 0.5 * (inner + outer)
    intervals[:2] = np.exp(intervals[:2])
    return intervals


def bootstrap_estimates(
    counts, exposure, estimate: TransferParams, n_boot: int, rng: RandomLike = None, n_nodes: int = DEFAULT_NODES
) -> np.ndarray:
    """Estimates of ``(r_max, beta, h0)`` on ``n_boot`` stimulus-resampled data sets.

    Each replicate redraws the stimuli with replacement (multinomial weights on the observed
    counts) and refits, starting from the full-data ``estimate``. Shape (n_boot, 3).
    """
    counts, exposure = _check_counts(counts, exposure)
    _validate.integer_at_least("n_boot", n_boot, 1)
    rng = as_generator(rng)
    theta_hat = _to_theta(estimate)
    n = counts.size
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    samples = np.empty((n_boot, 3))
    for b in range(n_boot):
        theta, _ = _maximise(counts, exposure, weights[b], [theta_hat], n_nodes)
        samples[b] = np.exp(theta[0]), np.exp(theta[1]), theta[2]
    return samples


@dataclass(frozen=True)
class TransferFit:
    """A neuron's fitted transfer function and the uncertainty of the fit.

    Attributes
    ----------
    estimate : TransferParams
        Maximum-likelihood estimate from the spike counts (:func:`fit_counts`).
    naive : TransferParams
        Least-squares fit to the quantile map of measured rates (:func:`fit_quantile_map`).
    profile : ndarray, shape (3, 2)
        Profile-likelihood intervals of ``r_max, beta, h0`` at ``level``.
    bootstrap : ndarray, shape (n_boot, 3)
        Bootstrap estimates (:func:`bootstrap_estimates`); empty if ``n_boot = 0``.
    level : float
    """

    estimate: TransferParams
    naive: TransferParams
    profile: np.ndarray
    bootstrap: np.ndarray
    level: float

    def bootstrap_interval(self) -> np.ndarray:
        """Percentile bootstrap intervals at ``level``, shape (3, 2)."""
        if len(self.bootstrap) == 0:
            raise ValueError("this fit has no bootstrap samples (n_boot=0)")
        tail = 100 * (1 - self.level) / 2
        return np.percentile(self.bootstrap, [tail, 100 - tail], axis=0).T


def fit_neuron(
    counts, exposure, n_boot: int = 200, level: float = 0.95, rng: RandomLike = None, n_nodes: int = DEFAULT_NODES
) -> TransferFit:
    """Fit one neuron's transfer function from its spike counts over novel stimuli.

    Parameters
    ----------
    counts : array of int
        Spikes per stimulus, summed over the stimulus's trials.
    exposure : float or array
        Seconds of recording behind each count (trials x window).
    n_boot : int
        Bootstrap replicates (0 for none).
    level : float
        Confidence level of the intervals.
    rng : Generator, int or None
        Randomness of the bootstrap.
    """
    counts, exposure = _check_counts(counts, exposure)
    n_boot = _validate.integer_at_least("n_boot", n_boot, 0)
    estimate = fit_counts(counts, exposure, n_nodes=n_nodes)
    profile = profile_interval(counts, exposure, level=level, estimate=estimate, n_nodes=n_nodes)
    bootstrap = bootstrap_estimates(counts, exposure, estimate, n_boot, rng, n_nodes) if n_boot else np.empty((0, 3))
    return TransferFit(
        estimate=estimate,
        naive=fit_quantile_map(counts / exposure),
        profile=profile,
        bootstrap=bootstrap,
        level=level,
    )


def fit_neurons(
    count_sets, exposure_sets, n_boot: int = 200, level: float = 0.95, rng: RandomLike = None
) -> list[TransferFit]:
    """:func:`fit_neuron` for many neurons.

    Each neuron gets its own generator spawned from ``rng``: a neuron's bootstrap does not
    depend on how many neurons come before it.
    """
    count_sets, exposure_sets = list(count_sets), list(exposure_sets)
    if len(count_sets) != len(exposure_sets):
        raise ValueError("count_sets and exposure_sets must have one entry per neuron")
    generators = as_generator(rng).spawn(len(count_sets))
    return [fit_neuron(c, e, n_boot, level, g) for c, e, g in zip(count_sets, exposure_sets, generators, strict=True)]


def _fit_key(group, n_boot, level, generator) -> str:
    """A short hash of everything a neuron's fit depends on, to recognise it in a checkpoint."""
    digest = hashlib.sha256()
    for column in ("spike_count", "exposure"):
        digest.update(np.ascontiguousarray(group[column].to_numpy(dtype=float)).tobytes())
    seed = generator.bit_generator.seed_seq
    digest.update(repr((n_boot, float(level), seed.entropy, seed.spawn_key)).encode())
    return digest.hexdigest()[:16]


def fit_population(novel_totals, n_boot: int = 200, level: float = 0.95, rng: RandomLike = None, checkpoint=None):
    """Fit every neuron of a table of novel-stimulus totals; one row of results per neuron.

    Parameters
    ----------
    novel_totals : DataFrame
        Columns ``neuron, spike_count, exposure``, one row per novel stimulus (as given by
        ``helpers.data.stimulus_totals``, restricted to ``condition == "novel"``).
    n_boot, level, rng
        As in :func:`fit_neuron`. Neuron ``k`` (in sorted order) always gets the ``k``-th
        generator spawned from ``rng``.
    checkpoint : path or None
        CSV file the results are appended to as each neuron finishes. Neurons already in it are
        not fitted again, so an interrupted run resumes where it stopped, with the same results.
        Each row keeps a key of what produced it (the neuron's counts, ``n_boot``, ``level`` and
        its generator's seed); a row made from other data or settings stops the run.

    Returns
    -------
    DataFrame
        ``neuron``; for each parameter ``p`` in ``r_max, beta, h0``: the estimate ``p``, the naive
        fit ``p_naive``, the profile interval ``p_lo, p_hi`` and the bootstrap interval
        ``p_boot_lo, p_boot_hi`` (NaN when ``n_boot = 0``).
    """
    missing = [c for c in ("neuron", "spike_count", "exposure") if c not in novel_totals.columns]
    if missing:
        raise ValueError(f"novel_totals needs columns neuron, spike_count, exposure; missing {missing}")
    groups = dict(tuple(novel_totals.groupby("neuron", sort=True)))
    neurons = sorted(groups)
    generators = dict(zip(neurons, as_generator(rng).spawn(len(neurons)), strict=True))
    done = _checkpoint.read_log(checkpoint, FIT_COLUMNS, dtype={"neuron": str, "fit_key": str})
    done = pd.DataFrame() if done is None else done[done["neuron"].isin(neurons)]
    saved_keys = dict(zip(done["neuron"], done["fit_key"], strict=True)) if len(done) else {}
    rows = []
    for neuron in neurons:
        group = groups[neuron]
        key = _fit_key(group, n_boot, level, generators[neuron])
        if neuron in saved_keys:
            if saved_keys[neuron] != key:
                raise ValueError(
                    f"checkpoint {Path(checkpoint).name} holds a fit of neuron {neuron!r} made from other data, "
                    "n_boot, level or seed; delete the file or name another checkpoint"
                )
            continue
        fit = fit_neuron(
            group["spike_count"].to_numpy(), group["exposure"].to_numpy(), n_boot, level, generators[neuron]
        )
        boot = fit.bootstrap_interval() if n_boot else np.full((3, 2), np.nan)
        row = {"neuron": neuron, "fit_key": key}
        for k, name in enumerate(PARAMETER_NAMES):
            row[name] = getattr(fit.estimate, name)
            row[f"{name}_naive"] = getattr(fit.naive, name)
            row[f"{name}_lo"], row[f"{name}_hi"] = fit.profile[k]
            row[f"{name}_boot_lo"], row[f"{name}_boot_hi"] = boot[k]
        rows.append(row)
        if checkpoint is not None:
            _checkpoint.append_to_log(checkpoint, row)
    parts = [part for part in (done, pd.DataFrame(rows)) if len(part)]
    results = pd.concat(parts, ignore_index=True)
    return results.sort_values("neuron").reset_index(drop=True)
