import numpy as np
import pytest
from scipy import stats

from helpers import information as info


def test_entropies_of_known_distributions():
    assert info.binary_entropy(0.5) == pytest.approx(1.0)
    assert info.binary_entropy(0.1) == pytest.approx(-(0.1 * np.log2(0.1) + 0.9 * np.log2(0.9)))
    assert info.binary_entropy(0.0) == 0.0
    assert info.plugin_entropy([5, 5, 5, 5]) == pytest.approx(2.0)
    assert info.plugin_entropy([7, 0, 0]) == 0.0
    # The Miller-Madow term: (m - 1) / (2 n ln 2) for m occupied bins and n samples.
    assert info.miller_madow_entropy([5, 5, 5, 5]) == pytest.approx(2.0 + 3 / (2 * 20 * np.log(2)))


def test_miller_madow_removes_most_of_the_plug_in_bias():
    rng = np.random.default_rng(0)
    true, plugin, corrected = 3.0, [], []  # 8 equiprobable words, 30 samples each time
    for _ in range(400):
        counts = np.bincount(rng.integers(0, 8, 30), minlength=8)
        plugin.append(info.plugin_entropy(counts))
        corrected.append(info.miller_madow_entropy(counts))
    assert true - np.mean(plugin) > 0.12  # the plug-in estimate is biased down
    assert abs(true - np.mean(corrected)) < 0.4 * (true - np.mean(plugin))


def test_discrete_information_of_a_binary_symmetric_channel():
    # S uniform on {0, 1}, R = S flipped with probability 0.1: I = 1 - H2(0.1) = 0.531 bits.
    rng = np.random.default_rng(1)
    s = rng.integers(0, 2, 20000)
    r = np.where(rng.random(s.size) < 0.1, 1 - s, s)
    exact = 1 - info.binary_entropy(0.1)
    assert info.discrete_mutual_information(s, r) == pytest.approx(exact, abs=0.015)
    # Independent responses carry nothing; the correction keeps the estimate near zero.
    noise = rng.integers(0, 4, s.size)
    assert abs(info.discrete_mutual_information(s, noise)) < 0.002
    assert info.discrete_mutual_information(s, noise, correction="none") > info.discrete_mutual_information(s, noise)


def test_gaussian_information_of_a_gaussian_channel():
    # Stimulus means drawn from N(0, 4), noise N(0, 1), two independent dimensions:
    # I = 2 * 1/2 log2(1 + 4) bits.
    rng = np.random.default_rng(2)
    n_stimuli, repeats = 3000, 4
    means = 2.0 * rng.standard_normal((n_stimuli, 2))
    labels = np.repeat(np.arange(n_stimuli), repeats)
    responses = means[labels] + rng.standard_normal((labels.size, 2))
    assert info.gaussian_mutual_information(labels, responses) == pytest.approx(np.log2(5.0), abs=0.05)
    with pytest.raises(ValueError, match="too few repeated trials"):
        info.gaussian_mutual_information(np.arange(10), rng.standard_normal((10, 2)))


def test_decoder_bound_is_below_the_information_and_exact_for_a_clean_channel():
    rng = np.random.default_rng(3)
    # Four stimuli far apart: the decoder is always right, and the bound is log2(4) = 2 bits.
    labels = np.repeat(np.arange(4), 50)
    centres = 10.0 * np.eye(4)
    clean = centres[labels] + 0.1 * rng.standard_normal((labels.size, 4))
    bound, confusion = info.decoder_lower_bound(labels, clean, rng)
    assert np.trace(confusion) == labels.size
    assert info.confusion_information(confusion, correction="none") == pytest.approx(2.0)
    assert bound == pytest.approx(2.0, abs=0.02)  # the Miller-Madow term, 3 / (2 * 200 ln 2) = 0.011
    # Two stimuli at 0 and 1 with Gaussian noise (SD 0.8): the decoder errs with probability
    # Phi(-0.5 / 0.8), so its confusion matrix carries 1 - H2(error) bits, below I(S; R).
    s = rng.integers(0, 2, 4000)
    r = s + 0.8 * rng.standard_normal(s.size)
    bound, _ = info.decoder_lower_bound(s, r, rng)
    error = stats.norm.cdf(-0.5 / 0.8)
    assert bound == pytest.approx(1 - info.binary_entropy(error), abs=0.03)
    # The exact I(S; R) of this channel, by integration, is larger.
    grid = np.linspace(-5, 6, 20001)
    p0, p1 = stats.norm.pdf(grid, 0, 0.8), stats.norm.pdf(grid, 1, 0.8)
    mixture = 0.5 * (p0 + p1)
    exact = 0.5 * np.trapezoid(p0 * np.log2(p0 / mixture) + p1 * np.log2(p1 / mixture), grid)
    assert bound < exact


def test_decoder_at_chance_reports_no_information_once_corrected():
    # Eight stimuli, responses that do not depend on them, 24 trials each: the plug-in information
    # of the confusion matrix is about (8 - 1)^2 / (2 * 192 ln 2) = 0.18 bits; the correction
    # removes most of it (measured: about 0.05 bits are left at this sample size).
    rng = np.random.default_rng(8)
    corrected, plugin = [], []
    for _ in range(50):
        labels = np.repeat(np.arange(8), 24)
        bound, confusion = info.decoder_lower_bound(labels, rng.standard_normal((labels.size, 5)), rng)
        corrected.append(bound)
        plugin.append(info.confusion_information(confusion, correction="none"))
    assert np.mean(plugin) > 0.12
    assert abs(np.mean(corrected)) < 0.35 * np.mean(plugin)


def test_independent_entropy_bound():
    rng = np.random.default_rng(4)
    independent = rng.integers(0, 2, (5000, 3))
    joint = info.plugin_entropy(np.bincount(info._codes(independent)))
    assert info.independent_entropy_bound(independent) == pytest.approx(joint, abs=0.01)
    # Three copies of one neuron: the joint entropy is 1 bit, the bound 3 bits.
    copies = np.repeat(rng.integers(0, 2, (5000, 1)), 3, axis=1)
    assert info.plugin_entropy(np.bincount(info._codes(copies))) == pytest.approx(1.0, abs=0.01)
    assert info.independent_entropy_bound(copies) == pytest.approx(3.0, abs=0.01)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="counts"):
        info.plugin_entropy([-1, 2])
    with pytest.raises(ValueError, match="stimuli"):
        info.discrete_mutual_information([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="correction"):
        info.discrete_mutual_information([0, 1], [0, 1], correction="jackknife")
    with pytest.raises(ValueError, match="n_folds"):
        info.decoder_lower_bound([0, 0, 1, 1], [0.0, 0.1, 1.0, 1.1], n_folds=5)
    with pytest.raises(ValueError, match="confusion"):
        info.confusion_information(np.ones((2, 3)))


def test_quantile_levels_share_trials_evenly_and_keep_ties_together():
    values = np.random.default_rng(5).random((1000, 2))
    levels = info.quantile_levels(values, 4)
    for k in range(2):
        assert np.bincount(levels[:, k]).tolist() == [250, 250, 250, 250]
        assert np.all(np.diff(levels[np.argsort(values[:, k]), k]) >= 0)  # monotone in the value
    counts = np.array([0] * 70 + [1] * 20 + [2] * 10)  # ties: two of the three cuts fall on 0
    assert np.bincount(info.quantile_levels(counts, 4)).tolist() == [70, 20, 10]
    with pytest.raises(ValueError, match="n_levels must be"):
        info.quantile_levels(values, 1)


def test_bootstrap_spread_matches_the_spread_over_independent_datasets():
    rng = np.random.default_rng(6)

    def dataset():  # a binary symmetric channel, p = 0.2, 400 trials
        s = rng.integers(0, 2, 400)
        return s, np.where(rng.random(400) < 0.2, 1 - s, s)

    spread = np.std([info.discrete_mutual_information(*dataset()) for _ in range(300)])
    s, r = dataset()
    boot = info.bootstrap_information(info.discrete_mutual_information, s, r, n_boot=300, rng=rng)
    assert np.std(boot) == pytest.approx(spread, rel=0.3)


def test_fano_bound_limits_and_a_symmetric_channel():
    assert info.fano_lower_bound(1.0, 8) == pytest.approx(3.0)
    assert info.fano_lower_bound(0.25, 4) == pytest.approx(0.0, abs=1e-12)  # chance
    assert info.fano_lower_bound(0.1, 4) > 0  # below chance the labels are informative again
    # A 4-ary symmetric channel (right with p, else uniform over the other 3) attains the bound.
    p = 0.7
    joint = np.full((4, 4), (1 - p) / 3 / 4)
    np.fill_diagonal(joint, p / 4)
    assert info.fano_lower_bound(p, 4) == pytest.approx(info.confusion_information(joint * 1e6, "none"), abs=1e-9)
    with pytest.raises(ValueError, match="accuracy must be in"):
        info.fano_lower_bound(1.2, 4)
