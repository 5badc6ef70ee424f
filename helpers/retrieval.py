"""Retrieval experiments on a rate network: cues, the delayed-match-to-sample protocol, and the
measures that tell fixed-point retrieval from chaotic retrieval (Pereira & Brunel 2018).

Every function runs trials together where it can (``network.run_rates`` with a batch of states):
the weights are then read once per step for all of them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from scipy.sparse import linalg as sparse_linalg

from . import _checkpoint, _validate, threads
from .network import PAPER_INTEGRATION, Integration, SparseWeights, normalised_overlaps, run_rates
from .rng import RandomLike, as_generator
from .transfer import TransferParams, phi_derivative

#: Normalised overlap above which a pattern counts as retrieved.
RETRIEVAL_THRESHOLD = 0.5


@dataclass(frozen=True)
class Protocol:
    """Timing of a delayed-match-to-sample trial (seconds): background, stimulus, delay.

    The stimulus is an external input ``I = xi`` during ``presentation``; before and after it
    ``I = 0``. Overlaps are recorded every ``record_every`` seconds.
    """

    background: float = 0.2
    presentation: float = 0.5
    delay: float = 1.0
    record_every: float = 0.01

    def __post_init__(self):
        for name in ("background", "presentation", "delay"):
            _validate.in_range(name, getattr(self, name), 0.0, 1e4)
        _validate.positive("record_every", self.record_every)

    @property
    def duration(self) -> float:
        return self.background + self.presentation + self.delay


@dataclass(frozen=True)
class Trials:
    """What a batch of trials recorded.

    Attributes
    ----------
    times : array (T,)
        Seconds from the start of the trial.
    overlaps : array (T, n_trials, p)
        Normalised overlap ``m_mu`` of each trial's rates with every stored pattern.
    rates : array (n_trials, N)
        Rates at the end.
    """

    times: np.ndarray
    overlaps: np.ndarray
    rates: np.ndarray


def _check_batch(name: str, array, n_neurons: int) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != n_neurons:
        raise ValueError(f"{name} must have shape (n_trials, {n_neurons}), got {np.shape(array)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    return array


def delayed_match_to_sample(
    weights: SparseWeights,
    transfer: TransferParams,
    stimuli,
    start_rates,
    pre_factors,
    protocol: Protocol = Protocol(),
    integration: Integration = PAPER_INTEGRATION,
) -> Trials:
    """Run the delayed-match-to-sample protocol: background, stimulus, delay.

    Parameters
    ----------
    stimuli : array (n_trials, N)
        Input currents presented during the stimulus: a stored pattern ``xi^mu`` (familiar) or a
        fresh Gaussian draw (novel).
    start_rates : array (n_trials, N) or (N,)
        Rates at the start of the background period.
    pre_factors : array (N, p)
        ``g(eta^mu)`` of the stored patterns (``RuleFactors.pre``), for the overlaps.
    """
    n = weights.n_neurons
    stimuli = _check_batch("stimuli", stimuli, n)
    start = np.broadcast_to(_check_batch("start_rates", start_rates, n), stimuli.shape)

    def readout(rates):
        return normalised_overlaps(rates, pre_factors)

    times, records, rates = [], [], start
    offset = 0.0
    for duration, inputs in (
        (protocol.background, None), (protocol.presentation, stimuli), (protocol.delay, None),
    ):
        rates, t, m = run_rates(
            weights, transfer, rates, duration, inputs, integration, protocol.record_every, readout
        )
        keep = slice(None) if not times else slice(1, None)  # the first record repeats the last
        times.append(t[keep] + offset)
        records.append(m[keep])
        offset += t[-1]
    return Trials(np.concatenate(times), np.concatenate(records), rates)


def distorted_inputs(inputs, correlation: float, rng: RandomLike = None) -> np.ndarray:
    """Cues ``rho xi + sqrt(1 - rho^2) zeta``: Gaussian inputs with correlation ``rho`` to ``xi``.

    ``zeta`` is a fresh standard Gaussian draw, so the cue keeps the statistics of a pattern.
    """
    rho = _validate.in_range("correlation", correlation, 0.0, 1.0)
    inputs = np.asarray(inputs, dtype=np.float64)
    noise = as_generator(rng).standard_normal(inputs.shape)
    return rho * inputs + np.sqrt(1.0 - rho**2) * noise


def self_overlaps(overlaps, cued) -> np.ndarray:
    """The overlap of each trial with the pattern it was cued with: ``overlaps[..., t, cued[t]]``."""
    overlaps = np.asarray(overlaps)
    cued = np.asarray(cued, dtype=int)
    return np.take_along_axis(overlaps, cued.reshape((1,) * (overlaps.ndim - 2) + (-1, 1)), axis=-1)[..., 0]


def rate_fluctuation(rate_records) -> np.ndarray:
    """How much the rates still move: temporal SD of each neuron, averaged, over the population SD.

    ``rate_records`` is (T, N) or (T, n_trials, N), sampled over a window after the transient.
    At a fixed point the temporal SD decays to zero with the distance to it; in a chaotic state
    it stays a finite fraction of the spread of rates across neurons.
    """
    records = np.asarray(rate_records, dtype=np.float64)
    if records.ndim not in (2, 3) or records.shape[0] < 2:
        raise ValueError(f"rate_records must have shape (T, N) or (T, n_trials, N) with T >= 2, got {records.shape}")
    temporal = records.std(axis=0).mean(axis=-1)
    spread = records.mean(axis=0).std(axis=-1)
    return temporal / np.maximum(spread, 1e-12)


def lyapunov_exponent(
    weights: SparseWeights,
    transfer: TransferParams,
    rates,
    duration: float,
    rng: RandomLike = None,
    separation: float = 1e-2,
    interval: float = 0.01,
    integration: Integration = PAPER_INTEGRATION,
) -> float:
    """Largest Lyapunov exponent (1/s) of the delay dynamics (``I = 0``) near ``rates``.

    Benettin's method: a twin trajectory starts ``separation`` Hz (root-mean-square over neurons)
    away along a random direction; both run together, and every ``interval`` seconds the
    logarithmic growth of their distance is added up and the twin is pulled back to the initial
    separation along the current difference. Negative at a stable fixed point (about
    ``-(1 - lambda_max) / tau``), positive in a chaotic state.
    """
    n = weights.n_neurons
    reference = _check_batch("rates", rates, n)[0]
    _validate.positive("duration", duration)
    _validate.positive("separation", separation)
    _validate.positive("interval", interval)
    direction = as_generator(rng).standard_normal(n)
    direction *= separation / np.sqrt(np.mean(direction**2))
    pair = np.stack([reference, reference + direction])
    n_intervals = max(1, int(round(duration / interval)))
    growth = 0.0
    for _ in range(n_intervals):
        pair = run_rates(weights, transfer, pair, interval, integration=integration)
        difference = pair[1] - pair[0]
        distance = np.sqrt(np.mean(difference**2))
        if distance == 0:
            return float("-inf")
        growth += np.log(distance / separation)
        pair[1] = pair[0] + difference * (separation / distance)
    return growth / (n_intervals * interval)


def leading_eigenvalues(weights: SparseWeights, transfer: TransferParams, rates, count: int = 4, external=None):
    """The ``count`` eigenvalues of largest real part of ``phi'(h) J`` at ``rates`` (``h = J r + I``).

    Linearised around a fixed point, ``tau d(delta r)/dt = -delta r + phi'(h) J delta r``: the
    fixed point is stable when every eigenvalue of ``phi'(h) J`` has real part below 1. At the
    background state, the leading eigenvalues belong to the stored patterns' directions; the
    mean-field theory puts them all at ``MeanField.background_gain``, a finite network spreads
    them. Computed by ARPACK on the sparse weights (float64), sorted by decreasing real part.
    """
    n = weights.n_neurons
    reference = _check_batch("rates", rates, n)[0]
    count = _validate.integer_at_least("count", count, 1)
    if count > n - 2:
        raise ValueError(f"count must be at most N - 2 = {n - 2}, got {count}")
    matrix = weights.to_scipy().astype(np.float64)
    inputs = np.zeros(n) if external is None else np.asarray(external, dtype=np.float64)
    if inputs.shape != (n,):
        raise ValueError(f"external must have shape ({n},), got {inputs.shape}")
    slope = phi_derivative(matrix @ reference + inputs, transfer)
    jacobian = sparse_linalg.LinearOperator((n, n), matvec=lambda v: slope * (matrix @ v), dtype=np.float64)
    start = np.ones(n)  # a fixed starting vector: ARPACK's default is random
    # ARPACK's BLAS calls on vectors of N entries gain nothing from BLAS threads, and beside two
    # spinning processes they doubled its time (N = 50 000: 10-12 s against 5.6 s on one thread).
    with threads.one_blas_thread():
        values = sparse_linalg.eigs(jacobian, k=count, which="LR", v0=start, tol=1e-8, maxiter=100 * n,
                                    return_eigenvectors=False)
    return values[np.argsort(-values.real)]


# --- the stimulus-response channel (chapter 7) ------------------------------------------------


@dataclass(frozen=True)
class Responses:
    """Rates (Hz) of each trial at the end of the stimulus and at the end of the delay, (n_trials, N)."""

    stimulus_end: np.ndarray
    delay_end: np.ndarray


def noisy_inputs(stimuli, input_noise: float, rng: RandomLike = None) -> np.ndarray:
    """``xi + sigma zeta``: each trial's stimulus plus its own frozen Gaussian input noise.

    ``zeta`` is a fresh standard Gaussian draw per trial and neuron, constant over the
    presentation: the trial-to-trial variability of the input a neuron receives for one stimulus.
    """
    sigma = _validate.in_range("input_noise", input_noise, 0.0, 1e3)
    stimuli = np.asarray(stimuli, dtype=np.float64)
    return stimuli + sigma * as_generator(rng).standard_normal(stimuli.shape)


def present(
    weights: SparseWeights,
    transfer: TransferParams,
    inputs,
    start_rates,
    presentation: float,
    delay: float,
    integration: Integration = PAPER_INTEGRATION,
    checkpoint=None,
    batch: int = 64,
) -> Responses:
    """Present each trial's input for ``presentation`` seconds, then none for ``delay`` seconds.

    Returns the rates at the end of each period: what the network says about the stimulus while
    it is there, and what it still holds once it has gone. ``start_rates`` (N,) or (n_trials, N)
    is the state the trials start from, typically the network's settled background.

    Trials run ``batch`` at a time. ``checkpoint`` (an ``.npz`` path) saves the responses after
    every batch; a rerun with the same weights, inputs and timing resumes after the last batch
    saved, and a checkpoint made from other inputs stops the run.
    """
    n = weights.n_neurons
    inputs = _check_batch("inputs", inputs, n)
    start = np.broadcast_to(_check_batch("start_rates", start_rates, n), inputs.shape)
    _validate.positive("presentation", presentation)
    _validate.positive("delay", delay)
    batch = _validate.integer_at_least("batch", batch, 1)
    key = _channel_key(weights, transfer, inputs, start, presentation, delay, integration)
    at_stimulus_end, at_delay_end = np.empty(inputs.shape), np.empty(inputs.shape)
    done = 0
    saved = _checkpoint.load(checkpoint, key, "weights, inputs or timing")
    if saved is not None:
        done = int(saved["done"])
        at_stimulus_end[:done], at_delay_end[:done] = saved["stimulus_end"][:done], saved["delay_end"][:done]
    while done < len(inputs):
        trials = slice(done, min(done + batch, len(inputs)))
        at_stimulus_end[trials] = run_rates(weights, transfer, start[trials], presentation, inputs[trials], integration)
        at_delay_end[trials] = run_rates(weights, transfer, at_stimulus_end[trials], delay, None, integration)
        done = trials.stop
        if checkpoint is not None:
            _checkpoint.save(checkpoint, key=key, done=done, stimulus_end=at_stimulus_end, delay_end=at_delay_end)
    return Responses(at_stimulus_end, at_delay_end)


def _channel_key(weights, transfer, inputs, start, presentation, delay, integration) -> str:
    """A short hash of everything a presentation run depends on, to recognise its checkpoint."""
    digest = hashlib.sha256()
    conn = weights.connectivity
    for array in (conn.indptr, conn.indices, weights.values, inputs, np.ascontiguousarray(start)):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(repr((transfer, presentation, delay, integration)).encode())
    return digest.hexdigest()[:16]


def spike_counts(rates, window: float, rng: RandomLike = None) -> np.ndarray:
    """Poisson spike counts of mean ``rate * window``: the counting noise of a response window."""
    rates = np.asarray(rates, dtype=np.float64)
    if np.any(rates < 0) or not np.all(np.isfinite(rates)):
        raise ValueError("rates must be finite and non-negative")
    window = _validate.positive("window", window)
    return as_generator(rng).poisson(rates * window)
