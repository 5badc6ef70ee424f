import numpy as np
import pytest
from scipy import stats

from helpers import gardner

# ---------------------------------------------------------------------------- replica theory


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


def test_positive_threshold_capacity_of_finite_samples():
    # Excitatory inputs at coding 0.5, inhibitory at 0.2: CV ratio 1/2, optimum f_E = 1/3. With
    # only 10 % excitatory afferents the threshold constraint binds and the capacity drops to 0.76.
    rng = np.random.default_rng(11)
    loads = gardner.critical_loads(60, 16, rng, sign_constrained=True, input_coding=(0.5, 0.2),
                                   excitatory_fraction=0.1, nonnegative_threshold=True)
    assert np.median(loads) == pytest.approx(gardner.positive_threshold_capacity(0.1, 0.5), abs=0.12)
    assert np.median(loads) < 0.9
    with pytest.raises(ValueError, match="nonnegative_threshold"):
        gardner.critical_load(*gardner.random_dichotomies(10, 20, rng), kappa=0.5, nonnegative_threshold=True)


def test_cover_probability():
    assert gardner.cover_separable_probability(10, 11) == 1.0
    assert gardner.cover_separable_probability(42, 21) == pytest.approx(0.5)
    assert gardner.cover_separable_probability(60, 21) < 0.05


# ---------------------------------------------------------------------------- programs


def test_is_separable_on_separable_and_inseparable_samples():
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((60, 20))
    teacher = rng.standard_normal(20)
    labels = np.sign(inputs @ teacher - 0.3)
    assert gardner.is_separable(inputs, labels)
    # The same input with both labels cannot be separated.
    twin_inputs = np.vstack([inputs[:5], inputs[:1]])
    twin_labels = np.r_[labels[:5], -labels[:1]]
    assert not gardner.is_separable(twin_inputs, twin_labels)


def test_linear_program_verdicts_follow_covers_theorem():
    # The critical number of patterns P* of each sample: P(P* >= P) = Cover's probability.
    n_inputs, n_samples = 25, 300
    rng = np.random.default_rng(1)
    loads = [
        gardner.critical_load(*gardner.random_dichotomies(n_inputs, 90, rng), guess=2.0) for _ in range(n_samples)
    ]
    critical = np.round(np.array(loads) * n_inputs).astype(int)
    for p in (46, 52, 58):
        expected = gardner.cover_separable_probability(p, n_inputs + 1)
        observed = np.mean(critical >= p)
        se = np.sqrt(expected * (1 - expected) / n_samples)
        assert abs(observed - expected) < 4 * se + 1e-9, (p, observed, expected)


def test_critical_load_matches_the_verdict_of_every_prefix():
    rng = np.random.default_rng(2)
    signs = gardner.afferent_signs(12, 0.75)
    for constrained in (False, True):
        inputs, labels = gardner.random_dichotomies(12, 40, rng, input_coding=0.5 if constrained else None)
        s = signs if constrained else None
        verdicts = [gardner.is_separable(inputs[:p], labels[:p], s) for p in range(1, 41)]
        last = max(p for p, ok in zip(range(1, 41), verdicts, strict=True) if ok)
        assert all(verdicts[: last - 1])  # nested patterns: realisable up to the switch
        assert gardner.critical_load(inputs, labels, signs=s, guess=0.5) * 12 == pytest.approx(last)


def test_critical_load_with_margin_against_the_max_margin_of_each_prefix():
    rng = np.random.default_rng(3)
    inputs, labels = gardner.random_dichotomies(15, 30, rng)
    kappa = 0.4
    margins = []
    for p in range(1, 31):
        solution = gardner.max_margin_perceptron(inputs[:p], labels[:p])
        margins.append(0.0 if solution is None else solution.input_robustness(inputs[:p], labels[:p]))
    expected = max(p for p, m in zip(range(1, 31), margins, strict=True) if m >= kappa)
    assert np.all(np.diff(margins) <= 1e-9)  # the best margin can only shrink as patterns are added
    assert gardner.critical_load(inputs, labels, kappa=kappa) * 15 == pytest.approx(expected)


def test_max_margin_perceptron_is_feasible_signed_and_no_longer_than_other_solutions():
    rng = np.random.default_rng(4)
    signs = gardner.afferent_signs(40, 0.8)
    inputs, labels = gardner.random_dichotomies(40, 16, rng, input_coding=0.5)
    best = gardner.max_margin_perceptron(inputs, labels, signs)
    assert best is not None
    assert best.margins(inputs, labels).min() >= 1 - 1e-7
    assert np.all(best.weights[signs > 0] >= 0) and np.all(best.weights[signs < 0] <= 0)
    # Any other separating perceptron, scaled to margin 1, is at least as long.
    lp = gardner._MarginLP(inputs, labels, signs)
    other = lp.separating_perceptron(inputs, labels)
    scale = other.margins(inputs, labels).min()
    assert best.norm <= other.norm / scale + 1e-8
    # A sign-constrained solution at a load near the capacity silences many synapses.
    assert 0.2 < best.silent_fraction() < 0.9
    assert gardner.max_margin_perceptron(inputs[:2], np.array([1.0, -1.0])) is not None


def test_robust_solutions_with_threshold_one():
    rng = np.random.default_rng(5)
    signs = gardner.afferent_signs(60, 0.8)
    inputs, labels = gardner.random_dichotomies(60, 15, rng, input_coding=0.5)
    unbalanced = gardner.max_input_robustness(inputs, labels, signs)
    assert unbalanced.threshold == 1.0
    bound = 8.0
    balanced = gardner.max_output_robustness(inputs, labels, bound, signs)
    assert balanced.norm <= bound * (1 + 1e-6)
    assert np.all(balanced.weights[signs > 0] >= 0) and np.all(balanced.weights[signs < 0] <= 0)
    # Each is best at its own measure.
    assert unbalanced.input_robustness(inputs, labels) >= balanced.input_robustness(inputs, labels) - 1e-6
    assert balanced.output_robustness(inputs, labels) >= unbalanced.output_robustness(inputs, labels) - 1e-6
    # With the norm bound set to the max-kappa_in solution's norm, max-kappa_out does at least as well.
    same_norm = gardner.max_output_robustness(inputs, labels, unbalanced.norm, signs)
    assert same_norm.output_robustness(inputs, labels) >= unbalanced.output_robustness(inputs, labels) - 1e-5
    # Large weights that cancel: the balanced solution's net input is a small part of its total.
    assert balanced.imbalance(inputs) < 0.5 * unbalanced.imbalance(inputs)
    assert gardner.max_output_robustness(inputs, labels, 1e-3, signs) is None
    # Under a bound the max-kappa_in weights would break, the bound is active and the two coincide.
    tight = 0.8 * unbalanced.norm
    bounded = gardner.max_input_robustness(inputs, labels, signs, norm_bound=tight)
    assert bounded.norm <= tight * (1 + 1e-6)
    same = gardner.max_output_robustness(inputs, labels, tight, signs)
    assert bounded.input_robustness(inputs, labels) == pytest.approx(same.input_robustness(inputs, labels), rel=1e-4)
    assert gardner.max_input_robustness(inputs, labels, signs, norm_bound=10 * unbalanced.norm).norm == pytest.approx(
        unbalanced.norm
    )


def test_error_rate_under_output_noise_matches_the_gaussian_tail():
    rng = np.random.default_rng(6)
    inputs, labels = gardner.random_dichotomies(30, 10, rng)
    perceptron = gardner.max_margin_perceptron(inputs, labels)
    assert gardner.error_rate_under_noise(perceptron, inputs, labels, rng) == 0.0
    sigma = 0.8
    expected = np.mean(stats.norm.cdf(-perceptron.margins(inputs, labels) / sigma))
    measured = gardner.error_rate_under_noise(perceptron, inputs, labels, rng, output_noise=sigma, n_repeats=4000)
    assert measured == pytest.approx(expected, abs=4 * np.sqrt(expected * (1 - expected) / 40000))
    # Input noise of SD s moves the field by s |w|: the same tail with sigma = s |w|.
    s = sigma / perceptron.norm
    measured = gardner.error_rate_under_noise(perceptron, inputs, labels, rng, input_noise=s, n_repeats=4000)
    assert measured == pytest.approx(expected, abs=4 * np.sqrt(expected * (1 - expected) / 40000))


def test_imbalance_index_by_hand():
    perceptron = gardner.Perceptron(np.array([2.0, -1.0]), 0.0)
    inputs = np.array([[1.0, 1.0], [1.0, 0.0]])
    # Net inputs 1 and 2 (mean 1.5); total absolute inputs 3 and 2 (mean 2.5).
    assert perceptron.imbalance(inputs) == pytest.approx(1.5 / 2.5)


def test_extrapolation_recovers_a_line_in_one_over_n():
    rng = np.random.default_rng(7)
    data = {n: 2.0 + 3.0 / n + 0.01 * rng.standard_normal(200) for n in (50, 100, 200, 400)}
    result = gardner.extrapolate_capacity(data, rng)
    assert result.alpha_inf == pytest.approx(2.0, abs=4 * result.alpha_inf_error + 1e-3)
    assert result.slope == pytest.approx(3.0, rel=0.2)
    assert 0 < result.alpha_inf_error < 0.01


def test_critical_loads_sample_the_capacity():
    rng = np.random.default_rng(8)
    loads = gardner.critical_loads(40, 12, rng)
    # Cover: the median critical load is 2 (N + 1) / N; 12 samples land within about 0.15.
    assert abs(np.median(loads) - 2 * 41 / 40) < 0.25
    constrained = gardner.critical_loads(40, 12, rng, sign_constrained=True)
    assert abs(np.median(constrained) - 1.0) < 0.25


def test_perceptron_network_stores_its_patterns_with_dales_law():
    rng = np.random.default_rng(10)
    n, p = 40, 6
    patterns = (rng.random((p, n)) < 0.3).astype(float)
    signs = gardner.afferent_signs(n, 0.8)
    for method in ("kappa_in", "kappa_out"):
        net = gardner.perceptron_network(patterns, signs, method, norm_bound=5.0)
        assert np.all(np.diagonal(net.weights) == 0)
        # Dale's law: each column (presynaptic neuron) has one sign.
        assert np.all(net.weights[:, signs > 0] >= 0) and np.all(net.weights[:, signs < 0] <= 0)
        # Every pattern is a fixed point of the noiseless dynamics with threshold 1.
        for pattern in patterns:
            assert np.array_equal((net.weights @ pattern > 1.0).astype(float), pattern)
        assert np.all(net.output_robustness > 0) and np.all(net.input_robustness > 0)
    with pytest.raises(ValueError, match="method"):
        gardner.perceptron_network(patterns, signs, "hebb")
    with pytest.raises(ValueError, match="patterns"):
        gardner.perceptron_network(patterns * 2, signs)


def test_critical_loads_resume_from_their_checkpoint(tmp_path):
    log = tmp_path / "loads.csv"
    full = gardner.critical_loads(30, 6, np.random.default_rng(12))
    first = gardner.critical_loads(30, 3, np.random.default_rng(12), checkpoint=log)
    assert np.array_equal(first, full[:3])  # each sample has its own generator
    assert len(log.read_text().splitlines()) == 1 + 3
    # A rerun reads the three samples done and adds three; a different setting gets its own keys.
    resumed = gardner.critical_loads(30, 6, np.random.default_rng(12), checkpoint=log)
    assert np.array_equal(resumed, full) and len(log.read_text().splitlines()) == 1 + 6
    gardner.critical_loads(30, 2, np.random.default_rng(12), kappa=0.3, checkpoint=log)
    assert len(log.read_text().splitlines()) == 1 + 8


@pytest.mark.parametrize("cut", [5, 17])  # inside the critical load's digits; inside the key
def test_a_critical_load_log_with_a_torn_last_line_resumes_exactly(tmp_path, cut):
    log = tmp_path / "loads.csv"
    full = gardner.critical_loads(30, 4, np.random.default_rng(12))
    gardner.critical_loads(30, 3, np.random.default_rng(12), checkpoint=log)
    log.write_bytes(log.read_bytes()[:-cut])  # the machine stopped while the third row was written
    with pytest.warns(UserWarning, match=r"loads.csv: its last line \(4\) was cut short; it is dropped"):
        resumed = gardner.critical_loads(30, 4, np.random.default_rng(12), checkpoint=log)
    assert np.array_equal(resumed, full), "no sample read back shortened or as NaN"
    lines = log.read_text().splitlines()
    assert len(lines) == 1 + 4 and all(len(line.split(",")) == 2 for line in lines), "nothing appended onto it"
    assert np.array_equal(gardner.critical_loads(30, 4, np.random.default_rng(12), checkpoint=log), full)


def test_perceptron_network_resumes_from_its_checkpoint(tmp_path):
    rng = np.random.default_rng(13)
    patterns = (rng.random((5, 30)) < 0.3).astype(float)
    signs = gardner.afferent_signs(30, 0.8)
    path = tmp_path / "net.npz"
    whole = gardner.perceptron_network(patterns, signs, checkpoint=path, save_every=7)
    with np.load(path) as saved:
        assert int(saved["done"]) == 30
    # Pretend the run stopped after 14 neurons: the rerun redoes the rest and agrees.
    with np.load(path) as saved:
        arrays = {k: saved[k] for k in saved.files}
    arrays["done"] = 14
    arrays["weights"][14:] = 0.0
    np.savez(path, **arrays)
    resumed = gardner.perceptron_network(patterns, signs, checkpoint=path, save_every=7)
    assert np.allclose(resumed.weights, whole.weights)
    with pytest.raises(ValueError, match="other patterns"):
        gardner.perceptron_network(patterns[:4], signs, checkpoint=path)


# ---------------------------------------------------------------------------- argument checks


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: gardner.gardner_capacity(-0.1), "kappa"),
        (lambda: gardner.gardner_capacity(0.0, 1.0), "coding_level"),
        (lambda: gardner.random_dichotomies(0, 5), "n_inputs"),
        (lambda: gardner.random_dichotomies(5, 5, input_coding=1.0), "input_coding"),
        (lambda: gardner.afferent_signs(10, 1.5), "excitatory_fraction"),
        (lambda: gardner.is_separable(np.ones((3, 2)), np.array([1.0, 0.0, 1.0])), "labels"),
        (lambda: gardner.is_separable(np.ones(3), np.ones(3)), "inputs"),
        (lambda: gardner.is_separable(np.ones((3, 2)), np.ones(3), signs=[1, 0]), "signs"),
        (lambda: gardner.max_output_robustness(np.ones((3, 2)), np.ones(3), 0.0), "norm_bound"),
        (lambda: gardner.critical_load(np.ones((3, 2)), np.ones(3), input_sd=0), "input_sd"),
        (lambda: gardner.extrapolate_capacity({10: [2.0]}), "at least two sizes"),
    ],
)
def test_bad_arguments_name_themselves(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_realisable_prefixes_match_each_prefix_on_its_own():
    rng = np.random.default_rng(9)
    sizes = [20, 30, 34, 38, 42, 46, 50, 60]
    for _ in range(4):
        inputs, labels = gardner.random_dichotomies(20, 60, rng)
        expected = [gardner.is_separable(inputs[:p], labels[:p]) for p in sizes]
        assert list(gardner.realisable_prefixes(inputs, labels, sizes)) == expected
    with pytest.raises(ValueError, match="prefix_sizes"):
        gardner.realisable_prefixes(inputs, labels, [30, 20])
