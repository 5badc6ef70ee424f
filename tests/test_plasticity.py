"""Spike-timing-dependent plasticity (helpers.plasticity): single pairs and triplets by hand, and the
rate limits against the drift simulated on independent Poisson trains."""

import math

import numpy as np
import pytest

from helpers import plasticity

# Times of the triplet rule's traces (ms); amplitudes chosen so that the minimal rule's threshold
# sits inside the grid of rates below (about 17 Hz).
MINIMAL = plasticity.TripletSTDP(a2_plus=0.0, a2_minus=7e-3, a3_plus=6.5e-3, a3_minus=0.0,
                                 tau_plus=16.8, tau_minus=33.7, tau_x=101.0, tau_y=125.0)


def _simulated_drift(rule, r_pre, r_post, seed):
    """Mean drift per second over 24 independent trials of 100 s, and its standard error."""
    return plasticity.measured_drift(rule, r_pre, r_post, np.random.default_rng(seed))


def test_one_pair_changes_the_weight_by_the_window():
    rule = plasticity.pair_stdp(a_plus=0.01, a_minus=0.012, tau_plus=16.8, tau_minus=33.7)
    assert rule.weight_change([0.0], [10.0]) == pytest.approx(0.01 * math.exp(-10 / 16.8), rel=1e-12)
    assert rule.weight_change([10.0], [0.0]) == pytest.approx(-0.012 * math.exp(-10 / 33.7), rel=1e-12)
    # all-to-all: two pre spikes before one post spike add up
    both = 0.01 * (math.exp(-10 / 16.8) + math.exp(-30 / 16.8))
    assert rule.weight_change([0.0, 20.0], [30.0]) == pytest.approx(both, rel=1e-12)


def test_a_post_spike_pair_after_a_pre_spike_adds_the_triplet_term():
    rule = plasticity.TripletSTDP(0.005, 0.007, 0.0065, 0.0023, 16.8, 33.7, 101.0, 125.0)
    # pre at 0, post at 10 and 20: the second post spike sees the first in o2 (tau_y); depression
    # needs a pre spike after a post spike, and there is none
    expected = 0.005 * math.exp(-10 / 16.8) + math.exp(-20 / 16.8) * (0.005 + 0.0065 * math.exp(-10 / 125.0))
    assert rule.weight_change([0.0], [10.0, 20.0]) == pytest.approx(expected, rel=1e-12)
    # post at 0, pre at 10 and 20: the second pre spike sees the first in r2 (tau_x)
    expected = -0.007 * math.exp(-10 / 33.7) - math.exp(-20 / 33.7) * (0.007 + 0.0023 * math.exp(-10 / 101.0))
    assert rule.weight_change([10.0, 20.0], [0.0]) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("r_pre", [5.0, 20.0])
@pytest.mark.parametrize("r_post", [5.0, 17.0, 40.0])
def test_the_minimal_triplet_rule_drifts_at_its_rate_limit(r_pre, r_post):
    drift, error = _simulated_drift(MINIMAL, r_pre, r_post, seed=int(10 * r_pre + r_post))
    limit = MINIMAL.rate_limit(r_pre, r_post)
    assert abs(drift - limit) < 4 * error, (drift, error, limit)
    # the check has power: the error is small against the drift's scale at these rates
    assert error < 0.1 * r_pre * r_post * 7e-3 * 33.7e-3


def test_the_full_rule_and_the_pair_rule_drift_at_their_rate_limits():
    full = plasticity.TripletSTDP(0.005, 0.007, 0.0065, 0.0023, 16.8, 33.7, 101.0, 125.0)
    pair = plasticity.pair_stdp(0.01, 0.006, 16.8, 33.7)
    for rule, seed in ((full, 1), (pair, 2)):
        for r_pre, r_post in ((10.0, 30.0), (30.0, 10.0)):
            drift, error = _simulated_drift(rule, r_pre, r_post, seed)
            assert abs(drift - rule.rate_limit(r_pre, r_post)) < 4 * error


def test_the_minimal_rule_has_a_bcm_threshold():
    theta = MINIMAL.threshold()
    assert theta == pytest.approx(7e-3 * 33.7 / (6.5e-3 * 16.8 * 0.125))
    rates = np.array([0.5, 1.0, 2.0]) * theta
    drift = MINIMAL.rate_limit(10.0, rates)
    assert drift[0] < 0 and drift[1] == pytest.approx(0.0, abs=1e-15) and drift[2] > 0
    with pytest.raises(ValueError, match="a3_minus = 0"):
        plasticity.TripletSTDP(0.0, 7e-3, 6.5e-3, 1e-3, 16.8, 33.7, 101.0, 125.0).threshold()


def test_inhibitory_stdp_drives_the_postsynaptic_rate_to_its_target():
    rule = plasticity.InhibitorySTDP(eta=1e-3, tau=20.0, rho0=3.0)
    assert rule.alpha == pytest.approx(0.12)
    assert rule.rate_limit(10.0, 3.0) == 0.0
    # above the target the inhibitory weight grows, below it falls: simulated, within its error
    for r_post, sign in ((12.0, 1), (1.0, -1)):
        drift, error = _simulated_drift(rule, 10.0, r_post, seed=3)
        limit = rule.rate_limit(10.0, r_post)
        assert np.sign(limit) == sign and abs(drift - limit) < 4 * error


def test_bad_rules_and_spike_trains_are_refused_with_their_name():
    with pytest.raises(ValueError, match="a2_minus"):
        plasticity.TripletSTDP(0.0, -1e-3, 6.5e-3, 0.0, 16.8, 33.7, 101.0, 125.0)
    with pytest.raises(ValueError, match="tau_y"):
        plasticity.TripletSTDP(0.0, 1e-3, 6.5e-3, 0.0, 16.8, 33.7, 101.0, 0.0)
    with pytest.raises(ValueError, match="eta"):
        plasticity.InhibitorySTDP(eta=-1.0)
    with pytest.raises(ValueError, match="pre_times must be sorted"):
        MINIMAL.weight_change([5.0, 1.0], [2.0])
    with pytest.raises(ValueError, match="post_times"):
        MINIMAL.weight_change([1.0], [np.nan])
    with pytest.raises(ValueError, match="r_post"):
        MINIMAL.rate_limit(1.0, -2.0)


def test_a_drift_needs_two_trials_and_a_train_a_rate():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="trials must be an integer >= 2"):
        plasticity.measured_drift(MINIMAL, 5.0, 5.0, rng, trials=1)
    with pytest.raises(ValueError, match="rate must be a finite number >= 0"):
        plasticity.poisson_times(-1.0, 100.0, rng)


def test_the_minimal_and_scaled_forms_of_a_rule():
    rule = plasticity.VISUAL_CORTEX
    minimal = rule.minimal()
    assert (minimal.a2_plus, minimal.a3_minus) == (0.0, 0.0)
    assert (minimal.a2_minus, minimal.a3_plus, minimal.tau_y) == (rule.a2_minus, rule.a3_plus, rule.tau_y)
    # the visual-cortex fit's BCM threshold, from its two amplitudes and three time constants
    assert minimal.threshold() == pytest.approx(7e-3 * 33.7 / (6.2e-3 * 16.8 * 0.125))
    # scaling the amplitudes scales every weight change, spike by spike
    rng = np.random.default_rng(3)
    pre, post = plasticity.poisson_times(20.0, 5000.0, rng), plasticity.poisson_times(30.0, 5000.0, rng)
    assert rule.scaled(0.25).weight_change(pre, post) == pytest.approx(0.25 * rule.weight_change(pre, post), rel=1e-9)
    with pytest.raises(ValueError, match="factor"):
        rule.scaled(0.0)
