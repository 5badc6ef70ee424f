import numpy as np
import pytest
from scipy import stats

from helpers import gardner, perceptron


@pytest.mark.parametrize("u", [-3.0, -0.7, 0.0, 0.4, 1.0, 2.5])
def test_gaussian_shortfall_matches_its_closed_form(u):
    closed = (1 + u * u) * stats.norm.cdf(u) + u * stats.norm.pdf(u)
    assert gardner.gaussian_shortfall(u) == pytest.approx(closed, rel=1e-10, abs=1e-14)


def test_gardner_capacity_anchors():
    assert gardner.gardner_capacity(0.0) == pytest.approx(2.0, rel=1e-10)
    for kappa in (0.5, 1.0, 2.0):
        closed = 1 / ((1 + kappa**2) * stats.norm.cdf(kappa) + kappa * stats.norm.pdf(kappa))
        assert gardner.gardner_capacity(kappa) == pytest.approx(closed, rel=1e-9)
    # Large margins: alpha_c ~ 1 / kappa^2.
    assert gardner.gardner_capacity(30.0) * 30.0**2 == pytest.approx(1.0, rel=3e-3)


def test_sparser_outputs_raise_the_capacity_symmetrically():
    dense = gardner.gardner_capacity(0.0, 0.5)
    sparse = gardner.gardner_capacity(0.0, 0.1)
    assert sparse > dense
    assert gardner.gardner_capacity(0.0, 0.9) == pytest.approx(sparse, rel=1e-7)
    assert gardner.optimal_bias(0.0, 0.1) == pytest.approx(-gardner.optimal_bias(0.0, 0.9), abs=1e-6)
    # The bias is a minimum of the pattern cost: moving it either way costs more.
    b = gardner.optimal_bias(0.3, 0.2)
    cost = gardner._pattern_cost
    assert cost(b, 0.3, 0.2) < min(cost(b - 0.01, 0.3, 0.2), cost(b + 0.01, 0.3, 0.2))


def test_sign_constraints_halve_the_capacity_and_information_is_alpha_times_entropy():
    for kappa, f in ((0.0, 0.5), (0.5, 0.5), (0.5, 0.2)):
        assert gardner.sign_constrained_capacity(kappa, f) == pytest.approx(0.5 * gardner.gardner_capacity(kappa, f))
    assert gardner.information_per_synapse(0.0, 0.5) == pytest.approx(2.0)
    assert gardner.information_per_synapse(0.0, 0.5, sign_constrained=True) == pytest.approx(1.0)
    f = 0.1
    entropy = -(f * np.log2(f) + (1 - f) * np.log2(1 - f))
    assert gardner.information_per_synapse(0.0, f) == pytest.approx(gardner.gardner_capacity(0.0, f) * entropy)


def test_critical_margin_inverts_the_capacity():
    for alpha, constrained in ((0.5, False), (1.5, False), (0.4, True)):
        k = gardner.critical_margin(alpha, sign_constrained=constrained)
        capacity = gardner.sign_constrained_capacity if constrained else gardner.gardner_capacity
        assert k > 0 and capacity(k) == pytest.approx(alpha, rel=1e-9)
    assert gardner.critical_margin(2.5) == 0.0


def test_balance_and_the_optimal_fraction_of_excitatory_afferents():
    # Equal CVs: balanced solutions reach the full capacity at f_E = 1/2, and only there.
    assert gardner.optimal_excitatory_fraction(1.0) == 0.5
    assert gardner.balanced_capacity(0.5, 1.0) == pytest.approx(1.0, rel=1e-8)
    assert gardner.balanced_capacity(0.8, 1.0) < 1.0 and gardner.balanced_capacity(0.2, 1.0) < 1.0
    # The optimum moves with the CV ratio: f_E / (1 - f_E) = CV_E / CV_I.
    assert gardner.optimal_excitatory_fraction(4.0) == pytest.approx(0.8)
    assert gardner.balanced_capacity(0.8, 4.0) == pytest.approx(1.0, rel=1e-8)
    fractions = np.linspace(0.05, 0.95, 19)
    best = fractions[np.argmax([gardner.balanced_capacity(f, 4.0) for f in fractions])]
    assert best == pytest.approx(0.8, abs=0.05)
    # With a threshold >= 0 the capacity is the sign-constrained one once excitation suffices.
    assert gardner.positive_threshold_capacity(0.9, 4.0) == pytest.approx(1.0)
    assert gardner.positive_threshold_capacity(0.5, 4.0) == pytest.approx(gardner.balanced_capacity(0.5, 4.0))
    assert gardner.coefficient_of_variation(0.5) == pytest.approx(1.0)
    assert gardner.coefficient_of_variation(0.2) == pytest.approx(2.0)


def test_cover_probability():
    assert gardner.cover_separable_probability(10, 11) == 1.0
    assert gardner.cover_separable_probability(42, 21) == pytest.approx(0.5)
    assert gardner.cover_separable_probability(60, 21) < 0.05


# ---------------------------------------------------------------------------- robustness with E/I inputs

FIGURE_3 = gardner.AfferentStatistics(0.8, np.sqrt(2.0), 2.0)  # Rubin et al.'s f_exc, phi, lambda


@pytest.mark.parametrize(("k", "p"), [(0.0, 0.5), (0.3, 0.5), (1.2, 0.5), (0.4, 0.1), (2.0, 0.8)])
def test_free_capacity_and_its_log_slope(k, p):
    alpha, log_slope = gardner._free_capacity(k, p)
    assert alpha == pytest.approx(gardner.gardner_capacity(k, p), rel=1e-8)
    h = 1e-5
    log_alpha = [np.log(gardner.gardner_capacity(k + d, p)) for d in (h, 0.0 if k == 0 else -h)]
    numeric = (log_alpha[0] - log_alpha[1]) / (h if k == 0 else 2 * h)
    assert log_slope == pytest.approx(numeric, rel=1e-4)
    assert -1.0 < gardner._gain_factor(k, p) <= 0.0


@pytest.mark.parametrize("f_e", [0.3, 0.586, 0.8, 0.95])
@pytest.mark.parametrize("phi", [0.5, np.sqrt(2.0), 4.0])
def test_zero_robustness_gives_the_capacities_of_the_threshold_section(f_e, phi):
    """At kappa = 0 the gains are 1: alpha_c is positive_threshold_capacity, alpha_b is balanced_capacity."""
    for lam in (0.5, 1.0, 2.0):
        afferents = gardner.AfferentStatistics(f_e, phi, lam)
        for p in (0.5, 0.2):
            capacity = gardner.input_robustness_capacity(0.0, p, afferents)
            assert capacity.alpha == pytest.approx(gardner.positive_threshold_capacity(f_e, phi, p), rel=1e-7)
            assert capacity.balanced == (f_e < phi / (1 + phi))
            balanced = gardner.output_robustness_capacity(0.0, 3.0, p, afferents)
            assert balanced.alpha == pytest.approx(gardner.balanced_capacity(f_e, phi, p), rel=1e-6)


@pytest.mark.parametrize("kappa", [0.1, 0.5, 1.0, 2.0])
def test_equal_input_sds_and_a_slack_threshold_give_the_sign_constrained_capacity(kappa):
    """lambda = 1 makes Q = 1 and the gains 1: the margin of the first sections, kappa_in / sigma."""
    for p in (0.5, 0.1):
        afferents = gardner.AfferentStatistics(0.8, np.sqrt(2.0), 1.0, excitatory_sd=0.5)
        solution = gardner.input_robustness_capacity(0.5 * kappa, p, afferents)
        assert not solution.balanced and solution.field_ratio == 1.0
        assert solution.alpha == pytest.approx(gardner.sign_constrained_capacity(kappa, p), rel=1e-9)
        # Unequal SDs change the capacity at the same margin.
        other = gardner.input_robustness_capacity(kappa, p, FIGURE_3)
        assert other.alpha > 1.01 * solution.alpha and other.field_ratio > 1


def test_reference_values_of_the_authors_theory_code():
    """Rubin et al.'s figure-3 parameters (p_out = 0.1); reference values computed with the authors'
    published theory code (github.com/ranr01/Rubin2017Balanced, Theory/critical_solutions.py)."""
    p = 0.1
    solution = gardner.input_robustness_capacity(0.7, p, FIGURE_3)
    assert solution.alpha == pytest.approx(0.8419120547773803, rel=1e-9)
    assert solution.field_ratio == pytest.approx(1.363068072645557, rel=1e-9) and solution.shift == 0.0
    balanced = gardner.output_robustness_capacity(1.0, 1.0, p, FIGURE_3)
    assert balanced.alpha == pytest.approx(0.6065223994514213, rel=1e-9)
    assert balanced.shift == pytest.approx(0.16197469715106252, rel=1e-9)
    unbalanced = gardner.unbalanced_output_robustness(0.2, 1, p, FIGURE_3)
    assert unbalanced.alpha == pytest.approx(1.7277716985839766, rel=1e-9)
    assert unbalanced.kappa == pytest.approx(0.38924003686608377, rel=1e-9)  # kappa_0 (N = 1, CV_E = 1)
    low = gardner.AfferentStatistics(0.3, np.sqrt(2.0), 2.0)
    forced = gardner.input_robustness_capacity(0.5, p, low)
    assert forced.balanced and forced.alpha == pytest.approx(0.8656821519807018, rel=1e-9)


def test_the_branches_of_max_kappa_out_meet():
    p = 0.1
    alpha_c = gardner.input_robustness_capacity(0.0, p, FIGURE_3).alpha
    alpha_b = gardner.output_robustness_capacity(0.0, 2.0, p, FIGURE_3).alpha
    top = gardner.largest_unbalanced_shift(FIGURE_3)
    assert gardner.unbalanced_output_robustness(0.0, 400, p, FIGURE_3).alpha == pytest.approx(alpha_c, rel=1e-12)
    assert gardner.unbalanced_output_robustness(top, 400, p, FIGURE_3).alpha == pytest.approx(alpha_b, rel=1e-6)
    # Along the unbalanced branch the load falls from alpha_c to alpha_b and kappa_out grows as 1/sqrt(N).
    shifts = np.linspace(0.0, top, 12)
    loads = [gardner.unbalanced_output_robustness(b, 400, p, FIGURE_3).alpha for b in shifts]
    assert np.all(np.diff(loads) < 0)
    small, large = (gardner.unbalanced_output_robustness(0.2, n, p, FIGURE_3).kappa for n in (100, 400))
    assert small == pytest.approx(2 * large, rel=1e-12)
    # No unbalanced branch when the excitatory fraction is below its optimum.
    assert gardner.largest_unbalanced_shift(gardner.AfferentStatistics(0.5, np.sqrt(2.0), 2.0)) == 0.0


@pytest.mark.parametrize("load", [0.1, 0.45, 0.8])
def test_critical_robustness_inverts_the_capacity(load):
    p = 0.5
    solution = gardner.critical_input_robustness(load, p, FIGURE_3)
    assert gardner.input_robustness_capacity(solution.kappa, p, FIGURE_3).alpha == pytest.approx(load, rel=1e-8)
    gamma = 2.5
    balanced = gardner.critical_output_robustness(0.8 * load, gamma, 100, p, FIGURE_3)
    assert balanced.balanced and abs(balanced.imbalance) < 1e-12
    assert gardner.output_robustness_capacity(balanced.kappa, gamma, p, FIGURE_3).alpha == pytest.approx(0.8 * load)
    # kappa_out / Gamma is kappa_in of the balanced branch: doubling Gamma doubles kappa_out.
    twice = gardner.critical_output_robustness(0.8 * load, 2 * gamma, 100, p, FIGURE_3)
    assert twice.kappa == pytest.approx(2 * balanced.kappa, rel=1e-8)
    alpha_b = gardner.output_robustness_capacity(0.0, gamma, p, FIGURE_3).alpha
    between = gardner.critical_output_robustness(alpha_b + 0.05, gamma, 100, p, FIGURE_3)
    assert not between.balanced and between.imbalance > 0 and between.alpha == pytest.approx(alpha_b + 0.05)
    with pytest.raises(ValueError, match="alpha"):
        gardner.critical_output_robustness(1.01, gamma, 100, p, FIGURE_3)
    with pytest.raises(ValueError, match="alpha"):
        gardner.critical_input_robustness(1.01, p, FIGURE_3)


def test_max_kappa_in_samples_approach_the_theory():
    """Medians over samples at N = 300, within 15 % of the theory's kappa_in and with its imbalance."""
    p, load = 0.5, 0.35
    theory = gardner.critical_input_robustness(load, p, FIGURE_3)
    kappa, imbalance = perceptron.robust_solutions(300, load, 12, 5, "kappa_in", p, FIGURE_3)
    assert np.median(kappa) == pytest.approx(theory.kappa, rel=0.15)
    assert np.median(imbalance) == pytest.approx(theory.imbalance, abs=0.08)
    # theta~ is the mean net input in units of sqrt(N) field SDs, times CV_E (on fresh inputs).
    scaled = []
    for seed in range(4):
        inputs, labels, signs = perceptron.signed_dichotomies(300, 105, seed, p, FIGURE_3)
        weights = perceptron.max_margin_perceptron(inputs, labels, signs, nonnegative_threshold=True).weights
        fields = perceptron.signed_dichotomies(300, 3000, 50 + seed, p, FIGURE_3)[0] @ weights
        scaled.append(FIGURE_3.excitatory_cv * fields.mean() / (np.sqrt(300) * fields.std()))
    assert np.mean(scaled) == pytest.approx(theory.net_input, abs=0.06)
    # The max-kappa_out weights of the same inputs balance: their index is several times smaller.
    _, balanced = perceptron.robust_solutions(300, load, 6, 5, "kappa_out", p, FIGURE_3, tolerance=1e-3)
    assert np.median(np.abs(balanced)) < 0.5 * theory.imbalance


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: gardner.AfferentStatistics(1.0), "excitatory_fraction"),
        (lambda: gardner.AfferentStatistics(0.8, -1.0), "cv_ratio"),
        (lambda: gardner.AfferentStatistics(0.8, 1.0, 0.0), "sd_ratio"),
        (lambda: gardner.input_robustness_capacity(-0.1), "kappa"),
        (lambda: gardner.output_robustness_capacity(0.5, 0.0), "norm_bound"),
        (lambda: gardner.unbalanced_output_robustness(5.0, 100), "shift"),
        (lambda: gardner.critical_input_robustness(0.0), "alpha"),
    ],
)
def test_robustness_theory_refuses_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_the_finite_sample_tools_moved_to_perceptron():
    with pytest.raises(AttributeError, match="helpers.perceptron.max_input_robustness"):
        gardner.max_input_robustness  # noqa: B018
