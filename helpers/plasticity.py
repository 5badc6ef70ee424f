"""Spike-timing-dependent plasticity: pair, triplet and inhibitory rules, and their rate limits.

Each rule is written with traces, as in the simulators (one trace per spike train and time
constant, each spike adding 1, all-to-all interactions):

* ``TripletSTDP`` (Pfister & Gerstner 2006): at a postsynaptic spike the weight grows by
  ``r1 (A2+ + A3+ o2)``, at a presynaptic spike it falls by ``o1 (A2- + A3- r2)``. ``r1`` and ``r2``
  are the presynaptic traces (time constants ``tau_plus`` and ``tau_x``), ``o1`` and ``o2`` the
  postsynaptic ones (``tau_minus`` and ``tau_y``); the triplet terms read their trace just before
  the spike's own increment. With ``a3_plus = a3_minus = 0`` it is the pair rule.
* ``InhibitorySTDP`` (Vogels et al. 2011), for an inhibitory synapse: a presynaptic spike changes
  the weight by ``eta (x_post - alpha)``, a postsynaptic spike by ``eta x_pre``, both traces with one
  time constant ``tau`` and ``alpha = 2 rho0 tau``.

For independent Poisson trains at fixed rates the expected drift of the weight is a function of
the two rates (``rate_limit``): the bridge from a spike-timing rule back to the rate rules
``f(r_post) g(r_pre)`` of chapters 2 and 3. ``weight_change`` replays one synapse's rule on given
spike times, event by event, to measure the drift (chapter 10, and the tests).

Times are in ms, rates in Hz, drifts in weight units per second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numba
import numpy as np

from . import _validate


@dataclass(frozen=True)
class TraceForm:
    """Any of the rules as the spiking network's kernel (``helpers.lif``) applies it, at every spike
    of a synapse:

    * postsynaptic spike: ``w += r1 (a2_plus + a3_plus o2)``;
    * presynaptic spike: ``w -= o1 (a2_minus + a3_minus r2) + pre_constant``;

    with presynaptic traces ``r1`` (``tau_plus``) and ``r2`` (``tau_x``) and postsynaptic traces
    ``o1`` (``tau_minus``) and ``o2`` (``tau_y``), each read just before its own spike's increment.
    ``w`` is the weight's magnitude (an inhibitory weight is negative in ``helpers.lif``)."""

    a2_plus: float
    a3_plus: float
    a2_minus: float
    a3_minus: float
    pre_constant: float
    tau_plus: float
    tau_x: float
    tau_minus: float
    tau_y: float


@dataclass(frozen=True)
class TripletSTDP:
    """The all-to-all triplet rule of Pfister & Gerstner (2006); the pair rule when the triplet
    amplitudes are 0. Amplitudes are non-negative (``a2_minus`` and ``a3_minus`` depress); time
    constants in ms."""

    a2_plus: float
    a2_minus: float
    a3_plus: float
    a3_minus: float
    tau_plus: float
    tau_minus: float
    tau_x: float
    tau_y: float

    def __post_init__(self):
        for name in ("a2_plus", "a2_minus", "a3_plus", "a3_minus"):
            _validate.in_range(name, getattr(self, name), 0.0, math.inf)
        for name in ("tau_plus", "tau_minus", "tau_x", "tau_y"):
            _validate.positive(name, getattr(self, name))

    def rate_limit(self, r_pre, r_post):
        """Expected drift (per second) for independent Poisson trains at ``r_pre`` and ``r_post`` Hz:

        ``r_pre r_post (A2+ tau+ - A2- tau- + A3+ tau+ tau_y r_post - A3- tau- tau_x r_pre)``,

        each spike meeting the other train's trace at its mean, ``rate x tau`` (a triplet term sees
        its own train's trace just before the spike, which for a Poisson train is independent of it).
        """
        r_pre, r_post = _rates(r_pre, r_post)
        ms = 1e-3  # time constants in seconds, so that rate x tau is a number
        return r_pre * r_post * (
            self.a2_plus * self.tau_plus * ms
            - self.a2_minus * self.tau_minus * ms
            + self.a3_plus * self.tau_plus * self.tau_y * ms**2 * r_post
            - self.a3_minus * self.tau_minus * self.tau_x * ms**2 * r_pre
        )

    def threshold(self) -> float:
        """The postsynaptic rate (Hz) above which the minimal rule (``a3_minus = 0``) potentiates, at
        any presynaptic rate: ``(A2- tau- - A2+ tau+) / (A3+ tau+ tau_y)``, BCM's threshold."""
        if self.a3_minus != 0.0 or self.a3_plus == 0.0:
            raise ValueError("a threshold independent of r_pre needs a3_minus = 0 and a3_plus above 0")
        net_depression = self.a2_minus * self.tau_minus - self.a2_plus * self.tau_plus
        return net_depression / (self.a3_plus * self.tau_plus * self.tau_y * 1e-3)

    def has_depression(self) -> bool:
        return self.a2_minus > 0.0 or self.a3_minus > 0.0

    def minimal(self) -> TripletSTDP:
        """The minimal rule: the same rule without pair potentiation and triplet depression
        (``a2_plus = a3_minus = 0``), whose rate limit is BCM's ``r_pre r_post (r_post - theta)``."""
        return replace(self, a2_plus=0.0, a3_minus=0.0)

    def scaled(self, factor: float) -> TripletSTDP:
        """The rule with every amplitude times ``factor``: amplitudes fitted relative to a maximal
        weight, in the weight units of a network."""
        factor = _validate.positive("factor", factor)
        return replace(self, a2_plus=self.a2_plus * factor, a2_minus=self.a2_minus * factor,
                       a3_plus=self.a3_plus * factor, a3_minus=self.a3_minus * factor)  # fmt: skip

    def trace_form(self) -> TraceForm:
        return TraceForm(self.a2_plus, self.a3_plus, self.a2_minus, self.a3_minus, 0.0,
                         self.tau_plus, self.tau_x, self.tau_minus, self.tau_y)  # fmt: skip

    def weight_change(self, pre_times, post_times) -> float:
        """The total change of one synapse's weight (no bounds) for spikes at ``pre_times`` and
        ``post_times`` (ms, each sorted; a pre and a post spike at the same time: the post first)."""
        pre, post = _trains(pre_times, post_times)
        return float(_replay_triplet(pre, post, self.a2_plus, self.a2_minus, self.a3_plus, self.a3_minus,
                                     self.tau_plus, self.tau_minus, self.tau_x, self.tau_y))


#: Pfister & Gerstner (2006)'s all-to-all triplet rule fitted to visual-cortex pairing data, with the
#: values NEST's triplet-synapse scripts use: amplitudes relative to the maximal weight, times in ms.
VISUAL_CORTEX = TripletSTDP(a2_plus=5e-10, a2_minus=7e-3, a3_plus=6.2e-3, a3_minus=2.3e-4,
                            tau_plus=16.8, tau_minus=33.7, tau_x=101.0, tau_y=125.0)  # fmt: skip


def pair_stdp(a_plus: float, a_minus: float, tau_plus: float, tau_minus: float) -> TripletSTDP:
    """The pair rule: ``A+ exp(-s / tau+)`` for a pre spike ``s`` ms before a post spike, ``-A- exp(-s /
    tau-)`` for a post spike ``s`` ms before a pre spike, summed over all pairs."""
    return TripletSTDP(a_plus, a_minus, 0.0, 0.0, tau_plus, tau_minus, 1.0, 1.0)


@dataclass(frozen=True)
class InhibitorySTDP:
    """Vogels et al. (2011)'s rule for an inhibitory synapse: learning rate ``eta``, trace time
    constant ``tau`` (ms) and target postsynaptic rate ``rho0`` (Hz)."""

    eta: float
    tau: float = 20.0
    rho0: float = 3.0

    def __post_init__(self):
        _validate.in_range("eta", self.eta, 0.0, math.inf)
        _validate.positive("tau", self.tau)
        _validate.positive("rho0", self.rho0)

    @property
    def alpha(self) -> float:
        """The depression offset ``2 rho0 tau`` (a number: rate x time)."""
        return 2.0 * self.rho0 * self.tau * 1e-3

    def rate_limit(self, r_pre, r_post):
        """Expected drift (per second) for independent Poisson trains: ``eta r_pre (2 tau r_post -
        alpha) = 2 eta tau r_pre (r_post - rho0)``, zero at the target rate whatever ``r_pre``."""
        r_pre, r_post = _rates(r_pre, r_post)
        return 2.0 * self.eta * self.tau * 1e-3 * r_pre * (r_post - self.rho0)

    def has_depression(self) -> bool:
        return self.eta > 0.0  # every presynaptic spike takes eta alpha away

    def trace_form(self) -> TraceForm:
        # a post spike adds eta x_pre; a pre spike adds eta x_post - eta alpha: a "depression" of
        # amplitude -eta by the post trace, and a constant eta alpha
        tau = self.tau
        return TraceForm(self.eta, 0.0, -self.eta, 0.0, self.eta * self.alpha, tau, tau, tau, tau)

    def weight_change(self, pre_times, post_times) -> float:
        """The total change of one synapse's weight (no bounds) for spikes at ``pre_times`` and
        ``post_times`` (ms, each sorted; a pre and a post spike at the same time: the post first)."""
        pre, post = _trains(pre_times, post_times)
        return float(_replay_inhibitory(pre, post, self.eta, self.tau, self.alpha))


def poisson_times(rate: float, duration: float, rng) -> np.ndarray:
    """Sorted spike times (ms) of a Poisson train at ``rate`` Hz over ``duration`` ms."""
    rate = _validate.in_range("rate", rate, 0.0, math.inf)
    duration = _validate.in_range("duration", duration, 0.0, math.inf)
    return np.sort(rng.uniform(0.0, duration, rng.poisson(rate * duration * 1e-3)))


def measured_drift(rule, r_pre: float, r_post: float, rng, trials: int = 24, seconds: float = 100.0):
    """The drift of one synapse (weight per second) under independent Poisson trains at ``r_pre`` and
    ``r_post`` Hz, replayed by ``rule.weight_change``: its mean over ``trials`` trials of ``seconds``
    each, and the standard error of that mean. What ``rule.rate_limit`` predicts."""
    trials = _validate.integer_at_least("trials", trials, 2)
    seconds = _validate.positive("seconds", seconds)
    drifts = [
        rule.weight_change(poisson_times(r_pre, seconds * 1e3, rng), poisson_times(r_post, seconds * 1e3, rng))
        / seconds
        for _ in range(trials)
    ]
    return float(np.mean(drifts)), float(np.std(drifts, ddof=1) / math.sqrt(trials))


def _rates(r_pre, r_post):
    r_pre, r_post = np.asarray(r_pre, dtype=np.float64), np.asarray(r_post, dtype=np.float64)
    for name, value in (("r_pre", r_pre), ("r_post", r_post)):
        if not np.all(np.isfinite(value)) or np.any(value < 0):
            raise ValueError(f"{name} must be finite rates >= 0 Hz")
    return r_pre, r_post


def _trains(pre_times, post_times):
    trains = []
    for name, times in (("pre_times", pre_times), ("post_times", post_times)):
        times = np.asarray(times, dtype=np.float64)
        if times.ndim != 1 or not np.all(np.isfinite(times)):
            raise ValueError(f"{name} must be a one-dimensional array of finite times (ms)")
        if np.any(np.diff(times) < 0):
            raise ValueError(f"{name} must be sorted")
        trains.append(times)
    return trains


@numba.njit(cache=True)
def _merged(pre, post):  # pragma: no cover
    """Both trains' spikes in time order: their times, and whether each is postsynaptic (a post
    spike at the time of a pre spike comes first)."""
    times = np.empty(pre.size + post.size)
    is_post = np.empty(pre.size + post.size, dtype=np.bool_)
    i = j = 0
    for k in range(times.size):
        take_post = j < post.size and (i >= pre.size or post[j] <= pre[i])
        times[k] = post[j] if take_post else pre[i]
        is_post[k] = take_post
        j += take_post
        i += not take_post
    return times, is_post


@numba.njit(cache=True)
def _replay_triplet(pre, post, a2p, a2m, a3p, a3m, tau_plus, tau_minus, tau_x, tau_y):  # pragma: no cover
    """Apply the triplet rule's updates spike by spike, the traces decaying between spikes."""
    times, is_post = _merged(pre, post)
    r1 = r2 = o1 = o2 = 0.0
    w = 0.0
    for k in range(times.size):
        if k > 0:
            gap = times[k] - times[k - 1]
            r1 *= math.exp(-gap / tau_plus)
            r2 *= math.exp(-gap / tau_x)
            o1 *= math.exp(-gap / tau_minus)
            o2 *= math.exp(-gap / tau_y)
        if is_post[k]:
            w += r1 * (a2p + a3p * o2)
            o1 += 1.0
            o2 += 1.0
        else:
            w -= o1 * (a2m + a3m * r2)
            r1 += 1.0
            r2 += 1.0
    return w


@numba.njit(cache=True)
def _replay_inhibitory(pre, post, eta, tau, alpha):  # pragma: no cover
    """Apply Vogels' rule spike by spike, the traces decaying between spikes."""
    times, is_post = _merged(pre, post)
    x_pre = x_post = 0.0
    w = 0.0
    for k in range(times.size):
        if k > 0:
            decay = math.exp(-(times[k] - times[k - 1]) / tau)
            x_pre *= decay
            x_post *= decay
        if is_post[k]:
            w += eta * x_pre
            x_post += 1.0
        else:
            w += eta * (x_post - alpha)
            x_pre += 1.0
    return w
