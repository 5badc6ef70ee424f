"""A spiking attractor memory: binary patterns stored in an E/I network of LIF neurons, and its theory.

Gerstner's lecture (Neuronal Dynamics, sec. 17.4) ends the Hopfield story with spiking neurons:
excitatory integrate-and-fire neurons with separate inhibition store sparse binary patterns, and a
cue brings back one of them. The network here (``SpikingMemory``) is Brunel's sparse E/I network
(``helpers.balance``) with Bernoulli connections, whose excitatory-to-excitatory weights carry the
patterns by a covariance rule clipped at zero:

    w_ij = max(0, J + J_S / (a (1 - a) K_E) sum_mu (xi_i^mu - a)(xi_j^mu - a)),

``K_E = c N_E`` the mean number of excitatory inputs. The rule's negative part, which an
excitatory synapse cannot carry, is left to the inhibition every neuron receives.

The mean-field theory (``SpikingMemory.states``) follows Amit & Brunel (1997): three populations,
the neurons of the retrieved pattern (rate ``r1``), the other excitatory neurons (``r0``) and the
inhibitory ones (``rI``), each with the Siegert rate of the mean and variance of its input in the
diffusion approximation. The quenched part of a weight, the sum over the other ``P - 1`` patterns,
enters through the exact distribution of a pair's shared memberships before the clipping,
independently for each synapse (a neuron's own number of memberships is averaged out).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from functools import cached_property, partial

import numba
import numpy as np
from scipy import optimize

from . import _checkpoint, _validate, balance, lif, spikes
from .rng import RandomLike, as_generator


@numba.njit(cache=True, parallel=True)
def _covariance_weights(indptr, targets, memberships, counts, weights, n_exc, a, base, scale):  # pragma: no cover
    """Set each excitatory-to-excitatory synapse's weight by the clipped covariance rule, in place.

    ``sum_mu (xi_i - a)(xi_j - a) = n_ij - a (n_i + n_j) + P a^2``, with ``n_ij`` the patterns neurons
    ``i`` and ``j`` share and ``n_i`` those ``i`` belongs to: integers, so the weight does not depend on
    a summation order or on the thread count.
    """
    n_patterns = memberships.shape[1]
    for j in numba.prange(n_exc):
        for s in range(indptr[j], indptr[j + 1]):
            i = targets[s]
            if i >= n_exc:
                continue
            shared = 0
            for mu in range(n_patterns):
                shared += memberships[i, mu] & memberships[j, mu]
            covariance = shared - a * (counts[i] + counts[j]) + n_patterns * a * a
            weight = base + scale * covariance
            weights[s] = weight if weight > 0.0 else 0.0


#: ms, the slowest excitation ``SpikingMemory`` takes: NMDA currents decay in about 100 ms
LONGEST_TAU_SLOW = 500.0


@dataclass(frozen=True)
class MemoryState:
    """A fixed point of the mean-field theory: rates (Hz) of the retrieved pattern's neurons, of the
    other excitatory neurons and of the inhibitory ones, and whether it is stable."""

    pattern_rate: float
    background_rate: float
    inhibitory_rate: float
    stable: bool

    @property
    def retrieval(self) -> bool:
        """True when the pattern's neurons fire well above the rest (by more than 5 Hz and twice)."""
        return self.pattern_rate > max(2.0 * self.background_rate, self.background_rate + 5.0)


@dataclass(frozen=True)
class SpikingMemory:
    """An E/I network of LIF neurons storing ``n_patterns`` binary patterns of coding level ``a``.

    Defaults: the lecture's sizes and a starting point from ``../shared/reference/spiking.md``
    section 5 (Brunel's neuron; J 0.2 mV onto E and I from E, -g J from I; external Poisson input
    to every neuron at ``eta`` times the threshold rate, from ``K_E`` sources of weight J).

    ``tau_syn`` (ms): 0, delta synapses (the reference's); above 0, exponential synaptic currents of
    that time constant, with the same charge per spike. They damp the fast oscillations that the
    1.5 ms delay loop brings to a retrieval state at delta synapses, which the stationary theory
    cannot follow (chapter 9 measures both); the theory takes them in to first order
    (``balance.siegert_rate``'s ``tau_syn``).

    ``tau_slow`` (ms, with ``tau_syn`` above 0): if above 0, the excitatory current of the excitatory
    neurons decays with this slower time constant, NMDA-like (Brunel & Wang 2001), and the recurrent
    excitation reaches them smoothed. It is one channel per neuron, so their external drive is
    smoothed too. The stationary theory has no such synapses: ``transfer`` and ``states`` refuse.
    """

    n_exc: int = 8000
    n_inh: int = 2000
    c: float = 0.1
    n_patterns: int = 90
    coding_level: float = 0.1
    J: float = 0.2
    g: float = 6.0
    J_S: float = 6.0
    eta: float = 1.5
    delay: float = 1.5
    tau_m: float = 20.0
    theta: float = 20.0
    v_reset: float = 10.0
    t_ref: float = 2.0
    tau_syn: float = 0.0
    tau_slow: float = 0.0

    def __post_init__(self):
        _validate.integer_at_least("n_exc", self.n_exc, 2)
        _validate.integer_at_least("n_inh", self.n_inh, 1)
        _validate.integer_at_least("n_patterns", self.n_patterns, 1)
        _validate.in_range("c", self.c, 1e-6, 1.0)
        if not 0.0 < self.coding_level < 1.0:
            raise ValueError(f"coding_level must lie in (0, 1), got {self.coding_level}")
        for name in ("J", "g", "eta", "delay", "tau_m", "theta"):
            _validate.positive(name, getattr(self, name))
        _validate.in_range("J_S", self.J_S, 0.0, math.inf)
        _validate.in_range("t_ref", self.t_ref, 0.0, math.inf)
        _validate.in_range("tau_syn", self.tau_syn, 0.0, self.tau_m)
        _validate.in_range("tau_slow", self.tau_slow, 0.0, LONGEST_TAU_SLOW)
        if self.tau_slow > 0 and self.tau_syn == 0:
            raise ValueError("tau_slow needs exponential synapses: give tau_syn above 0 too")
        if self.v_reset >= self.theta:
            raise ValueError(f"v_reset must lie below theta ({self.theta}), got {self.v_reset}")

    @property
    def k_exc(self) -> float:
        """Mean number of excitatory inputs of a neuron, ``c N_E``."""
        return self.c * self.n_exc

    @property
    def k_inh(self) -> float:
        return self.c * self.n_inh

    @property
    def nu_ext(self) -> float:
        """Rate (Hz) of each of the ``K_E`` external sources: ``eta`` times the threshold rate."""
        return self.eta * 1e3 * self.theta / (self.J * self.k_exc * self.tau_m)

    # --- the network ----------------------------------------------------------------------------

    @property
    def pattern_size(self) -> int:
        """Neurons in each pattern, ``round(a N_E)``."""
        return max(1, round(self.coding_level * self.n_exc))

    def patterns(self, rng: RandomLike = None) -> np.ndarray:
        """``n_patterns`` random 0/1 patterns over the excitatory neurons, shape (P, N_E), float32: each
        of exactly ``pattern_size`` neurons, drawn independently of the other patterns.

        Why a fixed size: a pattern's size sets how much it excites itself, and drawn neuron by
        neuron sizes spread by sqrt(N_E a (1 - a)) (3 % at the lecture's size), which adds to the
        differences between patterns in a network that works near the edge of its bistable range.
        At chapter 9's parameters, pattern 0 was held after a 20 mV cue in 1 of 3 networks with
        sizes drawn neuron by neuron and in 4 of 6 with fixed sizes (none ignited in 10 s alone)."""
        rng = as_generator(rng)
        xi = np.zeros((self.n_patterns, self.n_exc), dtype=np.float32)
        for mu in range(self.n_patterns):
            xi[mu, rng.choice(self.n_exc, self.pattern_size, replace=False)] = 1.0
        return xi

    def network(self, patterns, dt: float = 0.1, rng: RandomLike = None) -> lif.Network:
        """The network storing ``patterns`` (P x N_E, 0/1), its connections drawn from ``rng``."""
        patterns = self._checked_patterns(patterns)
        synaptic = dict(tau_syn_exc=self.tau_syn, tau_syn_inh=self.tau_syn) if self.tau_syn > 0 else {}
        neuron = lif.NeuronParameters(
            tau_m=self.tau_m, theta=self.theta, v_reset=self.v_reset, t_ref=self.t_ref, **synaptic
        )
        drive = (lif.PoissonDrive(rate=self.nu_ext, weight=self.J, n_sources=int(round(self.k_exc))),)
        slow = replace(neuron, tau_syn_exc=self.tau_slow) if self.tau_slow > 0 else neuron
        populations = [lif.Population("E", self.n_exc, slow, drive), lif.Population("I", self.n_inh, neuron, drive)]
        projections = [
            lif.Projection(pre, post, self.J if pre == "E" else -self.g * self.J, self.delay, probability=self.c)
            for pre in ("E", "I")
            for post in ("E", "I")
        ]
        synapse = "exponential" if self.tau_syn > 0 else "delta"
        network = lif.build_network(populations, projections, dt=dt, synapse=synapse, rng=rng)
        return network.with_weights(self.stored_weights(network, patterns))

    def stored_weights(self, network: lif.Network, patterns) -> np.ndarray:
        """``network``'s weights with its excitatory-to-excitatory synapses set by the clipped
        covariance rule over ``patterns`` (the other synapses keep theirs)."""
        patterns = self._checked_patterns(patterns)
        memberships = np.ascontiguousarray(patterns.T, dtype=np.uint8)
        counts = memberships.sum(axis=1, dtype=np.int64).astype(np.float64)
        weights = network.weights.copy()
        a = self.coding_level
        scale = self.J_S / (a * (1.0 - a) * self.k_exc)
        _covariance_weights(
            network.indptr, network.targets, memberships, counts, weights, self.n_exc, a, float(self.J), scale
        )
        return weights

    def _checked_patterns(self, patterns) -> np.ndarray:
        patterns = np.asarray(patterns)
        if patterns.shape != (self.n_patterns, self.n_exc):
            raise ValueError(
                f"patterns must have shape (n_patterns, n_exc) = ({self.n_patterns}, {self.n_exc}), "
                f"got {patterns.shape}"
            )
        if not np.isin(patterns, (0, 1)).all():
            raise ValueError("patterns must be 0/1")
        return patterns

    # --- the mean-field theory ------------------------------------------------------------------

    @cached_property
    def _weight_table(self) -> dict:
        """The E-to-E weights' statistics by the selectivities (1: in the retrieved pattern, 0: not)
        of the post- and pre-synaptic neurons.

        A post-synaptic neuron belongs to ``n`` of the other ``P - 1`` patterns (binomial); a random
        pre-synaptic neuron shares ``B1`` of those and belongs to ``B0`` of the rest (binomial each),
        which fixes the covariance sum, ``(1 - a)(B1 - a n) - a (B0 - a (P - 1 - n))``. Summed over
        exactly: a Gaussian in its place misses the rare shared memberships that make the sum skewed
        at low coding level, and with them the clipping (at J_S 12 mV it put the background at twice
        the simulated rate). Returns ``pmf`` of ``n``, the mean weight ``given[post, pre]`` for each
        ``n``, and the overall mean ``first[post, pre]`` and mean square ``second[post, pre]`` (mV, mV^2).
        """
        from scipy import stats

        a, others = self.coding_level, self.n_patterns - 1
        scale = self.J_S / (a * (1.0 - a) * self.k_exc)
        n = np.arange(others + 1)
        pmf = stats.binom.pmf(n, others, a)
        b1 = n[:, None]  # shared memberships, up to n
        b0 = n[None, :]  # memberships among the post neuron's other patterns, up to P - 1 - n
        table = {"pmf": pmf, "given": {}, "given_square": {}, "first": {}, "second": {}}
        for post in (0, 1):
            for pre in (0, 1):
                given, given_square = np.zeros(others + 1), np.zeros(others + 1)
                for k in range(others + 1):
                    p1 = stats.binom.pmf(b1[:, 0], k, a)[:, None]
                    p0 = stats.binom.pmf(b0[0], others - k, a)[None, :]
                    covariance = (1 - a) * (b1 - a * k) - a * (b0 - a * (others - k))
                    weight = np.maximum(self.J + scale * ((post - a) * (pre - a) + covariance), 0.0)
                    given[k] = (p1 * p0 * weight).sum()
                    given_square[k] = (p1 * p0 * weight**2).sum()
                table["given"][post, pre] = given
                table["given_square"][post, pre] = given_square
                table["first"][post, pre] = float(pmf @ given)
                table["second"][post, pre] = float(pmf @ given_square)
        return table

    def _weight_moments(self, post: int, pre: int) -> tuple[float, float]:
        """Mean and mean square (mV, mV^2) of an E-to-E weight from a neuron of selectivity ``pre`` onto
        one of selectivity ``post``."""
        table = self._weight_table
        return table["first"][post, pre], table["second"][post, pre]

    def input_statistics(self, rates, squares=None, cue: float = 0.0) -> np.ndarray:
        """The input of each population (rows: pattern, background, inhibitory) at mean rates
        ``rates`` = (r1, r0, rI) Hz and mean squared rates ``squares`` (Hz^2): columns (mean over
        neurons and time, temporal SD, SD across neurons of the time-averaged input), in mV.

        The SD across neurons (quenched) comes from each neuron's own draw of inputs (Bernoulli
        connections, presynaptic rates that differ, ``E[r^2]`` in ``squares``) and, for excitatory
        neurons, from its own number of pattern memberships, which sets its weights' mean. Without
        ``squares`` it is 0: every neuron the average neuron. ``cue`` adds to the pattern's mean.
        """
        r1, r0, r_inh = rates
        a, c, tau = self.coding_level, self.c, self.tau_m * 1e-3
        share = {1: a, 0: 1.0 - a}  # fractions of excitatory neurons in and out of the pattern
        rate = {1: r1, 0: r0}
        external_mean = self.J * self.k_exc * self.nu_ext
        external_variance = self.J**2 * self.k_exc * self.nu_ext
        inhibition_mean = -self.g * self.J * self.k_inh * r_inh
        inhibition_variance = (self.g * self.J) ** 2 * self.k_inh * r_inh
        table = self._weight_table
        stats = np.zeros((3, 3))
        for row, post in ((0, 1), (1, 0)):
            mean = self.k_exc * sum(share[y] * table["first"][post, y] * rate[y] for y in (0, 1))
            variance = self.k_exc * sum(share[y] * table["second"][post, y] * rate[y] for y in (0, 1))
            stats[row, 0] = tau * (mean + inhibition_mean + external_mean) + (cue if post == 1 else 0.0)
            stats[row, 1] = math.sqrt(tau * (variance + inhibition_variance + external_variance))
        excitation = self.k_exc * (a * r1 + (1 - a) * r0)
        stats[2, 0] = tau * (self.J * excitation + inhibition_mean + external_mean)
        stats[2, 1] = math.sqrt(tau * (self.J**2 * excitation + inhibition_variance + external_variance))
        if squares is None:
            return stats
        # Every neuron sees the same presynaptic rates, through its own synapses: over neurons, a
        # synapse from a neuron of rate r contributes r^2 (c E[w^2] - c^2 E[w]^2), and there are N
        # such neurons; then the spread of the weights' mean across neurons, by memberships.
        q1, q0, q_inh = squares
        square = {1: q1, 0: q0}
        from_inhibition = (self.g * self.J) ** 2 * self.k_inh * (1 - c) * q_inh
        for row, post in ((0, 1), (1, 0)):
            synapses = self.k_exc * sum(
                share[y] * square[y] * (table["second"][post, y] - c * table["first"][post, y] ** 2) for y in (0, 1)
            )
            mean_per_input = sum(share[y] * table["first"][post, y] * rate[y] for y in (0, 1))
            by_membership = sum(share[y] * table["given"][post, y] * rate[y] for y in (0, 1))
            memberships = self.k_exc**2 * (table["pmf"] @ (by_membership - mean_per_input) ** 2)
            stats[row, 2] = tau * math.sqrt(synapses + memberships + from_inhibition)
        synapses = self.J**2 * self.k_exc * (1 - c) * (a * q1 + (1 - a) * q0)
        stats[2, 2] = tau * math.sqrt(synapses + from_inhibition)
        return stats

    def input_moments(self, rates, cue: float = 0.0) -> np.ndarray:
        """Mean and temporal SD (mV) of each population's input, every neuron the average neuron."""
        return self.input_statistics(rates, None, cue)[:, :2]

    def transfer(self, rates, squares=None, cue: float = 0.0):
        """The populations' mean rates (Hz) given theirs, the map whose fixed points are the
        network's states: Siegert's rate of each population's input. With ``squares`` (mean squared
        rates, Hz^2) each neuron's time-averaged input is drawn from a Gaussian across neurons
        (``input_statistics``), and the mean squared rates are returned too: ``(rates, squares)``.
        """
        if self.tau_slow > 0:
            raise ValueError("the theory covers synapses faster than the membrane only: tau_slow must be 0")
        stats = self.input_statistics(rates, squares, cue)
        siegert = partial(
            balance.siegert_rate,
            tau_m=self.tau_m,
            theta=self.theta,
            v_reset=self.v_reset,
            t_ref=self.t_ref,
            tau_syn=self.tau_syn,
        )
        if squares is None:
            return siegert(stats[:, 0], stats[:, 1])
        # over neurons: Gauss-Hermite nodes of the standard normal
        values = siegert(stats[:, :1] + stats[:, 2:3] * _HERMITE_NODES, stats[:, 1:2])
        return values @ _HERMITE_WEIGHTS, values**2 @ _HERMITE_WEIGHTS

    def _rest(self, pattern_rate: float, cue: float, quenched: bool, guess) -> np.ndarray:
        """The rest of the network's statistics, following the pattern's neurons at ``pattern_rate``:
        (r0, rI) or, ``quenched``, (r0, rI, q1, q0, qI); from ``guess``."""

        def mapped(rest):
            rest = np.abs(rest)
            if not quenched:
                out = self.transfer(np.array([pattern_rate, rest[0], rest[1]]), None, cue)
                return out[1:]
            rates, squares = self.transfer(np.array([pattern_rate, rest[0], rest[1]]), rest[2:], cue)
            return np.concatenate([rates[1:], squares])

        guess = np.asarray(guess, dtype=np.float64)
        solution = optimize.root(lambda rest: mapped(rest) - np.abs(rest), guess, method="hybr")
        rest = np.abs(solution.x)
        if np.all(np.abs(mapped(rest) - rest) < 1e-6 * np.maximum(1.0, rest)):
            return rest
        # Slower and sure: relax towards the map's fixed point, from the guess and then from the
        # ceiling (a background that runs away ends there).
        ceiling = 1e3 / self.t_ref if self.t_ref > 0 else 1e3
        for start in (guess, np.where(np.arange(guess.size) < 2, ceiling, ceiling**2)):
            rest = np.abs(start)
            for _ in range(2000):
                following = mapped(rest)
                if np.all(np.abs(following - rest) < 1e-9 * np.maximum(1.0, rest)):
                    return following
                rest = rest + 0.2 * (following - rest)
        raise RuntimeError(f"no self-consistent background at pattern rate {pattern_rate} Hz")

    def background(self, pattern_rate: float, cue: float = 0.0, quenched: bool = True) -> tuple[float, float]:
        """The mean rates (Hz) of the other excitatory neurons and of the inhibitory ones when the
        pattern's neurons fire at ``pattern_rate``: the rest of the network follows them."""
        rest = self._rest(pattern_rate, cue, quenched, self._first_guess(pattern_rate, quenched))
        return float(rest[0]), float(rest[1])

    @staticmethod
    def _first_guess(pattern_rate: float, quenched: bool) -> np.ndarray:
        return np.array([5.0, 5.0, pattern_rate**2 + 25.0, 50.0, 50.0]) if quenched else np.array([5.0, 5.0])

    def effective_rate(self, pattern_rates, cue: float = 0.0, quenched: bool = True) -> np.ndarray:
        """The pattern neurons' mean rate (Hz) that their input gives when they fire at each of
        ``pattern_rates`` and the rest of the network has followed (Mascaro & Amit 1999's effective
        response): the network's states are where it equals its argument. Each background starts
        from the last one's, so along increasing rates the rest of the network stays on one branch."""
        out = np.empty(len(pattern_rates))
        rest = self._first_guess(float(pattern_rates[0]) if len(pattern_rates) else 0.0, quenched)
        for k, rate in enumerate(pattern_rates):
            out[k], rest = self._effective(float(rate), cue, quenched, rest)
        return out

    def _effective(self, pattern_rate: float, cue: float, quenched: bool, guess) -> tuple[float, np.ndarray]:
        rest = self._rest(pattern_rate, cue, quenched, guess)
        rates = np.array([pattern_rate, rest[0], rest[1]])
        if not quenched:
            return float(self.transfer(rates, None, cue)[0]), rest
        return float(self.transfer(rates, rest[2:], cue)[0][0]), rest

    def states(self, cue: float = 0.0, quenched: bool = True, n_grid: int = 80) -> list[MemoryState]:
        """The network's states: the fixed points of the effective response, found on a grid of
        ``n_grid`` pattern rates from 0 to the ceiling ``1 / t_ref`` and refined by bisection, sorted
        by pattern rate. A state is stable where the effective response crosses the diagonal from
        above (slope below 1), as for the rate dynamics ``dr1/dt = -r1 + effective(r1)`` with the rest
        of the network following fast. ``quenched=False``: every neuron the average neuron."""
        ceiling = 1e3 / self.t_ref if self.t_ref > 0 else 1e3
        grid = np.unique(np.concatenate([np.linspace(0.0, 20.0, n_grid // 4), np.geomspace(20.0, ceiling, n_grid)]))
        excess, rests = np.empty(grid.size), []
        rest = self._first_guess(0.0, quenched)
        for k, rate in enumerate(grid):
            effective, rest = self._effective(float(rate), cue, quenched, rest)
            excess[k] = effective - rate
            rests.append(rest)
        states = []
        if excess[0] == 0.0:  # silent network: a state at 0
            states.append(MemoryState(0.0, float(rests[0][0]), float(rests[0][1]), bool(excess[1] < 0)))
        for k in np.flatnonzero(np.sign(excess[:-1]) * np.sign(excess[1:]) < 0):

            def mismatch(rate, guess=rests[k]):
                return self._effective(rate, cue, quenched, guess)[0] - rate

            if np.sign(mismatch(grid[k])) == np.sign(mismatch(grid[k + 1])):
                continue  # the background jumped branch inside the cell: no crossing on one branch
            rate = optimize.brentq(mismatch, grid[k], grid[k + 1], xtol=1e-9, rtol=1e-10)
            rest = self._rest(rate, cue, quenched, rests[k])
            states.append(MemoryState(float(rate), float(rest[0]), float(rest[1]), bool(excess[k] > 0 > excess[k + 1])))
        return states


def fraction_retrieved(
    model: SpikingMemory,
    n_cued: int,
    rate_scale: float,
    seed,
    *,
    cue: float = 30.0,
    cue_duration: float = 100.0,
    reset: float = 10.0,
    reset_duration: float = 50.0,
    hold: float = 1000.0,
    bin_ms: float = 100.0,
    checkpoint=None,
) -> float:
    """The fraction of ``n_cued`` patterns a network of ``model`` holds after a cue.

    From ``seed`` (an int or a ``SeedSequence``), draw the patterns, the network and the noise;
    after 500 ms of background, cue patterns 0 to ``n_cued - 1`` in turn, one every ``hold`` ms:
    ``reset`` mV of inhibition to every excitatory neuron for ``reset_duration`` ms (it ends the
    state the network is in), then ``cue`` mV more input to the pattern's neurons for
    ``cue_duration`` ms. A pattern is retrieved when its overlap (``overlaps`` with
    ``rate_scale``, ``bin_ms`` bins) averages above 0.5 over the last half of its hold and no
    other pattern's exceeds 0.2 in any bin.

    With ``checkpoint`` (a CSV path) the result is logged under a key of all the inputs, and a
    call with the same inputs reads it instead of simulating again: a sweep that stopped resumes.
    """
    n_cued = _validate.integer_at_least("n_cued", n_cued, 1)
    if n_cued > model.n_patterns:
        raise ValueError(f"n_cued must be at most n_patterns ({model.n_patterns}), got {n_cued}")
    seed = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    protocol = dict(cue=cue, cue_duration=cue_duration, reset=reset, reset_duration=reset_duration,
                    hold=hold, bin_ms=bin_ms)
    if hold < cue_duration + reset_duration + 2 * bin_ms:
        raise ValueError(f"hold must be at least cue_duration + reset_duration + 2 bin_ms, got {hold}")
    key = hashlib.sha256(
        repr((model, n_cued, float(rate_scale), protocol, seed.entropy, seed.spawn_key)).encode()
    ).hexdigest()[:16]
    if checkpoint is not None:
        done = _checkpoint.read_log(checkpoint, ["key", "retrieved"], dtype={"key": str})
        if done is not None and key in set(done["key"]):
            return float(done.loc[done["key"] == key, "retrieved"].iloc[-1])
    pattern_seed, network_seed, noise_seed = seed.spawn(3)
    xi = model.patterns(rng=np.random.default_rng(pattern_seed))
    network = model.network(xi, rng=np.random.default_rng(network_seed))
    simulation = lif.Simulation(network, rng=np.random.default_rng(noise_seed))
    simulation.run(500.0)
    excitatory = (np.arange(network.n_neurons) < model.n_exc).astype(np.float64)
    retrieved = 0
    for mu in range(n_cued):
        if reset > 0 and reset_duration > 0:
            simulation.run(reset_duration, extra_input=-reset * excitatory)
        simulation.run(cue_duration, extra_input=cue * np.concatenate([xi[mu], np.zeros(model.n_inh)]))
        record = simulation.run(hold - cue_duration - reset_duration)
        _, m = overlaps(record.between(simulation.time - hold / 2, simulation.time), xi, bin_ms, rate_scale)
        retrieved += bool(m[mu].mean() > 0.5 and np.abs(np.delete(m, mu, axis=0)).max() < 0.2)
    fraction = retrieved / n_cued
    if checkpoint is not None:
        _checkpoint.append_to_log(checkpoint, {"key": key, "retrieved": fraction})
    return fraction


#: Probabilists' Gauss-Hermite nodes and weights: E[f(z)] for a standard normal z as a sum.
_HERMITE_NODES, _HERMITE_WEIGHTS = np.polynomial.hermite_e.hermegauss(40)
_HERMITE_WEIGHTS = _HERMITE_WEIGHTS / math.sqrt(2.0 * math.pi)


def overlaps(record: spikes.SpikeRecord, patterns, bin_ms: float, rate_scale: float):
    """Overlaps of the excitatory neurons' rates with each pattern, over time: (bin starts in ms,
    overlaps of shape (P, n_bins)).

    ``m^mu(t) = sum_i (xi_i^mu - a_mu) r_i(t) / (N_E a_mu (1 - a_mu) rate_scale)``, with ``r_i`` in Hz
    from bins of ``bin_ms`` and ``a_mu`` the fraction of neurons in pattern ``mu``. It is exactly 0
    when every neuron fires at one rate, and 1 when the pattern's neurons fire ``rate_scale`` Hz
    above the others: give the theory's retrieval rate minus its background rate, fixed before
    the run, never a number taken from its outcome.
    """
    patterns = np.asarray(patterns, dtype=np.float64)
    if patterns.ndim != 2:
        raise ValueError(f"patterns must be a (P, N_E) array, got shape {patterns.shape}")
    coding = patterns.mean(axis=1, keepdims=True)
    if np.any(coding <= 0.0) or np.any(coding >= 1.0):
        raise ValueError("every pattern must have some neurons in it and some out of it")
    rate_scale = _validate.positive("rate_scale", rate_scale)
    n_exc = patterns.shape[1]
    if n_exc > record.n_neurons:
        raise ValueError(f"patterns cover {n_exc} neurons; the record has {record.n_neurons}")
    rates = record.binned(bin_ms)[:n_exc] / (bin_ms * 1e-3)
    values = (patterns - coding) @ rates / (n_exc * coding * (1.0 - coding) * rate_scale)
    starts = record.first_step * record.dt + np.arange(values.shape[1]) * bin_ms
    return starts, values
