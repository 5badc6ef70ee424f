"""Familiar stimuli learned by spike timing, in a feed-forward control where the assumptions of
chapter 2's inference hold by construction (chapter 10, the loop back to Part I).

The control is chapter 2's surrogate (``data.simulate_recordings``) with its learning done spike by
spike. ``n_post`` neurons each receive, for stimulus ``s``, a fixed feed-forward input
``xi_i(s) ~ N(0, 1)`` plus the learned input ``sum_j W_ij r_j(s)`` from ``n_pre`` presynaptic
neurons whose rates ``r_j(s) = phi_pre(z_js)`` are independent across neurons and stimuli. A
neuron fires as a Poisson process at ``phi(h)``, its transfer function. The learned weights start
at zero. Each presentation of a familiar stimulus draws independent Poisson spike trains for
every neuron at these rates (a neuron's rate set at the presentation's start, by the weights
learned so far), and every synapse changes by a triplet rule (``plasticity.TripletSTDP``)
at each of its spikes, exactly in continuous time, with the traces carried from one presentation
to the next; after each presentation each neuron's weights are shifted by one amount so that
they sum to zero again (subtractive normalisation, which makes ``g(r_pre)`` average to zero, as
chapter 2's ``q_g`` does).

So every assumption of the inference holds: Gaussian inputs across stimuli, a sigmoid transfer
function, independent Poisson spikes, a separable rule in the rate limit. What is left is the
rule's form (a parabola, not chapter 2's ``tanh``), the spikes' noise, count noise, and the
stimuli's interference through shared presynaptic neurons; the ground truth, each familiar
stimulus's input change, is measured in the weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba
import numpy as np
import pandas as pd

from . import _validate, data, plasticity, rules
from .rng import RandomLike, as_generator
from .transfer import PUBLISHED_MEDIANS, TransferParams, phi

#: Longest presentation (s): the kernel keeps each trace as ``x exp(t / tau)`` within a
#: presentation, which stays finite in float64 for ``t / tau`` below about 700.
LONGEST_PRESENTATION = 5.0


@dataclass(frozen=True)
class FeedForwardControl:
    """The control's sizes, neurons and rule.

    ``rule``'s amplitudes are rescaled (``amplitude_scale``) so that, in the rate limit, a stimulus
    that drives a neuron at 80 % of ``transfer.r_max`` changes that neuron's input to itself by
    ``top_change`` input SDs over all its presentations (chapter 2's surrogate takes ``A = 1``).
    ``presentation`` in seconds; every familiar stimulus is presented ``n_repetitions`` times, the
    order shuffled in each round.
    """

    n_pre: int = 1000
    n_post: int = 100
    presynaptic: TransferParams = PUBLISHED_MEDIANS
    transfer: TransferParams = PUBLISHED_MEDIANS
    rule: plasticity.TripletSTDP = field(default_factory=lambda: plasticity.VISUAL_CORTEX.minimal())
    top_change: float = 1.0
    n_repetitions: int = 5
    presentation: float = 1.0

    def __post_init__(self):
        _validate.integer_at_least("n_pre", self.n_pre, 10)
        _validate.integer_at_least("n_post", self.n_post, 2)
        _validate.positive("top_change", self.top_change)
        _validate.integer_at_least("n_repetitions", self.n_repetitions, 1)
        _validate.in_range("presentation", self.presentation, 1e-3, LONGEST_PRESENTATION)
        if not isinstance(self.rule, plasticity.TripletSTDP):
            raise ValueError(f"rule must be a plasticity.TripletSTDP, got {type(self.rule).__name__}")
        if self.rule.rate_limit(10.0, 0.8 * self.transfer.r_max) <= 0:
            raise ValueError("rule must potentiate at 80 % of transfer.r_max, where its amplitude is set")

    @property
    def presynaptic_variance(self) -> float:
        """Variance of a presynaptic rate over stimuli (Hz^2)."""
        mean = rules.gaussian_average(lambda r: r, self.presynaptic)
        return rules.gaussian_average(lambda r: r**2, self.presynaptic) - mean**2

    def amplitude_scale(self) -> float:
        """The factor on ``rule``'s amplitudes that gives ``top_change`` (see the class)."""
        # With normalisation a stimulus changes W_ij by T r_lim(r_j, r_i) - (mean over j), so its own
        # input by T n_pre Var(r_pre) r_lim(1, r_i) per presentation, on average over stimuli.
        per_presentation = self.presentation * self.n_pre * self.presynaptic_variance
        top = self.rule.rate_limit(1.0, 0.8 * self.transfer.r_max)
        return self.top_change / (self.n_repetitions * per_presentation * top)

    def scaled_rule(self) -> plasticity.TripletSTDP:
        """``rule`` with the amplitudes the control uses (weights in input SDs per Hz)."""
        return self.rule.scaled(self.amplitude_scale())


@dataclass(frozen=True)
class Familiarised:
    """What learning left: the weights, the familiar stimuli and the ground truth.

    ``feedforward`` (n_post, P) and ``presynaptic_rates`` (n_pre, P) define the familiar stimuli;
    ``rates_before`` are each neuron's rates to them before learning (``phi(xi)``, no count noise);
    ``input_change`` is what learning did to each neuron's input for each of them, in SDs of its
    input over novel stimuli after learning (``input_sd``), the unit the inference reports.
    """

    weights: np.ndarray
    feedforward: np.ndarray
    presynaptic_rates: np.ndarray
    rates_before: np.ndarray
    input_change: np.ndarray
    input_sd: np.ndarray


def _poisson_trains(rates, duration, rng):
    """Independent Poisson trains at ``rates`` (Hz) over ``duration`` ms, as (times, neurons) sorted."""
    counts = rng.poisson(np.asarray(rates) * duration * 1e-3)
    neurons = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    times = rng.random(neurons.size) * duration
    order = np.argsort(times, kind="stable")
    return times[order], neurons[order]


@numba.njit(cache=True)
def _learn_presentation(weights, pre_times, pre_neurons, post_times, post_neurons, traces, duration,
                        a2_plus, a3_plus, a2_minus, a3_minus, tau_plus, tau_x, tau_minus, tau_y):  # pragma: no cover
    """One presentation of the triplet rule on every synapse of ``weights`` (post, pre), event by event.

    ``traces`` holds the values at the presentation's start: rows 0-1 the presynaptic traces
    (``tau_plus``, ``tau_x``), rows 2-3 the postsynaptic ones (``tau_minus``, ``tau_y``), each over
    all neurons (pre first); it is left holding their values at ``duration``. Within the
    presentation a trace is stored as ``x exp(t / tau)``, so a spike adds ``exp(t / tau)`` and no
    trace needs decaying between events.
    """
    n_post, n_pre = weights.shape
    taus = (tau_plus, tau_x, tau_minus, tau_y)
    i_pre, i_post = 0, 0
    while i_pre < pre_times.size or i_post < post_times.size:
        if i_post < post_times.size and (i_pre >= pre_times.size or post_times[i_post] <= pre_times[i_pre]):
            t, i = post_times[i_post], post_neurons[i_post]
            o2 = traces[3, n_pre + i] * math.exp(-t / tau_y)  # before this spike's own increment
            gain = (a2_plus + a3_plus * o2) * math.exp(-t / tau_plus)
            for j in range(n_pre):
                weights[i, j] += gain * traces[0, j]
            traces[2, n_pre + i] += math.exp(t / tau_minus)
            traces[3, n_pre + i] += math.exp(t / tau_y)
            i_post += 1
        else:
            t, j = pre_times[i_pre], pre_neurons[i_pre]
            r2 = traces[1, j] * math.exp(-t / tau_x)
            loss = (a2_minus + a3_minus * r2) * math.exp(-t / tau_minus)
            for i in range(n_post):
                weights[i, j] -= loss * traces[2, n_pre + i]
            traces[0, j] += math.exp(t / tau_plus)
            traces[1, j] += math.exp(t / tau_x)
            i_pre += 1
    for k in range(4):
        decay = math.exp(-duration / taus[k])
        for n in range(traces.shape[1]):
            traces[k, n] *= decay


def learn_familiar(control: FeedForwardControl, n_familiar: int, rng: RandomLike = None, spikes: bool = True,
                   learn: bool = True):
    """Present ``n_familiar`` new stimuli ``control.n_repetitions`` times each and learn them.

    With ``spikes`` the weights follow the spikes (see the module); without, each presentation
    adds its rate limit, ``T r_lim(r_j, r_i)``, the same drift without the spikes' noise or the
    traces' build-up at each onset. Without ``learn`` the stimuli are drawn and nothing is
    learned: the null control, in which an inference should find no change. Returns a
    :class:`Familiarised`.
    """
    n_familiar = _validate.integer_at_least("n_familiar", n_familiar, 3)
    rng = as_generator(rng)
    c = control
    rule = c.scaled_rule()
    feedforward = rng.standard_normal((c.n_post, n_familiar))
    pre_rates = phi(rng.standard_normal((c.n_pre, n_familiar)), c.presynaptic)
    weights = np.zeros((c.n_post, c.n_pre))
    traces = np.zeros((4, c.n_pre + c.n_post))
    duration = c.presentation * 1e3
    for _ in range(c.n_repetitions if learn else 0):
        for s in rng.permutation(n_familiar):
            post_rates = phi(feedforward[:, s] + weights @ pre_rates[:, s], c.transfer)
            if spikes:
                pre_times, pre_neurons = _poisson_trains(pre_rates[:, s], duration, rng)
                post_times, post_neurons = _poisson_trains(post_rates, duration, rng)
                _learn_presentation(weights, pre_times, pre_neurons, post_times, post_neurons, traces, duration,
                                    rule.a2_plus, rule.a3_plus, rule.a2_minus, rule.a3_minus,
                                    rule.tau_plus, rule.tau_x, rule.tau_minus, rule.tau_y)  # fmt: skip
            else:
                weights += c.presentation * rule.rate_limit(pre_rates[None, :, s], post_rates[:, None])
            weights -= weights.mean(axis=1, keepdims=True)
    input_sd = np.sqrt(1.0 + c.presynaptic_variance * (weights**2).sum(axis=1))
    return Familiarised(
        weights=weights,
        feedforward=feedforward,
        presynaptic_rates=pre_rates,
        rates_before=phi(feedforward, c.transfer),
        input_change=(weights @ pre_rates) / input_sd[:, None],
        input_sd=input_sd,
    )


def recordings(control: FeedForwardControl, learned: Familiarised, n_novel: int, n_trials: int, window: float,
               rng: RandomLike = None) -> pd.DataFrame:
    """Spike counts of every neuron to ``n_novel`` new stimuli and to the familiar ones, after
    learning, ``n_trials`` trials of ``window`` s each: a table in the recordings format of
    ``helpers.data`` (neurons ``n000``..., novel stimuli first)."""
    n_novel = _validate.integer_at_least("n_novel", n_novel, 3)
    n_trials = _validate.integer_at_least("n_trials", n_trials, 1)
    window = _validate.positive("window", window)
    rng = as_generator(rng)
    c = control
    novel_feedforward = rng.standard_normal((c.n_post, n_novel))
    novel_pre = phi(rng.standard_normal((c.n_pre, n_novel)), c.presynaptic)
    conditions = {
        "novel": phi(novel_feedforward + learned.weights @ novel_pre, c.transfer),
        "familiar": phi(learned.feedforward + learned.weights @ learned.presynaptic_rates, c.transfer),
    }
    neurons = np.array([f"n{i:03d}" for i in range(c.n_post)])
    tables, first = [], 0
    for condition, rates in conditions.items():
        counts = rng.poisson(rates[..., None] * window, size=rates.shape + (n_trials,))
        stimuli = np.array([f"s{k:05d}" for k in range(first, first + rates.shape[1])])
        tables.append(data.tidy_counts(counts, neurons, stimuli, condition, window))
        first += rates.shape[1]
    return pd.concat(tables, ignore_index=True)
