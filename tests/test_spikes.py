"""Spike records and their statistics (helpers.spikes) on trains of known statistics."""

import numpy as np
import pytest

from helpers import spikes


def _poisson_record(n=200, rate=20.0, seconds=20.0, dt=0.1, seed=0):
    rng = np.random.default_rng(seed)
    n_steps = int(seconds * 1e3 / dt)
    fired = rng.random((n_steps, n)) < rate * dt * 1e-3
    steps, neurons = np.nonzero(fired)
    return spikes.SpikeRecord(steps.astype(np.int64), neurons.astype(np.int32), dt, n, 0, n_steps)


def _regular_record(n=10, period_steps=250, n_steps=100_000, dt=0.1):
    steps = np.repeat(np.arange(0, n_steps, period_steps), n)
    neurons = np.tile(np.arange(n), steps.size // n)
    return spikes.SpikeRecord(steps.astype(np.int64), neurons.astype(np.int32), dt, n, 0, n_steps)


def test_poisson_trains_have_unit_cv_and_fano_factor_and_no_correlation():
    record = _poisson_record()
    assert record.rates().mean() == pytest.approx(20.0, rel=0.02)
    assert np.nanmean(spikes.isi_cv(record)) == pytest.approx(1.0, abs=0.03)
    assert np.nanmean(spikes.fano_factor(record, 100.0)) == pytest.approx(1.0, abs=0.05)
    correlations = spikes.count_correlations(record.of(np.arange(50)), 50.0)
    assert abs(spikes.mean_pairwise_correlation(correlations)) < 0.01


def test_regular_trains_have_zero_cv_and_their_spectrum_peaks_at_their_frequency():
    record = _regular_record()
    np.testing.assert_allclose(spikes.isi_cv(record), 0.0, atol=1e-12)
    assert np.all(spikes.fano_factor(record, 100.0) < 0.05)
    starts, rate = spikes.population_rate(record, 1.0)
    assert rate.mean() == pytest.approx(40.0, rel=0.01)
    frequencies, power = spikes.power_spectrum(rate, 1.0, segment_ms=1000.0)
    # a pulse train's power sits at its frequency and the harmonics, nowhere else
    at_40 = power[np.argmin(np.abs(frequencies - 40.0))]
    between = power[(frequencies > 5) & (frequencies < 35)]
    assert at_40 > 1e6 * between.max()


def test_shared_input_shows_as_count_correlation():
    rng = np.random.default_rng(1)
    n_steps, dt = 200_000, 0.1
    shared = rng.random(n_steps) < 10 * dt * 1e-3
    fired = (rng.random((n_steps, 20)) < 10 * dt * 1e-3) | shared[:, None]
    steps, neurons = np.nonzero(fired)
    record = spikes.SpikeRecord(steps.astype(np.int64), neurons.astype(np.int32), dt, 20, 0, n_steps)
    # half of each neuron's spikes are shared: count correlation about 0.5 in windows of 50 ms
    assert spikes.mean_pairwise_correlation(spikes.count_correlations(record, 50.0)) == pytest.approx(0.5, abs=0.05)


def test_population_fano_factor_is_one_for_independent_trains_and_counts_volleys():
    assert spikes.population_fano_factor(_poisson_record(seconds=5.0)) == pytest.approx(1.0, abs=0.05)
    # volleys of 10 neurons in the same step, at independent Poisson times: about 10
    rng = np.random.default_rng(2)
    n_steps, dt = 100_000, 0.1
    volleys = np.flatnonzero(rng.random(n_steps) < 100 * dt * 1e-3)
    record = spikes.SpikeRecord(np.repeat(volleys, 10).astype(np.int64),
                                np.tile(np.arange(10), volleys.size).astype(np.int32), dt, 10, 0, n_steps)
    assert spikes.population_fano_factor(record) == pytest.approx(10.0, rel=0.05)
    with pytest.raises(ValueError, match="bin_ms"):
        spikes.population_fano_factor(record, bin_ms=20_000.0)


def test_windows_and_selections_keep_the_record_consistent():
    record = _poisson_record(n=30, seconds=2.0)
    window = record.between(500.0, 1500.0)
    assert window.first_step == 5000 and window.n_steps == 10000
    assert np.all((window.steps >= 5000) & (window.steps < 15000))
    part = record.of([3, 7])
    assert part.n_neurons == 2 and part.n_spikes == np.isin(record.neurons, [3, 7]).sum()
    assert record.binned(100.0).sum() == record.n_spikes
    with pytest.raises(ValueError, match="whole number of steps"):
        record.binned(0.25)
    with pytest.raises(ValueError, match="holds no recorded step"):
        record.between(5000.0, 6000.0)


def _modulated_record(n, frequency=40.0, rate=20.0, depth=0.8, seconds=10.0, dt=0.1, seed=2):
    """n neurons firing as Poisson processes at a rate modulated, for all of them alike, at ``frequency``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 1e3 / dt)) * dt * 1e-3
    p = rate * (1 + depth * np.sin(2 * np.pi * frequency * t)) * dt * 1e-3
    steps, neurons = np.nonzero(rng.random((t.size, n)) < p[:, None])
    return spikes.SpikeRecord(steps.astype(np.int64), neurons.astype(np.int32), dt, n, 0, t.size)


def test_a_population_rhythm_is_found_at_its_frequency_and_depth():
    # a rate 20 (1 + 0.8 sin(2 pi 40 t)) Hz shared by 500 neurons: depth 0.8, plus the Poisson floor
    frequency, depth = spikes.population_rhythm(_modulated_record(500))
    assert frequency == pytest.approx(40.0, abs=2.0) and depth == pytest.approx(0.8, abs=0.03)
    # independent neurons: only the floor, 2 nu / N over the band around the peak (cut at 1 kHz, the
    # Nyquist frequency of 0.5 ms bins)
    frequency, depth = spikes.population_rhythm(_poisson_record(n=200, rate=20.0))
    width = min(1.3 * frequency, 1000.0) - 0.7 * frequency
    assert depth == pytest.approx(np.sqrt(2 * (2 * 20.0 / 200) * width) / 20.0, rel=0.2)
    silent = spikes.SpikeRecord(np.zeros(0, np.int64), np.zeros(0, np.int32), 0.1, 5, 0, 1000)
    with pytest.raises(ValueError, match="no spikes"):
        spikes.population_rhythm(silent)
    with pytest.raises(ValueError, match="band must be"):
        spikes.population_rhythm(_poisson_record(), band=2.0)
