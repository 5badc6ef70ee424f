"""Sparse recurrent rate networks: connectivity, Hebbian weights, patterns and rate dynamics.

The model of Pereira & Brunel (2018). Neuron ``i`` receives from neuron ``j`` when ``c_ij = 1``;
after storing ``p`` patterns with a separable rule the weights are

    J_ij = A / (c N) * c_ij * sum_mu f(eta_i^mu) g(eta_j^mu),    eta^mu = phi(xi^mu),

and the rates follow ``tau dr/dt = -r + phi(J r + I)``.

Weights are held in compressed sparse row form (row ``i`` lists the pre-synaptic neurons of
``i``) and are built directly in that form by a numba kernel: the dense ``N x N`` matrix is never
made, so a paper-scale network (N = 50 000, c = 0.005) costs about the memory of its synapses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from scipy import sparse, stats

from . import _validate, threads
from ._llvm import prefetch
from .rng import RandomLike, as_generator
from .rules import RuleParams, balanced_q_g, correlated_average, gaussian_moments, post_factor, pre_factor
from .transfer import TransferParams, phi

#: Rows of the connectivity drawn per block: bounds the memory of the uniform draws.
_ROWS_PER_BLOCK = 4096
#: Elements per block when the rule factors are evaluated (about 256 KiB of float64).
_FACTOR_BLOCK_ELEMENTS = 32768


# --- connectivity -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Connectivity:
    """Who receives from whom, in compressed sparse row form.

    Attributes
    ----------
    indptr : int64 array, shape (N + 1,)
        Row ``i`` (post-synaptic neuron ``i``) owns ``indices[indptr[i]:indptr[i + 1]]``.
    indices : uint16 or uint32 array
        Pre-synaptic neurons, sorted within each row; no self-connections. The smallest unsigned
        type that holds ``N - 1`` (uint16 up to 65 536 neurons): the rate dynamics read every index
        at every step, and two bytes instead of four cut what a step reads per synapse from eight
        bytes to six.
    c : float
        Connection probability the connectivity was drawn with (fixes the scale ``A / (c N)``).
    """

    indptr: np.ndarray
    indices: np.ndarray
    c: float

    @property
    def n_neurons(self) -> int:
        return self.indptr.size - 1

    @property
    def n_synapses(self) -> int:
        return int(self.indptr[-1])

    @property
    def in_degrees(self) -> np.ndarray:
        return np.diff(self.indptr)

    @property
    def nbytes(self) -> int:
        return self.indptr.nbytes + self.indices.nbytes


@numba.njit(cache=True)
def _sample_rows(counts, uniforms, n_candidates, first_row, indptr, indices):
    """Fill rows ``first_row ...`` with ``counts[k]`` distinct pre-synaptic neurons each.

    Floyd's algorithm draws a uniformly random subset of ``{0, ..., n_candidates - 1}`` from one
    uniform number per element; a stamp array marks what the current row has taken, so no array
    is cleared between rows. Candidates at or above the row's own index are shifted by one, which
    leaves out the self-connection.
    """
    taken = np.full(n_candidates, -1, dtype=np.int64)
    used = 0
    for k in range(counts.size):
        row = first_row + k
        start = indptr[row]
        m = counts[k]
        for t in range(m):
            top = n_candidates - m + t  # Floyd: choose in [0, top]
            choice = int(uniforms[used + t] * (top + 1))
            if choice > top:  # guards a uniform rounded up to 1.0
                choice = top
            if taken[choice] == row:
                choice = top
            taken[choice] = row
            indices[start + t] = choice
        used += m
        segment = indices[start : start + m]
        segment.sort()
        for t in range(m):
            if segment[t] >= row:
                segment[t] += 1


def random_connectivity(
    n_neurons: int, c: float, rng: RandomLike = None, fixed_in_degree: bool = False
) -> Connectivity:
    """Draw a random sparse connectivity without self-connections.

    Parameters
    ----------
    n_neurons : int
        N, at least 2.
    c : float
        Connection probability in (0, 1].
    rng : Generator, int or None
        Source of every random draw.
    fixed_in_degree : bool
        ``False`` (default): each ``c_ij`` is an independent Bernoulli(c) variable, as in Pereira &
        Brunel (2018); the in-degrees are Binomial(N - 1, c). ``True``: every neuron receives
        exactly ``K = round(c (N - 1))`` inputs chosen uniformly.
    """
    n = _validate.integer_at_least("n_neurons", n_neurons, 2)
    c = _validate.in_range("c", c, 0.0, 1.0)
    if c == 0.0:
        raise ValueError("c must be in (0, 1], got 0.0")
    if n > np.iinfo(np.int32).max:
        raise ValueError(f"n_neurons must be below 2**31, got {n}")
    index_type = np.uint16 if n - 1 <= np.iinfo(np.uint16).max else np.uint32
    rng = as_generator(rng)
    n_candidates = n - 1
    if fixed_in_degree:
        counts = np.full(n, int(round(c * n_candidates)), dtype=np.int64)
    else:
        counts = rng.binomial(n_candidates, c, size=n).astype(np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.empty(indptr[-1], dtype=index_type)
    for first in range(0, n, _ROWS_PER_BLOCK):
        block = counts[first : first + _ROWS_PER_BLOCK]
        _sample_rows(block, rng.random(int(block.sum())), n_candidates, first, indptr, indices)
    return Connectivity(indptr=indptr, indices=indices, c=c)


# --- weights ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SparseWeights:
    """Synaptic weights on a connectivity: ``values[k]`` is the weight of synapse ``k``.

    ``J_ij`` for ``j = connectivity.indices[k]`` and ``indptr[i] <= k < indptr[i + 1]``.
    """

    connectivity: Connectivity
    values: np.ndarray

    def __post_init__(self):
        if self.values.shape != (self.connectivity.n_synapses,):
            raise ValueError(
                f"values must hold one weight per synapse ({self.connectivity.n_synapses}), got shape "
                f"{self.values.shape}"
            )

    @property
    def n_neurons(self) -> int:
        return self.connectivity.n_neurons

    @property
    def nbytes(self) -> int:
        return self.connectivity.nbytes + self.values.nbytes

    def to_scipy(self) -> sparse.csr_matrix:
        """The same matrix as a ``scipy.sparse.csr_matrix`` (shares no memory)."""
        n = self.n_neurons
        conn = self.connectivity
        indices = conn.indices.astype(np.int32)  # scipy's own index type
        return sparse.csr_matrix((self.values.copy(), indices, conn.indptr.copy()), shape=(n, n))

    def field(self, rates) -> np.ndarray:
        """Recurrent input ``sum_j J_ij r_j`` for every neuron ``i``."""
        rates = np.ascontiguousarray(rates, dtype=np.float64)
        if rates.shape != (self.n_neurons,):
            raise ValueError(f"rates must have shape ({self.n_neurons},), got {rates.shape}")
        out = np.empty(self.n_neurons)
        with threads.for_work(self.connectivity.n_synapses):
            _field(self.connectivity.indptr, self.connectivity.indices, self.values, rates, out)
        return out


@numba.njit(parallel=True, fastmath=True, cache=True)
def _hebbian_kernel(indptr, indices, post, pre, scale, out):
    """``out[k] = scale * post[i] . pre[j]`` for each synapse ``k`` from ``j`` onto ``i``.

    ``post`` and ``pre`` are (N, p) float32 arrays of f and g over the patterns; row ``i`` of
    ``post`` stays in cache while the kernel sweeps its synapses, and each ``pre[j]`` is one
    contiguous read of ``p`` numbers.
    """
    n_patterns = post.shape[1]
    for i in numba.prange(indptr.size - 1):
        post_i = post[i]
        for k in range(indptr[i], indptr[i + 1]):
            pre_j = pre[indices[k]]
            total = np.float32(0.0)
            for mu in range(n_patterns):
                total += post_i[mu] * pre_j[mu]
            out[k] = scale * total


@dataclass(frozen=True)
class RuleFactors:
    """``f`` and ``g`` of a rule evaluated on rate patterns: the two sides of every weight."""

    post: np.ndarray  # (N, p) float32: f(eta_i^mu)
    pre: np.ndarray  # (N, p) float32: g(eta_j^mu)
    q_g: float


def rule_factors(rates, transfer: TransferParams, rule: RuleParams) -> RuleFactors:
    """Evaluate ``f`` and ``g`` on rate patterns ``rates`` of shape (p, N).

    ``q_g`` is balanced over Gaussian inputs through ``transfer`` (``rules.balanced_q_g``), so
    that ``g`` averages to zero over the rates the patterns are drawn from.
    """
    return _factors(rates, transfer, rule, from_inputs=False)


def _factors(patterns, transfer: TransferParams, rule: RuleParams, from_inputs: bool) -> RuleFactors:
    patterns = np.asarray(patterns)
    if patterns.ndim != 2:
        raise ValueError(f"patterns must have shape (p, N), got {patterns.shape}")
    n_patterns, n = patterns.shape
    q_g = balanced_q_g(rule, transfer)
    post = np.empty((n, n_patterns), dtype=np.float32)
    pre = np.empty((n, n_patterns), dtype=np.float32)
    # Blocks of neurons small enough for the temporaries to stay in cache, in float32 (the
    # precision the weights are stored in): numpy's vectorised exp and tanh then run at full
    # speed, and nothing of size p x N is allocated besides the two results. The formulas are
    # those of transfer.phi, rules.post_factor and rules.pre_factor (a unit test holds them equal).
    # Threads over the blocks were tried and gained nothing measurable on two cores.
    block = max(1, _FACTOR_BLOCK_ELEMENTS // n_patterns)
    one, half = np.float32(1.0), np.float32(0.5)
    post_offset, pre_offset = np.float32(2 * rule.q_f - 1), np.float32(2 * q_g - 1)
    beta_f, x_f = np.float32(rule.beta_f), np.float32(rule.x_f)
    beta_g, x_g = np.float32(rule.pre_slope), np.float32(rule.pre_centre)
    r_max, beta, h0 = np.float32(transfer.r_max), np.float32(transfer.beta), np.float32(transfer.h0)

    for first in range(0, n, block):
        rates = np.array(patterns[:, first : first + block].T, dtype=np.float32)
        if from_inputs:
            with np.errstate(over="ignore"):
                rates = r_max / (one + np.exp(-beta * (rates - h0)))
        post[first : first + rates.shape[0]] = half * (post_offset + np.tanh(beta_f * (rates - x_f)))
        pre[first : first + rates.shape[0]] = half * (pre_offset + np.tanh(beta_g * (rates - x_g)))
    return RuleFactors(post=post, pre=pre, q_g=q_g)


def weight_scale(rule: RuleParams, connectivity: Connectivity) -> float:
    """``A / (c N)``: the prefactor of every weight."""
    return rule.A / (connectivity.c * connectivity.n_neurons)


def hebbian_weights(
    connectivity: Connectivity, patterns, transfer: TransferParams, rule: RuleParams
) -> SparseWeights:
    """Store input patterns with a separable rule, in one shot (Pereira & Brunel 2018, eq. 3).

    ``J_ij = A / (c N) * c_ij * sum_mu f(phi(xi_i^mu)) g(phi(xi_j^mu))``.

    Parameters
    ----------
    connectivity : Connectivity
        Where the synapses are.
    patterns : array, shape (p, N)
        Input patterns ``xi^mu``; their rates ``eta^mu = phi(xi^mu)`` enter the rule.
    transfer, rule
        The transfer function and the rule (``rules.PUBLISHED_RULE`` or a fit).

    Returns
    -------
    SparseWeights with float32 values, built synapse by synapse in parallel.
    """
    patterns = _check_patterns(patterns, connectivity.n_neurons)
    factors = _factors(patterns, transfer, rule, from_inputs=True)
    values = np.empty(connectivity.n_synapses, dtype=np.float32)
    scale = np.float32(weight_scale(rule, connectivity))
    with threads.for_work(connectivity.n_synapses * factors.post.shape[1]):
        _hebbian_kernel(connectivity.indptr, connectivity.indices, factors.post, factors.pre, scale, values)
    return SparseWeights(connectivity, values)


def _check_patterns(patterns, n_neurons: int) -> np.ndarray:
    patterns = np.asarray(patterns, dtype=float)
    if patterns.ndim != 2 or patterns.shape[1] != n_neurons or patterns.shape[0] < 1:
        raise ValueError(f"patterns must have shape (p, {n_neurons}) with p >= 1, got {patterns.shape}")
    if not np.all(np.isfinite(patterns)):
        raise ValueError("patterns must be finite")
    return patterns


# --- weight statistics: theory and measurement -------------------------------------------------


@dataclass(frozen=True)
class WeightStatistics:
    """Mean, spread and shape of the weights of connected pairs."""

    mean: float
    sd: float
    skewness: float
    excess_kurtosis: float
    fraction_negative: float


def predicted_weight_statistics(
    transfer: TransferParams, rule: RuleParams, n_patterns: int, connectivity: Connectivity, correlation=None
) -> WeightStatistics:
    """Distribution of ``J_ij`` over connected pairs, from the Gaussian moments of ``f`` and ``g``.

    For ``i != j`` the neurons are independent, so with independent patterns ``J_ij`` is
    ``A / (c N)`` times a sum of ``p`` independent copies of ``X = f(phi(x)) g(phi(y))``, and
    ``E[X^k] = E[f^k] E[g^k]``. The cumulants of the sum are ``p`` times those of ``X``, which give
    the mean, variance, skewness and excess kurtosis. The fraction of negative weights needs the
    whole distribution (it is far from normal at small ``p``): see
    :func:`predicted_weight_distribution`.

    With a pattern ``correlation`` matrix ``C`` (p x p), the variance becomes
    ``sum_{mu,nu} E[f^mu f^nu] E[g^mu g^nu] - (p E[f] E[g])^2`` with the pair averages taken at
    correlation ``C_mu,nu`` (``rules.correlated_average``); the shape is then not predicted
    (skewness, kurtosis and the fraction negative are NaN).
    """
    p = _validate.integer_at_least("n_patterns", n_patterns, 1)
    scale = weight_scale(rule, connectivity)
    post, pre = gaussian_moments(rule, transfer, max_order=4)
    raw = post * pre  # E[X^k], k = 1..4
    k1 = raw[0]
    k2 = raw[1] - raw[0] ** 2
    k3 = raw[2] - 3 * raw[1] * raw[0] + 2 * raw[0] ** 3
    k4 = raw[3] - 4 * raw[2] * raw[0] - 3 * raw[1] ** 2 + 12 * raw[1] * raw[0] ** 2 - 6 * raw[0] ** 4
    mean, variance = p * k1, p * k2
    skewness, kurtosis = k3 / (np.sqrt(p) * k2**1.5), k4 / (p * k2**2)
    if correlation is None:
        centres, density = predicted_weight_distribution(transfer, rule, p, connectivity)
        width = centres[1] - centres[0]
        # each bin's mass spread uniformly over the bin, so the bin holding zero counts in part
        below = np.clip((0.0 - (centres - width / 2)) / width, 0.0, 1.0)
        fraction = float(np.sum(density * below) * width)
    else:
        correlation = np.asarray(correlation, dtype=float)
        if correlation.shape != (p, p):
            raise ValueError(f"correlation must have shape ({p}, {p}), got {correlation.shape}")
        grid = np.linspace(-1, 1, 201)
        q_g = balanced_q_g(rule, transfer)
        f_pairs = correlated_average(lambda r: post_factor(r, rule), lambda r: post_factor(r, rule), transfer, grid)
        g_pairs = correlated_average(
            lambda r: pre_factor(r, rule, q_g), lambda r: pre_factor(r, rule, q_g), transfer, grid
        )
        off = ~np.eye(p, dtype=bool)
        pairs = np.interp(correlation[off], grid, f_pairs) * np.interp(correlation[off], grid, g_pairs)
        variance = p * raw[1] + pairs.sum() - mean**2
        skewness = kurtosis = fraction = np.nan
    return WeightStatistics(
        mean=float(scale * mean), sd=float(scale * np.sqrt(variance)), skewness=float(skewness),
        excess_kurtosis=float(kurtosis), fraction_negative=float(fraction),
    )


def predicted_weight_distribution(
    transfer: TransferParams, rule: RuleParams, n_patterns: int, connectivity: Connectivity,
    n_levels: int = 2000, n_bins: int = 8192,
):
    """Density of ``J_ij`` over connected pairs, for independent patterns.

    The law of ``X = f(phi(x)) g(phi(y))`` is tabulated on ``n_bins`` bins from ``n_levels``
    equally likely quantiles of each factor (``f`` and ``g`` are monotone in their Gaussian
    input, so their quantiles are the factors at Gaussian quantiles), and the ``p``-fold
    convolution is taken by FFT. Returns ``(centres, density)`` in units of weight.
    """
    p = _validate.integer_at_least("n_patterns", n_patterns, 1)
    levels = stats.norm.ppf((np.arange(n_levels) + 0.5) / n_levels)
    rates = phi(levels, transfer)
    q_g = balanced_q_g(rule, transfer)
    products = np.multiply.outer(post_factor(rates, rule), pre_factor(rates, rule, q_g)).ravel()
    low, high = products.min(), products.max()
    width = (high - low) / (n_bins - 1)
    mass = np.bincount(np.rint((products - low) / width).astype(np.int64), minlength=n_bins) / products.size
    size = p * (n_bins - 1) + 1
    summed = np.fft.irfft(np.fft.rfft(mass, size) ** p, size)  # the grid of the sum starts at p * low
    summed = np.clip(summed, 0.0, None)
    summed /= summed.sum()
    scale = weight_scale(rule, connectivity)
    centres = scale * (p * low + width * np.arange(size))
    return centres, summed / (scale * width)


def weight_statistics(weights: SparseWeights) -> WeightStatistics:
    """The same quantities measured on a network's weights (all synapses)."""
    values = weights.values.astype(np.float64)
    return WeightStatistics(
        mean=float(values.mean()), sd=float(values.std()), skewness=float(stats.skew(values)),
        excess_kurtosis=float(stats.kurtosis(values)), fraction_negative=float(np.mean(values < 0)),
    )


# --- patterns ---------------------------------------------------------------------------------


def pattern_loadings(n_patterns: int, structure: str, n_factors: int, rng: RandomLike = None) -> np.ndarray:
    """Unit-norm loadings ``L`` (p, k) of each pattern on ``k`` shared factors.

    ``"independent"``: no shared factor (k = 0). ``"block"``: pattern ``mu`` belongs to class
    ``mu mod k`` and loads on that class's factor only, so patterns of one class are correlated and
    patterns of different classes are not. ``"low_rank"``: Gaussian loadings normalised to unit
    length, so every pair is correlated, more or less.
    """
    p = _validate.integer_at_least("n_patterns", n_patterns, 1)
    if structure == "independent":
        return np.zeros((p, 0))
    k = _validate.integer_at_least("n_factors", n_factors, 1)
    if structure == "block":
        loadings = np.zeros((p, k))
        loadings[np.arange(p), np.arange(p) % k] = 1.0
        return loadings
    if structure == "low_rank":
        loadings = as_generator(rng).standard_normal((p, k))
        return loadings / np.linalg.norm(loadings, axis=1, keepdims=True)
    raise ValueError(f"structure must be 'independent', 'block' or 'low_rank', got {structure!r}")


def pattern_correlation(loadings, rho: float) -> np.ndarray:
    """Correlation between patterns, ``C = rho L L^T + (1 - rho) I`` (unit diagonal)."""
    loadings = np.asarray(loadings, dtype=float)
    rho = _validate.in_range("rho", rho, 0.0, 0.999)
    p = loadings.shape[0]
    if loadings.shape[1] == 0:
        return np.eye(p)
    return rho * loadings @ loadings.T + (1 - rho) * np.eye(p)


def draw_patterns(n_neurons: int, n_patterns: int, rng: RandomLike = None, rho: float = 0.0, loadings=None):
    """Input patterns ``xi^mu``, shape (p, N), Gaussian with unit variance for every neuron.

    Neurons are independent; across patterns each neuron's inputs have the correlation
    ``pattern_correlation(loadings, rho)``:

        xi_i^mu = sqrt(rho) sum_k L_mu,k z_i^k + sqrt(1 - rho) eps_i^mu,   z, eps ~ N(0, 1).

    Without ``loadings`` (or with ``rho = 0``) the patterns are independent, as in the paper.
    """
    n = _validate.integer_at_least("n_neurons", n_neurons, 1)
    p = _validate.integer_at_least("n_patterns", n_patterns, 1)
    rho = _validate.in_range("rho", rho, 0.0, 0.999)
    rng = as_generator(rng)
    patterns = rng.standard_normal((p, n))
    if loadings is None or rho == 0.0:
        return patterns
    loadings = np.asarray(loadings, dtype=float)
    if loadings.ndim != 2 or loadings.shape[0] != p:
        raise ValueError(f"loadings must have shape ({p}, k), got {loadings.shape}")
    factors = rng.standard_normal((loadings.shape[1], n))
    return np.sqrt(rho) * (loadings @ factors) + np.sqrt(1 - rho) * patterns


# --- rate dynamics ----------------------------------------------------------------------------


#: Offsets into the synapse arrays are unsigned: numba then skips its negative-index wrap-around
#: test on every access, which cost about 20 % of a step (signed offsets read from ``indptr``
#: could be negative as far as the compiler knows).
_ONE, _TWO, _THREE, _FOUR = numba.uint64(1), numba.uint64(2), numba.uint64(3), numba.uint64(4)
#: Trials advanced together by the batch kernel: eight float32 rates fill one 256-bit register.
_TRIAL_BLOCK = 8
#: How many synapses ahead the batch kernel prefetches the rates it will gather: 8 to 32 gave the
#: same speed at N = 50 000 (about 1.3 times faster than none), 64 was slower.
_PREFETCH_AHEAD = numba.uint64(16)


@numba.njit(cache=True, inline="always")
def _row_field(indptr, indices, values, rates, i):
    """``sum_k values[k] rates[indices[k]]`` over row ``i``: the recurrent input of neuron ``i``.

    Deliberately not ``fastmath``: LLVM would vectorise the gather ``rates[indices[k]]`` into
    AVX-512 gather instructions, which are microcoded on AMD Zen 4 and made the loop twice as
    slow. Four independent partial sums instead hide the latency of the floating-point adds.
    """
    k = numba.uint64(indptr[i])
    stop = numba.uint64(indptr[i + 1])
    stop4 = k + (stop - k) // _FOUR * _FOUR
    s0 = s1 = s2 = s3 = rates.dtype.type(0.0)  # float32 sums for the float32 state
    while k < stop4:
        s0 += values[k] * rates[indices[k]]
        s1 += values[k + _ONE] * rates[indices[k + _ONE]]
        s2 += values[k + _TWO] * rates[indices[k + _TWO]]
        s3 += values[k + _THREE] * rates[indices[k + _THREE]]
        k += _FOUR
    while k < stop:
        s0 += values[k] * rates[indices[k]]
        k += _ONE
    return (s0 + s1) + (s2 + s3)


@numba.njit(parallel=True, cache=True)
def _field(indptr, indices, values, rates, out):
    """``out = J r``: one sparse matrix-vector product, rows in parallel."""
    for i in numba.prange(indptr.size - 1):
        out[i] = _row_field(indptr, indices, values, rates, i)


@numba.njit(parallel=True, cache=True)
def _euler_steps(indptr, indices, values, rates, external, gain, n_steps, leak, r_max, beta, h0):
    """``n_steps`` forward-Euler steps of ``tau dr/dt = -r + phi(gain J r + I)`` for one network state.

    ``rates`` (N,) float32, ``leak = dt / tau``. Each step is one pass over the synapses fused
    with the update, so the weights are read once per step and no temporary is made. Two
    buffers alternate so that every neuron sees the rates of the same step; the function
    returns the buffer holding the last step.
    """
    current = rates
    following = np.empty_like(rates)
    for _ in range(n_steps):
        for i in numba.prange(indptr.size - 1):
            h = external[i] + gain * _row_field(indptr, indices, values, current, i)
            target = r_max / (np.float32(1.0) + np.exp(-beta * (h - h0)))
            following[i] = current[i] + leak * (target - current[i])
        current, following = following, current
    return current


@numba.njit(cache=True, inline="always")
def _row_fields_8(indptr, indices, values, rates, block, i):
    """The recurrent inputs of neuron ``i`` in the eight trials of ``rates[block]`` (shape (N, 8)).

    Each weight is read once for the eight trials, whose rates for one pre-synaptic neuron sit
    side by side (32 bytes, one load). The eight sums live in registers. The gather is the cost:
    its address is known ``_PREFETCH_AHEAD`` synapses early, and asking for it then lets the
    waits for several lines overlap.
    """
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = np.float32(0.0)
    k = numba.uint64(indptr[i])
    stop = numba.uint64(indptr[i + 1])
    n_synapses = numba.uint64(indices.size)
    while k < stop:
        ahead = k + _PREFETCH_AHEAD
        if ahead < n_synapses:
            prefetch(rates, (block, numba.int64(indices[ahead]), 0))
        weight = values[k]
        j = indices[k]
        a0 += weight * rates[block, j, 0]
        a1 += weight * rates[block, j, 1]
        a2 += weight * rates[block, j, 2]
        a3 += weight * rates[block, j, 3]
        a4 += weight * rates[block, j, 4]
        a5 += weight * rates[block, j, 5]
        a6 += weight * rates[block, j, 6]
        a7 += weight * rates[block, j, 7]
        k += _ONE
    return (a0, a1, a2, a3, a4, a5, a6, a7)


@numba.njit(parallel=True, cache=True)
def _euler_steps_batch(indptr, indices, values, rates, external, gain, n_steps, leak, r_max, beta, h0):
    """As ``_euler_steps`` for independent states in blocks of eight: ``rates`` and ``external``
    are (n_blocks, N, 8) float32 (``run_rates`` pads and lays them out).

    Trials (cues, realisations of noise, a perturbed twin) cost far less together than one after
    another: a weight read serves eight of them. The blocks are taken one after another, each a
    pass over all neurons: the rates a pass gathers from are then one block's (N x 32 bytes,
    1.6 MB at N = 50 000) rather than every trial's, and stay nearer the core. With 64 trials at
    N = 25 000 that made a step 2.8 times faster than taking every block of a neuron together;
    with one block it is the same loop.
    """
    n_blocks = rates.shape[0]
    one = np.float32(1.0)
    current = rates
    following = np.empty_like(rates)
    for _ in range(n_steps):
        for block in range(n_blocks):
            for i in numba.prange(indptr.size - 1):
                sums = _row_fields_8(indptr, indices, values, current, block, i)
                for u in range(_TRIAL_BLOCK):
                    h = external[block, i, u] + gain * sums[u]
                    target = r_max / (one + np.exp(-beta * (h - h0)))
                    following[block, i, u] = current[block, i, u] + leak * (target - current[block, i, u])
        current, following = following, current
    return current


@dataclass(frozen=True)
class Integration:
    """Forward-Euler settings of the rate dynamics (Pereira & Brunel 2018: dt = 0.5 ms, tau = 20 ms)."""

    dt: float = 0.5e-3
    tau: float = 20e-3

    def __post_init__(self):
        _validate.positive("dt", self.dt)
        _validate.positive("tau", self.tau)
        if self.dt > self.tau:
            raise ValueError(f"dt must not exceed tau ({self.tau} s), got {self.dt}")


#: The paper's integration: dt = 0.5 ms, tau = 20 ms.
PAPER_INTEGRATION = Integration()


def run_rates(
    weights: SparseWeights,
    transfer: TransferParams,
    rates,
    duration: float,
    external=None,
    integration: Integration = PAPER_INTEGRATION,
    record_every: float | None = None,
    readout=None,
    gain: float = 1.0,
):
    """Integrate ``tau dr/dt = -r + phi(J r + I)`` for ``duration`` seconds from ``rates``.

    One state, or several independent ones (trials) integrated together on the same weights.

    Parameters
    ----------
    weights : SparseWeights
    transfer : TransferParams
        ``phi`` of every neuron.
    rates : array (N,) or (n_trials, N)
        Initial rates (Hz); not modified.
    duration : float
        Seconds to integrate; rounded to a whole number of steps.
    external : array (N,) or (n_trials, N), or None
        Constant external input ``I`` during the run (``None``: zero, as in a delay period). A
        single (N,) input is given to every trial.
    record_every : float or None
        If given, ``readout(rates)`` is recorded every ``record_every`` seconds (and at the start).
    readout : callable
        Maps the rates, shaped as ``rates``, to what is recorded (e.g. overlaps with every pattern).
    gain : float
        Factor on the recurrent input, in [0, 1] (1: the network as it is; 0: feed-forward only).

    Returns
    -------
    rates : array shaped as the input rates
        Rates at the end (float64; the state is integrated in float32).
    times, records : arrays
        Only when ``record_every`` is given: the recording times and the stacked readouts.
    """
    n = weights.n_neurons
    start = np.asarray(rates, dtype=np.float64)
    batched = start.ndim == 2
    if start.shape[-1:] != (n,) or start.ndim not in (1, 2) or start.size == 0:
        raise ValueError(f"rates must have shape ({n},) or (n_trials, {n}), got {start.shape}")
    if not np.all(np.isfinite(start)):
        raise ValueError("rates must be finite")
    _validate.in_range("duration", duration, 0.0, 1e6)
    inputs = np.zeros(n) if external is None else np.asarray(external, dtype=np.float64)
    if inputs.shape not in ((n,), start.shape):
        raise ValueError(f"external must have shape ({n},) or that of rates {start.shape}, got {inputs.shape}")
    gain = _validate.in_range("gain", gain, 0.0, 1.0)
    n_steps = int(round(duration / integration.dt))
    conn = weights.connectivity
    constants = (
        np.float32(gain), np.float32(integration.dt / integration.tau),
        np.float32(transfer.r_max), np.float32(transfer.beta), np.float32(transfer.h0),
    )
    if batched and len(start) > 1:
        # The kernel wants the trials in blocks of eight, (n_blocks, N, 8), each neuron's eight
        # side by side; padding trials (zero rates, zero input) fill the last block and are dropped.
        n_trials = len(start)
        n_blocks = -(-n_trials // _TRIAL_BLOCK)

        def blocks_of(per_trial):
            padded = np.zeros((n_blocks * _TRIAL_BLOCK, n), dtype=np.float32)
            padded[:n_trials] = per_trial
            return np.ascontiguousarray(padded.reshape(n_blocks, _TRIAL_BLOCK, n).transpose(0, 2, 1))

        state = blocks_of(start)
        inputs = blocks_of(np.broadcast_to(inputs, start.shape))

        def as_rates(x):
            return x.transpose(0, 2, 1).reshape(-1, n)[:n_trials].astype(np.float64)

        kernel = _euler_steps_batch
    elif batched:  # one trial: the single-state kernel, without padding it to a block
        state = start[0].astype(np.float32)
        inputs = np.broadcast_to(inputs, start.shape)[0].astype(np.float32)
        kernel, as_rates = _euler_steps, lambda x: x[None, :].astype(np.float64)
    else:
        state = start.astype(np.float32)
        inputs = inputs.astype(np.float32)
        kernel, as_rates = _euler_steps, lambda x: x.astype(np.float64)

    # Work per parallel region, for the thread count: every synapse for one trial, or for the
    # eight trials of a block (the batch kernel opens one region per block and step).
    work = conn.n_synapses * (_TRIAL_BLOCK if state.ndim == 3 else 1)

    def advance(state, steps):
        with threads.for_work(work):
            gain32, leak, r_max, beta, h0 = constants
            values = weights.values
            return kernel(conn.indptr, conn.indices, values, state, inputs, gain32, steps, leak, r_max, beta, h0)

    if record_every is None:
        return as_rates(advance(state, n_steps))
    _validate.positive("record_every", record_every)
    if readout is None:
        raise ValueError("readout is required when record_every is given")
    stride = max(1, int(round(record_every / integration.dt)))
    times, records, done = [0.0], [readout(as_rates(state))], 0
    while done < n_steps:
        steps = min(stride, n_steps - done)
        state = advance(state, steps)
        done += steps
        times.append(done * integration.dt)
        records.append(readout(as_rates(state)))
    return as_rates(state), np.array(times), np.array(records)


# --- overlaps ---------------------------------------------------------------------------------


def overlaps(rates, pre_factors) -> np.ndarray:
    """``q_mu = (1/N) sum_i g(eta_i^mu) r_i`` for every pattern (Pereira & Brunel 2018).

    ``pre_factors`` is ``RuleFactors.pre``, shape (N, p); ``rates`` is (N,) or (T, N).
    """
    rates = np.asarray(rates, dtype=float)
    return rates @ pre_factors / pre_factors.shape[0]


def normalised_overlaps(rates, pre_factors) -> np.ndarray:
    """``m_mu = q_mu / (sqrt(E[g^2]) SD_i(r_i))``: the correlation-like overlap, in [-1, 1] roughly.

    ``E[g^2]`` is taken over the neurons for each pattern. Rates with no spread across neurons
    (all equal) resemble no pattern: their ``m`` is 0, not the ratio 0/0.
    """
    rates = np.asarray(rates, dtype=float)
    g_rms = np.sqrt(np.mean(np.asarray(pre_factors, float) ** 2, axis=0))
    spread = np.std(rates, axis=-1, keepdims=True)
    flat = spread <= 1e-9 * np.maximum(np.abs(rates).max(axis=-1, keepdims=True), 1e-300)
    m = overlaps(rates, pre_factors) / (g_rms * np.where(flat, 1.0, spread))
    return np.where(flat, 0.0, m)
