"""Assemblies learned by spike timing: a conductance-based E/I network whose excitatory synapses
learn by the triplet rule while groups of neurons are stimulated, and the measures of what it
learned (chapter 10).

The network (``AssemblyModel``) is Vogels et al. (2011)'s neuron and balance at a smaller size:
every excitatory neuron receives as much excitation in total as in ``balance.VogelsModel`` (160
inputs of 0.3 nS there), from ``eps N_E`` inputs here. Its inhibitory synapses onto excitatory
neurons first learn the balance by Vogels' rule (``balance_inhibition``); then they are held, and
the excitatory synapses learn by the minimal triplet rule (``plasticity.VISUAL_CORTEX``, its
amplitudes in units of the largest weight ``w_max``), bounded in ``[0, w_max]`` and normalised
every ``normalise_every`` ms, per neuron, to the summed weight it was built with (Litwin-Kumar &
Doiron 2014). A stimulus is extra input (mV) to the neurons of one assembly (``present``).

Measures: ``block_weights`` (the mean weight from each assembly to each, the matrix the chapter
draws), ``completion`` (a half cue's effect on the other half), over ``attractor.overlaps``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validate, attractor, balance, lif, plasticity, spikes
from .rng import RandomLike, as_generator


@dataclass(frozen=True)
class AssemblyModel:
    """The network in which assemblies are learned; see the module's docstring.

    Conductances in units of the leak conductance (10 nS). ``w_max`` is in units of the initial
    E->E weight ``g_ee``; ``amplitude`` scales the triplet rule's amplitudes (relative to the
    largest weight). ``eta`` is the inhibitory rule's learning rate, used only to balance the
    network before the assemblies are learned.
    """

    n_exc: int = 2000
    n_inh: int = 500
    eps: float = 0.2
    eps_inh: float = 0.08
    w_max: float = 3.0
    amplitude: float = 0.5
    eta: float = 0.01
    rho0: float = 3.0
    g_ie_start: float = 0.13
    normalise_every: float = 20.0
    dt: float = 0.1

    def __post_init__(self):
        _validate.integer_at_least("n_exc", self.n_exc, 10)
        _validate.integer_at_least("n_inh", self.n_inh, 2)
        _validate.in_range("eps", self.eps, 1e-6, 1.0)
        _validate.in_range("eps_inh", self.eps_inh, 1e-6, 1.0)
        if not self.w_max > 1.0:
            raise ValueError(f"w_max must be above 1 (in units of the initial weight), got {self.w_max}")
        for name in ("amplitude", "eta", "rho0", "g_ie_start", "normalise_every", "dt"):
            _validate.positive(name, getattr(self, name))

    @property
    def g_ee(self) -> float:
        """The initial E->E (and E->I) weight: Vogels' total excitation spread over ``eps N_E`` inputs."""
        vogels = balance.VogelsModel()
        return vogels.g_exc * vogels.eps * vogels.n_exc / (self.eps * self.n_exc)

    def rule(self) -> plasticity.TripletSTDP:
        """The minimal triplet rule with the visual-cortex values, amplitudes in this network's weights."""
        return plasticity.VISUAL_CORTEX.minimal().scaled(self.amplitude * self.w_max * self.g_ee)

    def network(self, rng: RandomLike = None) -> lif.Network:
        """The network, its connections drawn from ``rng``: plastic projections "E->E" and "I->E"."""
        vogels = balance.VogelsModel(eta=self.eta, rho0=self.rho0)
        neuron = vogels.neuron()
        populations = [lif.Population("E", self.n_exc, neuron), lif.Population("I", self.n_inh, neuron)]
        g, d = self.g_ee, self.dt
        projections = [
            lif.Projection("E", "E", g, d, probability=self.eps, plasticity=self.rule(),
                           bounds=(0.0, self.w_max * g)),
            lif.Projection("E", "I", g, d, probability=self.eps),
            lif.Projection("I", "E", -self.g_ie_start, d, probability=self.eps_inh, plasticity=vogels.rule(),
                           bounds=(0.0, vogels.w_max)),
            lif.Projection("I", "I", -vogels.g_inh, d, probability=self.eps_inh),
        ]  # fmt: skip
        return lif.build_network(populations, projections, dt=self.dt, synapse="conductance", rng=rng)


def disjoint_assemblies(n_assemblies: int, size: int, n_exc: int, rng: RandomLike = None) -> np.ndarray:
    """``n_assemblies`` assemblies of ``size`` excitatory neurons each, no neuron in two, drawn at
    random: a (P, N_E) array of 0/1 (float32), as ``attractor.overlaps`` takes patterns."""
    n_assemblies = _validate.integer_at_least("n_assemblies", n_assemblies, 1)
    size = _validate.integer_at_least("size", size, 2)
    if n_assemblies * size > n_exc:
        raise ValueError(f"n_assemblies * size must be at most n_exc ({n_exc}), got {n_assemblies * size}")
    order = as_generator(rng).permutation(n_exc)
    memberships = np.zeros((n_assemblies, n_exc), dtype=np.float32)
    for k in range(n_assemblies):
        memberships[k, order[k * size : (k + 1) * size]] = 1.0
    return memberships


def correlated_patterns(n_patterns: int, n_exc: int, coding_level: float, correlation: float,
                        rng: RandomLike = None) -> np.ndarray:
    """Patterns from correlated Gaussian stimuli, the stimulus model xi(mu, Sigma): each neuron's
    inputs across the ``n_patterns`` stimuli are Gaussian with unit variance and ``correlation``
    between any two stimuli (``z = sqrt(c) u + sqrt(1 - c) v``, ``u`` shared by the neuron's
    stimuli), independent across neurons; a stimulus's pattern is the ``coding_level`` fraction of
    neurons with the largest input. A (P, N_E) array of 0/1 (float32); two patterns share more
    neurons the larger the correlation (a fraction ``coding_level`` of each at ``correlation = 0``)."""
    n_patterns = _validate.integer_at_least("n_patterns", n_patterns, 1)
    n_exc = _validate.integer_at_least("n_exc", n_exc, 2)
    _validate.in_range("coding_level", coding_level, 1.0 / n_exc, 0.5)
    correlation = _validate.in_range("correlation", correlation, 0.0, 0.999)
    rng = as_generator(rng)
    z = np.sqrt(correlation) * rng.standard_normal(n_exc) + np.sqrt(1.0 - correlation) * rng.standard_normal(
        (n_patterns, n_exc)
    )
    size = max(1, round(coding_level * n_exc))
    patterns = np.zeros((n_patterns, n_exc), dtype=np.float32)
    for k in range(n_patterns):
        patterns[k, np.argsort(z[k])[-size:]] = 1.0
    return patterns


def mean_weight_between(network: lif.Network, weights, sources, targets) -> float:
    """The mean E->E weight from the neurons of ``sources`` onto those of ``targets`` (0/1 arrays over
    the excitatory neurons, which may overlap; a neuron's synapse onto itself does not exist)."""
    n_exc = network.population("E").stop
    sources, targets = (_checked_memberships(np.asarray(x)[None], n_exc)[0] for x in (sources, targets))
    chosen = (network.sources < n_exc) & (network.targets < n_exc)
    chosen[chosen] = sources[network.sources[chosen]] & targets[network.targets[chosen]]
    if not chosen.any():
        raise ValueError("no synapse runs from sources onto targets")
    return float(np.asarray(weights)[chosen].astype(np.float64).mean())


def _checked_memberships(memberships, n_exc: int) -> np.ndarray:
    memberships = np.asarray(memberships)
    if memberships.ndim != 2 or memberships.shape[1] != n_exc:
        raise ValueError(f"memberships must be a (P, {n_exc}) array of 0/1, got shape {memberships.shape}")
    if not np.isin(memberships, (0, 1)).all():
        raise ValueError("memberships must hold only 0 and 1")
    return memberships.astype(bool)


def balance_inhibition(simulation: lif.Simulation, duration: float) -> spikes.SpikeRecord:
    """Let the I->E synapses learn by Vogels' rule alone for ``duration`` ms (the excitatory ones held)."""
    return simulation.run(duration, learn="I->E")


def present(simulation: lif.Simulation, model: AssemblyModel, inputs, duration: float, learn: bool = True):
    """Run ``duration`` ms with ``inputs`` (mV, one per excitatory neuron, or None) added to the
    excitatory neurons' input; with ``learn``, the E->E synapses learn (the I->E ones are held) and
    are normalised every ``model.normalise_every`` ms. Returns the spikes."""
    network = simulation.network
    n_exc = network.population("E").stop
    extra = None
    if inputs is not None:
        inputs = np.asarray(inputs, dtype=np.float64)
        if inputs.shape != (n_exc,) or not np.all(np.isfinite(inputs)):
            raise ValueError(f"inputs must be {n_exc} finite values (mV), one per excitatory neuron")
        extra = np.concatenate([inputs, np.zeros(network.n_neurons - n_exc)])
    duration = _validate.positive("duration", duration)
    if not learn:
        return simulation.run(duration, extra_input=extra, learn=False)
    start, stop = simulation.time, simulation.time + duration
    while simulation.time < stop - 1e-9:
        simulation.run(min(model.normalise_every, stop - simulation.time), extra_input=extra, learn="E->E")
        simulation.normalise("E->E")
    return simulation.spikes.between(start, stop)


def block_weights(network: lif.Network, weights, memberships) -> np.ndarray:
    """The mean E->E weight from the neurons of each assembly (columns) onto those of each (rows),
    with a last row and column for the neurons of none: a (P + 1, P + 1) array, in weight units."""
    n_exc = network.population("E").stop
    memberships = _checked_memberships(memberships, n_exc)
    if (memberships.sum(axis=0) > 1).any():
        raise ValueError("block_weights needs disjoint assemblies: a neuron is in two")
    label = np.full(n_exc, memberships.shape[0])
    for k, members in enumerate(memberships):
        label[members] = k
    synapses = np.flatnonzero((network.sources < n_exc) & (network.targets < n_exc))
    weights = np.asarray(weights)[synapses].astype(np.float64)
    blocks = memberships.shape[0] + 1
    pair = label[network.targets[synapses]] * blocks + label[network.sources[synapses]]
    total = np.bincount(pair, weights, blocks * blocks)
    count = np.bincount(pair, minlength=blocks * blocks)
    return np.divide(total, count, out=np.full(blocks * blocks, np.nan), where=count > 0).reshape(blocks, blocks)


@dataclass(frozen=True)
class Completion:
    """What a half cue did: overlaps (``attractor.overlaps``) during the cue of the cued half, of the
    uncued half, and the largest of the other assemblies'; each averaged over the cue's bins."""

    cued: float
    uncued: float
    others: float

    def retrieved(self, completed: float = 0.5, spurious: float = 0.2) -> bool:
        """The assembly's uncued half above ``completed`` and no other assembly above ``spurious``."""
        return self.uncued > completed and self.others < spurious


def completion(record: spikes.SpikeRecord, memberships, k: int, rate_scale: float, bin_ms: float = 50.0) -> Completion:
    """The overlaps during a cue of assembly ``k``'s first half (its members in index order, the first
    ``size // 2``): of that half, of the rest of the assembly, and the largest of the other
    assemblies'. ``rate_scale`` (Hz) is the rate above the others' that counts as an overlap of 1:
    give a number fixed before the cue (e.g. the full stimulus's response before learning). An
    overlap compares a group with all the other excitatory neurons, the cued half among them, so
    the uncued half's is lower than its lift above the neurons of no assembly."""
    n_exc = np.asarray(memberships).shape[1]
    memberships = _checked_memberships(memberships, n_exc)
    _, own = attractor.overlaps(record, halves(memberships, k), bin_ms, rate_scale)
    _, every = attractor.overlaps(record, memberships.astype(np.float32), bin_ms, rate_scale)
    others = np.delete(every.mean(axis=1), k)
    return Completion(float(own[0].mean()), float(own[1].mean()), float(others.max()) if others.size else 0.0)


def halves(memberships, k: int) -> np.ndarray:
    """Assembly ``k`` split in two: its first ``size // 2`` members in index order (the half a cue
    reaches) and the rest, as a (2, N_E) array of 0/1 (float32) for ``attractor.overlaps``."""
    memberships = np.asarray(memberships)
    members = np.flatnonzero(memberships[k])
    split = np.zeros((2, memberships.shape[1]), dtype=np.float32)
    split[0, members[: members.size // 2]] = 1.0
    split[1, members[members.size // 2 :]] = 1.0
    return split


def half_cue(memberships, k: int, amplitude: float) -> np.ndarray:
    """Inputs (mV, one per excitatory neuron) of ``amplitude`` to the first half of assembly ``k``
    (the first of its ``halves``)."""
    return amplitude * halves(memberships, k)[0].astype(np.float64)
