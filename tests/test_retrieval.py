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
    with pytest.raises(ValueError, match="correlation must be a number in"):
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
    with pytest.raises(ValueError, match="delay must be a number in"):
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


def test_present_reads_the_stimulus_end_and_the_delay_end():
    # With no recurrent weights each rate relaxes to phi(input): to phi(I) by the end of a long
    # presentation and back to phi(0) by the end of a long delay.
    weights = silent_network(200)
    inputs = np.random.default_rng(3).standard_normal((3, 200))
    responses = retrieval.present(weights, TRANSFER, inputs, np.zeros(200), presentation=0.5, delay=0.5)
    assert responses.stimulus_end.shape == responses.delay_end.shape == (3, 200)
    assert np.allclose(responses.stimulus_end, phi(inputs, TRANSFER), rtol=1e-4, atol=1e-4)
    assert np.allclose(responses.delay_end, phi(0.0, TRANSFER), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="presentation must be"):
        retrieval.present(weights, TRANSFER, inputs, np.zeros(200), presentation=0.0, delay=0.5)


def test_noisy_inputs_and_spike_counts_have_the_asked_statistics():
    rng = np.random.default_rng(4)
    stimuli = np.tile(rng.standard_normal(20_000), (2, 1))
    noisy = retrieval.noisy_inputs(stimuli, 0.5, rng)
    assert np.std(noisy - stimuli) == pytest.approx(0.5, rel=0.02)
    assert not np.allclose(noisy[0], noisy[1])  # each trial has its own noise
    with pytest.raises(ValueError, match="input_noise must be a number in"):
        retrieval.noisy_inputs(stimuli, -1.0)
    counts = retrieval.spike_counts(np.full(50_000, 20.0), 0.1, rng)  # Poisson: mean = variance = 2
    assert counts.mean() == pytest.approx(2.0, rel=0.02) and counts.var() == pytest.approx(2.0, rel=0.04)
    with pytest.raises(ValueError, match="window must be"):
        retrieval.spike_counts(np.ones(3), 0.0)
    with pytest.raises(ValueError, match="non-negative"):
        retrieval.spike_counts(-np.ones(3), 0.1)


def test_present_resumes_from_its_checkpoint(tmp_path):
    weights = silent_network(100)
    inputs = np.random.default_rng(5).standard_normal((5, 100))
    path = tmp_path / "channel.npz"
    whole = retrieval.present(weights, TRANSFER, inputs, np.zeros(100), 0.05, 0.05, checkpoint=path, batch=2)
    saved = np.load(path)
    assert int(saved["done"]) == 5
    # A rerun finds everything done; an interrupted one (first batch only) completes the rest.
    again = retrieval.present(weights, TRANSFER, inputs, np.zeros(100), 0.05, 0.05, checkpoint=path, batch=2)
    assert np.array_equal(again.delay_end, whole.delay_end)
    partial = {k: saved[k] for k in saved.files}
    partial["done"], partial["stimulus_end"][2:], partial["delay_end"][2:] = 2, np.nan, np.nan
    np.savez(path, **partial)
    resumed = retrieval.present(weights, TRANSFER, inputs, np.zeros(100), 0.05, 0.05, checkpoint=path, batch=2)
    assert np.array_equal(resumed.stimulus_end, whole.stimulus_end)
    with pytest.raises(ValueError, match="made from other weights, inputs or timing"):
        retrieval.present(weights, TRANSFER, inputs + 1, np.zeros(100), 0.05, 0.05, checkpoint=path)
