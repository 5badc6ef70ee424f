import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import network, rules
from helpers.rules import PUBLISHED_RULE
from helpers.transfer import PUBLISHED_MEDIANS, phi

TRANSFER, RULE = PUBLISHED_MEDIANS, PUBLISHED_RULE


def dense(connectivity):
    n = connectivity.n_neurons
    matrix = np.zeros((n, n), dtype=bool)
    rows = np.repeat(np.arange(n), connectivity.in_degrees)
    matrix[rows, connectivity.indices] = True
    return matrix


@given(n=st.integers(2, 60), c=st.floats(0.01, 1.0), fixed=st.booleans(), seed=st.integers(0, 2**16))
@settings(max_examples=60, deadline=None)
def test_connectivity_rows_are_sorted_distinct_and_without_self(n, c, fixed, seed):
    conn = network.random_connectivity(n, c, seed, fixed_in_degree=fixed)
    for i in range(n):
        row = conn.indices[conn.indptr[i] : conn.indptr[i + 1]]
        assert np.all(np.diff(row) > 0)
        assert i not in row
        assert row.size == 0 or (row.min() >= 0 and row.max() < n)
    if fixed:
        assert np.all(conn.in_degrees == round(c * (n - 1)))


def test_bernoulli_connectivity_statistics():
    n, c = 3000, 0.02
    conn = network.random_connectivity(n, c, 7)
    degrees = conn.in_degrees
    expected_mean, expected_var = c * (n - 1), c * (1 - c) * (n - 1)
    assert degrees.mean() == pytest.approx(expected_mean, abs=5 * np.sqrt(expected_var / n))
    assert degrees.var() == pytest.approx(expected_var, rel=0.1)
    matrix = dense(conn)
    # independent pairs: a connection is reciprocated with probability c
    reciprocal = (matrix & matrix.T).sum() / matrix.sum()
    assert reciprocal == pytest.approx(c, abs=5 * np.sqrt(c / matrix.sum()))
    # pre-synaptic neurons are uniform: out-degrees are Binomial(n - 1, c) too
    assert matrix.sum(axis=0).var() == pytest.approx(expected_var, rel=0.1)


def test_connectivity_is_reproducible_and_checks_arguments():
    a = network.random_connectivity(500, 0.1, 3)
    b = network.random_connectivity(500, 0.1, 3)
    assert np.array_equal(a.indices, b.indices) and np.array_equal(a.indptr, b.indptr)
    with pytest.raises(ValueError, match=r"c must be a number in"):
        network.random_connectivity(10, 1.5)
    with pytest.raises(ValueError, match=r"c must be in \(0, 1\]"):
        network.random_connectivity(10, 0.0)
    with pytest.raises(ValueError, match="n_neurons must be an integer >= 2"):
        network.random_connectivity(1, 0.5)


def test_hebbian_weights_equal_the_dense_formula():
    n, p = 300, 17
    conn = network.random_connectivity(n, 0.2, 1)
    patterns = network.draw_patterns(n, p, 2)
    weights = network.hebbian_weights(conn, patterns, TRANSFER, RULE)
    rates = phi(patterns, TRANSFER)
    q_g = rules.balanced_q_g(RULE, TRANSFER)
    full = RULE.A / (0.2 * n) * rules.post_factor(rates, RULE).T @ rules.pre_factor(rates, RULE, q_g)
    expected = np.where(dense(conn), full, 0.0)
    assert weights.values.dtype == np.float32
    np.testing.assert_allclose(weights.to_scipy().toarray(), expected, rtol=1e-5, atol=1e-6 * np.abs(full).max())


def test_rule_factors_equal_the_rule_functions():
    rates = phi(network.draw_patterns(1000, 5, 0), TRANSFER)
    factors = network.rule_factors(rates, TRANSFER, RULE)
    np.testing.assert_allclose(factors.post, rules.post_factor(rates, RULE).T, atol=1e-6)
    np.testing.assert_allclose(factors.pre, rules.pre_factor(rates, RULE, factors.q_g).T, atol=1e-6)


def test_field_matches_scipy():
    conn = network.random_connectivity(400, 0.1, 5)
    weights = network.hebbian_weights(conn, network.draw_patterns(400, 8, 6), TRANSFER, RULE)
    rates = np.random.default_rng(0).uniform(0, 50, 400)
    np.testing.assert_allclose(weights.field(rates), weights.to_scipy() @ rates, rtol=1e-5, atol=1e-9)
    with pytest.raises(ValueError, match="values must hold one weight per synapse"):
        network.SparseWeights(conn, np.zeros(3, np.float32))


def test_patterns_and_weights_are_checked():
    conn = network.random_connectivity(50, 0.2, 0)
    with pytest.raises(ValueError, match=r"patterns must have shape \(p, 50\)"):
        network.hebbian_weights(conn, np.zeros((3, 40)), TRANSFER, RULE)
    with pytest.raises(ValueError, match="patterns must be finite"):
        network.hebbian_weights(conn, np.full((3, 50), np.nan), TRANSFER, RULE)


@pytest.mark.parametrize("structure", ["block", "low_rank"])
def test_correlated_patterns_have_the_requested_correlation(structure):
    p, n, rho = 12, 40_000, 0.6
    loadings = network.pattern_loadings(p, structure, 3, rng=1)
    expected = network.pattern_correlation(loadings, rho)
    patterns = network.draw_patterns(n, p, 2, rho=rho, loadings=loadings)
    np.testing.assert_allclose(np.corrcoef(patterns), expected, atol=0.03)
    np.testing.assert_allclose(patterns.var(axis=1), 1.0, atol=0.03)


def test_pattern_structure_is_checked():
    with pytest.raises(ValueError, match="structure must be"):
        network.pattern_loadings(5, "clustered", 2)
    with pytest.raises(ValueError, match=r"rho must be a number in \[0, 0.999\]"):
        network.draw_patterns(10, 5, 0, rho=1.0)


def test_weight_theory_matches_direct_sums():
    """Mean, SD, shape and fraction negative against sums of p products drawn directly."""
    p, samples = 8, 400_000
    conn = network.random_connectivity(100, 0.1, 0)
    predicted = network.predicted_weight_statistics(TRANSFER, RULE, p, conn)
    generator = np.random.default_rng(3)
    q_g = rules.balanced_q_g(RULE, TRANSFER)
    post = rules.post_factor(phi(generator.standard_normal((samples, p)), TRANSFER), RULE)
    pre = rules.pre_factor(phi(generator.standard_normal((samples, p)), TRANSFER), RULE, q_g)
    sums = network.weight_scale(RULE, conn) * (post * pre).sum(axis=1)
    assert predicted.mean == pytest.approx(sums.mean(), abs=4 * sums.std() / np.sqrt(samples))
    assert predicted.sd == pytest.approx(sums.std(), rel=0.01)
    assert predicted.skewness == pytest.approx(((sums - sums.mean()) ** 3).mean() / sums.std() ** 3, rel=0.05)
    negative = np.mean(sums < 0)
    assert predicted.fraction_negative == pytest.approx(negative, abs=4 * np.sqrt(negative / samples) + 2e-3)


def test_weight_theory_with_correlated_patterns():
    p, samples, rho = 6, 300_000, 0.5
    conn = network.random_connectivity(100, 0.1, 0)
    loadings = network.pattern_loadings(p, "block", 2)
    correlation = network.pattern_correlation(loadings, rho)
    predicted = network.predicted_weight_statistics(TRANSFER, RULE, p, conn, correlation)
    q_g = rules.balanced_q_g(RULE, TRANSFER)
    post_inputs = network.draw_patterns(samples, p, 1, rho=rho, loadings=loadings)  # neuron i: one column
    pre_inputs = network.draw_patterns(samples, p, 2, rho=rho, loadings=loadings)
    sums = network.weight_scale(RULE, conn) * (
        rules.post_factor(phi(post_inputs, TRANSFER), RULE) * rules.pre_factor(phi(pre_inputs, TRANSFER), RULE, q_g)
    ).sum(axis=0)
    assert predicted.sd == pytest.approx(sums.std(), rel=0.01)
    independent = network.predicted_weight_statistics(TRANSFER, RULE, p, conn)
    assert predicted.sd > 1.05 * independent.sd  # correlations widen the distribution
    assert np.isnan(predicted.fraction_negative)


def test_predicted_distribution_is_a_density_with_the_predicted_moments():
    conn = network.random_connectivity(100, 0.1, 0)
    centres, density = network.predicted_weight_distribution(TRANSFER, RULE, 20, conn)
    step = centres[1] - centres[0]
    assert density.sum() * step == pytest.approx(1.0)
    mean = np.sum(centres * density) * step
    sd = np.sqrt(np.sum((centres - mean) ** 2 * density) * step)
    predicted = network.predicted_weight_statistics(TRANSFER, RULE, 20, conn)
    assert mean == pytest.approx(predicted.mean, abs=0.01 * predicted.sd)
    assert sd == pytest.approx(predicted.sd, rel=0.01)


def test_rates_relax_exponentially_without_recurrence():
    conn = network.random_connectivity(200, 0.1, 0)
    weights = network.SparseWeights(conn, np.zeros(conn.n_synapses, np.float32))
    external = np.random.default_rng(1).standard_normal(200)
    start = np.full(200, 3.0)
    steps = 40
    integration = network.Integration(dt=0.5e-3, tau=20e-3)
    rates = network.run_rates(weights, TRANSFER, start, steps * integration.dt, external, integration)
    target = phi(external, TRANSFER)
    # the state is integrated in float32: agreement to a few float32 roundings
    np.testing.assert_allclose(rates, target + (start - target) * (1 - 0.5 / 20) ** steps, rtol=2e-6)


def test_euler_step_matches_scipy_and_recording_works():
    n = 300
    conn = network.random_connectivity(n, 0.1, 2)
    patterns = network.draw_patterns(n, 5, 3)
    weights = network.hebbian_weights(conn, patterns, TRANSFER, RULE)
    start = phi(patterns[0], TRANSFER)
    external = 0.5 * patterns[1]
    one = network.run_rates(weights, TRANSFER, start, 0.5e-3, external)
    expected = start + 0.5 / 20 * (-start + phi(weights.to_scipy() @ start + external, TRANSFER))
    np.testing.assert_allclose(one, expected, rtol=1e-5)
    factors = network.rule_factors(phi(patterns, TRANSFER), TRANSFER, RULE)
    final, times, records = network.run_rates(
        weights, TRANSFER, start, 0.01, record_every=2e-3, readout=lambda r: network.overlaps(r, factors.pre)
    )
    assert times.tolist() == pytest.approx([0, 0.002, 0.004, 0.006, 0.008, 0.01])
    assert records.shape == (6, 5)
    np.testing.assert_allclose(records[-1], network.overlaps(final, factors.pre))
    with pytest.raises(ValueError, match="gain must be a number in"):
        network.run_rates(weights, TRANSFER, start, 0.01, gain=2.0)
    with pytest.raises(ValueError, match="rates must have shape"):
        network.run_rates(weights, TRANSFER, start[:-1], 0.01)
    with pytest.raises(ValueError, match="external must have shape"):
        network.run_rates(weights, TRANSFER, start, 0.01, external=np.zeros((2, n)))
    with pytest.raises(ValueError, match="dt must not exceed tau"):
        network.Integration(dt=0.1, tau=0.02)


def test_trials_integrated_together_match_one_by_one():
    n = 400
    conn = network.random_connectivity(n, 0.1, 4)
    patterns = network.draw_patterns(n, 6, 5)
    weights = network.hebbian_weights(conn, patterns, TRANSFER, RULE)
    starts = phi(patterns[:3], TRANSFER)
    inputs = 0.3 * patterns[3:6]
    together = network.run_rates(weights, TRANSFER, starts, 0.05, inputs)
    for trial in range(3):
        alone = network.run_rates(weights, TRANSFER, starts[trial], 0.05, inputs[trial])
        np.testing.assert_allclose(together[trial], alone, rtol=1e-5, atol=1e-5)
    shared = network.run_rates(weights, TRANSFER, starts, 0.05, inputs[0])  # one input for all trials
    alone = network.run_rates(weights, TRANSFER, starts[1], 0.05, inputs[0])
    np.testing.assert_allclose(shared[1], alone, rtol=1e-5, atol=1e-5)


def test_batches_of_any_size_match_one_by_one():
    """One trial, and nine (a whole block of eight plus one padded block)."""
    n = 300
    conn = network.random_connectivity(n, 0.1, 8)
    patterns = network.draw_patterns(n, 9, 9)
    weights = network.hebbian_weights(conn, patterns, TRANSFER, RULE)
    starts = phi(patterns, TRANSFER)
    one = network.run_rates(weights, TRANSFER, starts[:1], 0.05, 0.3 * patterns[:1])
    assert one.shape == (1, n)
    np.testing.assert_allclose(one[0], network.run_rates(weights, TRANSFER, starts[0], 0.05, 0.3 * patterns[0]),
                               rtol=1e-5, atol=1e-5)
    nine = network.run_rates(weights, TRANSFER, starts, 0.05, 0.3 * patterns)
    assert nine.shape == (9, n)
    for trial in (0, 7, 8):
        alone = network.run_rates(weights, TRANSFER, starts[trial], 0.05, 0.3 * patterns[trial])
        np.testing.assert_allclose(nine[trial], alone, rtol=1e-5, atol=1e-5)
    # Three blocks, taken one after another by the kernel: each trial is as in a batch of its own.
    seventeen = network.run_rates(weights, TRANSFER, np.vstack([starts, starts[:8]]), 0.05)
    np.testing.assert_array_equal(seventeen[9:], network.run_rates(weights, TRANSFER, starts[:8], 0.05))
    np.testing.assert_array_equal(seventeen[:9], network.run_rates(weights, TRANSFER, starts, 0.05))


def test_indices_take_the_smallest_unsigned_type():
    largest_short = network.random_connectivity(65_536, 1e-4, 0)  # indices up to 65 535
    assert largest_short.indices.dtype == np.uint16
    beyond = network.random_connectivity(65_537, 1e-4, 0)
    assert beyond.indices.dtype == np.uint32
    assert beyond.indices.max() <= 65_536 and beyond.indices.max() > 65_000


def test_normalised_overlap_picks_out_the_pattern():
    n = 200_000  # g(eta) eta is heavy-tailed: many neurons for a 0.02 tolerance
    patterns = network.draw_patterns(n, 4, 9)
    rates = phi(patterns, TRANSFER)
    factors = network.rule_factors(rates, TRANSFER, RULE)
    m = network.normalised_overlaps(rates[2], factors.pre)
    # for the pattern itself m tends to E[g(eta) eta] / (sqrt(E[g^2]) SD(eta)), below 1 because g
    # is not linear in eta
    g = lambda r: rules.pre_factor(r, RULE, factors.q_g)  # noqa: E731
    mean = rules.gaussian_average(lambda r: r, TRANSFER)
    sd = np.sqrt(rules.gaussian_average(lambda r: r**2, TRANSFER) - mean**2)
    expected = rules.gaussian_average(lambda r: g(r) * r, TRANSFER) / (
        np.sqrt(rules.gaussian_average(lambda r: g(r) ** 2, TRANSFER)) * sd
    )
    assert m[2] == pytest.approx(expected, abs=0.02)
    assert np.all(np.abs(np.delete(m, 2)) < 5 / np.sqrt(n))
