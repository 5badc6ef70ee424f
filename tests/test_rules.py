import numpy as np
import pytest

from helpers import rules
from helpers.transfer import PUBLISHED_MEDIANS, TransferParams, phi


@pytest.mark.parametrize("transfer", [PUBLISHED_MEDIANS, TransferParams(40.0, 1.5, 0.0)])
def test_balanced_q_g_gives_g_zero_mean(transfer):
    rule = rules.PUBLISHED_RULE
    q_g = rules.balanced_q_g(rule, transfer)
    rates = phi(np.random.default_rng(0).standard_normal(400_000), transfer)
    g = rules.pre_factor(rates, rule, q_g)
    assert abs(g.mean()) < 3 * g.std() / np.sqrt(rates.size)


def test_post_factor_changes_sign_at_the_threshold():
    rule = rules.PUBLISHED_RULE
    threshold = rules.depression_potentiation_threshold(rule)
    assert rules.post_factor(threshold, rule) == pytest.approx(0.0, abs=1e-12)
    assert rules.post_factor(threshold - 5, rule) < 0 < rules.post_factor(threshold + 5, rule)
    # limits: f -> q_f - 1 at low rates and q_f at high rates
    assert rules.post_factor(-1e3, rule) == pytest.approx(rule.q_f - 1)
    assert rules.post_factor(1e3, rule) == pytest.approx(rule.q_f)


def test_g_defaults_to_the_shape_of_f():
    rule = rules.RuleParams()
    assert rule.pre_slope == rule.beta_f and rule.pre_centre == rule.x_f
    other = rules.RuleParams(beta_g=1.0, x_g=5.0)
    assert other.pre_slope == 1.0 and other.pre_centre == 5.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"q_f": 1.5}, r"q_f must be a number in \[0, 1\]"),
        ({"A": 0}, "A must be a finite number > 0"),
        ({"beta_f": -1}, "beta_f must be"),
    ],
)
def test_bad_rule_parameters_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        rules.RuleParams(**kwargs)


# --- inference of f --------------------------------------------------------------------------


def test_input_change_recovers_a_known_shift_from_exact_rates():
    # familiar inputs are novel inputs shifted by a known function of the novel rate
    transfer = TransferParams(60.0, 1.0, 1.5)
    z = np.random.default_rng(1).standard_normal(40000)
    shift = lambda r: 0.5 * np.tanh((r - 20.0) / 5.0)  # noqa: E731
    novel = phi(z, transfer)
    familiar = phi(z + shift(novel), transfer)
    rates, delta_h = rules.input_change(novel, familiar, transfer)
    assert rates.size > 0.9 * z.size
    np.testing.assert_allclose(delta_h, shift(rates), atol=0.02)


def test_input_changes_covers_every_neuron():
    from helpers import data

    surrogate = data.simulate_recordings(data.draw_population(3, rng=1), n_novel=80, n_familiar=80, rng=2)
    curves = rules.input_changes(data.stimulus_totals(surrogate.table))
    assert sorted(curves) == sorted(surrogate.truth["neuron"])
    for rates, delta_h in curves.values():
        assert rates.shape == delta_h.shape and rates.size > 40 and np.all(np.isfinite(delta_h))


def test_input_change_drops_rates_where_the_inverse_is_unreliable():
    transfer = TransferParams(20.0, 1.0, 0.0)
    rates, _ = rules.input_change([0.0, 0.1, 5.0, 10.0, 19.5], [0.0, 0.2, 6.0, 11.0, 19.9], transfer, min_rate=0.5)
    assert np.all(rates >= 0.5) and np.all(rates <= 0.9 * transfer.r_max)


def test_fit_post_factor_recovers_the_rule():
    r = np.random.default_rng(2).uniform(0, 60, 3000)
    truth = (0.8, 0.83, 0.28, 26.6)
    delta_h = rules.amplitude_times_f(r, *truth) + 0.05 * np.random.default_rng(3).standard_normal(r.size)
    fit = rules.fit_post_factor(r, delta_h)
    np.testing.assert_allclose([fit[k] for k in rules.RULE_NAMES], truth, rtol=0.05)
    expected = rules.depression_potentiation_threshold(rules.RuleParams(q_f=0.83, beta_f=0.28, x_f=26.6))
    assert fit["threshold"] == pytest.approx(expected, rel=0.02)
    fixed = rules.fit_post_factor(r, delta_h, q_f=0.5)
    assert fixed["q_f"] == 0.5


def test_pooled_fit_bootstraps_over_neurons_reproducibly():
    rng = np.random.default_rng(4)
    curves = []
    for _ in range(12):
        r = rng.uniform(0, 50, 80)
        curves.append((r, rules.amplitude_times_f(r, 1.0, 0.8, 0.3, 25.0) + 0.1 * rng.standard_normal(r.size)))
    estimate, samples = rules.fit_pooled_rule(curves, n_boot=20, rng=5)
    _, again = rules.fit_pooled_rule(curves, n_boot=20, rng=5)
    assert list(samples.columns) == [*rules.RULE_NAMES, "threshold"] and len(samples) == 20
    np.testing.assert_array_equal(samples.to_numpy(), again.to_numpy())
    # the spread over resampled neurons measures the estimate's error
    spread = samples["x_f"].std()
    assert 0 < spread < 2 and abs(estimate["x_f"] - 25.0) < 4 * spread
    with pytest.raises(ValueError, match="at least 2 neurons"):
        rules.fit_pooled_rule(curves[:1])


def test_sparseness_limits():
    assert rules.sparseness(np.full(10, 3.0)) == pytest.approx(1.0)
    assert rules.sparseness(np.eye(10)[0]) == pytest.approx(0.1)


def test_gaussian_moments_match_monte_carlo():
    rule, transfer = rules.PUBLISHED_RULE, PUBLISHED_MEDIANS
    post, pre = rules.gaussian_moments(rule, transfer, max_order=3)
    rates = phi(np.random.default_rng(1).standard_normal(400_000), transfer)
    f, g = rules.post_factor(rates, rule), rules.pre_factor(rates, rule, rules.balanced_q_g(rule, transfer))
    for k in range(3):
        samples = f ** (k + 1)
        assert post[k] == pytest.approx(samples.mean(), abs=4 * samples.std() / np.sqrt(rates.size))
    assert pre[0] == pytest.approx(0.0, abs=1e-10)  # the balance of q_g
    assert pre[1] == pytest.approx(np.mean(g**2), abs=4 * np.std(g**2) / np.sqrt(rates.size))


def test_correlated_average_limits():
    rule, transfer = rules.PUBLISHED_RULE, PUBLISHED_MEDIANS
    f = lambda r: rules.post_factor(r, rule)  # noqa: E731
    post, _ = rules.gaussian_moments(rule, transfer, max_order=2)
    values = rules.correlated_average(f, f, transfer, np.array([0.0, 1.0]))
    assert values[0] == pytest.approx(post[0] ** 2, rel=1e-6)  # independent: product of means
    assert values[1] == pytest.approx(post[1], rel=1e-6)  # identical: mean of the square
    with pytest.raises(ValueError, match="rho"):
        rules.correlated_average(f, f, transfer, 1.5)
