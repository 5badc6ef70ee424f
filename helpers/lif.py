"""Networks of leaky integrate-and-fire neurons: populations, projections, simulation, NEST hand-off.

The vocabulary is Brian2's and NEST's: a network is made of **populations** of neurons (each with
its neuron parameters and its external Poisson drive) and **projections** between them (a
connection rule, a weight and a delay). ``build_network`` draws the connections once; a
``Simulation`` advances the network in time and records its spikes.

The neuron (current based; Brunel 2000, NEST's ``iaf_psc_delta`` and ``iaf_psc_exp``)::

    tau_m dV/dt = -V + mu + tau_m I_syn(t)        V >= theta: spike, V -> V_reset for t_ref

With **delta** synapses a spike of weight ``J`` (mV) arriving at time t moves V by J. With
**exponential** synapses it adds ``J / tau_syn`` to a current that decays with ``tau_syn`` (one
current for positive weights, one for negative, each with its time constant): the same charge,
so the two kinds agree as ``tau_syn -> 0``. Both are integrated exactly over a step.

With **conductance** synapses (NEST's ``iaf_cond_exp``, Vogels et al. 2011's neuron) a spike of
weight ``J`` adds ``|J|`` to an excitatory (J > 0) or inhibitory (J < 0) conductance, in units of
the leak conductance, that decays with its ``tau_syn``::

    tau_m dV/dt = (mu - V) + g_E (E_exc - V) + g_I (E_inh - V)

Over a step V relaxes exponentially towards its steady state under the conductances' mean over
the step (exact while no spike arrives; NEST integrates the same equations with an adaptive
Runge-Kutta solver).

Data layout, chosen for the chapters that extend it:

* **one weight per synapse** (float32) and one delay per synapse (in steps), in the outgoing
  (pre-synaptic) order: a spike touches only its neuron's row, ``targets[indptr[j]:indptr[j+1]]``;
* the **incoming** view (``Network.incoming``) is a permutation of the same synapse indices, so
  a rule that updates weights on a post-synaptic spike (STDP) reaches them without a copy;
* every **neuron parameter is an array** over neurons: populations may spread time constants or
  thresholds;
* spikes wait in a **ring buffer** of ``max delay + 1`` slots with one channel per synaptic
  current (excitatory, inhibitory), the layout conductance-based synapses also need.

Plasticity: a projection given a rule of ``helpers.plasticity`` (pair or triplet STDP, Vogels'
inhibitory STDP) and bounds learns during a run, event by event: the kernel keeps each neuron's
traces, potentiates a neuron's incoming synapses at its spikes and depresses a neuron's outgoing
synapses at its spikes before delivering them. The rules see each spike at the step it is emitted
(the delays do not enter their timing). Each ``Simulation`` learns on its own copy of the
weights; learning is switched on or off per projection and run.

Randomness: connections come from ``rng`` (a NumPy Generator or seed); the Poisson drive is drawn
inside the kernel from ``helpers.rng``'s counter-based Philox generator, each number named by
(neuron and drive, step), so a run saved at any step resumes bit-exactly and the spikes are the
same at any thread count.
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
import sys
import time
from dataclasses import dataclass, field, replace
from functools import cached_property

import numba
import numpy as np

from . import _checkpoint, _validate, threads
from ._llvm import prefetch
from .rng import RandomLike, as_generator, kernel_key, uniforms4
from .spikes import SpikeRecord

#: Synapse models the kernel integrates.
SYNAPSES = ("delta", "exponential", "conductance")
#: Those of them whose weights are in mV (current based), as Brunel's model needs.
CURRENT_SYNAPSES = ("delta", "exponential")
#: Most plastic projections in one network: the kernel keeps the learning ones as bits of an int64.
_MOST_PLASTIC = 63
#: Largest expected number of Poisson inputs per step to one neuron from one drive; the draw is an
#: inversion whose cost grows with it (and exp(-lambda) must stay far from underflow).
MAX_DRIVE_PER_STEP = 500.0


# --- model description ------------------------------------------------------------------------


@dataclass(frozen=True)
class NeuronParameters:
    """Parameters of a LIF neuron. Each may be a number or an array over the population.

    Units: ms and mV. ``mu`` is a constant input (R I_0, in mV: the potential V relaxes to without
    spikes; with conductance synapses, the leak reversal plus R I_0). ``tau_syn_exc`` and
    ``tau_syn_inh`` matter only with exponential and conductance synapses, ``e_exc`` and ``e_inh``
    (the synapses' reversal potentials) only with conductance synapses, which need them.
    Defaults are Brunel's (2000): tau_m 20 ms, theta 20 mV, V_reset 10 mV, t_ref 2 ms.
    """

    tau_m: float | np.ndarray = 20.0
    theta: float | np.ndarray = 20.0
    v_reset: float | np.ndarray = 10.0
    t_ref: float | np.ndarray = 2.0
    mu: float | np.ndarray = 0.0
    tau_syn_exc: float | np.ndarray = 0.5
    tau_syn_inh: float | np.ndarray = 0.5
    e_exc: float | np.ndarray | None = None
    e_inh: float | np.ndarray | None = None


@dataclass(frozen=True)
class PoissonDrive:
    """``n_sources`` independent Poisson spike trains at ``rate`` Hz, each spike of weight ``weight`` mV.

    Every neuron of the population gets its own trains (as a NEST ``poisson_generator`` connected to
    each neuron): Brunel's external input is ``PoissonDrive(rate=nu_ext, weight=J, n_sources=C_E)``.
    """

    rate: float
    weight: float
    n_sources: int = 1


@dataclass(frozen=True)
class Population:
    """``size`` neurons with the same kind of parameters and external drive."""

    name: str
    size: int
    neuron: NeuronParameters = field(default_factory=NeuronParameters)
    drive: tuple[PoissonDrive, ...] = ()


@dataclass(frozen=True)
class Projection:
    """Synapses from population ``pre`` to population ``post`` (their names).

    Exactly one of ``probability`` (each pair connected independently: Bernoulli) and ``in_degree``
    (every post-synaptic neuron receives exactly that many, chosen uniformly without repetition).
    Within one population there are no self-connections. ``weight`` in mV (a jump in V with delta
    synapses), ``delay`` in ms, a whole number of steps and at least one.

    ``plasticity`` (a rule of ``helpers.plasticity``) makes the projection's weights learn during a
    run; ``bounds`` (``(low, high)`` with ``0 <= low <= high``, finite, in the weight's units) then bounds their
    magnitude: an inhibitory projection (negative weight) learns its magnitude, with the same sign.
    """

    pre: str
    post: str
    weight: float
    delay: float
    probability: float | None = None
    in_degree: int | None = None
    plasticity: object | None = None
    bounds: tuple[float, float] | None = None

    @property
    def name(self) -> str:
        """``"pre->post"``, the name by which a run switches its plasticity on or off."""
        return f"{self.pre}->{self.post}"

    @property
    def sign(self) -> float:
        """-1 for an inhibitory projection (negative weight), else 1: the sign its learned weights keep."""
        return -1.0 if self.weight < 0 else 1.0


# --- the network --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Network:
    """A built network: per-neuron parameters and per-synapse weights and delays, in outgoing order.

    ``indptr`` (N + 1) and ``targets`` are the outgoing CSR structure; ``weights`` (float32, mV) and
    ``delays`` (steps) are per synapse, in the same order. Per-neuron arrays have length N.
    """

    populations: tuple[Population, ...]
    dt: float
    synapse: str
    indptr: np.ndarray
    targets: np.ndarray
    weights: np.ndarray
    delays: np.ndarray
    tau_m: np.ndarray
    theta: np.ndarray
    v_reset: np.ndarray
    t_ref: np.ndarray
    mu: np.ndarray
    tau_syn: np.ndarray  # (2, N): excitatory and inhibitory current time constants
    drive_rate: np.ndarray  # (N, n_drives), Hz summed over a drive's sources
    drive_weight: np.ndarray  # (N, n_drives), mV
    e_rev: np.ndarray = field(default_factory=lambda: np.zeros((2, 0)))  # conductance synapses: (E_exc, E_inh), mV
    # plasticity: one entry per plastic projection, and each synapse's entry (-1: static)
    plastic: tuple[Projection, ...] = ()
    synapse_rule: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))

    @property
    def n_neurons(self) -> int:
        return self.indptr.size - 1

    @property
    def n_synapses(self) -> int:
        return int(self.indptr[-1])

    def population(self, name: str) -> slice:
        """The neuron indices of a population, as a slice."""
        start = 0
        for population in self.populations:
            if population.name == name:
                return slice(start, start + population.size)
            start += population.size
        raise ValueError(f"no population named {name!r}; the network has {[p.name for p in self.populations]}")

    @cached_property
    def sources(self) -> np.ndarray:
        """Pre-synaptic neuron of each synapse (int32), in outgoing order."""
        return np.repeat(np.arange(self.n_neurons, dtype=np.int32), np.diff(self.indptr))

    @cached_property
    def incoming(self) -> tuple[np.ndarray, np.ndarray]:
        """(in_indptr, synapse): neuron i's incoming synapses are ``synapse[in_indptr[i]:in_indptr[i+1]]``.

        Indices into the outgoing arrays (``weights``, ``sources``, ``delays``), so a change made through
        either view is seen by the other.
        """
        order = np.argsort(self.targets, kind="stable").astype(np.int64)
        in_indptr = np.zeros(self.n_neurons + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.targets, minlength=self.n_neurons), out=in_indptr[1:])
        return in_indptr, order

    @cached_property
    def plastic_incoming(self) -> tuple[np.ndarray, np.ndarray]:
        """``incoming`` restricted to the plastic synapses: what a postsynaptic spike updates."""
        _, synapse = self.incoming
        synapse = synapse[self.synapse_rule[synapse] >= 0]  # still in the order of their targets
        indptr = np.zeros(self.n_neurons + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.targets[synapse], minlength=self.n_neurons), out=indptr[1:])
        return indptr, synapse

    def in_degrees(self, source: str | None = None) -> np.ndarray:
        """Number of incoming synapses of each neuron (from population ``source`` only, if given)."""
        keep = slice(None) if source is None else self.population(source)
        chosen = np.zeros(self.n_neurons, dtype=bool)
        chosen[keep] = True
        return np.bincount(self.targets[chosen[self.sources]], minlength=self.n_neurons)

    def with_weights(self, weights) -> Network:
        """The same network with other synaptic weights (mV, one per synapse in outgoing order).

        How learned or stored memories enter a network: draw the connections with
        ``build_network``, then set each synapse's weight from a rule (``helpers.attractor``).
        """
        weights = np.asarray(weights)
        if weights.shape != self.weights.shape:
            raise ValueError(f"weights must have one value per synapse ({self.weights.size}), got {weights.shape}")
        if not np.all(np.isfinite(weights)):
            raise ValueError("weights must be finite")
        return replace(self, weights=np.ascontiguousarray(weights, dtype=np.float32))

    def fingerprint(self) -> str:
        """A digest of everything that determines a run, for checkpoints."""
        digest = hashlib.sha1()
        digest.update(repr((self.dt, self.synapse, [(p.name, p.size) for p in self.populations])).encode())
        for name in (
            "indptr",
            "targets",
            "weights",
            "delays",
            "tau_m",
            "theta",
            "v_reset",
            "t_ref",
            "mu",
            "tau_syn",
            "drive_rate",
            "drive_weight",
            "e_rev",
            "synapse_rule",
        ):
            digest.update(np.ascontiguousarray(getattr(self, name)).tobytes())
        digest.update(repr([(p.name, p.plasticity, p.bounds) for p in self.plastic]).encode())
        return digest.hexdigest()

    def plastic_synapses(self, name: str) -> np.ndarray:
        """The indices (outgoing order) of the synapses of plastic projection ``name`` ("pre->post")."""
        return np.flatnonzero(self.synapse_rule == self._plastic_index(name))

    def _plastic_index(self, name: str) -> int:
        names = [p.name for p in self.plastic]
        if name not in names:
            raise ValueError(f"no plastic projection named {name!r}; the network's are {names}")
        return names.index(name)


def _per_neuron(name: str, value, size: int, low: float, high: float = math.inf) -> np.ndarray:
    values = (
        np.broadcast_to(np.asarray(value, dtype=np.float64), (size,))
        if np.ndim(value) == 0
        else np.asarray(value, dtype=np.float64)
    )
    if values.shape != (size,):
        raise ValueError(
            f"{name} must be a number or an array of {size} values (one per neuron), got shape {values.shape}"
        )
    if not np.all(np.isfinite(values)) or values.min() < low or values.max() > high:
        raise ValueError(f"{name} must lie in [{low}, {high}], got values in [{values.min()}, {values.max()}]")
    return values


def _whole_steps(name: str, value: float, dt: float, minimum: int) -> int:
    steps = int(round(value / dt))
    if abs(steps * dt - value) > 1e-9 * max(1.0, abs(value)) or steps < minimum:
        least = f" and at least {minimum * dt} ms" if minimum else ""
        raise ValueError(f"{name} must be a whole number of steps of dt = {dt} ms{least}, got {value}")
    return steps


@numba.njit(cache=True)
def _draw_sources(counts, uniforms, n_pre, own_offset, out):
    """Fill ``out`` with ``counts[k]`` distinct sources in ``[0, n_pre)`` for each post neuron ``k``.

    Floyd's algorithm, one uniform per source. ``own_offset >= 0`` (pre and post are one population,
    neuron ``k`` of the block being ``own_offset + k``) leaves the self-connection out: the sample is
    drawn from ``n_pre - 1`` candidates and those at or above the neuron's index move up by one.
    """
    n_candidates = n_pre - 1 if own_offset >= 0 else n_pre
    taken = np.full(n_candidates, -1, dtype=np.int64)
    start = 0
    for k in range(counts.size):
        m = counts[k]
        for t in range(m):
            top = n_candidates - m + t
            choice = min(int(uniforms[start + t] * (top + 1)), top)
            if taken[choice] == k:
                choice = top
            taken[choice] = k
            out[start + t] = choice
        row = out[start : start + m]
        row.sort()
        if own_offset >= 0:
            for t in range(m):
                if row[t] >= own_offset + k:
                    row[t] += 1
        start += m


_BLOCK = 1 << 22  # uniforms drawn at a time while connecting (32 MB)


def _connect(projection: Projection, n_pre: int, n_post: int, same: bool, rng: np.random.Generator):
    """Sources (local indices) and in-degrees of one projection, post neuron by post neuron."""
    n_candidates = n_pre - 1 if same else n_pre
    if (projection.probability is None) == (projection.in_degree is None):
        raise ValueError(
            f"projection {projection.pre}->{projection.post}: give exactly one of probability and in_degree"
        )
    if projection.probability is not None:
        p = _validate.in_range(
            f"projection {projection.pre}->{projection.post} probability", projection.probability, 0, 1
        )
        counts = rng.binomial(n_candidates, p, size=n_post).astype(np.int64)
    else:
        k = _validate.integer_at_least(
            f"projection {projection.pre}->{projection.post} in_degree", projection.in_degree, 0
        )
        if k > n_candidates:
            raise ValueError(
                f"projection {projection.pre}->{projection.post} in_degree must be at most {n_candidates} "
                f"(the candidate sources), got {k}"
            )
        counts = np.full(n_post, k, dtype=np.int64)
    sources = np.empty(int(counts.sum()), dtype=np.int64)
    first, start = 0, 0
    while first < n_post:  # blocks of post neurons, so the uniforms never take more than _BLOCK
        last = first + 1
        total = counts[first]
        while last < n_post and total + counts[last] <= _BLOCK:
            total += counts[last]
            last += 1
        _draw_sources(
            counts[first:last], rng.random(int(total)), n_pre, first if same else -1, sources[start : start + total]
        )
        first, start = last, start + total
    return sources, counts


@numba.njit(cache=True)
def _sort_rows(indptr, targets, order):
    """Reorder each row of the permutation ``order`` so that its targets ascend (stable)."""
    for i in range(indptr.size - 1):
        row = order[indptr[i] : indptr[i + 1]]
        row[:] = row[np.argsort(targets[row], kind="mergesort")]


@numba.njit(cache=True)
def _outgoing_order(sources, n_neurons):
    """A stable counting sort of synapses by source: (indptr, permutation)."""
    indptr = np.zeros(n_neurons + 1, dtype=np.int64)
    for s in sources:
        indptr[s + 1] += 1
    for i in range(n_neurons):
        indptr[i + 1] += indptr[i]
    fill = indptr[:-1].copy()
    order = np.empty(sources.size, dtype=np.int64)
    for k in range(sources.size):
        order[fill[sources[k]]] = k
        fill[sources[k]] += 1
    return indptr, order


def build_network(populations, projections, dt: float = 0.1, synapse: str = "delta", rng: RandomLike = None) -> Network:
    """Draw the connections of ``projections`` between ``populations`` and lay the network out.

    Parameters
    ----------
    populations : sequence of Population
        Neurons are numbered population after population, in this order.
    projections : sequence of Projection
    dt : float
        Time step in ms; delays and refractory periods must be whole numbers of steps.
    synapse : {"delta", "exponential", "conductance"}
    rng : Generator, int or None
        Source of the connections (the Poisson drive has its own seed, given to ``Simulation``).
    """
    populations, projections = tuple(populations), tuple(projections)
    dt = _validate.positive("dt", dt)
    if synapse not in SYNAPSES:
        raise ValueError(f"synapse must be one of {SYNAPSES}, got {synapse!r}")
    if not populations:
        raise ValueError("a network needs at least one population")
    names = [p.name for p in populations]
    if len(set(names)) != len(names):
        raise ValueError(f"population names must differ, got {names}")
    offsets, n = {}, 0
    for population in populations:
        _validate.integer_at_least(f"population {population.name} size", population.size, 1)
        offsets[population.name] = n
        n += population.size
    if n > np.iinfo(np.int32).max:
        raise ValueError(f"the network must have fewer than 2**31 neurons, got {n}")
    sizes = {p.name: p.size for p in populations}

    def per_population(attribute, low, high=math.inf):
        return np.concatenate(
            [_per_neuron(f"{p.name} {attribute}", getattr(p.neuron, attribute), p.size, low, high) for p in populations]
        )

    tau_m = per_population("tau_m", 1e-9)
    theta = per_population("theta", -math.inf)
    v_reset = per_population("v_reset", -math.inf)
    if np.any(v_reset >= theta):
        raise ValueError("v_reset must lie below theta for every neuron")
    t_ref = per_population("t_ref", 0.0)
    for value in np.unique(t_ref):
        _whole_steps("t_ref", float(value), dt, 0)
    mu = per_population("mu", -math.inf)
    tau_syn = np.stack([per_population("tau_syn_exc", 1e-9), per_population("tau_syn_inh", 1e-9)])
    e_rev = np.zeros((2, 0))
    if synapse == "conductance":
        for population in populations:
            if population.neuron.e_exc is None or population.neuron.e_inh is None:
                raise ValueError(
                    f"population {population.name}: conductance synapses need the reversal potentials "
                    "e_exc and e_inh (mV)"
                )
        e_rev = np.stack([per_population("e_exc", -math.inf), per_population("e_inh", -math.inf)])

    n_drives = max([len(p.drive) for p in populations] + [1])
    drive_rate = np.zeros((n, n_drives))
    drive_weight = np.zeros((n, n_drives))
    for population in populations:
        rows = slice(offsets[population.name], offsets[population.name] + population.size)
        for d, drive in enumerate(population.drive):
            rate = _validate.in_range(f"population {population.name} drive rate", drive.rate, 0.0, math.inf)
            sources = _validate.integer_at_least(f"population {population.name} drive n_sources", drive.n_sources, 1)
            weight = _validate.in_range(f"population {population.name} drive weight", drive.weight, -math.inf, math.inf)
            if rate * sources * dt * 1e-3 > MAX_DRIVE_PER_STEP:
                raise ValueError(
                    f"population {population.name}: a drive of {sources} x {rate} Hz gives "
                    f"{rate * sources * dt * 1e-3:.0f} inputs per step; at most {MAX_DRIVE_PER_STEP:.0f} are allowed "
                    "(use fewer, stronger sources or a smaller dt)"
                )
            drive_rate[rows, d] = rate * sources
            drive_weight[rows, d] = weight

    rng = as_generator(rng)
    all_sources, all_targets, all_weights, all_delays, all_rules = [], [], [], [], []
    plastic = tuple(p for p in projections if p.plasticity is not None)
    for projection in plastic:
        _check_plasticity(projection)
    if len({p.name for p in plastic}) != len(plastic):
        raise ValueError(f"plastic projections need distinct pre->post names, got {[p.name for p in plastic]}")
    if len(plastic) > _MOST_PLASTIC:
        raise ValueError(f"at most {_MOST_PLASTIC} projections can be plastic, got {len(plastic)}")
    for projection in projections:
        for end in (projection.pre, projection.post):
            if end not in sizes:
                raise ValueError(f"projection {projection.pre}->{projection.post}: no population named {end!r}")
        weight = _validate.in_range(
            f"projection {projection.pre}->{projection.post} weight", projection.weight, -math.inf, math.inf
        )
        delay = _validate.positive(f"projection {projection.pre}->{projection.post} delay", projection.delay)
        delay_steps = _whole_steps(f"projection {projection.pre}->{projection.post} delay", delay, dt, 1)
        same = projection.pre == projection.post
        sources, counts = _connect(projection, sizes[projection.pre], sizes[projection.post], same, rng)
        all_sources.append(sources + offsets[projection.pre])
        all_targets.append(
            np.repeat(np.arange(sizes[projection.post], dtype=np.int64) + offsets[projection.post], counts)
        )
        all_weights.append(np.full(sources.size, weight, dtype=np.float32))
        all_delays.append(np.full(sources.size, delay_steps, dtype=np.int64))
        rule = plastic.index(projection) if projection.plasticity is not None else -1
        all_rules.append(np.full(sources.size, rule, dtype=np.int8))
    if not projections:
        all_sources = all_targets = all_delays = [np.zeros(0, dtype=np.int64)]
        all_weights = [np.zeros(0, dtype=np.float32)]
        all_rules = [np.zeros(0, dtype=np.int8)]
    sources = np.concatenate(all_sources)
    indptr, order = _outgoing_order(sources, n)
    _sort_rows(indptr, np.concatenate(all_targets), order)
    target_type = np.uint16 if n - 1 <= np.iinfo(np.uint16).max else np.uint32
    delays = np.concatenate(all_delays)[order]
    delay_type = np.uint8 if delays.size == 0 or delays.max() <= np.iinfo(np.uint8).max else np.uint16
    if delays.size and delays.max() > np.iinfo(np.uint16).max:
        raise ValueError(f"delays must be at most {np.iinfo(np.uint16).max} steps, got {delays.max()}")
    if drive_rate.max() == 0 and not np.any(mu > theta):
        # recurrent synapses alone cannot start a network whose every neuron rests below threshold
        raise ValueError(
            "the network has no input: give a population a Poisson drive or a constant input mu above theta"
        )
    return Network(
        populations=populations,
        dt=dt,
        synapse=synapse,
        indptr=indptr,
        targets=np.concatenate(all_targets)[order].astype(target_type),
        weights=np.concatenate(all_weights)[order],
        delays=delays.astype(delay_type),
        tau_m=tau_m,
        theta=theta,
        v_reset=v_reset,
        t_ref=t_ref,
        mu=mu,
        tau_syn=tau_syn,
        drive_rate=drive_rate,
        drive_weight=drive_weight,
        e_rev=e_rev,
        plastic=plastic,
        synapse_rule=np.concatenate(all_rules)[order],
    )


def _check_plasticity(projection: Projection) -> None:
    """A plastic projection's rule and bounds: a rule of ``helpers.plasticity`` that depresses, and
    finite bounds on the weights' magnitude that hold the initial weight."""
    name = f"projection {projection.name}"
    rule = projection.plasticity
    if not hasattr(rule, "trace_form"):
        raise ValueError(
            f"{name} plasticity must be a rule of helpers.plasticity (TripletSTDP, InhibitorySTDP), got {rule!r}"
        )
    if not rule.has_depression():
        raise ValueError(
            f"{name}: the rule {rule!r} has no depression, so its weights can only grow until the network "
            "runs away; give it a depression amplitude above 0"
        )
    bounds = projection.bounds
    if bounds is None or len(bounds) != 2:
        raise ValueError(f"{name} is plastic: give bounds=(low, high) on its weights' magnitude (mV), got {bounds!r}")
    low = _validate.in_range(f"{name} lower bound", bounds[0], 0.0, math.inf)
    high = _validate.in_range(f"{name} upper bound", bounds[1], 0.0, math.inf)
    if low > high:
        raise ValueError(f"{name} bounds must be (low, high) with low <= high, got {bounds!r}")
    if not low <= abs(projection.weight) <= high:
        raise ValueError(
            f"{name}: the weight's magnitude {abs(projection.weight)} must lie within its bounds {bounds!r}"
        )


# --- the kernel ---------------------------------------------------------------------------------


#: The largest uniform ``helpers.rng.uniforms4`` returns: 1 - 2^-33. Table entries at or above it
#: can never be exceeded, so the inversion need not look beyond the first of them.
_LARGEST_UNIFORM = 1.0 - 2.0**-33
#: Cells of a Poisson table's guide: the inversion starts from the guide's entry for ``u`` and
#: looks at one or two more entries of the table on average, whatever the expected count.
_GUIDE_CELLS = 1024


def _poisson_tables(expected: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative Poisson distributions for each distinct expected count: (tables, guides, index).

    ``tables[t, k]`` is P(K <= k) for the t-th distinct value, up to the first entry at or above
    the largest uniform the kernel draws, and 1 after it. ``guides[t, g]`` is the first ``k`` with
    ``tables[t, k] > g / _GUIDE_CELLS``: for a uniform ``u`` in cell ``g`` the count
    ``K = #{k : tables[t, k] < u}`` is at least that (no uniform is a multiple of 1 / 1024), and a
    search up from it finds K after about one comparison (the guide table of Chen & Asau 1974); at
    Brunel's 2 inputs per step it costs a quarter of comparing ``u`` with every entry. ``index`` has the shape
    of ``expected``; entries equal to 0 get -1 (no draw).
    """
    from scipy import stats

    values, index = np.unique(expected, return_inverse=True)
    index = index.reshape(expected.shape).astype(np.int32)
    width = int(values.max() + 20 * math.sqrt(values.max()) + 40) if values.size else 1
    tables = np.ones((values.size, width))
    guides = np.zeros((values.size, _GUIDE_CELLS), dtype=np.int32)
    cells = np.arange(_GUIDE_CELLS) / _GUIDE_CELLS
    for t, value in enumerate(values):
        if value > 0:
            cdf = stats.poisson.cdf(np.arange(width), value)
            length = int(np.searchsorted(cdf, _LARGEST_UNIFORM)) + 1
            tables[t, :length] = cdf[:length]
            guides[t] = np.searchsorted(tables[t], cells, side="right")
    index[expected == 0] = -1
    return tables, guides, index


#: Delivery asks for the synapses of the spike this many ahead of the one it adds up, and for the
#: first ``_PREFETCH_BLOCKS`` blocks of 32 of them: a row begins at an address no prefetcher can
#: guess. On Brunel's network at full size (two threads) this cut delivery by a fifth; more blocks
#: or a longer distance gained nothing more.
_PREFETCH_AHEAD = 2
_PREFETCH_BLOCKS = 8


@numba.njit(cache=True, inline="always")
def _prefetch_synapses(first, last, targets, weights):
    """Ask for the cache lines of the first synapses of ``first ... last - 1``."""
    for block in range(_PREFETCH_BLOCKS):
        s = first + 32 * block
        if s >= last:
            break
        prefetch(targets, (s,))
        prefetch(weights, (s,))
        prefetch(weights, (min(s + 16, last - 1),))


@numba.njit(cache=True, inline="always")
def _deliver_spikes(emitted, neurons, starts, ends, targets, weights, delays, ring, exponential, row_delay):
    """Deliver the spikes of ``neurons`` emitted at steps ``emitted``: of neuron ``i``'s synapses,
    those ``starts[i] ... ends[i] - 1`` (a thread's share of its row, or all of it)."""
    for q in range(neurons.size):
        if q + _PREFETCH_AHEAD < neurons.size:
            ahead = neurons[q + _PREFETCH_AHEAD]
            _prefetch_synapses(starts[ahead], ends[ahead], targets, weights)
        i = neurons[q]
        _deliver(emitted[q], targets[starts[i] : ends[i]], weights[starts[i] : ends[i]], delays[starts[i] : ends[i]],
                 ring, exponential, row_delay[i])  # fmt: skip


@numba.njit(cache=True, inline="always")
def _deliver(emitted, targets, weights, delays, ring, exponential, row_delay):
    """Add the ``weights`` of a spike's synapses (views of a row) emitted at step ``emitted`` to the
    ring-buffer slots their ``delays`` point to; ``row_delay`` is their common delay, or -1 if they
    differ. Loops over views: an index that cannot be negative needs no wrap-around test."""
    n_slots = ring.shape[0]
    slot = emitted % n_slots
    if row_delay >= 0 and not exponential:
        # one delay, one channel: every weight lands in the same row of the buffer (the common case,
        # and the costliest loop of a run: it runs once per delivered event)
        arrival = slot + row_delay
        if arrival >= n_slots:
            arrival -= n_slots
        row = ring[arrival, 0]
        for s in range(targets.size):
            row[targets[s]] += weights[s]
        return
    for s in range(targets.size):
        w = weights[s]
        arrival = slot + delays[s]  # below 2 n_slots: a subtraction, not a division
        if arrival >= n_slots:
            arrival -= n_slots
        channel = 1 if (exponential and w < 0.0) else 0
        ring[arrival, channel, targets[s]] += w


# Columns of the kernel's table of plastic projections (``_rule_table``): the rule's
# trace form (``helpers.plasticity.TraceForm``), the weights' sign and the bounds on their magnitude.
_A2_PLUS, _A3_PLUS, _A2_MINUS, _A3_MINUS, _PRE_CONSTANT = 0, 1, 2, 3, 4
_TAU = 5  # tau_plus, tau_x, tau_minus, tau_y: the traces r1, r2, o1, o2
_SIGN, _LOW, _HIGH = 9, 10, 11
_RULE_COLUMNS = 12


@numba.njit(cache=True, inline="always")
def _learn(weights, synapse, change, rule):
    """Add ``change`` to the magnitude of a synapse's weight, within the rule's bounds."""
    sign = rule[_SIGN]
    magnitude = min(max(sign * weights[synapse] + change, rule[_LOW]), rule[_HIGH])
    weights[synapse] = sign * magnitude


@numba.njit(cache=True, inline="always")
def _trace(trace, trace_step, rule, r, k, i, now, dt):
    """Trace ``k`` of neuron ``i`` for rule ``r`` at step ``now``, its spike at ``now`` not counted."""
    return trace[r, k, i] * math.exp(-(now - trace_step[i]) * dt / rule[r, _TAU + k])


@numba.njit(cache=True)
def _learn_and_deliver(emitted, neurons, lo, hi, starts, ends, targets, weights, delays, ring, exponential,
                       row_delay, in_indptr, in_synapse, in_source, in_rule, synapse_rule, out_rules, rules,
                       learning, trace, trace_step, dt):  # fmt: skip
    """``_deliver_spikes`` for a network with plastic synapses: apply the rules at the spikes of
    ``neurons`` emitted at steps ``emitted`` (in step order), then deliver them, on the synapses that
    end on neurons ``lo ... hi - 1`` (of row ``i``, those ``starts[i] ... ends[i] - 1``).

    ``in_indptr`` and ``in_synapse`` list each neuron's incoming plastic synapses, ``in_source`` and
    ``in_rule`` their sources and rules in the same order (read in turn, not looked up); bit ``r`` of
    ``out_rules[i]`` says whether neuron ``i``'s row has synapses of rule ``r``. ``trace[r, k, i]``
    holds trace ``k`` of neuron ``i`` for rule ``r`` at its last spike, at step ``trace_step[i]``;
    every thread keeps its own copy of all neurons' traces and updates it at every
    spike, so that it reads any of them without waiting for another thread. At each step, in turn:
    (1) each postsynaptic spike of the thread's neurons potentiates their incoming plastic synapses;
    (2) the spiking neurons' postsynaptic traces jump; (3) each presynaptic spike depresses its
    plastic synapses and is delivered with the new weights (as NEST's synapses do); (4) the
    presynaptic traces jump. So a pre and a post spike at the same step count as the post first,
    as ``helpers.plasticity``'s ``weight_change`` orders them. Each synapse belongs to one thread,
    which changes it in the same order at any thread count.
    """
    n_rules = rules.shape[0]
    active = 0  # the rules that learn, as bits
    for r in range(n_rules):
        if learning[r]:
            active |= 1 << r
    first = 0
    while first < neurons.size:
        now = emitted[first]
        last = first
        while last < neurons.size and emitted[last] == now:
            last += 1
        for q in range(first, last):  # (1)
            j = neurons[q]
            if j < lo or j >= hi or active == 0:
                continue
            for k in range(in_indptr[j], in_indptr[j + 1]):
                r = in_rule[k]
                if not learning[r]:
                    continue
                synapse = in_synapse[k]
                rule = rules[r]
                r1 = _trace(trace, trace_step, rules, r, 0, in_source[k], now, dt)
                triplet = rule[_A3_PLUS] * _trace(trace, trace_step, rules, r, 3, j, now, dt) if rule[_A3_PLUS] else 0.0
                _learn(weights, synapse, r1 * (rule[_A2_PLUS] + triplet), rule)
        for q in range(first, last):  # (2)
            i = neurons[q]
            for r in range(n_rules):
                for k in range(4):
                    trace[r, k, i] = _trace(trace, trace_step, rules, r, k, i, now, dt)
                trace[r, 2, i] += 1.0
                trace[r, 3, i] += 1.0
            trace_step[i] = now
        for q in range(first, last):  # (3)
            if q + _PREFETCH_AHEAD < last:
                ahead = neurons[q + _PREFETCH_AHEAD]
                _prefetch_synapses(starts[ahead], ends[ahead], targets, weights)
            i = neurons[q]
            for synapse in range(starts[i], ends[i] if out_rules[i] & active else starts[i]):
                r = synapse_rule[synapse]
                if r < 0 or not learning[r]:
                    continue
                rule = rules[r]
                o1 = _trace(trace, trace_step, rules, r, 2, targets[synapse], now, dt)
                r2 = trace[r, 1, i]  # at this step already, without this spike
                _learn(weights, synapse, -(o1 * (rule[_A2_MINUS] + rule[_A3_MINUS] * r2)) - rule[_PRE_CONSTANT], rule)
            _deliver(now, targets[starts[i] : ends[i]], weights[starts[i] : ends[i]], delays[starts[i] : ends[i]],
                     ring, exponential, row_delay[i])  # fmt: skip
        for q in range(first, last):  # (4)
            i = neurons[q]
            for r in range(n_rules):
                trace[r, 0, i] += 1.0
                trace[r, 1, i] += 1.0
        first = last


@numba.njit(cache=True, inline="always")
def _draw_drive(key, now, lo, uniform, drive_tables, drive_guides, drive_table, drive_weight, drive_exc, drive_inh):
    """The Poisson drive at step ``now`` of the neurons from ``lo`` on whose rows of ``drive_table`` and
    ``drive_weight`` are given, into ``drive_exc`` and ``drive_inh`` (views of theirs).

    The uniforms come four per Philox call named by (draw // 4, step), draws numbered neuron by
    neuron and drive by drive; ``lo`` is a multiple of 4 draws, so the numbers do not depend on where
    the threads' blocks begin. Each count is the inverse of its tabulated distribution,
    ``K = #{k : cdf[k] < u}``, found from the guide table's start (``_poisson_tables``).
    """
    width, n_drives = drive_table.shape
    n_guide = drive_guides.shape[1]
    first_block = lo * n_drives // 4
    for block in range(first_block, ((lo + width) * n_drives + 3) // 4):
        u = uniforms4(key, block, now)
        base = 4 * (block - first_block)
        uniform[base] = u[0]
        uniform[base + 1] = u[1]
        uniform[base + 2] = u[2]
        uniform[base + 3] = u[3]
    draw = 0
    for j in range(width):
        exc = 0.0
        inh = 0.0
        for d in range(n_drives):
            table = drive_table[j, d]
            if table >= 0:
                u = uniform[draw]
                cdf = drive_tables[table]
                k = drive_guides[table, int(u * n_guide)]
                while u > cdf[k]:
                    k += 1
                w = k * drive_weight[j, d]
                if w >= 0.0:
                    exc += w
                else:
                    inh += w
            draw += 1
        drive_exc[j] = exc
        drive_inh[j] = inh


@numba.njit(cache=True, inline="always")
def _integrate_delta(v, refractory, v_decay, v_gain, mu, arriving, drive_exc, drive_inh):
    """One exact step of delta-synapse neurons (views of one thread's); input arriving during the
    refractory period is lost (as in NEST). Branch-free, so that it vectorises."""
    for j in range(v.size):
        free = refractory[j] <= 0
        integrated = v[j] * v_decay[j] + mu[j] * v_gain[j] + arriving[j] + drive_exc[j] + drive_inh[j]
        v[j] = integrated if free else v[j]
        refractory[j] -= 0 if free else 1
        arriving[j] = 0.0


@numba.njit(cache=True, inline="always")
def _integrate_exponential(v, refractory, v_decay, v_gain, mu, current_exc, current_inh, exc_to_v, inh_to_v,
                           exc_decay, inh_decay, exc_jump, inh_jump, arriving_exc, arriving_inh, drive_exc,
                           drive_inh):  # fmt: skip
    """One exact step of exponential-synapse neurons (views of one thread's): V first, with the
    currents of the step's start; then the currents decay and take what arrives now (NEST's
    iaf_psc_exp order). A refractory neuron's V stays put; its currents go on."""
    for j in range(v.size):
        free = refractory[j] <= 0
        integrated = v[j] * v_decay[j] + mu[j] * v_gain[j] + current_exc[j] * exc_to_v[j] + current_inh[j] * inh_to_v[j]
        v[j] = integrated if free else v[j]
        refractory[j] -= 0 if free else 1
        current_exc[j] = current_exc[j] * exc_decay[j] + (arriving_exc[j] + drive_exc[j]) * exc_jump[j]
        current_inh[j] = current_inh[j] * inh_decay[j] + (arriving_inh[j] + drive_inh[j]) * inh_jump[j]
        arriving_exc[j] = 0.0
        arriving_inh[j] = 0.0


@numba.njit(cache=True, inline="always")
def _integrate_conductance(v, refractory, leak_rate, mu, g_exc, g_inh, exc_mean, inh_mean, e_exc, e_inh, exc_decay,
                           inh_decay, arriving_exc, arriving_inh, drive_exc, drive_inh):  # fmt: skip
    """One step of conductance-synapse neurons (views of one thread's): V relaxes towards its
    steady state under the conductances' mean over the step (``exc_mean``: that mean over the
    value at the step's start), at the rate ``leak_rate`` (dt / tau_m) times the total conductance;
    then the conductances decay and take what arrives now, an inhibitory weight (negative) adding
    its magnitude. A refractory neuron's V stays put; its conductances go on."""
    for j in range(v.size):
        free = refractory[j] <= 0
        ge = g_exc[j] * exc_mean[j]
        gi = g_inh[j] * inh_mean[j]
        total = 1.0 + ge + gi
        settled = (mu[j] + ge * e_exc[j] + gi * e_inh[j]) / total
        x = leak_rate[j] * total  # dt / tau_eff, about 0.005 to 0.05
        # exp(-x) as its (2, 2) Pade approximant (relative error below x^5 / 720: 1e-10 at x = 0.05),
        # a division that vectorises where exp, without Intel's SVML, does not
        decay = (12.0 - 6.0 * x + x * x) / (12.0 + 6.0 * x + x * x)
        integrated = settled + (v[j] - settled) * decay
        v[j] = integrated if free else v[j]
        refractory[j] -= 0 if free else 1
        g_exc[j] = g_exc[j] * exc_decay[j] + arriving_exc[j] + drive_exc[j]
        g_inh[j] = g_inh[j] * inh_decay[j] - arriving_inh[j] - drive_inh[j]
        arriving_exc[j] = 0.0
        arriving_inh[j] = 0.0


@numba.njit(cache=True)
def _thread_stretch(t, lo, hi, uniform, local_steps, local_neurons, step, end, key, kind, last_steps,
                    last_neurons, split, targets, weights, delays, row_delay, v_decay, v_gain, mu, theta, v_reset,
                    ref_steps, syn_decay, syn_to_v, syn_jump, e_rev, drive_tables, drive_guides, drive_table,
                    drive_weight, v, refractory, ring, current, drive_exc, drive_inh, plastic, in_indptr, in_synapse,
                    in_source, in_rule, synapse_rule, out_rules, rules, learning, dt, trace, trace_step):  # fmt: skip
    """Thread ``t``'s share of a stretch (see ``_advance``): deliver the last stretch's spikes
    (``last_steps``, ``last_neurons``) onto neurons ``lo ... hi - 1``, then take those neurons through
    steps ``step ... end - 1``; their spikes go to ``local_*``, and their number is returned. A
    function of its own so that one thread runs the very same code outside a parallel region.
    ``kind`` is the synapse model's index in ``SYNAPSES``. ``plastic ... dt`` are
    ``Simulation._plasticity``'s arguments (``plastic`` False: none); ``trace`` and ``trace_step``
    are the thread's copy of the traces."""
    n_slots = ring.shape[0]
    exponential = kind > 0  # two channels, excitatory and inhibitory
    if plastic:
        _learn_and_deliver(last_steps, last_neurons, lo, hi, split[:, t], split[:, t + 1], targets, weights, delays,
                           ring, exponential, row_delay, in_indptr, in_synapse, in_source, in_rule, synapse_rule,
                           out_rules, rules, learning, trace, trace_step, dt)  # fmt: skip
    else:
        _deliver_spikes(last_steps, last_neurons, split[:, t], split[:, t + 1], targets, weights, delays, ring,
                        exponential, row_delay)  # fmt: skip
    # The thread's neurons as views: a loop over a view's own length has no negative index to wrap
    # around, and only then does the compiler vectorise it.
    v_t, refractory_t = v[lo:hi], refractory[lo:hi]
    v_decay_t, v_gain_t, mu_t = v_decay[lo:hi], v_gain[lo:hi], mu[lo:hi]
    exc_t, inh_t = drive_exc[lo:hi], drive_inh[lo:hi]
    count = 0
    for now in range(step, end):
        slot = now % n_slots
        _draw_drive(key, now, lo, uniform, drive_tables, drive_guides, drive_table[lo:hi], drive_weight[lo:hi], exc_t,
                    inh_t)  # fmt: skip
        if kind == 2:
            _integrate_conductance(
                v_t, refractory_t, v_gain_t, mu_t, current[0, lo:hi], current[1, lo:hi], syn_to_v[0, lo:hi],
                syn_to_v[1, lo:hi], e_rev[0, lo:hi], e_rev[1, lo:hi], syn_decay[0, lo:hi], syn_decay[1, lo:hi],
                ring[slot, 0, lo:hi], ring[slot, 1, lo:hi], exc_t, inh_t,
            )  # fmt: skip
        elif kind == 1:
            _integrate_exponential(
                v_t, refractory_t, v_decay_t, v_gain_t, mu_t, current[0, lo:hi], current[1, lo:hi],
                syn_to_v[0, lo:hi], syn_to_v[1, lo:hi], syn_decay[0, lo:hi], syn_decay[1, lo:hi],
                syn_jump[0, lo:hi], syn_jump[1, lo:hi], ring[slot, 0, lo:hi], ring[slot, 1, lo:hi], exc_t, inh_t,
            )  # fmt: skip
        else:
            _integrate_delta(v_t, refractory_t, v_decay_t, v_gain_t, mu_t, ring[slot, 0, lo:hi], exc_t, inh_t)
        # a refractory neuron sits at its reset, below threshold: one test covers all neurons
        for j in range(v_t.size):
            if v_t[j] >= theta[lo + j]:
                v_t[j] = v_reset[lo + j]
                refractory_t[j] = ref_steps[lo + j]
                local_steps[count] = now
                local_neurons[count] = lo + j
                count += 1
    return count


@numba.njit(cache=True, parallel=True)
def _advance(
    first_step,
    last_step,
    stretch,
    key,
    kind,
    bounds,
    split,
    indptr,
    targets,
    weights,
    delays,
    row_delay,
    v_decay,
    v_gain,
    mu,
    theta,
    v_reset,
    ref_steps,
    syn_decay,
    syn_to_v,
    syn_jump,
    e_rev,
    drive_tables,
    drive_guides,
    drive_table,
    drive_weight,
    v,
    refractory,
    ring,
    current,
    spike_steps,
    spike_neurons,
    n_spikes,
    plasticity,
    traces,
    trace_steps,
):
    """Advance the network from ``first_step`` up to ``last_step`` (exclusive); returns (step reached, spikes).

    With plastic synapses (``plasticity``, see ``_learn_and_deliver``) each thread ``t`` keeps its copy
    of the traces in ``traces[t]`` and ``trace_steps[t]``; on return the first copy is up to date.

    Thread ``t`` owns neurons ``bounds[t] ... bounds[t + 1] - 1`` and, in every row of synapses, those
    ``split[i, t] ... split[i, t + 1] - 1`` that end on its neurons. Time goes in stretches of at most
    the shortest delay: a spike emitted in a stretch cannot arrive before the next one, so each
    thread integrates its neurons through a stretch alone (one parallel region per stretch, not per
    step), and at the start of the next delivers the spikes of the last one, of every thread, in the
    order (step, neuron), onto its own neurons. Every ring-buffer entry therefore takes its additions
    in the same order at any thread count: the spikes do not depend on it. Per step: draw the
    Poisson drive, then per neuron read and clear the slot, integrate exactly (branch-free, so the
    loop vectorises), and last compare with the threshold. Stops early, at a stretch boundary, when
    the spike arrays might not hold another stretch.
    """
    n = v.size
    n_threads = bounds.size - 1
    n_drives = drive_table.shape[1]
    # flat, for the parallel region (a tuple in a tuple cannot enter it)
    plastic, in_indptr, in_synapse, in_source, in_rule, synapse_rule, out_rules, rules, learning, dt = plasticity
    drive_exc = np.zeros(n)
    drive_inh = np.zeros(n)
    widest = 0
    for t in range(n_threads):
        widest = max(widest, bounds[t + 1] - bounds[t])
    uniform = np.empty((n_threads, widest * n_drives + 4))
    local_steps = np.empty((n_threads, widest * stretch), dtype=np.int64)
    local_neurons = np.empty((n_threads, widest * stretch), dtype=np.int32)
    local_count = np.zeros(n_threads, dtype=np.int64)
    cursor = np.zeros(n_threads, dtype=np.int64)
    last_stretch = n_spikes  # spikes of the previous stretch: spike_*[last_stretch:n_spikes]
    step = first_step
    while step < last_step:
        if spike_steps.size - n_spikes < n * stretch:
            break
        end = min(step + stretch, last_step)
        shared = (
            step, end, key, kind, spike_steps[last_stretch:n_spikes], spike_neurons[last_stretch:n_spikes],
            split, targets, weights, delays, row_delay, v_decay, v_gain, mu, theta, v_reset, ref_steps, syn_decay,
            syn_to_v, syn_jump, e_rev, drive_tables, drive_guides, drive_table, drive_weight, v, refractory, ring,
            current, drive_exc, drive_inh, plastic, in_indptr, in_synapse, in_source, in_rule, synapse_rule, out_rules,
            rules, learning, dt,
        )  # fmt: skip
        if n_threads == 1:  # opening a parallel region costs about 0.1 ms: more than a small network's stretch
            local_count[0] = _thread_stretch(0, bounds[0], bounds[1], uniform[0], local_steps[0], local_neurons[0],
                                             *shared, traces[0], trace_steps[0])  # fmt: skip
        else:
            for t in numba.prange(n_threads):
                local_count[t] = _thread_stretch(t, bounds[t], bounds[t + 1], uniform[t], local_steps[t],
                                                 local_neurons[t], *shared, traces[t], trace_steps[t])  # fmt: skip
        # gather the stretch's spikes in (step, neuron) order: by step, then thread by thread
        last_stretch = n_spikes
        for t in range(n_threads):  # not np.zeros: in a parallel function that would open a parallel region
            cursor[t] = 0
        for now in range(step, end):
            for t in range(n_threads):
                while cursor[t] < local_count[t] and local_steps[t, cursor[t]] == now:
                    spike_steps[n_spikes] = now
                    spike_neurons[n_spikes] = local_neurons[t, cursor[t]]
                    n_spikes += 1
                    cursor[t] += 1
        step = end
    # the last stretch's spikes go into the ring buffer before returning (one thread: they are few)
    if plastic:
        _learn_and_deliver(spike_steps[last_stretch:n_spikes], spike_neurons[last_stretch:n_spikes], 0, n,
                           indptr[:-1], indptr[1:], targets, weights, delays, ring, kind > 0, row_delay, in_indptr,
                           in_synapse, in_source, in_rule, synapse_rule, out_rules, rules, learning, traces[0],
                           trace_steps[0], dt)  # fmt: skip
    else:
        _deliver_spikes(spike_steps[last_stretch:n_spikes], spike_neurons[last_stretch:n_spikes], indptr[:-1],
                        indptr[1:], targets, weights, delays, ring, kind > 0, row_delay)  # fmt: skip
    return step, n_spikes


@numba.njit(cache=True)
def _common_delays(indptr, delays):
    """Each row's common delay in steps, or -1 where its synapses' delays differ."""
    n = indptr.size - 1
    common = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        if indptr[i + 1] > indptr[i]:
            first = delays[indptr[i]]
            common[i] = first
            for s in range(indptr[i] + 1, indptr[i + 1]):
                if delays[s] != first:
                    common[i] = -1
                    break
    return common


@numba.njit(cache=True)
def _row_splits(indptr, targets, bounds):
    """``split[i, t]``: the first synapse of row ``i`` whose target is at least ``bounds[t]`` (rows sorted)."""
    n = indptr.size - 1
    split = np.empty((n, bounds.size), dtype=np.int64)
    for i in range(n):
        row = targets[indptr[i] : indptr[i + 1]]
        for t in range(bounds.size):
            split[i, t] = indptr[i] + np.searchsorted(row, bounds[t])
    return split


#: Cost of one neuron's step relative to one synapse read (threads.MIN_PARALLEL_WORK's unit): about
#: 12 ns against 1 ns, most of it the Poisson drive.
_WORK_PER_NEURON_STEP = 10


# --- simulation ---------------------------------------------------------------------------------


def _exponential_propagators(tau_m, tau_s, dt):
    """Exact one-step propagators of tau_m dV/dt = -V + tau_m I, dI/dt = -I / tau_s: (I decay, I -> V)."""
    decay_m, decay_s = np.exp(-dt / tau_m), np.exp(-dt / tau_s)
    close = np.isclose(tau_m, tau_s, rtol=1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        to_v = np.where(close, dt * decay_m, tau_m * tau_s / (tau_s - tau_m) * (decay_s - decay_m))
    return decay_s, to_v


def _rule_table(network: Network) -> np.ndarray:
    """One row per plastic projection for the kernel: its rule's trace form, the sign of its
    weights and the bounds on their magnitude (columns ``_A2_PLUS`` ... ``_HIGH``)."""
    table = np.zeros((len(network.plastic), _RULE_COLUMNS))
    for r, projection in enumerate(network.plastic):
        form = projection.plasticity.trace_form()
        sign = projection.sign
        table[r] = (form.a2_plus, form.a3_plus, form.a2_minus, form.a3_minus, form.pre_constant, form.tau_plus,
                    form.tau_x, form.tau_minus, form.tau_y, sign, *projection.bounds)  # fmt: skip
        magnitudes = sign * network.weights[network.synapse_rule == r]
        low, high = projection.bounds
        if magnitudes.size and (magnitudes.min() < np.float32(low) or magnitudes.max() > np.float32(high)):
            raise ValueError(
                f"plastic projection {projection.name}: its weights' magnitudes must lie within its bounds "
                f"{projection.bounds} (with the sign of its weight {projection.weight}), got "
                f"[{magnitudes.min()}, {magnitudes.max()}]"
            )
    return table


class Simulation:
    """A network in time: its state, the seed of its Poisson drive, and the spikes recorded so far.

    Parameters
    ----------
    network : Network
    rng : Generator, int or None
        Draws the initial potentials and the key of the kernel's counter-based generator.
    v_init : array, number or None
        Initial membrane potentials (mV); None draws them uniformly in [V_reset, theta).
    """

    def __init__(self, network: Network, rng: RandomLike = None, v_init=None):
        self.network = network
        generator = as_generator(rng)
        self.key = kernel_key(generator)
        n = network.n_neurons
        if v_init is None:
            self.v = network.v_reset + generator.random(n) * (network.theta - network.v_reset)
        else:
            self.v = _per_neuron("v_init", v_init, n, -math.inf).copy()
        self.step = 0
        self.refractory = np.zeros(n, dtype=np.int32)
        n_slots = int(network.delays.max()) + 1 if network.delays.size else 1
        n_channels = 1 if network.synapse == "delta" else 2
        self.ring = np.zeros((n_slots, n_channels, n), dtype=np.float32)
        self.current = np.zeros((2, n))
        self._chunks = []  # (steps, neurons) per call of the kernel; joined when asked for
        # Time goes in stretches of the shortest delay (see ``_advance``); without synapses, any length.
        self._stretch = int(network.delays.min()) if network.delays.size else 10
        self._room = max(4 * n, 2 * n * self._stretch)
        self._partitions = {}
        self._constants = self._propagators()
        self._extra_input = None  # of the current run (``run``)
        # Plasticity: the simulation's own weights (the network's stay as built), the traces of every
        # neuron for every plastic projection, and which projections learn in the current run.
        self.weights = network.weights.copy() if network.plastic else network.weights
        self.traces = np.zeros((len(network.plastic), 4, n))
        self.trace_step = np.zeros(n, dtype=np.int64)
        self._learning = np.zeros(len(network.plastic), dtype=np.bool_)
        self._rules = _rule_table(network)
        self._in_source = self._in_rule = None  # made at the first run
        self._out_rules = np.zeros(n, dtype=np.int64)  # bit r: the neuron's row has synapses of rule r
        for r in range(len(network.plastic)):
            self._out_rules[np.unique(network.sources[network.synapse_rule == r])] |= 1 << r

    def _partition(self, n_threads: int) -> tuple[np.ndarray, np.ndarray]:
        """Each thread's first neuron (multiples of 4 draws) and each row's first synapse per thread."""
        if n_threads not in self._partitions:
            net = self.network
            n_drives = net.drive_rate.shape[1]
            unit = 4 // math.gcd(4, n_drives)  # neurons per whole number of Philox blocks
            share = -(-net.n_neurons // (n_threads * unit)) * unit
            bounds = np.minimum(np.arange(n_threads + 1) * share, net.n_neurons).astype(np.int64)
            bounds[-1] = net.n_neurons
            self._partitions[n_threads] = (bounds, _row_splits(net.indptr, net.targets, bounds))
        return self._partitions[n_threads]

    def _propagators(self):
        """The kernel's constants. With conductance synapses ``v_gain`` is dt / tau_m (the decay of V
        depends on the conductances), ``syn_to_v`` a conductance's mean over a step relative to its
        value at the step's start, and a weight's jump is its magnitude."""
        net, dt = self.network, self.network.dt
        v_decay = np.exp(-dt / net.tau_m)
        v_gain = 1.0 - v_decay
        syn_decay, syn_to_v = _exponential_propagators(net.tau_m[None, :], net.tau_syn, dt)
        syn_jump = 1.0 / net.tau_syn
        e_rev = np.zeros((2, net.n_neurons))
        if net.synapse == "conductance":
            v_gain = dt / net.tau_m
            syn_decay = np.exp(-dt / net.tau_syn)
            syn_to_v = net.tau_syn / dt * (1.0 - syn_decay)
            syn_jump = np.ones_like(net.tau_syn)
            e_rev = net.e_rev
        tables, guides, table = _poisson_tables(net.drive_rate * dt * 1e-3)
        drive_weight = net.drive_weight
        if not np.any(table >= 0):  # no drive at all: no columns, so that no uniform is drawn for it
            table, drive_weight = table[:, :0].copy(), drive_weight[:, :0].copy()
        return dict(
            row_delay=_common_delays(net.indptr, net.delays),
            v_decay=v_decay,
            v_gain=v_gain,
            e_rev=np.ascontiguousarray(e_rev),
            mu=net.mu,
            theta=net.theta,
            v_reset=net.v_reset,
            ref_steps=np.rint(net.t_ref / dt).astype(np.int32),
            syn_decay=np.ascontiguousarray(syn_decay),
            syn_to_v=np.ascontiguousarray(syn_to_v),
            syn_jump=syn_jump,
            drive_tables=tables,
            drive_guides=guides,
            drive_table=table,
            drive_weight=drive_weight,
        )

    @property
    def time(self) -> float:
        """Simulated time so far, ms."""
        return self.step * self.network.dt

    @property
    def learned_network(self) -> Network:
        """The network with the weights its plastic synapses have learned so far."""
        return self.network.with_weights(self.weights) if self.network.plastic else self.network

    def normalise(self, name: str) -> np.ndarray:
        """Subtractive normalisation of plastic projection ``name`` ("pre->post"), as Litwin-Kumar &
        Doiron (2014) apply it every 20 ms: each postsynaptic neuron's incoming weights of the
        projection are shifted by one amount, so that their summed magnitude is again what it was
        in the network as built, then held within the projection's bounds (which can leave a sum
        off where a bound bites). Returns each neuron's shift (the amount taken from each of its
        weights' magnitudes; 0 for a neuron without such synapses)."""
        net = self.network
        projection = net.plastic[net._plastic_index(name)]
        synapses = net.plastic_synapses(name)
        sign = projection.sign
        targets = net.targets[synapses]
        magnitudes = sign * self.weights[synapses].astype(np.float64)
        counts = np.bincount(targets, minlength=net.n_neurons)
        excess = np.bincount(targets, magnitudes, net.n_neurons) - np.bincount(
            targets, sign * net.weights[synapses].astype(np.float64), net.n_neurons
        )
        shift = np.divide(excess, counts, out=np.zeros(net.n_neurons), where=counts > 0)
        low, high = projection.bounds
        self.weights[synapses] = sign * np.clip(magnitudes - shift[targets], low, high)
        return shift

    def _learning_flags(self, learn) -> np.ndarray:
        """``learn`` of ``run`` as one flag per plastic projection."""
        names = [p.name for p in self.network.plastic]
        if learn is True or learn is False:
            return np.full(len(names), learn, dtype=np.bool_)
        if isinstance(learn, str):
            learn = (learn,)
        chosen = list(learn)
        for name in chosen:
            self.network._plastic_index(name)  # an unknown name stops here, listing the known ones
        return np.array([name in chosen for name in names], dtype=np.bool_)

    def _plasticity(self, n_threads: int):
        """The kernel's plasticity arguments: (on, incoming view, sources, synapse rules, rule table,
        flags, dt), and each thread's copy of the traces."""
        net = self.network
        if not net.plastic:
            empty = np.zeros(0, dtype=np.int64)
            return (
                (False, empty, empty, np.zeros(0, np.int32), np.zeros(0, np.int8), np.zeros(0, np.int8), empty,
                 np.zeros((0, _RULE_COLUMNS)), np.zeros(0, np.bool_), net.dt),
                np.zeros((n_threads, 0, 4, 0)),
                np.zeros((n_threads, 0), dtype=np.int64),
            )  # fmt: skip
        in_indptr, in_synapse = net.plastic_incoming
        if self._in_source is None:  # the sources and rules of the incoming plastic synapses, in their order
            self._in_source, self._in_rule = net.sources[in_synapse], net.synapse_rule[in_synapse]
        arguments = (True, in_indptr, in_synapse, self._in_source, self._in_rule, net.synapse_rule, self._out_rules,
                     self._rules, self._learning, net.dt)  # fmt: skip
        traces = np.repeat(self.traces[None], n_threads, axis=0)
        trace_steps = np.repeat(self.trace_step[None], n_threads, axis=0)
        return arguments, traces, trace_steps

    def _joined(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self._chunks) != 1:
            steps = np.concatenate([np.empty(0, np.int64)] + [s for s, _ in self._chunks])
            neurons = np.concatenate([np.empty(0, np.int32)] + [m for _, m in self._chunks])
            self._chunks = [(steps, neurons)]
        return self._chunks[0]

    @property
    def spikes(self) -> SpikeRecord:
        """Every spike since step 0."""
        steps, neurons = self._joined()
        return SpikeRecord(steps, neurons, self.network.dt, self.network.n_neurons, 0, self.step)

    def copy(self) -> Simulation:
        """An independent twin of this simulation at its current step: same network (shared, not
        copied), same noise key, its own potentials, buffers and spikes so far. Run both and they
        stay identical; change one's state (``twin.v[i] += 1e-6``) to follow a perturbation under
        the same noise."""
        twin = copy.copy(self)
        twin.v, twin.refractory = self.v.copy(), self.refractory.copy()
        twin.ring, twin.current = self.ring.copy(), self.current.copy()
        twin.traces, twin.trace_step = self.traces.copy(), self.trace_step.copy()
        twin.weights = self.weights.copy() if self.network.plastic else self.weights
        twin._chunks = [self._joined()]  # arrays only ever replaced, never written: safe to share
        twin._partitions = dict(self._partitions)
        return twin

    def _checkpoint_key(self) -> str:
        key = f"{self.network.fingerprint()}-{int(self.key[0])}-{int(self.key[1])}"
        if self._extra_input is not None:
            key += "-" + hashlib.sha1(self._extra_input.tobytes()).hexdigest()
        if self.network.plastic:
            key += "-learning-" + "".join("1" if on else "0" for on in self._learning)
        return key

    def save(self, path) -> None:
        """Write the whole state (potentials, buffers, generator key, spikes) to ``path`` (.npz)."""
        steps, neurons = self._joined()
        _checkpoint.save(
            path,
            key=self._checkpoint_key(),
            v=self.v,
            refractory=self.refractory,
            ring=self.ring,
            current=self.current,
            step=self.step,
            spike_steps=steps,
            spike_neurons=neurons,
            weights=self.weights,
            traces=self.traces,
            trace_step=self.trace_step,
        )

    def restore(self, path) -> bool:
        """Take the state saved at ``path`` if there is one (of this network, seed, extra input and
        learning switches); True if so."""
        saved = _checkpoint.load(path, self._checkpoint_key(), "a network, a seed, an extra input or learning")
        if saved is None:
            return False
        self.v, self.refractory, self.ring, self.current = (
            saved["v"],
            saved["refractory"],
            saved["ring"],
            saved["current"],
        )
        self.step = int(saved["step"])
        self._chunks = [(saved["spike_steps"], saved["spike_neurons"])]
        if self.network.plastic:
            self.weights = saved["weights"]
            self.traces, self.trace_step = saved["traces"], saved["trace_step"]
        return True

    def run(
        self,
        duration: float,
        checkpoint=None,
        every: float = 1000.0,
        progress: bool = False,
        extra_input=None,
        learn=True,
    ) -> SpikeRecord:
        """Advance by ``duration`` ms; return the spikes of that stretch.

        ``extra_input`` (mV, a number or one per neuron) adds to every neuron's constant input
        ``mu`` during this run only: a cue, or a stimulus, given by running the stretches of a
        protocol one after another.

        ``learn`` switches plasticity on (True: every plastic projection), off (False), or on for
        the projections named (``"pre->post"``, one or a list) during this run; the learned weights
        are ``weights`` (``learned_network`` as a network). The traces follow the spikes either way.

        With ``checkpoint`` (a path), the state is saved every ``every`` ms of simulated time and at
        the end, and a run that finds a checkpoint of the same network, seed and extra input resumes
        from it: asked for the same total, an interrupted run ends exactly where an uninterrupted
        one does. ``duration`` then counts from the start of the run that wrote the checkpoint.
        """
        duration = _validate.in_range("duration", duration, 0.0, math.inf)
        dt = self.network.dt
        first = self.step
        self._extra_input = (
            None
            if extra_input is None
            else _per_neuron("extra_input", extra_input, self.network.n_neurons, -math.inf).copy()
        )
        self._learning = self._learning_flags(learn)
        try:
            if checkpoint is not None:
                self.restore(checkpoint)
            target = first + int(round(duration / dt))
            every_steps = max(1, int(round(_validate.positive("every", every) / dt)))
            began = time.monotonic()
            while self.step < target:  # whole stretches of `every`: a checkpoint never falls mid-stretch
                self._advance(min(target, self.step + every_steps))
                if checkpoint is not None:
                    self.save(checkpoint)
                if progress:
                    done = (self.step - first) / max(1, target - first)
                    print(
                        f"\r{self.time:9.1f} ms simulated ({done:4.0%}), {time.monotonic() - began:5.1f} s",
                        end="",
                        file=sys.stderr,
                        flush=True,
                    )
        finally:
            self._extra_input = None
            self._learning[:] = False
        if progress:
            print(file=sys.stderr, flush=True)
        return (
            self.spikes.between(first * dt, target * dt)
            if target > first
            else SpikeRecord(np.empty(0, np.int64), np.empty(0, np.int32), dt, self.network.n_neurons, first, 0)
        )

    def _advance(self, stop: int) -> None:
        net, c = self.network, self._constants
        mu = c["mu"] if self._extra_input is None else c["mu"] + self._extra_input
        while self.step < stop:
            steps = np.empty(self._room, dtype=np.int64)
            neurons = np.empty(self._room, dtype=np.int32)
            with threads.for_work(net.n_neurons * self._stretch * _WORK_PER_NEURON_STEP):
                n_threads = numba.get_num_threads()
                bounds, split = self._partition(n_threads)
                plasticity, traces, trace_steps = self._plasticity(n_threads)
                reached, count = _advance(
                    self.step, stop, self._stretch, self.key, SYNAPSES.index(net.synapse), bounds, split,
                    net.indptr, net.targets, self.weights, net.delays, c["row_delay"],
                    c["v_decay"], c["v_gain"], mu, c["theta"], c["v_reset"], c["ref_steps"],
                    c["syn_decay"], c["syn_to_v"], c["syn_jump"], c["e_rev"],
                    c["drive_tables"], c["drive_guides"], c["drive_table"], c["drive_weight"],
                    self.v, self.refractory, self.ring, self.current, steps, neurons, 0, plasticity, traces,
                    trace_steps,
                )  # fmt: skip
            if net.plastic:
                self.traces, self.trace_step = traces[0], trace_steps[0]
            self._chunks.append((steps[:count].copy(), neurons[:count].copy()))
            if reached < stop:  # the arrays might have filled up: twice the room next time
                self._room *= 2
            self.step = reached


# --- the same network in NEST -------------------------------------------------------------------

#: NEST's models of our two synapse kinds.
NEST_MODELS = {"delta": "iaf_psc_delta", "exponential": "iaf_psc_exp", "conductance": "iaf_cond_exp"}


def _protocol(duration, n_neurons: int) -> list[tuple[float, np.ndarray | None]]:
    """``duration`` (ms) as one stretch, or a sequence of (ms, extra input) stretches, checked."""
    if isinstance(duration, (int, float, np.integer, np.floating)):
        return [(_validate.positive("duration", duration), None)]
    stretches = []
    for k, stretch in enumerate(duration):
        if len(stretch) != 2:
            raise ValueError(f"protocol stretch {k} must be (duration in ms, extra input or None), got {stretch!r}")
        length, extra = stretch
        length = _validate.positive(f"protocol stretch {k} duration", length)
        extra = None if extra is None else _per_neuron(f"protocol stretch {k} extra input", extra, n_neurons, -math.inf)
        stretches.append((length, extra))
    if not stretches:
        raise ValueError("a protocol needs at least one stretch")
    return stretches


#: NEST's models of the plasticity rules handed over: Vogels et al. (2011)'s inhibitory rule and the
#: all-to-all triplet rule of Pfister & Gerstner (2006), pair STDP included.
NEST_PLASTICITY = {"InhibitorySTDP": "vogels_sprekeler_synapse", "TripletSTDP": "stdp_triplet_synapse"}


def _nest_plasticity(projection: Projection, unit: np.ndarray) -> tuple[dict, dict]:
    """The synapse specification of a plastic projection in NEST, and the time constants of the
    postsynaptic traces its target neurons must keep (NEST keeps them in the neuron, not the
    synapse). ``unit`` is NEST's weight per unit of ours, for each of its synapses."""
    rule, (low, high) = projection.plasticity, projection.bounds
    model = NEST_PLASTICITY.get(type(rule).__name__)
    if model is None or low != 0.0:
        raise ValueError(
            f"projection {projection.name}: only {sorted(NEST_PLASTICITY)} with a lower bound of 0 are handed "
            f"to NEST, got {rule!r} with bounds {projection.bounds}"
        )
    if not np.allclose(unit, unit[0], rtol=1e-9):
        raise ValueError(f"projection {projection.name}: its synapses need one unit in NEST (one tau_syn)")
    w_max = projection.sign * high * unit[0]
    if model == "vogels_sprekeler_synapse":
        # NEST's alpha is ours; eta and Wmax are in weight units; the post trace is the neuron's
        # tau_minus trace
        spec = {"tau": rule.tau, "alpha": rule.alpha, "eta": rule.eta * unit[0], "Wmax": w_max}
        post_traces = {"tau_minus": rule.tau}
    else:  # the amplitudes are in weight units, as ours
        spec = {"tau_plus": rule.tau_plus, "tau_plus_triplet": rule.tau_x, "Aplus": rule.a2_plus * unit[0],
                "Aminus": rule.a2_minus * unit[0], "Aplus_triplet": rule.a3_plus * unit[0],
                "Aminus_triplet": rule.a3_minus * unit[0], "Wmax": w_max}  # fmt: skip
        post_traces = {"tau_minus": rule.tau_minus, "tau_minus_triplet": rule.tau_y}
    return {"synapse_model": model} | spec, post_traces


def _nest_post_traces(network: Network) -> dict[str, np.ndarray]:
    """Each neuron's postsynaptic trace time constants for NEST, from the plastic projections onto it;
    a neuron that two rules would need with different time constants is refused."""
    needed: dict[str, np.ndarray] = {}
    for r, projection in enumerate(network.plastic):
        _, traces = _nest_plasticity(projection, np.ones(1))
        targets = np.unique(network.targets[network.synapse_rule == r])
        for name, tau in traces.items():
            values = needed.setdefault(name, np.full(network.n_neurons, np.nan))
            clash = ~np.isnan(values[targets]) & (values[targets] != tau)
            if clash.any():
                raise ValueError(
                    f"projection {projection.name}: its target neurons' {name} ({tau} ms) differs from another "
                    "plastic projection's onto the same neurons; NEST keeps one per neuron"
                )
            values[targets] = tau
    return needed


def run_in_nest(
    network: Network,
    duration,
    v_init,
    seed: int = 1,
    threads: int | None = None,
    warmup: float = 0.0,
    timings: dict | None = None,
) -> SpikeRecord:
    """Simulate ``network`` in NEST 3 (``iaf_psc_delta``, ``iaf_psc_exp`` or ``iaf_cond_exp``) and
    return its spikes.

    The same neurons, connections, weights and delays; a projection that learns by
    ``InhibitorySTDP`` learns in NEST by its ``vogels_sprekeler_synapse``, one that learns by
    ``TripletSTDP`` (pair STDP included) by its ``stdp_triplet_synapse``, with the postsynaptic
    traces' time constants set on the neurons they reach (where NEST keeps them); the Poisson
    drive from one ``poisson_generator`` per distinct (rate, weight), which gives each neuron
    trains of its own. Current-based neurons get a membrane capacitance of 1 pF,
    so a constant input ``mu`` is ``I_e = mu / tau_m`` pA and an exponential synapse of weight ``J``
    mV is ``J / tau_syn`` pA. Conductance-based ones get a leak conductance of 1 nS (and ``C_m =
    tau_m`` pF), so ``mu`` is ``I_e = mu`` pA and a weight is a conductance in nS. NEST's spike times mark the end of
    a step; they are returned as the step's index, as ours are. The first ``warmup`` ms are left out
    of the record. ``threads`` defaults to numba's thread count. For runs beyond one machine, the
    same calls under ``mpirun`` spread the network over NEST's MPI processes.

    ``duration`` is in ms, or a protocol: a sequence of (ms, extra input) stretches run one after
    another, each extra input (mV, a number, one per neuron, or None) added to ``mu`` for its
    stretch, as ``Simulation.run``'s. A dict given as ``timings`` receives the seconds NEST spent
    inside its simulation calls (``simulate_seconds``), without building and connecting, and the
    mean magnitude of each plastic projection's weights at the end (``"mean_weight pre->post"``, in
    our units).
    """
    os.environ.setdefault("PYNEST_QUIET", "1")  # NEST's banner, printed on import, says nothing about the run
    import nest

    stretches = _protocol(duration, network.n_neurons)
    warmup = _validate.in_range("warmup", warmup, 0.0, math.inf)
    v_init = _per_neuron("v_init", v_init, network.n_neurons, -math.inf)
    threads = numba.get_num_threads() if threads is None else _validate.integer_at_least("threads", threads, 1)
    dt = network.dt
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": dt, "local_num_threads": threads, "rng_seed": int(seed), "print_time": False})
    model = NEST_MODELS[network.synapse]
    nodes = nest.Create(model, network.n_neurons)
    conductance = network.synapse == "conductance"
    current_per_mv = np.ones(network.n_neurons) if conductance else 1.0 / network.tau_m  # pA per mV of mu
    parameters = {
        "V_th": network.theta,
        "V_reset": network.v_reset,
        "t_ref": network.t_ref,
        "E_L": np.zeros(network.n_neurons),
        "I_e": network.mu * current_per_mv,
        "V_m": v_init,
    }
    if conductance:
        parameters.update(g_L=np.ones(network.n_neurons), C_m=network.tau_m, E_ex=network.e_rev[0],
                          E_in=network.e_rev[1])  # fmt: skip
    else:
        parameters.update(tau_m=network.tau_m, C_m=np.ones(network.n_neurons))
    if network.synapse != "delta":
        parameters.update(tau_syn_ex=network.tau_syn[0], tau_syn_in=network.tau_syn[1])
    for name, values in _nest_post_traces(network).items():  # neurons no plastic synapse reaches keep NEST's
        parameters[name] = np.where(np.isnan(values), nest.GetDefaults(model, name), values)
    nodes.set({name: [float(x) for x in values] for name, values in parameters.items()})
    first_id = nodes[0].global_id
    unit = np.ones(network.n_synapses)  # NEST's weight per unit of ours: pA per mV of charge, or 1
    if network.synapse == "exponential":
        unit = 1.0 / np.where(
            network.weights >= 0, network.tau_syn[0][network.targets], network.tau_syn[1][network.targets]
        )
    weights = network.weights.astype(np.float64) * unit
    for r in range(-1, len(network.plastic)):  # the static synapses, then each plastic projection's
        chosen = network.synapse_rule == r
        if not chosen.any():
            continue
        syn_spec = (
            {"synapse_model": "static_synapse"} if r < 0 else _nest_plasticity(network.plastic[r], unit[chosen])[0]
        )
        nest.Connect(
            network.sources[chosen].astype(np.int64) + first_id,
            network.targets[chosen].astype(np.int64) + first_id,
            conn_spec="one_to_one",
            syn_spec=syn_spec | {"weight": weights[chosen], "delay": network.delays[chosen].astype(np.float64) * dt},
        )
    for d in range(network.drive_rate.shape[1]):
        pairs = np.stack([network.drive_rate[:, d], network.drive_weight[:, d]], axis=1)
        for rate, weight in np.unique(pairs, axis=0):
            if rate == 0:
                continue
            members = np.flatnonzero((pairs[:, 0] == rate) & (pairs[:, 1] == weight))
            if network.synapse == "exponential":
                weight = weight / network.tau_syn[0 if weight >= 0 else 1][members[0]]
            generator = nest.Create("poisson_generator", params={"rate": float(rate)})
            nest.Connect(generator, nodes[members.tolist()], syn_spec={"weight": float(weight), "delay": dt})
    simulate_seconds = 0.0
    if warmup > 0:
        nest.Simulate(warmup)
        simulate_seconds += nest.GetKernelStatus("time_simulate")
    recorder = nest.Create("spike_recorder")
    nest.Connect(nodes, recorder, syn_spec={"delay": dt})  # the default 1 ms may exceed the longest delay
    for length, extra in stretches:
        nodes.set({"I_e": [float(x) for x in (network.mu if extra is None else network.mu + extra) * current_per_mv]})
        nest.Simulate(length)
        simulate_seconds += nest.GetKernelStatus("time_simulate")
    if timings is not None:
        timings["simulate_seconds"] = simulate_seconds
        for r, projection in enumerate(network.plastic):  # the learned weights' mean magnitude, in our units
            pre, post = network.population(projection.pre), network.population(projection.post)
            synapse_model = NEST_PLASTICITY[type(projection.plasticity).__name__]
            connections = nest.GetConnections(nodes[pre], nodes[post], synapse_model=synapse_model)
            learned = np.abs(np.asarray(connections.get("weight"), dtype=np.float64))
            timings[f"mean_weight {projection.name}"] = float(learned.mean() / unit[network.synapse_rule == r][0])
    duration = sum(length for length, _ in stretches)
    events = recorder.get("events")
    steps = np.rint(np.asarray(events["times"]) / dt).astype(np.int64) - 1
    neurons = (np.asarray(events["senders"]) - first_id).astype(np.int32)
    order = np.argsort(steps, kind="stable")
    first = int(round(warmup / dt))
    return SpikeRecord(steps[order], neurons[order], dt, network.n_neurons, first, int(round(duration / dt)))
