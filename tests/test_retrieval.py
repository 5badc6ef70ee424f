import numpy as np
import pytest

from helpers import network, retrieval
from helpers.rules import PUBLISHED_RULE
from helpers.transfer import PUBLISHED_MEDIANS, phi

TRANSFER = PUBLISHED_MEDIANS


def silent_network(n=300):
    conn = network.random_connectivity(n, 0.1, 0)
    return network.SparseWeights(conn, np.zeros(conn.n_synapses, np.float32))


def test_distorted_inputs_have_the_asked_correlation():
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((3, 50_000))
    cues = retrieval.distorted_inputs(inputs, 0.6, rng)
    for k in range(3):
        assert np.corrcoef(inputs[k], cues[k])[0, 1] == pytest.approx(0.6, abs=0.01)
    assert np.std(cues) == pytest.approx(1.0, abs=0.01)
    assert np.array_equal(retrieval.distorted_inputs(inputs, 1.0, 1), inputs)
    with pytest.raises(ValueError, match="correlation must be in"):
        retrieval.distorted_inputs(inputs, 1.5)


def test_self_overlaps_picks_each_trials_pattern():
    overlaps = np.arange(2 * 3 * 4).reshape(2, 3, 4)  # (T, trials, patterns)
    assert retrieval.self_overlaps(overlaps, [0, 3, 1]).tolist() == [[0, 7, 9], [12, 19, 21]]


def test_rate_fluctuation_separates_still_from_moving_rates():
    rng = np.random.default_rng(2)
    levels = rng.uniform(0, 50, 400)
    still = np.tile(levels, (30, 1))
    assert retrieval.rate_fluctuation(still) == pytest.approx(0.0, abs=1e-12)
    moving = still + 5 * np.sin(np.linspace(0, 6, 30))[:, None] * rng.standard_normal(400)
    assert retrieval.rate_fluctuation(moving) > 0.1
    with pytest.raises(ValueError, match="rate_records must have shape"):
        retrieval.rate_fluctuation(levels)


def test_lyapunov_exponent_of_the_leak_alone():
    # Without recurrence a difference decays by (1 - dt/tau) per step: exponent ln(1 - dt/tau) / dt.
    weights = silent_network()
    rates = np.full(300, 5.0)
    exponent = retrieval.lyapunov_exponent(weights, TRANSFER, rates, 0.2, rng=0)
    assert exponent == pytest.approx(np.log(1 - 0.5 / 20) / 0.5e-3, rel=1e-3)
    with pytest.raises(ValueError, match="duration must be"):
        retrieval.lyapunov_exponent(weights, TRANSFER, rates, 0.0)


def test_delayed_match_to_sample_records_all_three_periods():
    weights = silent_network()
    rng = np.random.default_rng(3)
    patterns = rng.standard_normal((2, 300))
    pre = network.rule_factors(phi(patterns, TRANSFER), TRANSFER, PUBLISHED_RULE).pre
    protocol = retrieval.Protocol(background=0.05, presentation=0.2, delay=0.15, record_every=0.01)
    trials = retrieval.delayed_match_to_sample(weights, TRANSFER, patterns, np.full(300, 5.0), pre, protocol)
    assert trials.times[0] == 0 and trials.times[-1] == pytest.approx(protocol.duration)
    assert np.all(np.diff(trials.times) > 0) and trials.overlaps.shape == (trials.times.size, 2, 2)
    # driven by pattern mu for ten tau, the rates reach phi(xi^mu) and so does the overlap
    stimulus_end = np.argmin(np.abs(trials.times - 0.25))
    target = network.normalised_overlaps(phi(patterns, TRANSFER), pre)
    np.testing.assert_allclose(trials.overlaps[stimulus_end], target, atol=2e-3)
    assert trials.overlaps[0, 0, 0] == pytest.approx(0, abs=1e-6)  # uniform rates overlap nothing
    # ... and without recurrence the rates relax towards the uniform phi(0) in the delay
    assert np.std(trials.rates[0]) < 0.01 * np.std(phi(patterns[0], TRANSFER))
    with pytest.raises(ValueError, match="stimuli must have shape"):
        retrieval.delayed_match_to_sample(weights, TRANSFER, patterns[:, :10], np.full(300, 5.0), pre, protocol)
    with pytest.raises(ValueError, match="delay must be in"):
        retrieval.Protocol(delay=-1)


def test_leading_eigenvalues_match_the_dense_jacobian_and_predict_decay():
    n = 300
    conn = network.random_connectivity(n, 0.2, 11)
    patterns = network.draw_patterns(n, 6, 12)
    weights = network.hebbian_weights(conn, patterns, TRANSFER, PUBLISHED_RULE)
    rates = network.run_rates(weights, TRANSFER, phi(0.5 * patterns[0], TRANSFER), 0.5)
    dense = weights.to_scipy().toarray().astype(float)
    slope = PUBLISHED_MEDIANS.r_max * PUBLISHED_MEDIANS.beta
    s = 1 / (1 + np.exp(-PUBLISHED_MEDIANS.beta * (dense @ rates - PUBLISHED_MEDIANS.h0)))
    exact = np.linalg.eigvals((slope * s * (1 - s))[:, None] * dense)
    exact = exact[np.argsort(-exact.real)][:3]
    found = retrieval.leading_eigenvalues(weights, TRANSFER, rates, count=3)
    np.testing.assert_allclose(found.real, exact.real, atol=1e-6)
    # Below 1 the state is a stable fixed point: a small kick decays at rate (1 - lambda) / tau or faster.
    assert found[0].real < 1
    kick = 0.1 * np.random.default_rng(13).standard_normal(n)
    kicked, unkicked = network.run_rates(weights, TRANSFER, np.stack([rates + kick, rates]), 0.2)
    bound = np.exp(-0.2 * (1 - found[0].real) / 0.02)
    assert np.linalg.norm(kicked - unkicked) < 1.5 * bound * np.linalg.norm(kick)
    with pytest.raises(ValueError, match="count must be"):
        retrieval.leading_eigenvalues(weights, TRANSFER, rates, count=0)
