import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from helpers import transfer as tr

MEDIANS = tr.PUBLISHED_MEDIANS

params_strategy = st.builds(
    tr.TransferParams,
    r_max=st.floats(5.0, 300.0),
    beta=st.floats(0.2, 3.0),
    h0=st.floats(-3.0, 5.0),
)


def simulate_counts(params, n_stimuli, exposure, seed):
    rng = np.random.default_rng(seed)
    return rng.poisson(tr.phi(rng.standard_normal(n_stimuli), params) * exposure)


# --- the model -------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(params_strategy, st.floats(-4.0, 4.0))
def test_phi_inverse_undoes_phi(params, h):
    r = tr.phi(h, params)
    if 1e-9 * params.r_max < r < params.r_max * (1 - 1e-9):
        assert tr.phi_inverse(r, params) == pytest.approx(h, abs=1e-5)


@settings(max_examples=30, deadline=None)
@given(params_strategy, st.floats(-4.0, 4.0))
def test_phi_derivative_matches_finite_difference(params, h):
    eps = 1e-6
    numeric = (tr.phi(h + eps, params) - tr.phi(h - eps, params)) / (2 * eps)
    # Near saturation phi is close to r_max and the difference loses digits: its round-off is
    # about r_max * machine epsilon / eps, which exceeds 1e-5 of a small slope.
    round_off = 4 * params.r_max * np.finfo(float).eps / eps
    assert tr.phi_derivative(h, params) == pytest.approx(numeric, rel=1e-5, abs=round_off)


def test_phi_limits_and_midpoint():
    assert tr.phi(MEDIANS.h0, MEDIANS) == pytest.approx(MEDIANS.r_max / 2)
    assert tr.phi(-1e3, MEDIANS) == pytest.approx(0.0, abs=1e-12)
    assert tr.phi(1e3, MEDIANS) == pytest.approx(MEDIANS.r_max)
    assert np.isnan(tr.phi_inverse(0.0, MEDIANS)) and np.isnan(tr.phi_inverse(MEDIANS.r_max, MEDIANS))


@pytest.mark.parametrize("params", [MEDIANS, tr.TransferParams(30.0, 2.0, 0.0), tr.TransferParams(150.0, 0.5, 1.0)])
def test_rate_density_is_a_density_matching_samples(params):
    total, _ = integrate.quad(tr.rate_density, 0, params.r_max, args=(params,), limit=200)
    assert total == pytest.approx(1.0, abs=1e-6)
    # its distribution function is Phi(phi^{-1}(r)): compare with the empirical one of samples
    samples = tr.phi(np.random.default_rng(0).standard_normal(20000), params)
    cdf = lambda r: stats.norm.cdf(tr.phi_inverse(np.clip(r, 1e-12, params.r_max * (1 - 1e-12)), params))  # noqa: E731
    assert stats.kstest(samples, cdf).pvalue > 0.01


def test_quantile_map_of_exact_rates_is_the_transfer_function():
    rates = tr.phi(np.random.default_rng(1).standard_normal(50000), MEDIANS)
    z, sorted_rates = tr.quantile_map(rates)
    inner = (z > -2.5) & (z < 2.5)
    assert np.max(np.abs(sorted_rates[inner] - tr.phi(z[inner], MEDIANS))) < 0.02 * MEDIANS.r_max


def test_naive_fit_recovers_exact_rates():
    rates = tr.phi(np.random.default_rng(2).standard_normal(5000), tr.TransferParams(40.0, 1.5, 0.5))
    fit = tr.fit_quantile_map(rates)
    assert fit.as_array() == pytest.approx([40.0, 1.5, 0.5], rel=0.05, abs=0.05)


# --- the count likelihood ----------------------------------------------------------------------


def test_count_distribution_is_normalised_with_the_right_mean():
    exposure = 4.0
    probability = tr.count_distribution(MEDIANS, exposure, max_count=int(MEDIANS.r_max * exposure) + 50)
    assert probability.sum() == pytest.approx(1.0, abs=1e-9)
    nodes, weights = np.polynomial.hermite_e.hermegauss(120)
    mean_rate = np.sum(weights * tr.phi(nodes, MEDIANS)) / np.sqrt(2 * np.pi)
    assert np.sum(probability * np.arange(probability.size)) == pytest.approx(exposure * mean_rate, rel=1e-6)


def test_quadrature_has_converged_even_for_large_counts():
    # 20 trials of 1 s at rates up to 100 Hz: counts of ~2000, the narrowest posteriors
    params = tr.TransferParams(120.0, 1.2, 0.5)
    counts = simulate_counts(params, 200, 20.0, seed=3)
    default = tr.log_likelihood(params, counts, 20.0)
    fine = tr.log_likelihood(params, counts, 20.0, n_nodes=4001)
    # 1e-4 is far below the 1.92 drop that sets an interval's end
    assert default == pytest.approx(fine, abs=1e-4)


def test_likelihood_is_not_clipped_to_the_search_box():
    outside = tr.TransferParams(3 * tr.R_MAX_BOUNDS[1], 1.0, 10.0)
    edge = tr.TransferParams(tr.R_MAX_BOUNDS[1], 1.0, 10.0)
    counts = [0, 1, 2]
    assert tr.log_likelihood(outside, counts, 1.0) != pytest.approx(tr.log_likelihood(edge, counts, 1.0))


def test_likelihood_matches_count_distribution():
    counts = np.array([0, 3, 10, 25, 60])
    probability = tr.count_distribution(MEDIANS, 2.0, max_count=100)
    assert tr.log_likelihood(MEDIANS, counts, 2.0) == pytest.approx(np.log(probability[counts]).sum(), rel=1e-10)


def test_kernel_gradient_matches_finite_differences():
    counts = simulate_counts(MEDIANS, 100, 4.0, seed=4).astype(float)
    exposure = np.full(counts.size, 4.0)
    weights = np.random.default_rng(5).integers(0, 3, counts.size).astype(float)
    z, log_w = tr._quadrature(tr.DEFAULT_NODES)
    theta = np.array([np.log(60.0), np.log(0.7), 2.0])
    _, grad = tr._negative_log_likelihood(theta, counts, exposure, weights, z, log_w)
    eps = 1e-6
    for k in range(3):
        step = np.zeros(3)
        step[k] = eps
        up = tr._negative_log_likelihood(theta + step, counts, exposure, weights, z, log_w)[0]
        down = tr._negative_log_likelihood(theta - step, counts, exposure, weights, z, log_w)[0]
        assert grad[k] == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-6)


def test_merging_equal_counts_leaves_the_likelihood_unchanged():
    counts = np.array([3.0, 3.0, 7.0, 3.0, 0.0])
    exposure = np.array([4.0, 4.0, 4.0, 2.0, 4.0])
    merged = tr._distinct(counts, exposure, np.ones(5))
    z, log_w = tr._quadrature(tr.DEFAULT_NODES)
    theta = tr._to_theta(MEDIANS)
    full = tr._negative_log_likelihood(theta, counts, exposure, np.ones(5), z, log_w)[0]
    assert tr._negative_log_likelihood(theta, *merged, z, log_w)[0] == pytest.approx(full, rel=1e-12)
    assert merged[2].sum() == 5


def test_count_fit_recovers_a_well_sampled_neuron():
    # a neuron driven up to saturation, many stimuli and long exposure: all three parameters pinned
    truth = tr.TransferParams(50.0, 1.5, 0.3)
    counts = simulate_counts(truth, 3000, 10.0, seed=6)
    fit = tr.fit_counts(counts, 10.0)
    assert fit.as_array() == pytest.approx(truth.as_array(), rel=0.05, abs=0.05)


def test_count_fit_has_the_highest_likelihood():
    counts = simulate_counts(MEDIANS, 200, 4.0, seed=7)
    fit = tr.fit_counts(counts, 4.0)
    best = tr.log_likelihood(fit, counts, 4.0)
    for other in (MEDIANS, tr.fit_quantile_map(counts / 4.0)):
        assert best >= tr.log_likelihood(other, counts, 4.0) - 1e-6


def test_profile_interval_contains_estimate_and_shrinks_with_data():
    truth = tr.TransferParams(50.0, 1.2, 0.8)
    small = simulate_counts(truth, 100, 4.0, seed=8)
    large = simulate_counts(truth, 1600, 4.0, seed=9)
    fit = tr.fit_counts(small, 4.0)
    interval_small = tr.profile_interval(small, 4.0, estimate=fit)
    interval_large = tr.profile_interval(large, 4.0)
    assert np.all(interval_small[:, 0] <= fit.as_array()) and np.all(fit.as_array() <= interval_small[:, 1])
    width = lambda iv: iv[:, 1] - iv[:, 0]  # noqa: E731
    assert np.all(width(interval_large) < width(interval_small))
    # at the interval's end the profile likelihood has dropped by chi2_1(0.95)/2 = 1.92
    beta_end = interval_small[1, 1]
    profile = -np.inf
    for r_max in np.geomspace(20, 2000, 60):
        for h0 in np.linspace(-1, 6, 141):
            profile = max(profile, tr.log_likelihood(tr.TransferParams(r_max, beta_end, h0), small, 4.0))
    drop = tr.log_likelihood(fit, small, 4.0) - profile
    assert drop == pytest.approx(stats.chi2.ppf(0.95, 1) / 2, abs=0.1)


def test_profile_interval_is_open_where_rates_stay_far_below_saturation():
    # threshold far above the inputs: the data never see the top half of the sigmoid
    counts = simulate_counts(tr.TransferParams(100.0, 0.8, 4.5), 150, 4.0, seed=10)
    interval = tr.profile_interval(counts, 4.0)
    assert interval[0, 1] == pytest.approx(tr.R_MAX_BOUNDS[1])


def test_bootstrap_is_reproducible_and_varies():
    counts = simulate_counts(MEDIANS, 150, 4.0, seed=11)
    fit = tr.fit_counts(counts, 4.0)
    a = tr.bootstrap_estimates(counts, 4.0, fit, n_boot=5, rng=1)
    b = tr.bootstrap_estimates(counts, 4.0, fit, n_boot=5, rng=1)
    np.testing.assert_array_equal(a, b)
    assert np.all(np.std(a, axis=0) > 0)


def test_fit_neuron_intervals():
    counts = simulate_counts(MEDIANS, 150, 4.0, seed=12)
    fit = tr.fit_neuron(counts, 4.0, n_boot=20, rng=0)
    low, high = fit.bootstrap_interval().T
    assert np.all(low <= high) and fit.profile.shape == (3, 2)
    with pytest.raises(ValueError, match="n_boot=0"):
        tr.fit_neuron(counts, 4.0, n_boot=0).bootstrap_interval()


def _totals(n_neurons, seed):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_neurons):
        counts = rng.poisson(tr.phi(rng.standard_normal(60), MEDIANS) * 4.0)
        rows.append(pd.DataFrame({"neuron": f"n{i}", "spike_count": counts, "exposure": 4.0}))
    return pd.concat(rows, ignore_index=True)


def test_fit_population_resumes_from_its_checkpoint(tmp_path):
    totals = _totals(3, seed=13)
    uninterrupted = tr.fit_population(totals, n_boot=4, rng=5)
    checkpoint = tmp_path / "fits.csv"
    tr.fit_population(totals[totals["neuron"] != "n2"], n_boot=4, rng=5, checkpoint=checkpoint)
    assert len(pd.read_csv(checkpoint)) == 2
    # the "interrupted" run saw two neurons; the resumed one fits only the third
    resumed = tr.fit_population(totals, n_boot=4, rng=5, checkpoint=checkpoint)
    assert len(pd.read_csv(checkpoint)) == 3
    pd.testing.assert_frame_equal(resumed, uninterrupted, check_exact=False, rtol=1e-12)


def test_a_fit_checkpoint_with_a_torn_last_line_is_not_read_back_or_appended_onto(tmp_path):
    totals = _totals(3, seed=13)
    uninterrupted = tr.fit_population(totals, n_boot=4, rng=5)
    checkpoint = tmp_path / "fits.csv"
    tr.fit_population(totals[totals["neuron"] != "n2"], n_boot=4, rng=5, checkpoint=checkpoint)
    checkpoint.write_bytes(checkpoint.read_bytes()[:-30])  # n1's row cut short, as by a full disk
    with pytest.warns(UserWarning, match=r"fits.csv: its last line \(3\) was cut short"):
        resumed = tr.fit_population(totals, n_boot=4, rng=5, checkpoint=checkpoint)
    pd.testing.assert_frame_equal(resumed, uninterrupted, check_exact=False, rtol=1e-12)
    saved = pd.read_csv(checkpoint)
    assert sorted(saved["neuron"]) == ["n0", "n1", "n2"] and not saved[["r_max", "beta", "h0"]].isna().any().any()


@pytest.mark.parametrize(
    "change",
    [
        {"n_boot": 5},  # other settings
        {"rng": 6},  # another seed
        {"totals": "other"},  # other data
    ],
)
def test_checkpoint_from_another_run_is_refused(tmp_path, change):
    totals = _totals(2, seed=13)
    checkpoint = tmp_path / "fits.csv"
    tr.fit_population(totals, n_boot=4, rng=5, checkpoint=checkpoint)
    arguments = {"n_boot": 4, "rng": 5, "checkpoint": checkpoint} | change
    if arguments.pop("totals", None) == "other":
        totals = totals.assign(spike_count=totals["spike_count"] + 1)
    with pytest.raises(ValueError, match="checkpoint fits.csv holds a fit of neuron 'n0' made from other data"):
        tr.fit_population(totals, **arguments)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"r_max": -1.0, "beta": 1.0, "h0": 0.0}, "r_max must be a finite number > 0"),
        ({"r_max": 10.0, "beta": 0.0, "h0": 0.0}, "beta must be a finite number > 0"),
        ({"r_max": 10.0, "beta": 1.0, "h0": np.nan}, "h0 must be a finite number"),
    ],
)
def test_bad_parameters_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tr.TransferParams(**kwargs)


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match="non-negative integers"):
        tr.fit_counts([1, 2, -1, 4], 1.0)
    with pytest.raises(ValueError, match="exposure must be > 0"):
        tr.fit_counts([1, 2, 3, 4], 0.0)
    with pytest.raises(ValueError, match="at least 3 stimuli"):
        tr.fit_counts([1, 2], 1.0)
