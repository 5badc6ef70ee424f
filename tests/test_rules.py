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
        ({"q_f": 1.5}, r"q_f must be in \[0.0, 1.0\]"),
        ({"A": 0}, "A must be a finite number > 0"),
        ({"beta_f": -1}, "beta_f must be"),
    ],
)
def test_bad_rule_parameters_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        rules.RuleParams(**kwargs)
