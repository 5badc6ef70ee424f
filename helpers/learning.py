"""Online learning: patterns stored one at a time through the network's own dynamics.

The one-shot sum of ``helpers.network.hebbian_weights`` assumes that the rates entering the rule
are the feed-forward responses ``eta^mu = phi(xi^mu)``. In a recurrent network the rates a
stimulus actually evokes also carry the input from what was stored before. Here each pattern
``xi^mu`` drives the network for a presentation; the rates ``r^mu`` it settles to update the
weights,

    J_ij <- (1 - lambda) J_ij + A / (c N) * c_ij * f(r_i^mu) g(r_j^mu),

optionally clipped to ``|J_ij| <= bound * A / (c N)``. With decay ``lambda > 0`` or a bound, old
patterns fade as new ones arrive: the network is a palimpsest (Nadal et al. 1986; Parisi 1986).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numba
import numpy as np

from . import _checkpoint, _validate, threads
from .network import (
    PAPER_INTEGRATION,
    Connectivity,
    Integration,
    SparseWeights,
    _check_patterns,
    run_rates,
    weight_scale,
)
from .rules import RuleParams, balanced_q_g, gaussian_average, post_factor, pre_factor
from .transfer import TransferParams, phi


@dataclass(frozen=True)
class OnlineSettings:
    """How patterns are presented and how the weights forget.

    Attributes
    ----------
    presentation : float
        Seconds each pattern drives the network before its rates are learned (default 0.1 s,
        five membrane time constants: the rates have settled).
    decay : float
        Fraction ``lambda`` of every weight lost at each new pattern, in [0, 1).
    bound : float or None
        If given, weights are clipped to ``[-bound, bound]`` in units of ``A / (c N)``.
    recurrent_gain : float
        Factor on the recurrent input while a pattern is presented, in [0, 1]. 1: the network
        as it is. 0: the evoked rates are the feed-forward ones and online learning reproduces
        the one-shot sum. Values in between model a suppression of recurrent synapses during
        learning, as proposed for acetylcholine (Hasselmo 1999).
    """

    presentation: float = 0.1
    decay: float = 0.0
    bound: float | None = None
    recurrent_gain: float = 1.0

    def __post_init__(self):
        _validate.in_range("presentation", self.presentation, 0.0, 100.0)
        _validate.in_range("decay", self.decay, 0.0, 0.999)
        if self.bound is not None:
            _validate.positive("bound", self.bound)
        _validate.in_range("recurrent_gain", self.recurrent_gain, 0.0, 1.0)


@dataclass(frozen=True)
class OnlineLearning:
    """Result of :func:`learn_online`."""

    weights: SparseWeights
    rates: np.ndarray  # (p, N): the rates each pattern evoked when it was learned


@numba.njit(parallel=True, fastmath=True, cache=True)
def _learn_pattern(indptr, indices, values, post, pre, scale, keep, bound):
    """``values <- clip(keep * values + scale * post[i] * pre[j], -bound, bound)`` for every synapse."""
    for i in numba.prange(indptr.size - 1):
        post_i = scale * post[i]
        for k in range(indptr[i], indptr[i + 1]):
            value = keep * values[k] + post_i * pre[indices[k]]
            if value > bound:
                value = bound
            elif value < -bound:
                value = -bound
            values[k] = value


def _run_key(connectivity, patterns, transfer, rule, settings, integration) -> str:
    """A short hash of everything an online run depends on, to recognise its checkpoint."""
    digest = hashlib.sha256()
    for array in (connectivity.indptr, connectivity.indices, np.ascontiguousarray(patterns)):
        digest.update(array.tobytes())
    digest.update(repr((transfer, rule, settings, integration, connectivity.c)).encode())
    return digest.hexdigest()[:16]


def learn_online(
    connectivity: Connectivity,
    patterns,
    transfer: TransferParams,
    rule: RuleParams,
    settings: OnlineSettings = OnlineSettings(),
    integration: Integration = PAPER_INTEGRATION,
    checkpoint=None,
    save_every: int = 10,
) -> OnlineLearning:
    """Learn ``patterns`` (p, N) one after another, from weights that start at zero.

    Each pattern drives the network (external input ``xi^mu``) for ``settings.presentation``
    seconds, starting from its feed-forward rates ``phi(xi^mu)``; the rule is then applied to the
    rates reached. The offset ``q_g`` is the one balanced over Gaussian inputs, as in the
    one-shot weights, so the first pattern is stored exactly as ``hebbian_weights`` stores it.

    ``checkpoint`` (an ``.npz`` path) saves the weights and rates every ``save_every`` patterns;
    a rerun with the same inputs resumes from it, and a checkpoint made from other inputs stops
    the run.
    """
    patterns = _check_patterns(patterns, connectivity.n_neurons)
    _validate.integer_at_least("save_every", save_every, 1)
    n_patterns, n = patterns.shape
    scale = np.float32(weight_scale(rule, connectivity))
    bound = np.float32(np.inf if settings.bound is None else settings.bound * scale)
    keep = np.float32(1.0 - settings.decay)
    q_g = balanced_q_g(rule, transfer)
    key = _run_key(connectivity, patterns, transfer, rule, settings, integration)

    values = np.zeros(connectivity.n_synapses, dtype=np.float32)
    rates = np.zeros((n_patterns, n), dtype=np.float64)
    done = 0
    saved = _checkpoint.load(checkpoint, key, "connectivity, patterns or settings")
    if saved is not None:
        done = int(saved["done"])
        values[:] = saved["values"]
        rates[:done] = saved["rates"][:done]
    weights = SparseWeights(connectivity, values)
    for mu in range(done, n_patterns):
        evoked = phi(patterns[mu], transfer)  # without recurrence the start is the fixed point
        if settings.recurrent_gain > 0:
            evoked = run_rates(
                weights, transfer, evoked, settings.presentation, patterns[mu], integration,
                gain=settings.recurrent_gain,
            )
        rates[mu] = evoked
        post = np.ascontiguousarray(post_factor(evoked, rule), dtype=np.float32)
        pre = np.ascontiguousarray(pre_factor(evoked, rule, q_g), dtype=np.float32)
        with threads.for_work(connectivity.n_synapses):
            _learn_pattern(connectivity.indptr, connectivity.indices, values, post, pre, scale, keep, bound)
        if checkpoint is not None and ((mu + 1) % save_every == 0 or mu + 1 == n_patterns):
            _checkpoint.save(checkpoint, key=key, done=mu + 1, values=values, rates=rates)
    return OnlineLearning(weights=weights, rates=rates)


def memory_strength(weights: SparseWeights, patterns, transfer: TransferParams, rule: RuleParams) -> np.ndarray:
    """How strongly each pattern is imprinted on the weights, 1 for a fresh one-shot memory.

    The recurrent field a stored rate pattern produces is ``h_i = sum_j J_ij eta_j``. Its
    component along the pattern's own ``f(eta_i)``, the regression slope ``cov(h, f) / var(f)``
    over neurons, is ``A E[g(eta) eta]`` for a pattern stored once in the one-shot sum, plus
    noise from the other patterns of order ``sqrt(alpha)``; it is divided by that value.
    """
    patterns = _check_patterns(patterns, weights.n_neurons)
    q_g = balanced_q_g(rule, transfer)
    expected = rule.A * gaussian_average(lambda r: pre_factor(r, rule, q_g) * r, transfer)
    strengths = np.empty(patterns.shape[0])
    for mu, pattern in enumerate(patterns):
        rates = phi(pattern, transfer)
        post = post_factor(rates, rule)
        field = weights.field(rates)
        strengths[mu] = np.cov(field, post)[0, 1] / np.var(post, ddof=1) / expected
    return strengths
