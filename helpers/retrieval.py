"""Retrieval experiments on a rate network: cues, the delayed-match-to-sample protocol, and the
measures that tell fixed-point retrieval from chaotic retrieval (Pereira & Brunel 2018).

Every function runs trials together where it can (``network.run_rates`` with a batch of states):
the weights are then read once per step for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import linalg as sparse_linalg

from . import _validate
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
    values = sparse_linalg.eigs(jacobian, k=count, which="LR", v0=start, tol=1e-8, maxiter=100 * n,
                                return_eigenvectors=False)
    return values[np.argsort(-values.real)]
