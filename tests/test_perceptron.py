import numpy as np
import pytest
from scipy import stats

from helpers import gardner, perceptron


def test_positive_threshold_capacity_of_finite_samples():
    # Excitatory inputs at coding 0.5, inhibitory at 0.2: CV ratio 1/2, optimum f_E = 1/3. With
    # only 10 % excitatory afferents the threshold constraint binds and the capacity drops to 0.76.
    rng = np.random.default_rng(11)
    loads = perceptron.critical_loads(60, 16, rng, sign_constrained=True, input_coding=(0.5, 0.2),
                                   excitatory_fraction=0.1, nonnegative_threshold=True)
    assert np.median(loads) == pytest.approx(gardner.positive_threshold_capacity(0.1, 0.5), abs=0.12)
    assert np.median(loads) < 0.9
    with pytest.raises(ValueError, match="nonnegative_threshold"):
        perceptron.critical_load(*perceptron.random_dichotomies(10, 20, rng), kappa=0.5, nonnegative_threshold=True)


def test_is_separable_on_separable_and_inseparable_samples():
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((60, 20))
    teacher = rng.standard_normal(20)
    labels = np.sign(inputs @ teacher - 0.3)
    assert perceptron.is_separable(inputs, labels)
    # The same input with both labels cannot be separated.
    twin_inputs = np.vstack([inputs[:5], inputs[:1]])
    twin_labels = np.r_[labels[:5], -labels[:1]]
    assert not perceptron.is_separable(twin_inputs, twin_labels)


def test_linear_program_verdicts_follow_covers_theorem():
    # The critical number of patterns P* of each sample: P(P* >= P) = Cover's probability.
    n_inputs, n_samples = 25, 300
    rng = np.random.default_rng(1)
    loads = [
        perceptron.critical_load(*perceptron.random_dichotomies(n_inputs, 90, rng), guess=2.0) for _ in range(n_samples)
    ]
    critical = np.round(np.array(loads) * n_inputs).astype(int)
    for p in (46, 52, 58):
        expected = gardner.cover_separable_probability(p, n_inputs + 1)
        observed = np.mean(critical >= p)
        se = np.sqrt(expected * (1 - expected) / n_samples)
        assert abs(observed - expected) < 4 * se + 1e-9, (p, observed, expected)


def test_critical_load_matches_the_verdict_of_every_prefix():
    rng = np.random.default_rng(2)
    signs = perceptron.afferent_signs(12, 0.75)
    for constrained in (False, True):
        inputs, labels = perceptron.random_dichotomies(12, 40, rng, input_coding=0.5 if constrained else None)
        s = signs if constrained else None
        verdicts = [perceptron.is_separable(inputs[:p], labels[:p], s) for p in range(1, 41)]
        last = max(p for p, ok in zip(range(1, 41), verdicts, strict=True) if ok)
        assert all(verdicts[: last - 1])  # nested patterns: realisable up to the switch
        assert perceptron.critical_load(inputs, labels, signs=s, guess=0.5) * 12 == pytest.approx(last)


def test_critical_load_with_margin_against_the_max_margin_of_each_prefix():
    rng = np.random.default_rng(3)
    inputs, labels = perceptron.random_dichotomies(15, 30, rng)
    kappa = 0.4
    margins = []
    for p in range(1, 31):
        solution = perceptron.max_margin_perceptron(inputs[:p], labels[:p])
        margins.append(0.0 if solution is None else solution.input_robustness(inputs[:p], labels[:p]))
    expected = max(p for p, m in zip(range(1, 31), margins, strict=True) if m >= kappa)
    assert np.all(np.diff(margins) <= 1e-9)  # the best margin can only shrink as patterns are added
    assert perceptron.critical_load(inputs, labels, kappa=kappa) * 15 == pytest.approx(expected)


def test_max_margin_perceptron_is_feasible_signed_and_no_longer_than_other_solutions():
    rng = np.random.default_rng(4)
    signs = perceptron.afferent_signs(40, 0.8)
    inputs, labels = perceptron.random_dichotomies(40, 16, rng, input_coding=0.5)
    best = perceptron.max_margin_perceptron(inputs, labels, signs)
    assert best is not None
    assert best.margins(inputs, labels).min() >= 1 - 1e-7
    assert np.all(best.weights[signs > 0] >= 0) and np.all(best.weights[signs < 0] <= 0)
    # Any other separating perceptron, scaled to margin 1, is at least as long.
    lp = perceptron._MarginLP(inputs, labels, signs)
    other = lp.separating_perceptron(inputs, labels)
    scale = other.margins(inputs, labels).min()
    assert best.norm <= other.norm / scale + 1e-8
    # A sign-constrained solution at a load near the capacity silences many synapses.
    assert 0.2 < best.silent_fraction() < 0.9
    assert perceptron.max_margin_perceptron(inputs[:2], np.array([1.0, -1.0])) is not None


def test_robust_solutions_with_threshold_one():
    rng = np.random.default_rng(5)
    signs = perceptron.afferent_signs(60, 0.8)
    inputs, labels = perceptron.random_dichotomies(60, 15, rng, input_coding=0.5)
    unbalanced = perceptron.max_input_robustness(inputs, labels, signs)
    assert unbalanced.threshold == 1.0
    bound = 8.0
    balanced = perceptron.max_output_robustness(inputs, labels, bound, signs)
    assert balanced.norm <= bound * (1 + 1e-6)
    assert np.all(balanced.weights[signs > 0] >= 0) and np.all(balanced.weights[signs < 0] <= 0)
    # Each is best at its own measure.
    assert unbalanced.input_robustness(inputs, labels) >= balanced.input_robustness(inputs, labels) - 1e-6
    assert balanced.output_robustness(inputs, labels) >= unbalanced.output_robustness(inputs, labels) - 1e-6
    # With the norm bound set to the max-kappa_in solution's norm, max-kappa_out does at least as well.
    same_norm = perceptron.max_output_robustness(inputs, labels, unbalanced.norm, signs)
    assert same_norm.output_robustness(inputs, labels) >= unbalanced.output_robustness(inputs, labels) - 1e-5
    # Large weights that cancel: the balanced solution's net input is a small part of its total.
    assert balanced.imbalance(inputs) < 0.5 * unbalanced.imbalance(inputs)
    assert perceptron.max_output_robustness(inputs, labels, 1e-3, signs) is None
    # Under a bound the max-kappa_in weights would break, the bound is active and the two coincide.
    tight = 0.8 * unbalanced.norm
    bounded = perceptron.max_input_robustness(inputs, labels, signs, norm_bound=tight)
    assert bounded.norm <= tight * (1 + 1e-6)
    same = perceptron.max_output_robustness(inputs, labels, tight, signs)
    assert bounded.input_robustness(inputs, labels) == pytest.approx(same.input_robustness(inputs, labels), rel=1e-4)
    loose = 10 * unbalanced.norm
    assert perceptron.max_input_robustness(inputs, labels, signs, norm_bound=loose).norm == pytest.approx(
        unbalanced.norm
    )


def test_error_rate_under_output_noise_matches_the_gaussian_tail():
    rng = np.random.default_rng(6)
    inputs, labels = perceptron.random_dichotomies(30, 10, rng)
    neuron = perceptron.max_margin_perceptron(inputs, labels)
    assert perceptron.error_rate_under_noise(neuron, inputs, labels, rng) == 0.0
    sigma = 0.8
    expected = np.mean(stats.norm.cdf(-neuron.margins(inputs, labels) / sigma))
    measured = perceptron.error_rate_under_noise(neuron, inputs, labels, rng, output_noise=sigma, n_repeats=4000)
    assert measured == pytest.approx(expected, abs=4 * np.sqrt(expected * (1 - expected) / 40000))
    # Input noise of SD s moves the field by s |w|: the same tail with sigma = s |w|.
    s = sigma / neuron.norm
    measured = perceptron.error_rate_under_noise(neuron, inputs, labels, rng, input_noise=s, n_repeats=4000)
    assert measured == pytest.approx(expected, abs=4 * np.sqrt(expected * (1 - expected) / 40000))


def test_imbalance_index_by_hand():
    neuron = perceptron.Perceptron(np.array([2.0, -1.0]), 0.0)
    inputs = np.array([[1.0, 1.0], [1.0, 0.0]])
    # Net inputs 1 and 2 (mean 1.5); total absolute inputs 3 and 2 (mean 2.5).
    assert neuron.imbalance(inputs) == pytest.approx(1.5 / 2.5)


def test_extrapolation_recovers_a_line_in_one_over_n():
    rng = np.random.default_rng(7)
    data = {n: 2.0 + 3.0 / n + 0.01 * rng.standard_normal(200) for n in (50, 100, 200, 400)}
    result = perceptron.extrapolate_capacity(data, rng)
    assert result.alpha_inf == pytest.approx(2.0, abs=4 * result.alpha_inf_error + 1e-3)
    assert result.slope == pytest.approx(3.0, rel=0.2)
    assert 0 < result.alpha_inf_error < 0.01


def test_critical_loads_sample_the_capacity():
    rng = np.random.default_rng(8)
    loads = perceptron.critical_loads(40, 12, rng)
    # Cover: the median critical load is 2 (N + 1) / N; 12 samples land within about 0.15.
    assert abs(np.median(loads) - 2 * 41 / 40) < 0.25
    constrained = perceptron.critical_loads(40, 12, rng, sign_constrained=True)
    assert abs(np.median(constrained) - 1.0) < 0.25


def test_perceptron_network_stores_its_patterns_with_dales_law():
    rng = np.random.default_rng(10)
    n, p = 40, 6
    patterns = (rng.random((p, n)) < 0.3).astype(float)
    signs = perceptron.afferent_signs(n, 0.8)
    for method in ("kappa_in", "kappa_out"):
        net = perceptron.perceptron_network(patterns, signs, method, norm_bound=5.0)
        assert np.all(np.diagonal(net.weights) == 0)
        # Dale's law: each column (presynaptic neuron) has one sign.
        assert np.all(net.weights[:, signs > 0] >= 0) and np.all(net.weights[:, signs < 0] <= 0)
        # Every pattern is a fixed point of the noiseless dynamics with threshold 1.
        for pattern in patterns:
            assert np.array_equal((net.weights @ pattern > 1.0).astype(float), pattern)
        assert np.all(net.output_robustness > 0) and np.all(net.input_robustness > 0)
    with pytest.raises(ValueError, match="method"):
        perceptron.perceptron_network(patterns, signs, "hebb")
    with pytest.raises(ValueError, match="patterns"):
        perceptron.perceptron_network(patterns * 2, signs)


def test_critical_loads_resume_from_their_checkpoint(tmp_path):
    log = tmp_path / "loads.csv"
    full = perceptron.critical_loads(30, 6, np.random.default_rng(12))
    first = perceptron.critical_loads(30, 3, np.random.default_rng(12), checkpoint=log)
    assert np.array_equal(first, full[:3])  # each sample has its own generator
    assert len(log.read_text().splitlines()) == 1 + 3
    # A rerun reads the three samples done and adds three; a different setting gets its own keys.
    resumed = perceptron.critical_loads(30, 6, np.random.default_rng(12), checkpoint=log)
    assert np.array_equal(resumed, full) and len(log.read_text().splitlines()) == 1 + 6
    perceptron.critical_loads(30, 2, np.random.default_rng(12), kappa=0.3, checkpoint=log)
    assert len(log.read_text().splitlines()) == 1 + 8


@pytest.mark.parametrize("cut", [5, 17])  # inside the critical load's digits; inside the key
def test_a_critical_load_log_with_a_torn_last_line_resumes_exactly(tmp_path, cut):
    log = tmp_path / "loads.csv"
    full = perceptron.critical_loads(30, 4, np.random.default_rng(12))
    perceptron.critical_loads(30, 3, np.random.default_rng(12), checkpoint=log)
    log.write_bytes(log.read_bytes()[:-cut])  # the machine stopped while the third row was written
    with pytest.warns(UserWarning, match=r"loads.csv: its last line \(4\) was cut short; it is dropped"):
        resumed = perceptron.critical_loads(30, 4, np.random.default_rng(12), checkpoint=log)
    assert np.array_equal(resumed, full), "no sample read back shortened or as NaN"
    lines = log.read_text().splitlines()
    assert len(lines) == 1 + 4 and all(len(line.split(",")) == 2 for line in lines), "nothing appended onto it"
    assert np.array_equal(perceptron.critical_loads(30, 4, np.random.default_rng(12), checkpoint=log), full)


def test_perceptron_network_resumes_from_its_checkpoint(tmp_path):
    rng = np.random.default_rng(13)
    patterns = (rng.random((5, 30)) < 0.3).astype(float)
    signs = perceptron.afferent_signs(30, 0.8)
    path = tmp_path / "net.npz"
    whole = perceptron.perceptron_network(patterns, signs, checkpoint=path, save_every=7)
    with np.load(path) as saved:
        assert int(saved["done"]) == 30
    # Pretend the run stopped after 14 neurons: the rerun redoes the rest and agrees.
    with np.load(path) as saved:
        arrays = {k: saved[k] for k in saved.files}
    arrays["done"] = 14
    arrays["weights"][14:] = 0.0
    np.savez(path, **arrays)
    resumed = perceptron.perceptron_network(patterns, signs, checkpoint=path, save_every=7)
    assert np.allclose(resumed.weights, whole.weights)
    with pytest.raises(ValueError, match="other patterns"):
        perceptron.perceptron_network(patterns[:4], signs, checkpoint=path)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: gardner.gardner_capacity(-0.1), "kappa"),
        (lambda: gardner.gardner_capacity(0.0, 1.0), "coding_level"),
        (lambda: perceptron.random_dichotomies(0, 5), "n_inputs"),
        (lambda: perceptron.random_dichotomies(5, 5, input_coding=1.0), "input_coding"),
        (lambda: perceptron.afferent_signs(10, 1.5), "excitatory_fraction"),
        (lambda: perceptron.is_separable(np.ones((3, 2)), np.array([1.0, 0.0, 1.0])), "labels"),
        (lambda: perceptron.is_separable(np.ones(3), np.ones(3)), "inputs"),
        (lambda: perceptron.is_separable(np.ones((3, 2)), np.ones(3), signs=[1, 0]), "signs"),
        (lambda: perceptron.max_output_robustness(np.ones((3, 2)), np.ones(3), 0.0), "norm_bound"),
        (lambda: perceptron.critical_load(np.ones((3, 2)), np.ones(3), input_sd=0), "input_sd"),
        (lambda: perceptron.extrapolate_capacity({10: [2.0]}), "at least two sizes"),
    ],
)
def test_bad_arguments_name_themselves(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_realisable_prefixes_match_each_prefix_on_its_own():
    rng = np.random.default_rng(9)
    sizes = [20, 30, 34, 38, 42, 46, 50, 60]
    for _ in range(4):
        inputs, labels = perceptron.random_dichotomies(20, 60, rng)
        expected = [perceptron.is_separable(inputs[:p], labels[:p]) for p in sizes]
        assert list(perceptron.realisable_prefixes(inputs, labels, sizes)) == expected
    with pytest.raises(ValueError, match="prefix_sizes"):
        perceptron.realisable_prefixes(inputs, labels, [30, 20])


def test_signed_dichotomies_have_the_asked_statistics():
    afferents = gardner.AfferentStatistics(0.75, 2.0, 3.0, excitatory_cv=0.8, excitatory_sd=0.5)
    inputs, labels, signs = perceptron.signed_dichotomies(40, 20000, 3, 0.2, afferents)
    excitatory, inhibitory = inputs[:, signs > 0], inputs[:, signs < 0]
    assert excitatory.shape[1] == 30 and np.all(inputs >= 0)
    for x, sd, cv in ((excitatory, 0.5, 0.8), (inhibitory, 1.5, 0.4)):
        assert x.std() == pytest.approx(sd, rel=0.02)
        assert x.std() / x.mean() == pytest.approx(cv, rel=0.02)
    assert np.mean(labels > 0) == pytest.approx(0.2, abs=0.01)
    again = perceptron.signed_dichotomies(40, 20000, 3, 0.2, afferents)
    assert np.array_equal(again[0], inputs)


def test_robust_solutions_resume_from_their_checkpoint(tmp_path):
    path = tmp_path / "robust.csv"
    afferents = gardner.AfferentStatistics(0.8, np.sqrt(2.0), 2.0)
    whole = perceptron.robust_solutions(60, 0.4, 5, 11, "kappa_out", 0.5, afferents, checkpoint=path)
    assert len(path.read_text().splitlines()) == 6
    calls = []
    original = perceptron.max_output_robustness
    try:
        perceptron.max_output_robustness = lambda *a, **k: calls.append(1) or original(*a, **k)
        again = perceptron.robust_solutions(60, 0.4, 5, 11, "kappa_out", 0.5, afferents, checkpoint=path)
    finally:
        perceptron.max_output_robustness = original
    assert calls == [] and np.allclose(again[0], whole[0]) and np.allclose(again[1], whole[1], equal_nan=True)
    # Each solution is the one the solver gives for that sample, and it is robust by what it reports.
    assert np.all(whole[0] > 0)
    with pytest.raises(ValueError, match="robustness"):
        perceptron.robust_solutions(60, 0.4, 5, 11, "kappa")


def test_a_sample_beyond_its_capacity_has_no_robustness():
    kappa, imbalance = perceptron.robust_solutions(40, 2.5, 3, 4, "kappa_in")
    assert np.all(kappa == 0.0) and np.all(np.isnan(imbalance))


def test_extrapolation_in_a_power_of_n():
    sizes = [100, 400, 1600]
    values = {n: 0.3 + 2.0 / np.sqrt(n) + 1e-3 * np.random.default_rng(n).standard_normal(40) for n in sizes}
    fit = perceptron.extrapolate_median(values, 0, power=0.5)
    assert fit.alpha_inf == pytest.approx(0.3, abs=3 * fit.alpha_inf_error + 1e-3)
    assert fit.slope == pytest.approx(2.0, rel=0.05)
    with pytest.raises(ValueError, match="finite"):
        perceptron.extrapolate_median({100: [1.0, np.nan], 200: [1.0, 2.0]})
