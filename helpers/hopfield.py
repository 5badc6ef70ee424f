"""Binary Hopfield networks and the replica theory they are measured against.

The vocabulary follows the attractor-network chapter of *Neuronal Dynamics* (Gerstner, Kistler,
Naud & Paninski 2014, ch. 17) and the neurodynex3 exercises: store patterns, set the state from a
noisy pattern, run, read the overlaps with every pattern. Theory: Amit, Gutfreund & Sompolinsky
(1985, 1987) for the ±1 model, Tsodyks & Feigel'man (1988) for low-activity patterns.

Conventions
-----------
- ``weights[i, j]`` is the synapse from neuron ``j`` onto neuron ``i``; the diagonal is zero.
- A neuron takes one of two values, ``low`` or ``high``: (-1, +1) for the classic model, (0, 1)
  for 0/1 neurons. The deterministic update sets ``S_i = high`` if ``h_i > theta_i``, ``low`` if
  ``h_i < theta_i`` and leaves it unchanged on a tie, with ``h_i = sum_j w_ij S_j``.
- At temperature ``T = 1/beta > 0`` the update is the heat bath (Glauber):
  ``P(S_i = high) = 1 / (1 + exp(-beta (high - low) (h_i - theta_i)))``, which for ±1 neurons is
  ``(1 + tanh(beta h_i)) / 2``.
- Energy ``E = -1/2 sum_ij w_ij S_i S_j + sum_i theta_i S_i``.

The asynchronous kernel keeps every field up to date incrementally: visiting a neuron costs O(1)
and only a flip costs O(N) (one row of the outgoing weights), so a sweep near an attractor, where
few neurons flip, costs little more than reading the fields.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numba
import numpy as np
from scipy import optimize, special

from . import _validate, threads
from .rng import RandomLike, as_generator

#: Neuron values of the classic model and of 0/1 ("binary") neurons.
ISING = (-1.0, 1.0)
BINARY = (0.0, 1.0)


# --------------------------------------------------------------------------------------------
# Patterns and learning rules
# --------------------------------------------------------------------------------------------


def random_patterns(n_patterns: int, n_neurons: int, rng: RandomLike = None, coding_level=None) -> np.ndarray:
    """Independent random patterns, shape ``(n_patterns, n_neurons)``, as float32.

    With ``coding_level=None`` each entry is -1 or +1 with probability 1/2 (the classic model).
    With a coding level ``a`` in (0, 1) each entry is 1 with probability ``a`` and 0 otherwise.
    """
    n_patterns = _validate.integer_at_least("n_patterns", n_patterns, 1)
    n_neurons = _validate.integer_at_least("n_neurons", n_neurons, 2)
    rng = as_generator(rng)
    if coding_level is None:
        return np.where(rng.random((n_patterns, n_neurons)) < 0.5, -1.0, 1.0).astype(np.float32)
    a = _coding_level(coding_level)
    return (rng.random((n_patterns, n_neurons)) < a).astype(np.float32)


def flip_bits(pattern: np.ndarray, fraction: float, rng: RandomLike = None, values=ISING) -> np.ndarray:
    """A noisy cue: a copy of ``pattern`` with exactly ``round(fraction * N)`` neurons flipped.

    Flipping a fixed number (not each neuron with probability ``fraction``) makes the cue's overlap
    with a ±1 pattern exactly ``1 - 2 * fraction``.
    """
    fraction = _validate.in_range("fraction", fraction, 0.0, 1.0)
    low, high = _neuron_values(values)
    cue = np.array(pattern, dtype=np.float32, copy=True)
    if cue.ndim != 1:
        raise ValueError(f"pattern must be one-dimensional, got shape {cue.shape}")
    flipped = as_generator(rng).choice(cue.size, size=int(round(fraction * cue.size)), replace=False)
    cue[flipped] = low + high - cue[flipped]
    return cue


def silence(pattern: np.ndarray, fraction: float, rng: RandomLike = None) -> np.ndarray:
    """A partial cue of a 0/1 pattern: a copy with ``int(fraction * k)`` of its ``k`` active neurons
    silenced, drawn without replacement (chapters 5 and 9 silence a tenth)."""
    fraction = _validate.in_range("fraction", fraction, 0.0, 1.0)
    cue = np.array(pattern, dtype=np.float32, copy=True)
    if cue.ndim != 1:
        raise ValueError(f"pattern must be one-dimensional, got shape {cue.shape}")
    active = np.flatnonzero(cue == 1)
    cue[as_generator(rng).choice(active, int(fraction * active.size), replace=False)] = 0
    return cue


def hebb_rule(patterns: np.ndarray) -> np.ndarray:
    """Hebbian weights ``w_ij = (1/N) sum_mu xi_i^mu xi_j^mu`` with ``w_ii = 0`` (float32).

    For ±1 patterns each ``N w_ij`` is an integer, computed exactly in float32 up to 2**24 patterns.
    """
    xi = _patterns(patterns)
    weights = xi.T @ xi
    weights /= np.float32(xi.shape[1])
    np.fill_diagonal(weights, 0.0)
    return weights


def covariance_rule(patterns: np.ndarray, coding_level: float) -> np.ndarray:
    """Covariance rule for 0/1 patterns of coding level ``a`` (Tsodyks & Feigel'man 1988).

    ``w_ij = sum_mu (xi_i^mu - a)(xi_j^mu - a) / (N a (1 - a))``, ``w_ii = 0``. With this
    normalisation a neuron's field in the retrieval state of pattern ``mu`` is
    ``xi_i^mu - a`` plus crosstalk of variance about ``alpha a`` (alpha = P / N).
    """
    a = _coding_level(coding_level)
    xi = _patterns(patterns)
    if not np.all((xi == 0) | (xi == 1)):
        raise ValueError("patterns must hold 0/1 values for the covariance rule")
    n_patterns, n = xi.shape
    # sum_mu (xi_i - a)(xi_j - a) = C_ij - a (n_i + n_j) + P a^2, from the co-activation counts
    # C_ij: those are integers, exact in float32 whatever order the BLAS sums in, so the weights
    # are the same on every machine (a float32 product of xi - a is not: its rounding depends
    # on the CPU's kernel, and a 0/1 neuron's field sits on its threshold often enough to flip).
    counts = (xi.T @ xi).astype(np.float64)
    active = xi.sum(axis=0, dtype=np.float64)
    counts -= a * active[:, None]
    counts -= a * active[None, :]
    counts += n_patterns * a * a
    counts /= n * a * (1.0 - a)
    weights = counts.astype(np.float32)
    np.fill_diagonal(weights, 0.0)
    return weights


def dilute(weights: np.ndarray, connectivity: float, rng: RandomLike = None, symmetric: bool = False) -> np.ndarray:
    """Keep each synapse with probability ``c`` and scale the kept ones by ``1/c``.

    The scaling keeps the mean field unchanged. ``symmetric=True`` keeps or cuts ``w_ij`` and
    ``w_ji`` together (the weights stay symmetric); otherwise the two are cut independently, which
    makes the network asymmetric as in cortex.
    """
    c = _connectivity("connectivity", connectivity)
    weights = _square(weights)
    rng = as_generator(rng)
    kept = rng.random(weights.shape) < c
    if symmetric:
        kept = np.triu(kept, 1)
        kept = kept | kept.T
    return np.where(kept, weights / np.float32(c), np.float32(0.0)).astype(np.float32)


def covariance_threshold(weights: np.ndarray, coding_level: float, theta: float) -> np.ndarray:
    """Thresholds ``theta_i = theta + a sum_j w_ij`` for 0/1 neurons under the covariance rule.

    With them a neuron compares ``sum_j w_ij (S_j - a)`` with ``theta``: it sees the others'
    deviations from the mean activity. Without the ``a sum_j w_ij`` term each neuron's field carries
    a quenched offset of variance ``alpha a^2``, which at ``a = 1/2`` doubles the crosstalk; with it
    the 0/1 network at ``a = 1/2`` is the classic ±1 model.
    """
    a = _coding_level(coding_level)
    if not np.isfinite(theta):
        raise ValueError(f"theta must be a finite number, got {theta!r}")
    return theta + a * _square(weights).sum(axis=1, dtype=np.float64)


@dataclass(frozen=True)
class ExcitatoryInhibitoryNetwork:
    """0/1 neurons in two populations obeying Dale's law: excitatory ones first, then inhibitory.

    ``weights[:n_excitatory, :n_excitatory]`` are non-negative Hebbian synapses between excitatory
    neurons; inhibitory neurons are driven by excitatory ones and project back with negative
    weights. Every connection exists with probability ``connectivity``, independently in each
    direction, so the weights are sparse and asymmetric.
    """

    weights: np.ndarray
    threshold: np.ndarray
    n_excitatory: int

    def state_from_cue(self, cue: np.ndarray) -> np.ndarray:
        """The excitatory neurons set to ``cue``, the inhibitory ones to their response to it.

        Starting the interneurons at rest instead would let the cue excite the whole network
        before any inhibition arrives.
        """
        cue = _state(cue, self.n_excitatory, *BINARY)
        drive = self.weights[self.n_excitatory:, : self.n_excitatory] @ cue
        inhibitory = (drive > self.threshold[self.n_excitatory:]).astype(np.float32)
        return np.concatenate([cue, inhibitory])

    def visits(self, inhibitory_speed: int = 4) -> np.ndarray:
        """Updates per sweep for ``run_asynchronous``: interneurons ``inhibitory_speed`` times faster.

        Fast-spiking interneurons answer within milliseconds; inhibition that lags the excitation
        it answers leaves room for activity to run away.
        """
        speed = _validate.integer_at_least("inhibitory_speed", inhibitory_speed, 1)
        n = self.weights.shape[0]
        return np.where(np.arange(n) < self.n_excitatory, 1, speed)

    def retrieve(self, cue: np.ndarray, rng: RandomLike = None, inhibitory_speed: int = 4,
                 max_sweeps: int = 60) -> np.ndarray:
        """The excitatory neurons' state after asynchronous updates from ``cue`` (``state_from_cue``),
        interneurons ``inhibitory_speed`` times faster (``visits``), for at most ``max_sweeps``."""
        run = run_asynchronous(self.weights, self.state_from_cue(cue), rng, max_sweeps=max_sweeps,
                               threshold=self.threshold, values=BINARY, symmetric=False,
                               visits=self.visits(inhibitory_speed))
        return run.state[: self.n_excitatory]


def excitatory_inhibitory_network(
    patterns: np.ndarray,
    coding_level: float,
    n_inhibitory: int,
    connectivity: float,
    rng: RandomLike = None,
    theta: float = 0.5,
    inhibitory_connectivity: float = 1.0,
) -> ExcitatoryInhibitoryNetwork:
    """Store 0/1 patterns in an excitatory population balanced by an inhibitory one.

    Excitatory synapses ``w_ij = c_ij sum_mu xi_i^mu xi_j^mu / (c N_E a)`` (``c_ij`` is 1 with
    probability ``c``, independently for ``ij`` and ``ji``) are non-negative. In the retrieval
    state of a pattern they give its active neurons a field of about 1, plus a crosstalk of about
    ``x n_i`` that grows with the fraction ``x`` of active excitatory neurons, where ``n_i`` is the
    number of patterns neuron ``i`` is active in. Each inhibitory neuron counts its active
    excitatory inputs (weight ``1 / (c_I N_E)``, so its input is about ``x``) against a threshold;
    the thresholds are spread evenly over [0, 1], so the active fraction of interneurons is about
    ``x`` too. They project back onto neuron ``i`` with weights ``-n_i / (c_I N_I)``, which cancels
    that neuron's mean crosstalk at every activity, so neither the silent state nor the all-active
    one takes over. Connections between the populations exist with probability
    ``inhibitory_connectivity`` (``c_I``, dense by default: sparse inhibition adds a per-neuron
    noise that, in our runs, silenced every cue). Excitatory thresholds are ``theta``.
    """
    xi = _patterns(patterns)
    a = _coding_level(coding_level)
    n_inhibitory = _validate.integer_at_least("n_inhibitory", n_inhibitory, 1)
    c = _connectivity("connectivity", connectivity)
    c_i = _connectivity("inhibitory_connectivity", inhibitory_connectivity)
    rng = as_generator(rng)
    n_patterns, n_e = xi.shape
    n = n_e + n_inhibitory
    weights = np.zeros((n, n), dtype=np.float32)
    hebb = xi.T @ xi
    hebb /= np.float32(c * n_e * a)
    weights[:n_e, :n_e] = np.where(rng.random((n_e, n_e)) < c, hebb, np.float32(0.0))
    np.fill_diagonal(weights, 0.0)
    drive = np.float32(1.0 / (c_i * n_e))
    weights[n_e:, :n_e] = np.where(rng.random((n_inhibitory, n_e)) < c_i, drive, np.float32(0.0))
    memberships = xi.sum(axis=0)  # how many patterns each excitatory neuron is active in
    inhibition = (memberships / np.float32(c_i * n_inhibitory))[:, None]
    weights[:n_e, n_e:] = np.where(rng.random((n_e, n_inhibitory)) < c_i, -inhibition, np.float32(0.0))
    spread = rng.permutation((np.arange(n_inhibitory) + 0.5) / n_inhibitory)
    threshold = np.concatenate([np.full(n_e, float(theta)), spread])
    return ExcitatoryInhibitoryNetwork(weights=weights, threshold=threshold, n_excitatory=n_e)


# --------------------------------------------------------------------------------------------
# Overlaps and energy
# --------------------------------------------------------------------------------------------


def overlaps(patterns: np.ndarray, state: np.ndarray, coding_level=None) -> np.ndarray:
    """Overlap of ``state`` with every pattern.

    ±1 patterns: ``m^mu = (1/N) sum_i xi_i^mu S_i``. 0/1 patterns of coding level ``a``:
    ``m^mu = sum_i (xi_i^mu - a) S_i / (N a (1 - a))``; both are 1 when the state is the pattern and
    about 0 for an unrelated state. ``state`` may be a batch ``(n_states, N)``; the result then has
    shape ``(n_states, P)``.
    """
    xi = _patterns(patterns)
    state = np.asarray(state, dtype=np.float32)
    if state.shape[-1] != xi.shape[1]:
        raise ValueError(f"state has {state.shape[-1]} neurons, the patterns {xi.shape[1]}")
    n = xi.shape[1]
    if coding_level is None:
        return (state @ xi.T) / n
    a = _coding_level(coding_level)
    return (state @ (xi - np.float32(a)).T) / (n * a * (1.0 - a))


def energy(weights: np.ndarray, state: np.ndarray, threshold=0.0) -> float:
    """``E = -1/2 sum_ij w_ij S_i S_j + sum_i theta_i S_i`` (in float64)."""
    s = np.asarray(state, dtype=np.float64)
    theta = np.broadcast_to(np.asarray(threshold, dtype=np.float64), s.shape)
    return float(-0.5 * s @ (np.asarray(weights, dtype=np.float64) @ s) + theta @ s)


# --------------------------------------------------------------------------------------------
# Dynamics
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """What a run of the dynamics produced.

    Attributes
    ----------
    state : array (N,)
        The state at the end.
    sweeps : int
        Sweeps (asynchronous: N updates each) or steps (synchronous) done.
    converged : bool
        The last sweep changed nothing (a fixed point; always False at T > 0). For synchronous
        runs, also True when the state settled into a two-cycle (see ``cycle``).
    flips : array (sweeps,)
        Neurons that changed in each sweep.
    overlaps : array (sweeps + 1, P) or None
        Overlaps with the patterns passed to the run, before the first sweep and after each.
    energy_changes : array (n_flips,) or None
        The energy change of every single flip, in order (asynchronous runs with
        ``record_energy=True``).
    cycle : bool
        Synchronous runs only: the state came back to the one two steps before.
    """

    state: np.ndarray
    sweeps: int
    converged: bool
    flips: np.ndarray
    overlaps: np.ndarray | None = None
    energy_changes: np.ndarray | None = None
    cycle: bool = False


def run_asynchronous(
    weights: np.ndarray,
    state: np.ndarray,
    rng: RandomLike = None,
    max_sweeps: int = 100,
    temperature: float = 0.0,
    threshold=0.0,
    values=ISING,
    patterns: np.ndarray | None = None,
    coding_level=None,
    record_energy: bool = False,
    symmetric: bool | None = None,
    visits: np.ndarray | None = None,
    sweep_orders: np.ndarray | None = None,
    noise: str = "logistic",
) -> Run:
    """Asynchronous dynamics: each sweep visits every neuron once, in a fresh random order.

    At ``temperature=0`` the run stops after the first sweep that changes nothing (a fixed point)
    or after ``max_sweeps``; at ``temperature > 0`` it runs ``max_sweeps`` sweeps of heat-bath
    updates. ``patterns`` (with their ``coding_level`` for 0/1 patterns) are only read, to record
    the overlaps after every sweep. ``record_energy`` records the energy change of every flip.

    ``symmetric`` says whether the weights are symmetric; ``None`` checks, once per matrix (see
    ``_symmetry``: later runs on the same, unchanged matrix reuse the verdict). For asymmetric
    weights the kernel needs the outgoing weights of a neuron contiguous and makes a transposed
    copy.
    ``visits`` (integers >= 1, one per neuron) makes some neurons faster: neuron ``i`` is updated
    ``visits[i]`` times per sweep, at random moments (fast inhibitory interneurons, say).
    ``sweep_orders`` (shape ``(max_sweeps, N)``, each row a permutation) replaces the random
    visiting orders, to replay another program's run; ``rng`` then only serves the heat bath.
    ``noise="gaussian"`` replaces the heat bath by Gaussian output noise of SD ``temperature``
    added to the drive at each update, ``S_i = high`` if ``h_i - theta_i + T eta > 0``
    (Rubin et al. 2017), so that ``P(S_i = high) = Phi((h_i - theta_i) / T)``.
    """
    weights = _square(weights)
    n = weights.shape[0]
    if np.any(np.diagonal(weights) != 0):
        raise ValueError("weights must have a zero diagonal (no self-connections)")
    low, high = _neuron_values(values)
    current = _state(state, n, low, high)
    theta = _threshold(threshold, n)
    max_sweeps = _validate.integer_at_least("max_sweeps", max_sweeps, 1)
    temperature = _validate.in_range("temperature", temperature, 0.0, np.inf)
    if noise not in ("logistic", "gaussian"):
        raise ValueError(f"noise must be 'logistic' or 'gaussian', got {noise!r}")
    rng = as_generator(rng)
    if sweep_orders is not None:
        sweep_orders = np.asarray(sweep_orders, dtype=np.int64)
        if sweep_orders.shape != (max_sweeps, n) or np.any(np.sort(sweep_orders, axis=1) != np.arange(n)):
            raise ValueError(
                f"sweep_orders must have shape ({max_sweeps}, {n}) with a permutation of range({n}) in each row"
            )
    schedule = np.arange(n)
    if visits is not None:
        visits = np.asarray(visits)
        if visits.shape != (n,) or not np.issubdtype(visits.dtype, np.integer) or np.any(visits < 1):
            raise ValueError(f"visits must be {n} integers >= 1, one per neuron")
        if sweep_orders is not None:
            raise ValueError("give visits or sweep_orders, not both")
        schedule = np.repeat(schedule, visits)
    if symmetric is None:
        field, fingerprint = _fields(weights, current, fingerprint=True)
        symmetric = _symmetry(weights, fingerprint)
    else:
        field, _ = _fields(weights, current)
    outgoing = weights if symmetric else np.ascontiguousarray(weights.T)

    beta = np.inf if temperature == 0 else 1.0 / temperature
    recorded = [overlaps(patterns, current, coding_level)] if patterns is not None else None
    energy_steps = np.empty(schedule.size if record_energy else 0, dtype=np.float64)
    changes, flips = [], []
    converged = False
    for sweep in range(max_sweeps):
        order = sweep_orders[sweep] if sweep_orders is not None else rng.permutation(schedule)
        uniforms = rng.random(order.size) if beta < np.inf else np.empty(0)
        n_flips = _asynchronous_sweep(
            outgoing, current, field, theta, order, uniforms, beta, low, high,
            record_energy, energy_steps, noise == "gaussian",
        )
        flips.append(n_flips)
        if record_energy:
            changes.append(energy_steps[:n_flips].copy())
        if recorded is not None:
            recorded.append(overlaps(patterns, current, coding_level))
        if n_flips == 0 and beta == np.inf:
            converged = True
            break
    return Run(
        state=current,
        sweeps=len(flips),
        converged=converged,
        flips=np.array(flips),
        overlaps=np.array(recorded) if recorded is not None else None,
        energy_changes=np.concatenate(changes) if record_energy else None,
    )


def run_synchronous(
    weights: np.ndarray,
    state: np.ndarray,
    max_steps: int = 100,
    threshold=0.0,
    values=ISING,
    patterns: np.ndarray | None = None,
    coding_level=None,
) -> Run:
    """Synchronous (parallel) deterministic dynamics: every neuron updates at once from ``W S``.

    Stops at a fixed point or at a two-cycle (the state equals the one two steps before), which
    synchronous dynamics with symmetric weights can reach and asynchronous dynamics cannot.
    """
    weights = _square(weights)
    n = weights.shape[0]
    low, high = _neuron_values(values)
    current = _state(state, n, low, high)
    theta = _threshold(threshold, n)
    max_steps = _validate.integer_at_least("max_steps", max_steps, 1)
    recorded = [overlaps(patterns, current, coding_level)] if patterns is not None else None
    previous = None
    flips, converged, cycle = [], False, False
    for _ in range(max_steps):
        drive = weights @ current - theta
        new = np.where(drive > 0, high, np.where(drive < 0, low, current)).astype(np.float32)
        flips.append(int(np.count_nonzero(new != current)))
        before, previous, current = previous, current, new
        if recorded is not None:
            recorded.append(overlaps(patterns, current, coding_level))
        if flips[-1] == 0:
            converged = True
            break
        if before is not None and np.array_equal(current, before):
            converged, cycle = True, True
            break
    return Run(
        state=current,
        sweeps=len(flips),
        converged=converged,
        flips=np.array(flips),
        overlaps=np.array(recorded) if recorded is not None else None,
        cycle=cycle,
    )


class HopfieldNetwork:
    """A Hopfield network of ±1 neurons with the Hebb rule, in the textbook's words.

    >>> net = HopfieldNetwork(400)
    >>> patterns = random_patterns(5, 400, rng=1)
    >>> net.store_patterns(patterns)
    >>> net.set_state_from_pattern(patterns[0], flip_fraction=0.2, rng=2)
    >>> run = net.run(rng=3)
    >>> round(float(net.overlaps()[0]), 2)
    1.0

    The state and weights are plain arrays (``net.state``, ``net.weights``); every random draw
    takes an explicit ``rng``.
    """

    def __init__(self, n_neurons: int):
        self.n_neurons = _validate.integer_at_least("n_neurons", n_neurons, 2)
        self.weights = np.zeros((self.n_neurons, self.n_neurons), dtype=np.float32)
        self.patterns = np.empty((0, self.n_neurons), dtype=np.float32)
        self.state = np.ones(self.n_neurons, dtype=np.float32)

    def store_patterns(self, patterns: np.ndarray) -> None:
        """Set the weights by the Hebb rule from ``patterns`` (P, N) of ±1 entries."""
        xi = _patterns(patterns)
        if xi.shape[1] != self.n_neurons:
            raise ValueError(f"patterns have {xi.shape[1]} neurons, the network {self.n_neurons}")
        _state(xi, self.n_neurons, *ISING)
        self.patterns = xi
        self.weights = hebb_rule(xi)

    def set_state_from_pattern(self, pattern: np.ndarray, flip_fraction: float = 0.0, rng: RandomLike = None) -> None:
        """Set the state to ``pattern`` with a fraction of its neurons flipped."""
        self.state = _state(flip_bits(pattern, flip_fraction, rng), self.n_neurons, *ISING)

    def run(self, rng: RandomLike = None, max_sweeps: int = 100, temperature: float = 0.0) -> Run:
        """Asynchronous dynamics from the current state; the state is updated."""
        run = run_asynchronous(
            self.weights, self.state, rng=rng, max_sweeps=max_sweeps, temperature=temperature,
            patterns=self.patterns if len(self.patterns) else None, symmetric=True,
        )
        self.state = run.state
        return run

    def overlaps(self) -> np.ndarray:
        """Overlap of the current state with every stored pattern."""
        return overlaps(self.patterns, self.state)

    def energy(self) -> float:
        return energy(self.weights, self.state)


# --------------------------------------------------------------------------------------------
# Theory
# --------------------------------------------------------------------------------------------


def one_step_error(alpha) -> np.ndarray:
    """Fraction of a stored ±1 pattern's neurons that one update flips: ``erfc(1/sqrt(2 alpha)) / 2``.

    The crosstalk of P - 1 other patterns on a neuron's field is nearly Gaussian with variance
    ``alpha = P / N`` against a signal of 1 (Neuronal Dynamics, ch. 17.2).
    """
    alpha = np.asarray(alpha, dtype=float)
    if np.any(~(alpha > 0)):
        raise ValueError("alpha must be > 0")
    return 0.5 * special.erfc(1.0 / np.sqrt(2.0 * alpha))


def _load_on_branch(y):
    """The load alpha at which the T = 0 saddle point has ``m = erf(y)`` (AGS 1987).

    The replica-symmetric equations at zero temperature, ``m = erf(m / sqrt(2 alpha r))``,
    ``C = sqrt(2 / (pi alpha r)) exp(-m^2 / (2 alpha r))``, ``r = 1 / (1 - C)^2``, become with
    ``y = m / sqrt(2 alpha r)``: ``alpha = (erf(y) - 2 y exp(-y^2) / sqrt(pi))^2 / (2 y^2)``.
    """
    return (special.erf(y) - 2.0 * y * np.exp(-y * y) / np.sqrt(np.pi)) ** 2 / (2.0 * y * y)


def replica_capacity() -> tuple[float, float]:
    """Capacity ``alpha_c`` of the ±1 Hopfield model and the overlap ``m_c`` there, at T = 0.

    Solves the replica-symmetric saddle-point equations (Amit, Gutfreund & Sompolinsky 1987):
    ``alpha_c`` is the largest load at which a retrieval solution exists, the maximum of
    ``alpha(y)`` along the solution branch (see ``_load_on_branch``).
    """
    y_c = _capacity_point()
    return float(_load_on_branch(y_c)), float(special.erf(y_c))


def _capacity_point() -> float:
    """The ``y`` at which ``alpha(y)`` is largest (the saddle-node where retrieval disappears)."""
    best = optimize.minimize_scalar(lambda y: -_load_on_branch(y), bounds=(0.5, 4.0), method="bounded",
                                    options={"xatol": 1e-12})
    return float(best.x)


def retrieval_overlap(alpha) -> np.ndarray:
    """Overlap ``m`` of the retrieval state at load ``alpha`` and T = 0 (AGS 1987); 0 above ``alpha_c``.

    The stable branch is the one of larger ``y`` (larger ``m``); each load is solved by bisection.
    """
    alpha = np.atleast_1d(np.asarray(alpha, dtype=float))
    if np.any(~(alpha > 0)):
        raise ValueError("alpha must be > 0")
    y_c = _capacity_point()
    alpha_c = _load_on_branch(y_c)
    m = np.zeros_like(alpha)
    for k, a in enumerate(alpha):
        if a <= alpha_c:
            y = optimize.brentq(lambda y, load=a: _load_on_branch(y) - load, y_c, 40.0, xtol=1e-13)
            m[k] = special.erf(y)
    return m


def mean_field_overlap(beta) -> np.ndarray:
    """Non-negative solution of ``m = tanh(beta m)`` (stochastic dynamics with few patterns).

    0 for ``beta <= 1``; above it, the retrieval solution that appears at the transition.
    """
    beta = np.atleast_1d(np.asarray(beta, dtype=float))
    if np.any(~(beta > 0)):
        raise ValueError("beta must be > 0")
    m = np.zeros_like(beta)
    for k, b in enumerate(beta):
        if b > 1:
            m[k] = optimize.brentq(lambda x, gain=b: x - np.tanh(gain * x), 1e-12, 1.0, xtol=1e-14)
    return m


def sparse_capacity_scaling(coding_level) -> np.ndarray:
    """Leading small-``a`` capacity of the covariance rule, ``alpha_c ~ 1 / (2 a |ln a|)``.

    Tsodyks & Feigel'man (1988); an asymptotic law, approached slowly as ``a -> 0``.
    """
    a = np.asarray(coding_level, dtype=float)
    if np.any(~((a > 0) & (a < 1))):
        raise ValueError("coding_level must be in (0, 1)")
    return 1.0 / (2.0 * a * np.abs(np.log(a)))


def half_retrieval_load(loads, retrieved_fraction) -> float:
    """The simulated capacity: the first load at which the fraction retrieved falls through 1/2.

    Linear interpolation between the two loads around the crossing; ``nan`` if it never falls
    below one half (the loads do not reach capacity) or starts below it.
    """
    loads = np.asarray(loads, dtype=float)
    fraction = np.asarray(retrieved_fraction, dtype=float)
    if loads.ndim != 1 or loads.shape != fraction.shape or loads.size < 2 or np.any(np.diff(loads) <= 0):
        raise ValueError("loads must be increasing, with one retrieved fraction each (at least two)")
    if fraction[0] < 0.5:
        return float("nan")
    for k in range(1, loads.size):
        if fraction[k] < 0.5:
            step = (fraction[k - 1] - 0.5) / (fraction[k - 1] - fraction[k])
            return float(loads[k - 1] + step * (loads[k] - loads[k - 1]))
    return float("nan")


# --------------------------------------------------------------------------------------------
# Kernels and argument checks
# --------------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _asynchronous_sweep(outgoing, state, field, threshold, order, uniforms, beta, low, high,
                        record_energy, energy_steps, gaussian):
    """Visit the neurons in ``order``; return how many flipped.

    ``outgoing[i]`` holds the weights from neuron ``i`` to every neuron (row ``i`` of W^T), so a
    flip of ``i`` by ``delta`` adds ``delta * outgoing[i]`` to the fields. ``energy_steps[k]`` gets
    the energy change of the k-th flip: ``-delta ((h_i + b_i) / 2 - theta_i)`` with
    ``b_i = sum_j w_ji S_j``, which for symmetric weights is ``-delta (h_i - theta_i) <= 0``.
    """
    n = state.size
    deterministic = beta == np.inf
    flips = 0
    for visit in range(order.size):
        i = order[visit]
        drive = field[i] - threshold[i]
        old = state[i]
        if deterministic:
            if drive > 0.0:
                new = high
            elif drive < 0.0:
                new = low
            else:
                new = old
        else:
            if gaussian:
                chance_high = 0.5 * math.erfc(-beta * drive / math.sqrt(2.0))
            else:
                chance_high = 1.0 / (1.0 + np.exp(-beta * (high - low) * drive))
            new = high if uniforms[visit] < chance_high else low
        if new != old:
            delta = new - old
            row = outgoing[i]
            if record_energy:
                back = 0.0
                for k in range(n):
                    back += row[k] * state[k]
                energy_steps[flips] = -delta * (0.5 * (field[i] + back) - threshold[i])
            state[i] = new
            for k in range(n):
                field[k] += delta * row[k]
            flips += 1
    return flips


@numba.njit(cache=True, parallel=True, fastmath=True)  # fastmath lets the float64 row sums vectorise
def _fields_kernel(weights, state, field, probe, fingerprint):
    """``field = W S``; with a non-empty ``probe``, also ``fingerprint = W probe`` in the same pass."""
    n = weights.shape[1]
    for i in numba.prange(weights.shape[0]):
        total = 0.0
        if probe.size:
            # One read of the row serves both sums; the field's sum is the same as without.
            mark = 0.0
            for j in range(n):
                w = weights[i, j]
                total += w * state[j]
                mark += w * probe[j]
            fingerprint[i] = mark
        else:
            for j in range(n):
                total += weights[i, j] * state[j]
        field[i] = total


def _fields(weights, state, fingerprint=False):
    """``h = W S`` accumulated in float64 (the kernel then updates it flip by flip).

    With ``fingerprint=True`` also returns ``W p`` for a fixed random probe ``p`` (see
    ``_symmetry``), for a few percent of a retrieval: the row is read once for both.
    """
    n = weights.shape[0]
    field = np.empty(n, dtype=np.float64)
    probe = _symmetry_probe(n) if fingerprint else np.empty(0)
    marks = np.empty(n if fingerprint else 0, dtype=np.float64)
    with threads.for_work(weights.size):
        _fields_kernel(weights, state, field, probe, marks)
    return field, (marks if fingerprint else None)


#: Seed of the fixed probe vector behind the weights' fingerprint (not a draw of the model).
_PROBE_SEED = 20240917
_probes: dict[int, np.ndarray] = {}
#: Verdicts of the symmetry check, by id of the weight matrix: (weak reference, fingerprint, verdict).
_verdicts: dict[int, tuple] = {}


def _symmetry_probe(n):
    """A fixed vector of entries in ±[1, 2): no entry near zero, so no weight goes unseen."""
    if n not in _probes:
        rng = np.random.default_rng(_PROBE_SEED)
        _probes[n] = rng.uniform(1.0, 2.0, n) * rng.choice([-1.0, 1.0], n)
    return _probes[n]


def _symmetry(weights, fingerprint):
    """Whether ``weights`` is symmetric, checked once per matrix.

    A full check reads every pair ``(w_ij, w_ji)``, several times the cost of the retrieval it
    precedes at N = 10 000 (0.075 s against 0.025 s in one run). The verdict is therefore kept with
    the matrix's fingerprint ``W p`` (computed in the same pass as the fields): a later run on the
    same array with the same fingerprint reuses it. Changing an entry in place changes the
    fingerprint of its row (``p`` has no entry below 1 in size), unless the change is below the
    float64 rounding of that row's sum, far below a float32 weight's resolution; the check then
    runs again.
    """
    key = id(weights)
    known = _verdicts.get(key)
    if known is not None and known[0]() is weights and np.array_equal(known[1], fingerprint):
        return known[2]
    with threads.for_work(weights.size):
        verdict = bool(_is_symmetric(weights))
    _verdicts[key] = (weakref.ref(weights, lambda _, key=key: _verdicts.pop(key, None)), fingerprint, verdict)
    return verdict


@numba.njit(cache=True, parallel=True)
def _is_symmetric(weights):
    """Compare every ``w_ij`` with ``w_ji``, in tiles that stay in cache.

    Block row ``b`` compares its tiles right of the diagonal; the parallel loop pairs block rows
    ``b`` and ``last - b`` so that every iteration has the same work.
    """
    n = weights.shape[0]
    block = 64
    n_blocks = (n + block - 1) // block
    asymmetric = np.zeros((n_blocks + 1) // 2, dtype=np.bool_)
    for pair in numba.prange((n_blocks + 1) // 2):
        for side in range(2):
            b = pair if side == 0 else n_blocks - 1 - pair
            if side == 1 and b == pair:
                break
            i0 = b * block
            for j0 in range(i0, n, block):
                if asymmetric[pair]:
                    break
                for i in range(i0, min(i0 + block, n)):
                    for j in range(max(j0, i + 1), min(j0 + block, n)):
                        if weights[i, j] != weights[j, i]:
                            asymmetric[pair] = True
    return not asymmetric.any()


def _square(weights) -> np.ndarray:
    weights = np.ascontiguousarray(weights, dtype=np.float32)
    if weights.ndim != 2 or weights.shape[0] != weights.shape[1]:
        raise ValueError(f"weights must be a square (N, N) matrix, got shape {weights.shape}")
    return weights


def _patterns(patterns) -> np.ndarray:
    xi = np.ascontiguousarray(patterns, dtype=np.float32)
    if xi.ndim != 2 or xi.shape[0] < 1:
        raise ValueError(f"patterns must have shape (P, N) with P >= 1, got {xi.shape}")
    return xi


def _connectivity(name, value) -> float:
    c = _validate.in_range(name, value, 0.0, 1.0)
    if c == 0.0:
        raise ValueError(f"{name} must be in (0, 1], got 0")
    return c


def _coding_level(value) -> float:
    a = _validate.in_range("coding_level", value, 0.0, 1.0)
    if a in (0.0, 1.0):
        raise ValueError(f"coding_level must be strictly between 0 and 1, got {value!r}")
    return a


def _neuron_values(values) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"values must be a pair (low, high), got {values!r}") from None
    if not low < high:
        raise ValueError(f"values must be (low, high) with low < high, got {values!r}")
    return low, high


def _state(state, n, low, high) -> np.ndarray:
    s = np.array(state, dtype=np.float32, copy=True)
    if s.shape[-1] != n:
        raise ValueError(f"state must have {n} neurons, got shape {s.shape}")
    if not np.all((s == low) | (s == high)):
        raise ValueError(f"every neuron's state must be {low:g} or {high:g}")
    return s


def _threshold(threshold, n) -> np.ndarray:
    theta = np.asarray(threshold, dtype=np.float64)
    if theta.ndim == 0:
        theta = np.full(n, float(theta))
    if theta.shape != (n,) or not np.all(np.isfinite(theta)):
        raise ValueError(f"threshold must be a finite number or an array of {n} numbers")
    return np.ascontiguousarray(theta)
