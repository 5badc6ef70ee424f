"""Spike records and their statistics: population rate, ISI CV, Fano factor, count correlations,
power spectrum, the frequency and depth of a population rhythm.

A record is two integer arrays, one entry per spike: the time step it fell in and the neuron that
fired. At a step ``dt`` that is all a time is (NEST reports the same spike at the end of its step),
and two arrays of 8 and 4 bytes per spike are what a paper-scale run can keep in memory: Brunel's
network of 12 500 neurons at 30 Hz writes 375 000 spikes per simulated second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validate


@dataclass(frozen=True, eq=False)
class SpikeRecord:
    """The spikes of ``n_neurons`` neurons over steps ``first_step ... first_step + n_steps - 1``.

    Attributes
    ----------
    steps : int64 array
        Time step of each spike, non-decreasing.
    neurons : int32 array
        The neuron that fired it.
    dt : float
        Step in ms.
    n_neurons, first_step, n_steps : int
        What was recorded: every neuron of the network over that window, spikes or none.
    """

    steps: np.ndarray
    neurons: np.ndarray
    dt: float
    n_neurons: int
    first_step: int
    n_steps: int

    def __post_init__(self):
        if self.steps.shape != self.neurons.shape or self.steps.ndim != 1:
            raise ValueError(
                f"steps and neurons must be 1-d of one length, got {self.steps.shape} and {self.neurons.shape}"
            )

    @property
    def times(self) -> np.ndarray:
        """Spike times in ms (the start of each spike's step)."""
        return self.steps * self.dt

    @property
    def duration(self) -> float:
        """Recorded time in ms."""
        return self.n_steps * self.dt

    @property
    def n_spikes(self) -> int:
        return int(self.steps.size)

    def counts(self) -> np.ndarray:
        """Spikes per neuron over the record."""
        return np.bincount(self.neurons, minlength=self.n_neurons)

    def rates(self) -> np.ndarray:
        """Mean rate of each neuron in Hz."""
        return self.counts() / (self.duration * 1e-3)

    def between(self, start: float, stop: float) -> SpikeRecord:
        """The spikes in ``[start, stop)`` ms, as a record of that window."""
        first = max(self.first_step, int(round(start / self.dt)))
        last = min(self.first_step + self.n_steps, int(round(stop / self.dt)))
        if last <= first:
            raise ValueError(
                f"the window [{start}, {stop}) ms holds no recorded step; the record covers "
                f"[{self.first_step * self.dt}, {(self.first_step + self.n_steps) * self.dt}) ms"
            )
        lo, hi = np.searchsorted(self.steps, [first, last])
        return SpikeRecord(self.steps[lo:hi], self.neurons[lo:hi], self.dt, self.n_neurons, first, last - first)

    def of(self, neurons) -> SpikeRecord:
        """The spikes of ``neurons`` (indices), renumbered ``0 ... len(neurons) - 1`` in that order."""
        neurons = np.asarray(neurons, dtype=np.int64)
        if neurons.ndim != 1 or neurons.size == 0:
            raise ValueError("neurons must be a non-empty 1-d array of indices")
        if neurons.min() < 0 or neurons.max() >= self.n_neurons:
            raise ValueError(f"neurons must be indices in [0, {self.n_neurons - 1}]")
        position = np.full(self.n_neurons, -1, dtype=np.int64)
        position[neurons] = np.arange(neurons.size)
        new = position[self.neurons]
        keep = new >= 0
        return SpikeRecord(
            self.steps[keep], new[keep].astype(np.int32), self.dt, int(neurons.size), self.first_step, self.n_steps
        )

    def binned(self, bin_ms: float) -> np.ndarray:
        """Spike counts, shape (n_neurons, n_bins), in bins of ``bin_ms`` (a whole number of steps)."""
        width = _steps_per_bin(bin_ms, self.dt)
        n_bins = self.n_steps // width
        if n_bins < 1:
            raise ValueError(f"bin_ms {bin_ms} is longer than the record ({self.duration} ms)")
        bins = (self.steps - self.first_step) // width
        keep = bins < n_bins
        counts = np.zeros((self.n_neurons, n_bins), dtype=np.int32)
        np.add.at(counts, (self.neurons[keep], bins[keep]), 1)
        return counts


def _steps_per_bin(bin_ms: float, dt: float) -> int:
    bin_ms = _validate.positive("bin_ms", bin_ms)
    width = int(round(bin_ms / dt))
    if width < 1 or abs(width * dt - bin_ms) > 1e-6 * bin_ms:
        raise ValueError(f"bin_ms must be a whole number of steps of {dt} ms, got {bin_ms}")
    return width


def population_rate(record: SpikeRecord, bin_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """The population rate in Hz per bin: spikes in the bin / (neurons x bin). Returns (bin starts in ms, rate)."""
    width = _steps_per_bin(bin_ms, record.dt)
    n_bins = record.n_steps // width
    if n_bins < 1:
        raise ValueError(f"bin_ms {bin_ms} is longer than the record ({record.duration} ms)")
    counts = np.bincount((record.steps - record.first_step) // width, minlength=n_bins)[:n_bins]
    starts = (record.first_step + np.arange(n_bins) * width) * record.dt
    return starts, counts / (record.n_neurons * bin_ms * 1e-3)


def isi_cv(record: SpikeRecord, min_spikes: int = 3) -> np.ndarray:
    """Coefficient of variation of each neuron's interspike intervals; NaN below ``min_spikes`` spikes.

    CV = SD(ISI) / mean(ISI): 1 for a Poisson train, 0 for a regular one.
    """
    min_spikes = _validate.integer_at_least("min_spikes", min_spikes, 3)
    order = np.lexsort((record.steps, record.neurons))
    neurons, steps = record.neurons[order], record.steps[order].astype(np.float64)
    cv = np.full(record.n_neurons, np.nan)
    if neurons.size < 2:
        return cv
    same = neurons[1:] == neurons[:-1]
    intervals, owners = np.diff(steps)[same], neurons[1:][same]
    n = np.bincount(owners, minlength=record.n_neurons).astype(np.float64)
    total = np.bincount(owners, intervals, minlength=record.n_neurons)
    squares = np.bincount(owners, intervals**2, minlength=record.n_neurons)
    enough = n >= min_spikes - 1
    mean = total[enough] / n[enough]
    variance = np.maximum(squares[enough] / n[enough] - mean**2, 0.0) * n[enough] / (n[enough] - 1)
    cv[enough] = np.sqrt(variance) / mean
    return cv


def fano_factor(record: SpikeRecord, window_ms: float) -> np.ndarray:
    """Each neuron's Fano factor of spike counts in consecutive windows: var / mean (NaN if silent).

    1 for a Poisson train at any window; near 0 for a regular train when the window spans many
    intervals.
    """
    counts = record.binned(window_ms).astype(np.float64)
    if counts.shape[1] < 2:
        raise ValueError(f"window_ms {window_ms} leaves fewer than 2 windows in {record.duration} ms")
    mean = counts.mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mean > 0, counts.var(axis=1, ddof=1) / mean, np.nan)


def population_fano_factor(record: SpikeRecord, bin_ms: float = 1.0) -> float:
    """How much the record's neurons fire together: variance over mean of their summed spike count in
    bins of ``bin_ms``.

    1 when they fire as independent Poisson trains, whatever their number; it grows with the number
    of neurons that fire in the same bins (volleys of k neurons give about k).
    """
    width = _steps_per_bin(bin_ms, record.dt)
    n_bins = record.n_steps // width
    if n_bins < 2:
        raise ValueError(f"bin_ms {bin_ms} leaves fewer than 2 bins in {record.duration} ms")
    counts = np.bincount((record.steps - record.first_step) // width, minlength=n_bins)[:n_bins]
    if counts.sum() == 0:
        raise ValueError("the record has no spikes")
    return float(counts.var() / counts.mean())


def count_correlations(record: SpikeRecord, window_ms: float) -> np.ndarray:
    """Pearson correlations of spike counts in consecutive windows, for every pair of the record's neurons.

    Returns the (n, n) matrix; rows of silent neurons are NaN. Select neurons first with ``of``:
    the matrix has n^2 entries.
    """
    counts = record.binned(window_ms).astype(np.float64)
    if counts.shape[1] < 3:
        raise ValueError(f"window_ms {window_ms} leaves fewer than 3 windows in {record.duration} ms")
    centred = counts - counts.mean(axis=1, keepdims=True)
    norms = np.sqrt((centred**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (centred @ centred.T) / np.outer(norms, norms)


def mean_pairwise_correlation(correlations: np.ndarray) -> float:
    """Mean of the off-diagonal entries of a correlation matrix, NaN pairs left out."""
    off = correlations[~np.eye(correlations.shape[0], dtype=bool)]
    off = off[np.isfinite(off)]
    if off.size == 0:
        raise ValueError("no pair of active neurons to correlate")
    return float(off.mean())


def power_spectrum(rate: np.ndarray, bin_ms: float, segment_ms: float = 256.0) -> tuple[np.ndarray, np.ndarray]:
    """Welch's estimate of the power spectrum of a population rate (Hz^2/Hz), mean removed.

    Returns (frequencies in Hz, density). Segments of ``segment_ms`` overlap by half; a record
    shorter than one segment is one segment.
    """
    from scipy import signal

    rate = np.asarray(rate, dtype=np.float64)
    if rate.ndim != 1 or rate.size < 8:
        raise ValueError(f"rate must be a 1-d array of at least 8 bins, got shape {rate.shape}")
    bin_ms = _validate.positive("bin_ms", bin_ms)
    per_segment = min(rate.size, max(8, int(round(_validate.positive("segment_ms", segment_ms) / bin_ms))))
    return signal.welch(rate - rate.mean(), fs=1e3 / bin_ms, nperseg=per_segment)


def population_rhythm(
    record: SpikeRecord, bin_ms: float = 0.5, segment_ms: float = 256.0, band: float = 0.3
) -> tuple[float, float]:
    """The strongest rhythm of the population rate: (its frequency in Hz, its depth).

    The frequency is the peak of the rate's power spectrum (``power_spectrum``); the depth is the
    amplitude of the rate's modulation within ``band`` (a fraction) of that frequency, over the
    mean rate: ``sqrt(2 * integral of the spectrum over the band) / mean rate``. A rate
    ``nu (1 + a sin(2 pi f t))`` has depth ``a``; independent Poisson neurons add ``2 nu / N`` to the
    spectrum at every frequency, so their depth shrinks as ``1 / sqrt(N)``.
    """
    band = _validate.in_range("band", band, 0.0, 1.0)
    _, rate = population_rate(record, bin_ms)
    if rate.mean() <= 0:
        raise ValueError("the record has no spikes: no population rhythm to measure")
    frequencies, power = power_spectrum(rate, bin_ms, segment_ms)
    peak = 1 + int(np.argmax(power[1:]))  # the mean is removed: frequency 0 is no rhythm
    within = np.abs(frequencies - frequencies[peak]) <= band * frequencies[peak]
    variance = np.trapezoid(power[within], frequencies[within]) if within.sum() > 1 else 0.0
    return float(frequencies[peak]), float(np.sqrt(2.0 * variance) / rate.mean())
