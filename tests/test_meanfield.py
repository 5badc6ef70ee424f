import dataclasses

import numpy as np
import pytest
from scipy import optimize, stats

from helpers import rules
from helpers.information import binary_entropy, discrete_mutual_information, quantile_levels
from helpers.meanfield import MeanField
from helpers.rules import (
    PUBLISHED_RULE,
    RuleParams,
    balanced_q_g,
    depression_potentiation_threshold,
    post_factor,
    pre_factor,
)
from helpers.transfer import PUBLISHED_MEDIANS, phi, phi_inverse

TRANSFER, RULE = PUBLISHED_MEDIANS, PUBLISHED_RULE


@pytest.fixture(scope="module")
def theory():
    return MeanField(TRANSFER, RULE)


def test_capacity_is_stable_when_the_grids_double(theory):
    finer = MeanField(TRANSFER, RULE, pattern_nodes=401, noise_nodes=241)
    assert abs(theory.capacity().alpha - finer.capacity().alpha) < 1e-4
    assert 0.1 < theory.capacity().alpha < 2


def test_solutions_satisfy_the_equations_by_monte_carlo(theory):
    state = theory.retrieval(0.2)
    rng = np.random.default_rng(0)
    xi, z = rng.standard_normal(400_000), rng.standard_normal(400_000)
    eta = phi(xi, TRANSFER)
    f, g = post_factor(eta, RULE), pre_factor(eta, RULE, balanced_q_g(RULE, TRANSFER))
    rates = phi(RULE.A * f * state.q + np.sqrt(state.delta) * z, TRANSFER)
    q_mc = np.mean(g * rates)
    assert q_mc == pytest.approx(state.q, abs=4 * np.std(g * rates) / np.sqrt(xi.size))
    predicted_delta = 0.2 * RULE.A**2 * np.mean(f**2) * np.mean(g**2) * np.mean(rates**2)
    assert predicted_delta == pytest.approx(state.delta, rel=0.01)
    assert state.m == pytest.approx(q_mc / np.sqrt(np.mean(g**2) * np.var(rates)), rel=0.01)


def test_branch_and_capacity(theory):
    critical = theory.capacity()
    loads = [s.alpha for s in theory.branch(40)]
    assert max(loads) <= critical.alpha + 1e-6  # the capacity is the branch's first maximum
    assert theory.retrieval(0.0).delta == 0 and theory.retrieval(0.0).q == pytest.approx(theory.noise_free_overlap())
    # the stable state's overlap falls with the load, and there is none above capacity
    m = [theory.retrieval(a).m for a in (0.1, 0.3, 0.5)]
    assert m[0] > m[1] > m[2] > critical.m
    assert theory.retrieval(critical.alpha * 1.01) is None
    # the stable branch runs from zero load to capacity, through the states retrieval() finds
    curve = theory.stable_branch(12)
    assert curve[0].alpha == 0 and curve[-1].alpha == critical.alpha
    assert np.all(np.diff([s.alpha for s in curve]) > 0)
    middle = curve[5]
    assert theory.retrieval(middle.alpha).m == pytest.approx(middle.m, abs=1e-6)
    with pytest.raises(ValueError, match="alpha must be a number in"):
        theory.retrieval(-0.1)


def test_no_retrieval_with_a_weak_rule():
    weak = MeanField(TRANSFER, dataclasses.replace(RULE, A=0.3))
    assert weak.noise_free_overlap() == 0 and weak.capacity().alpha == 0


def test_background_solves_its_equation_and_is_stable_at_median_amplitude(theory):
    state = theory.background(0.3)
    rng = np.random.default_rng(1)
    rates = phi(np.sqrt(state.delta) * rng.standard_normal(400_000), TRANSFER)
    assert 0.3 * theory.noise_per_load * np.mean(rates**2) == pytest.approx(state.delta, rel=0.01)
    assert theory.background(0.0).sd_rate == 0 and theory.background(0.0).mean_rate == pytest.approx(phi(0.0, TRANSFER))
    assert 0 < theory.background_gain(0.3) < 1
    strong = MeanField(TRANSFER, dataclasses.replace(RULE, A=3 * RULE.A))
    assert strong.background_gain(0.0) > 1  # three times the amplitude: the background loses stability


def test_finite_in_degree_correction_vanishes_for_large_k(theory):
    huge = MeanField(TRANSFER, RULE, in_degree=1e9)
    assert huge.capacity().alpha == pytest.approx(theory.capacity().alpha, abs=1e-5)
    small = MeanField(TRANSFER, RULE, in_degree=100)
    assert small.retrieval(0.1).m < theory.retrieval(0.1).m  # the self-noise lowers the overlap
    with pytest.raises(ValueError, match="in_degree must be"):
        MeanField(TRANSFER, RULE, in_degree=0)


def test_rate_histogram_is_a_density(theory):
    state = theory.retrieval(0.1)
    edges = np.linspace(0, TRANSFER.r_max, 81)
    density = theory.rate_histogram(state, edges)
    assert np.sum(density * np.diff(edges)) == pytest.approx(1.0, abs=1e-6)
    centres = 0.5 * (edges[1:] + edges[:-1])
    assert np.sum(centres * density * np.diff(edges)) == pytest.approx(state.mean_rate, rel=0.02)


def test_rate_histogram_matches_monte_carlo_in_every_bin(theory):
    # The density must follow a sampled histogram bin by bin, with no quadrature dips: binning
    # rates at the (xi, z) nodes left bins near 41 and 50 Hz some 1e-5 of their neighbours.
    state = theory.retrieval(0.3)
    edges = np.linspace(0, TRANSFER.r_max, 61)
    density = theory.rate_histogram(state, edges)
    rng = np.random.default_rng(11)
    xi, z = rng.standard_normal(1_000_000), rng.standard_normal(1_000_000)
    eta = phi(xi, TRANSFER)
    rates = phi(RULE.A * post_factor(eta, RULE) * state.q + np.sqrt(state.delta) * z, TRANSFER)
    counts, _ = np.histogram(rates, bins=edges)
    expected = density * np.diff(edges) * rates.size
    populated = expected > 100
    assert populated.sum() > 40
    counts, expected = counts[populated], expected[populated]
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected) + 0.01 * expected)
    assert np.all(density > 0)


def test_rate_histogram_rejects_bad_edges(theory):
    with pytest.raises(ValueError, match="edges must be an increasing"):
        theory.rate_histogram(theory.retrieval(0.1), [0.0, 10.0, 5.0])


def test_pattern_information_limits_and_monte_carlo(theory):
    threshold = depression_potentiation_threshold(theory.rule)
    coding = stats.norm.sf(phi_inverse(threshold, TRANSFER))
    # No crosstalk: the field is a strictly increasing function of the pattern, all of H2 is there.
    noiseless = theory.pattern_information(theory.retrieval(0.0), threshold)
    assert noiseless == pytest.approx(binary_entropy(coding), rel=1e-3)
    assert theory.pattern_information(theory.background(0.2), threshold) == 0.0
    values = [theory.pattern_information(theory.retrieval(a), threshold) for a in (0.1, 0.3, 0.5)]
    assert np.all(np.diff(values) < 0) and values[0] < binary_entropy(coding)
    # Monte Carlo at alpha = 0.3: sample the field, bin it finely, estimate I(b; h) from counts.
    state = theory.retrieval(0.3)
    rng = np.random.default_rng(7)
    xi, z = rng.standard_normal(400_000), rng.standard_normal(400_000)
    eta = phi(xi, TRANSFER)
    h = theory.rule.A * post_factor(eta, theory.rule) * state.q + np.sqrt(state.delta) * z
    sampled = discrete_mutual_information(eta > threshold, quantile_levels(h, 200))
    assert sampled == pytest.approx(values[1], abs=0.01)


def test_capacity_at_finite_in_degree_is_a_crossover_when_no_saddle_node_exists():
    # Published amplitude, K = 100: the branch has its maximum, as at K -> infinity.
    published = MeanField(TRANSFER, RULE, in_degree=100)
    assert published.transition() == "saddle-node"
    assert published.capacity().alpha > max(s.alpha for s in published.branch(40)[:20]) - 1e-9
    # A = 4.5, K = 100: alpha(q) rises all the way down the q axis, into the background's own small
    # overlap (q > 0 even with no pattern retrieved, from the pattern-shaped self-noise).
    # (A = 4 lies near the border: the unrounded medians make it a saddle-node.)
    strong = MeanField(TRANSFER, dataclasses.replace(RULE, A=4.5), in_degree=100)
    assert strong.transition() == "crossover"
    loads = np.array([s.alpha for s in strong.branch(40)])
    assert np.all(np.diff(loads) > 0)  # no maximum to call the capacity
    background = strong.background(0.8)
    assert strong._averages(1e-6, background.delta, strong._self_noise(1e-6, background.delta))[0] > 0.01
    # The capacity is the flattest point of alpha(q), well before the branch meets the background,
    # where the overlap still is of the size of the saddle-node's at the published amplitude.
    critical = strong.capacity()
    assert 0.15 < critical.m < 0.4 and critical.alpha < loads[-1] - 0.1
    step = 0.02 * strong.noise_free_overlap()
    slope = [strong.load_at_overlap(q - step / 2)[0] - strong.load_at_overlap(q + step / 2)[0]
             for q in (critical.q - step, critical.q, critical.q + step)]
    assert slope[1] < slope[0] and slope[1] < slope[2]
    assert strong.retrieval(0.4).m > critical.m and strong.retrieval(critical.alpha * 1.01) is None
    assert MeanField(TRANSFER, dataclasses.replace(RULE, A=0.3), in_degree=100).transition() == "none"


def _step_rule_capacity(rule, transfer):
    """The capacity of a step rule in the limit of large amplitude, in closed form up to one maximum.

    With ``f`` and ``g`` two-valued (steps at the rate ``x_f``) and ``A -> infinity``, ``phi(h)`` is
    ``r_max Theta(f q + sqrt(d) z)`` with ``Delta = A^2 d``; with ``u = q / sqrt(d)`` the equations give
    ``alpha(u) = E[g Phi(f u)]^2 / (u^2 E[f^2] E[g^2] E[Phi(f u)])``, maximal at the capacity.
    """
    above = stats.norm.sf(float(phi_inverse(rule.x_f, transfer)))  # probability of a rate above x_f
    weights = np.array([1 - above, above])
    f = np.array([rule.q_f - 1, rule.q_f])
    g = np.array([-above, 1 - above])  # q_g = 1 - above balances E[g] = 0
    moments = (weights @ f**2) * (weights @ g**2)

    def load(u):
        gain = stats.norm.cdf(f * u)
        return (weights @ (g * gain)) ** 2 / (u * u * moments * (weights @ gain))

    best = optimize.minimize_scalar(lambda u: -load(u), bounds=(1e-2, 20.0), method="bounded",
                                    options={"xatol": 1e-10})
    return -best.fun


def test_a_step_rule_at_large_amplitude_has_its_analytic_capacity():
    """Steep factors and a near-step phi(h) are integrated exactly: the trapezoid grids put the step on
    or between nodes and got this capacity wrong by up to two orders of magnitude."""
    analytic = _step_rule_capacity(RuleParams(q_f=0.827, beta_f=1e4, x_f=26.6), TRANSFER)
    errors = []
    for amplitude in (1e3, 1e4):
        rule = RuleParams(A=amplitude, q_f=0.827, beta_f=1e4, x_f=26.6)
        errors.append(MeanField(TRANSFER, rule).capacity().alpha / analytic - 1)
    assert abs(errors[1]) < 3e-3  # corrections of order 1 / A
    assert abs(errors[1]) < 0.2 * abs(errors[0])


def test_expectation_grid_is_exact_across_a_step():
    rule = RuleParams(beta_f=1e5, x_f=26.6)
    nodes, weights = rules.expectation_grid(201, rule, TRANSFER)
    centre = float(phi_inverse(rule.x_f, TRANSFER))
    assert weights @ (nodes > centre) == pytest.approx(stats.norm.sf(centre), abs=1e-12)
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)
    # A smooth rule keeps the trapezoid grid, so the published numbers do not move.
    smooth = rules.expectation_grid(201, RULE, TRANSFER)
    assert np.array_equal(smooth[0], np.linspace(-9, 9, 201))
