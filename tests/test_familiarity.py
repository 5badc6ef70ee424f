"""The feed-forward control of chapter 10 (helpers.familiarity): its event-driven triplet kernel
against the rule replayed synapse by synapse, learning by spikes against the rate limit, the
ground truth it reports, its recordings, and its refusals; and the parabola fit of helpers.rules."""

import numpy as np
import pytest

from helpers import data, familiarity, plasticity, rules

FULL_TRIPLET = plasticity.VISUAL_CORTEX.scaled(0.1)  # every term on, a3_minus and a2_plus included


def _kernel(rule, weights, pre, post, traces, duration):
    """One presentation of ``familiarity._learn_presentation`` on trains given as (times, neurons)."""
    familiarity._learn_presentation(
        weights, pre[0], pre[1], post[0], post[1], traces, duration,
        rule.a2_plus, rule.a3_plus, rule.a2_minus, rule.a3_minus,
        rule.tau_plus, rule.tau_x, rule.tau_minus, rule.tau_y,
    )  # fmt: skip


def _trains(rates, duration, seed):
    return familiarity._poisson_trains(np.asarray(rates, float), duration, np.random.default_rng(seed))


def test_the_kernel_changes_every_synapse_as_the_rule_replayed_on_its_own_spikes():
    pre, post = _trains([20.0, 35.0, 5.0], 2000.0, 1), _trains([30.0, 12.0], 2000.0, 2)
    weights = np.zeros((2, 3))
    _kernel(FULL_TRIPLET, weights, pre, post, np.zeros((4, 5)), 2000.0)
    for i in range(2):
        for j in range(3):
            expected = FULL_TRIPLET.weight_change(pre[0][pre[1] == j], post[0][post[1] == i])
            assert weights[i, j] == pytest.approx(expected, rel=1e-9, abs=1e-12), (i, j)


def test_traces_carry_from_one_presentation_to_the_next():
    # two presentations of 300 ms, traces carried, against one train of 600 ms replayed whole
    first_pre, first_post = _trains([40.0, 25.0], 300.0, 3), _trains([30.0], 300.0, 4)
    second_pre, second_post = _trains([40.0, 25.0], 300.0, 5), _trains([30.0], 300.0, 6)
    weights, traces = np.zeros((1, 2)), np.zeros((4, 3))
    _kernel(FULL_TRIPLET, weights, first_pre, first_post, traces, 300.0)
    _kernel(FULL_TRIPLET, weights, second_pre, second_post, traces, 300.0)
    post_times = np.concatenate([first_post[0], second_post[0] + 300.0])
    for j in range(2):
        pre_times = np.concatenate([first_pre[0][first_pre[1] == j], second_pre[0][second_pre[1] == j] + 300.0])
        assert weights[0, j] == pytest.approx(FULL_TRIPLET.weight_change(pre_times, post_times), rel=1e-9)


def test_learning_by_spikes_follows_the_rate_limit():
    control = familiarity.FeedForwardControl(n_pre=200, n_post=40, top_change=2.0, n_repetitions=3)
    by_spikes = familiarity.learn_familiar(control, 40, rng=1, spikes=True)
    by_rates = familiarity.learn_familiar(control, 40, rng=1, spikes=False)
    # the same stimuli, and the same weights up to the spikes' noise
    assert np.array_equal(by_spikes.rates_before, by_rates.rates_before)
    correlation = np.corrcoef(by_spikes.input_change.ravel(), by_rates.input_change.ravel())[0, 1]
    assert correlation > 0.8, correlation
    # the normalisation: each neuron's weights sum to zero, so a novel stimulus's input keeps its mean
    assert np.allclose(by_spikes.weights.sum(axis=1), 0.0, atol=1e-9)
    # the ground truth in input SDs: the learned input over the familiar stimuli, divided by the SD
    expected = by_spikes.weights @ by_spikes.presynaptic_rates / by_spikes.input_sd[:, None]
    assert np.allclose(by_spikes.input_change, expected)
    # the parabola of the rate limit, its threshold near the rule's (18.1 Hz)
    threshold = rules.fit_bcm_factor(by_rates.rates_before.ravel(), by_rates.input_change.ravel())["threshold"]
    assert abs(threshold - control.rule.threshold()) < 0.1 * control.rule.threshold(), threshold


def test_the_amplitude_gives_the_top_change_in_the_rate_limit():
    # One familiar stimulus, no feed-forward spread to speak of: a neuron at 80 % of r_max changes its
    # input to that stimulus by about top_change (on average over presynaptic rates).
    control = familiarity.FeedForwardControl(n_pre=4000, n_post=400, top_change=0.5, n_repetitions=1)
    learned = familiarity.learn_familiar(control, 3, rng=2, spikes=False)
    rule = control.scaled_rule()
    r = learned.rates_before
    predicted = control.presentation * rule.rate_limit(1.0, r) * control.n_pre * control.presynaptic_variance
    at_top = control.top_change * rule.rate_limit(1.0, r) / rule.rate_limit(1.0, 0.8 * control.transfer.r_max)
    assert np.allclose(predicted, at_top)
    # measured, in the input's units before dividing by its SD: within 15 % where the change is large
    measured = learned.input_change * learned.input_sd[:, None]
    large = np.abs(predicted) > 0.05
    assert large.sum() > 20
    assert np.median(measured[large] / predicted[large]) == pytest.approx(1.0, abs=0.15)


def test_the_null_control_learns_nothing():
    control = familiarity.FeedForwardControl(n_pre=100, n_post=5)
    learned = familiarity.learn_familiar(control, 10, rng=3, learn=False)
    assert not learned.weights.any() and not learned.input_change.any()
    assert np.allclose(learned.input_sd, 1.0)


def test_recordings_are_poisson_counts_in_the_recordings_format():
    control = familiarity.FeedForwardControl(n_pre=100, n_post=4)
    learned = familiarity.learn_familiar(control, 30, rng=4, learn=False)
    table = familiarity.recordings(control, learned, 25, 200, 0.5, rng=5)
    table = data.validate_recordings(table, conditions=("novel", "familiar"))
    totals = data.stimulus_totals(table)
    assert set(totals["condition"]) == {"novel", "familiar"}
    assert totals.groupby("condition")["stimulus"].nunique().to_dict() == {"familiar": 30, "novel": 25}
    familiar = totals[totals["condition"] == "familiar"].sort_values(["neuron", "stimulus"])
    expected = learned.rates_before.ravel()  # neurons n000..., stimuli in order; nothing learned
    assert np.corrcoef(familiar["rate"], expected)[0, 1] > 0.99
    # the same seeds, the same table
    assert table.equals(
        data.validate_recordings(familiarity.recordings(control, learned, 25, 200, 0.5, rng=5),
                                 conditions=("novel", "familiar"))
    )


def test_bad_controls_are_refused_with_the_name():
    with pytest.raises(ValueError, match="presentation"):
        familiarity.FeedForwardControl(presentation=10.0)
    with pytest.raises(ValueError, match="must potentiate at 80 %"):
        familiarity.FeedForwardControl(rule=plasticity.pair_stdp(0.0, 0.01, 16.8, 33.7))
    with pytest.raises(ValueError, match="TripletSTDP"):
        familiarity.FeedForwardControl(rule=plasticity.InhibitorySTDP(eta=0.1, tau=20.0, rho0=3.0))
    with pytest.raises(ValueError, match="n_familiar"):
        familiarity.learn_familiar(familiarity.FeedForwardControl(), 2)
    with pytest.raises(ValueError, match="top_change"):
        familiarity.FeedForwardControl(top_change=-1.0)


def test_fit_bcm_factor_recovers_a_parabola_and_refuses_one_upside_down():
    rates = np.linspace(1.0, 50.0, 40)
    fit = rules.fit_bcm_factor(rates, 0.002 * rates * (rates - 18.0))
    assert fit["threshold"] == pytest.approx(18.0) and fit["a"] == pytest.approx(0.002)
    with pytest.raises(ValueError, match="opens downwards"):
        rules.fit_bcm_factor(rates, -0.002 * rates * (rates - 18.0))
    with pytest.raises(ValueError, match="matching arrays"):
        rules.fit_bcm_factor(rates, rates[:-1])
