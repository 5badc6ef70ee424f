"""Assemblies learned by spike timing (helpers.assemblies): the assemblies drawn, the block matrix of
weights, a half cue's completion measured on spikes made by hand, and learning in a small network."""

import numpy as np
import pytest

from helpers import assemblies, lif, plasticity
from helpers.spikes import SpikeRecord


def test_disjoint_assemblies_share_no_neuron_and_come_from_the_seed():
    members = assemblies.disjoint_assemblies(4, 25, 120, rng=1)
    assert members.shape == (4, 120)
    assert (members.sum(axis=1) == 25).all() and members.sum(axis=0).max() == 1
    assert np.array_equal(members, assemblies.disjoint_assemblies(4, 25, 120, rng=1))
    with pytest.raises(ValueError, match=r"n_assemblies \* size must be at most n_exc \(120\), got 125"):
        assemblies.disjoint_assemblies(5, 25, 120)


def test_block_weights_average_each_pair_of_groups():
    # 6 excitatory neurons, all connected: assemblies {0, 1} and {2, 3}, neurons 4 and 5 in none;
    # each E->E synapse weighs 10 x its source + its target
    neuron = lif.NeuronParameters(mu=25.0)
    populations = [lif.Population("E", 6, neuron), lif.Population("I", 2, neuron)]
    projections = [lif.Projection("E", "E", 1.0, 1.0, probability=1.0), lif.Projection("E", "I", 1.0, 1.0,
                                                                                         probability=1.0)]
    network = lif.build_network(populations, projections, rng=1)
    weights = (10.0 * network.sources + network.targets).astype(np.float32)
    members = np.zeros((2, 6))
    members[0, [0, 1]] = members[1, [2, 3]] = 1
    blocks = assemblies.block_weights(network, weights, members)
    groups = [[0, 1], [2, 3], [4, 5]]
    for row, onto in enumerate(groups):
        for column, source in enumerate(groups):
            expected = np.mean([10 * j + i for i in onto for j in source if i != j])
            assert blocks[row, column] == pytest.approx(expected), (row, column)
    with pytest.raises(ValueError, match="disjoint"):
        assemblies.block_weights(network, weights, np.ones((2, 6)))
    with pytest.raises(ValueError, match="only 0 and 1"):
        assemblies.block_weights(network, weights, 2 * members)


def _record(rates_hz, duration_ms=500.0, dt=0.1, seed=0):
    """Poisson spikes at the given rates, as a SpikeRecord."""
    rng = np.random.default_rng(seed)
    steps, neurons = [], []
    for i, rate in enumerate(rates_hz):
        times = plasticity.poisson_times(rate, duration_ms, rng)
        steps.append((times / dt).astype(np.int64))
        neurons.append(np.full(times.size, i, dtype=np.int32))
    steps, neurons = np.concatenate(steps), np.concatenate(neurons)
    order = np.argsort(steps, kind="stable")
    return SpikeRecord(steps[order], neurons[order], dt, len(rates_hz), 0, int(duration_ms / dt))


def test_completion_reads_the_overlaps_of_the_two_halves_and_the_others():
    # assembly 0 is neurons 0-99 (cued half 0-49), assembly 1 neurons 100-199; 400 neurons in all.
    members = np.zeros((2, 400))
    members[0, :100] = members[1, 100:200] = 1
    rates = np.full(400, 5.0)
    rates[:50] = 45.0  # the cued half: 40 Hz above the rest
    rates[50:100] = 25.0  # the uncued half: 20 Hz above the neurons of no assembly
    result = assemblies.completion(_record(rates), members, 0, rate_scale=40.0)
    # an overlap is a group's mean rate minus the mean of all the other neurons, the cued half
    # included: (25 - (50 x 45 + 300 x 5) / 350) / 40 for the uncued half
    assert result.uncued == pytest.approx((25.0 - 3750.0 / 350.0) / 40.0, abs=0.05)
    assert result.cued == pytest.approx((45.0 - (50 * 25.0 + 300 * 5.0) / 350.0) / 40.0, abs=0.05)
    assert abs(result.others) < 0.3
    assert result.retrieved(completed=0.25, spurious=0.3) and not result.retrieved(completed=0.45)
    cue = assemblies.half_cue(members, 1, 15.0)
    assert cue.sum() == 50 * 15.0 and (cue[100:150] == 15.0).all()
    split = assemblies.halves(members, 1)
    assert (split[0, 100:150] == 1).all() and (split[1, 150:200] == 1).all() and split.sum() == 100


def test_a_small_network_learns_its_assemblies_and_keeps_each_neurons_sum():
    model = assemblies.AssemblyModel(n_exc=400, n_inh=100, eps=0.25, eps_inh=0.4)
    network = model.network(rng=1)
    assert model.rule().threshold() == pytest.approx(plasticity.VISUAL_CORTEX.minimal().threshold())
    members = assemblies.disjoint_assemblies(2, 100, 400, rng=2)
    simulation = lif.Simulation(network, rng=3)
    assemblies.balance_inhibition(simulation, 1000.0)
    inhibitory = simulation.weights[network.plastic_synapses("I->E")].copy()
    before = assemblies.block_weights(network, simulation.weights, members)
    for _ in range(3):
        for k in range(2):
            assemblies.present(simulation, model, 15.0 * members[k], 300.0)
            assemblies.present(simulation, model, None, 100.0)
    after = assemblies.block_weights(network, simulation.weights, members)
    # the weights within both assemblies grew, those between them shrank
    assert (np.diag(after)[:2] > 1.3 * np.diag(before)[:2]).all(), after / model.g_ee
    assert after[0, 1] < before[0, 1] and after[1, 0] < before[1, 0], after / model.g_ee
    # the inhibitory synapses were held; each neuron's summed E->E weight is what it was built with,
    # where no weight of it sits at a bound (clipping there can leave a sum off)
    assert np.array_equal(simulation.weights[network.plastic_synapses("I->E")], inhibitory)
    synapses = network.plastic_synapses("E->E")
    targets, learned = network.targets[synapses], simulation.weights[synapses].astype(float)
    sums = np.bincount(targets, learned, 400)
    built = np.bincount(targets, network.weights[synapses].astype(float), 400)
    bitten = np.bincount(targets, (learned <= 0.0) | (learned >= model.w_max * model.g_ee * (1 - 1e-6)), 400)
    assert (bitten == 0).sum() > 100, "too few neurons to check"
    assert sums[bitten == 0] == pytest.approx(built[bitten == 0], rel=1e-4)


def test_bad_models_and_inputs_are_refused_with_their_name():
    with pytest.raises(ValueError, match="w_max must be above 1"):
        assemblies.AssemblyModel(w_max=1.0)
    with pytest.raises(ValueError, match="amplitude"):
        assemblies.AssemblyModel(amplitude=0.0)
    model = assemblies.AssemblyModel(n_exc=40, n_inh=10)
    simulation = lif.Simulation(model.network(rng=1), rng=2)
    with pytest.raises(ValueError, match="inputs must be 40 finite values"):
        assemblies.present(simulation, model, np.ones(39), 10.0)
    with pytest.raises(ValueError, match="duration"):
        assemblies.present(simulation, model, None, -1.0)


def test_correlated_patterns_share_more_neurons_the_more_their_stimuli_correlate():
    shared = []
    for correlation in (0.0, 0.6):
        patterns = assemblies.correlated_patterns(6, 4000, 0.1, correlation, rng=3)
        assert (patterns.sum(axis=1) == 400).all()
        overlap = patterns @ patterns.T / 400
        shared.append(overlap[~np.eye(6, dtype=bool)].mean())
    # independent stimuli: two patterns share a tenth of their neurons, as chance has it
    assert shared[0] == pytest.approx(0.1, abs=0.02)
    # correlated ones: P(z1 > t, z2 > t) / P(z > t) for a bivariate normal of correlation 0.6 at the
    # 90th percentile t is 0.39 (computed with scipy's multivariate normal)
    assert shared[1] == pytest.approx(0.39, abs=0.03)
    with pytest.raises(ValueError, match="correlation"):
        assemblies.correlated_patterns(2, 100, 0.1, 1.0)


def test_mean_weight_between_groups_that_may_overlap():
    neuron = lif.NeuronParameters(mu=25.0)
    populations = [lif.Population("E", 5, neuron), lif.Population("I", 1, neuron)]
    network = lif.build_network(populations, [lif.Projection("E", "E", 1.0, 1.0, probability=1.0)], rng=1)
    weights = (10.0 * network.sources + network.targets).astype(np.float32)
    a, b = np.array([1, 1, 1, 0, 0]), np.array([0, 0, 1, 1, 0])
    expected = np.mean([10 * j + i for j in (0, 1, 2) for i in (2, 3) if i != j])
    assert assemblies.mean_weight_between(network, weights, a, b) == pytest.approx(expected)
    with pytest.raises(ValueError, match="no synapse"):
        assemblies.mean_weight_between(network, weights, np.array([0, 0, 0, 0, 1]), np.array([0, 0, 0, 0, 1]))
