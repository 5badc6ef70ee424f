"""Balanced networks: the diffusion (Siegert) theory of sparse LIF networks and Brunel's model.

* ``siegert_rate``: the stationary rate of an LIF neuron driven by white noise of mean ``mu`` and
  standard deviation ``sigma`` (Siegert 1951; Amit & Brunel 1997; Brunel 2000, eq. 21).
* ``BrunelModel`` and ``brunel_network``: the sparse E/I network of Brunel (2000), with its
  self-consistent stationary rate (``BrunelModel.stationary_rate``) and the linear stability of
  its asynchronous state (``BrunelModel.stability``, from ``rate_response``).
* ``VogelsModel``: the conductance-based network of Vogels et al. (2011), whose inhibitory
  synapses learn the balance by inhibitory STDP, and ``synaptic_currents``, its neurons' inputs.
* ``balanced_rates`` and ``finite_k_rates``: the rates of van Vreeswijk & Sompolinsky's binary
  balanced network, at large K (linear in the external input) and at finite K (Gaussian mean field).

Units: ms, mV, Hz.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from scipy import optimize, special

from . import _validate, lif
from .rng import RandomLike, as_generator, kernel_key, uniforms4

#: Gauss-Legendre nodes and weights on [0, 1] for the Siegert integral's two pieces. Checked against
#: adaptive quadrature to 1e-9 (tests/test_balance.py) from far below threshold to far above it.
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(96)
_NODES, _WEIGHTS = (_NODES + 1.0) / 2.0, _WEIGHTS / 2.0


def _log_siegert_integral(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """log of sqrt(pi) * integral_lower^upper exp(u^2) (1 + erf u) du, elementwise (lower < upper).

    The integrand is ``erfcx(-u)``. Below 0 it is at most 1 and falls like 1 / |u|: integrated in
    ``s = log(1 - u)``, where it is smooth over the whole range. Above 0 it grows like
    ``2 exp(u^2)``: integrated as ``exp(u^2 - upper^2) erfc(-u) <= 2``, which lives within about
    ``1 / upper`` of the upper limit (below ``upper - 40 / upper`` it is under ``exp(-80)``), and the
    scale ``exp(upper^2)`` is put back in log space, so a neuron far below threshold gives a rate of
    0, not nan. Fixed nodes, so a whole array of inputs is one vectorised evaluation.
    """
    # below zero: u = 1 - e^s, du = -e^s ds, from s = log(1 - min(upper, 0)) up to log(1 - lower)
    top = np.log1p(-np.minimum(upper, 0.0))[..., None]
    bottom = np.log1p(-np.minimum(lower, 0.0))[..., None]
    s = top + (bottom - top) * _NODES
    below = (bottom - top)[..., 0] * ((special.erfcx(np.expm1(s)) * np.exp(s)) @ _WEIGHTS)
    # above zero, scaled by exp(-upper^2)
    high = np.maximum(upper, 0.0)
    start = np.maximum(np.maximum(lower, 0.0), high - 40.0 / np.maximum(high, 1e-300))
    u = start[..., None] + (high - start)[..., None] * _NODES
    scaled = (high - start) * ((special.erfc(-u) * np.exp((u - high[..., None]) * (u + high[..., None]))) @ _WEIGHTS)
    with np.errstate(divide="ignore"):  # an empty piece is log 0 = -inf, which logaddexp takes
        return 0.5 * math.log(math.pi) + np.logaddexp(np.log(below), np.log(scaled) + high * high)


#: Fourcaud & Brunel's (2002) constant for synaptic filtering, sqrt(2) |zeta(1/2)|.
SYNAPTIC_FILTER_ALPHA = math.sqrt(2.0) * 1.4603545088095868


def siegert_rate(
    mu,
    sigma,
    tau_m: float = 20.0,
    theta: float = 20.0,
    v_reset: float = 10.0,
    t_ref: float = 2.0,
    tau_syn: float = 0.0,
) -> np.ndarray:
    """Stationary rate (Hz) of an LIF neuron under white noise: the Siegert formula.

    ``1 / nu = t_ref + tau_m sqrt(pi) int_{(V_r - mu)/sigma}^{(theta - mu)/sigma} e^{u^2} (1 + erf u) du``,
    for ``tau_m dV/dt = -V + mu + sigma sqrt(tau_m) xi(t)`` (Brunel 2000, eq. 21). A neuron simulated
    at a finite step fires below it, its threshold crossed unseen between steps: at dt = 0.1 ms and
    the shot noise of 0.1 mV inputs, 3 % below (tests/test_lif.py).
    ``sigma = 0`` gives the deterministic rate, ``1 / (t_ref + tau_m ln((mu - V_r) / (mu - theta)))``
    above threshold and 0 below. ``mu`` and ``sigma`` may be arrays (broadcast together).

    ``tau_syn`` > 0: the noise comes through exponential synaptic currents of that time constant
    (ms). To first order in ``sqrt(tau_syn / tau_m)`` its effect is to raise threshold and reset by
    ``sigma alpha / 2 sqrt(tau_syn / tau_m)``, ``alpha = sqrt(2) |zeta(1/2)|`` (Fourcaud & Brunel
    2002): an expansion for synapses much faster than the membrane, and for neurons that fire by
    fluctuations (tests/test_balance.py measures it against simulated neurons).
    """
    tau_m = _validate.positive("tau_m", tau_m)
    tau_syn = _validate.in_range("tau_syn", tau_syn, 0.0, tau_m)
    t_ref = _validate.in_range("t_ref", t_ref, 0.0, math.inf)
    if v_reset >= theta:
        raise ValueError(f"v_reset must lie below theta, got v_reset {v_reset} and theta {theta}")
    mu, sigma = np.broadcast_arrays(np.asarray(mu, dtype=np.float64), np.asarray(sigma, dtype=np.float64))
    if np.any(sigma < 0) or not np.all(np.isfinite(sigma)) or not np.all(np.isfinite(mu)):
        raise ValueError("mu must be finite and sigma finite and non-negative")
    if tau_syn > 0:  # the same as lowering the mean by the shift
        mu = mu - sigma * SYNAPTIC_FILTER_ALPHA / 2.0 * math.sqrt(tau_syn / tau_m)
    noisy = sigma > 0
    safe = np.where(noisy, sigma, 1.0)
    log_integral = _log_siegert_integral((v_reset - mu) / safe, (theta - mu) / safe)
    with np.errstate(over="ignore"):
        rates = 1e3 / (t_ref + tau_m * np.exp(np.minimum(log_integral, 710.0)))
    rates = np.where(log_integral > 700.0, 0.0, rates)  # below 1e-300 Hz: zero
    with np.errstate(divide="ignore", invalid="ignore"):
        deterministic = np.where(
            mu > theta, 1e3 / (t_ref + tau_m * np.log((mu - v_reset) / np.where(mu > theta, mu - theta, 1.0))), 0.0
        )
    rates = np.where(noisy, rates, deterministic)
    return rates if rates.ndim else float(rates)


@numba.njit(cache=True)
def _threshold_integration(mu, sigma, omega, tau, theta, v_reset, t_ref, dv, low):  # pragma: no cover - numba
    """Integrate the LIF Fokker-Planck equation down from threshold (Richardson 2007): the stationary
    rate, and for each angular frequency the rate's response to a modulation of the mean and of the
    variance of the input. Units: s, mV, Hz."""
    n_steps = int((theta - low) / dv)
    h = 2.0 * tau / sigma**2
    # stationary density for a unit flux, then normalised with the refractory fraction
    # The grid's coefficients do not depend on the frequency: computed once, used at every one.
    decay = np.empty(n_steps)
    gain = np.empty(n_steps)
    above_reset = np.empty(n_steps)
    p_stationary = np.empty(n_steps + 1)
    p_stationary[0] = 0.0
    mass, p0 = 0.0, 0.0
    for k in range(n_steps):
        v = theta - k * dv
        g = 2.0 * (v - mu) / sigma**2
        decay[k] = math.exp(g * dv)
        gain[k] = (decay[k] - 1.0) / g if abs(g) > 1e-12 else dv
        above_reset[k] = 1.0 if v > v_reset else 0.0
        p0 = p0 * decay[k] + h * above_reset[k] * gain[k]
        p_stationary[k + 1] = p0
        mass += p0 * dv
    rate = 1.0 / (mass + t_ref)
    # the stationary density and its slope dP0/dv, the sources of the driven solutions
    mean_source = np.empty(n_steps)
    variance_source = np.empty(n_steps)
    crossing = n_steps  # the step after which the flux re-enters (the first grid point at the reset)
    for k in range(n_steps):
        v = theta - k * dv
        g = 2.0 * (v - mu) / sigma**2
        density = rate * p_stationary[k]
        slope = -(g * density + h * rate * above_reset[k])
        mean_source[k] = -2.0 * density / sigma**2
        variance_source[k] = slope / sigma**2
        if crossing == n_steps and v - dv <= v_reset:
            crossing = k
    n_w = omega.size
    to_mean = np.empty(n_w, dtype=np.complex128)
    to_variance = np.empty(n_w, dtype=np.complex128)
    for w in range(n_w):
        # three solutions: free (unit rate modulation), driven by the mean, driven by the variance
        p_free, p_mean, p_var = 0j, 0j, 0j
        j_free, j_mean, j_var = 1.0 + 0j, 0j, 0j
        reinjection = complex(math.cos(omega[w] * t_ref), -math.sin(omega[w] * t_ref))
        step = 1j * omega[w] * dv
        for k in range(n_steps):
            j_free, j_mean, j_var = j_free + step * p_free, j_mean + step * p_mean, j_var + step * p_var
            p_free = p_free * decay[k] + h * (j_free - step * p_free) * gain[k]
            p_mean = p_mean * decay[k] + (h * (j_mean - step * p_mean) + mean_source[k]) * gain[k]
            p_var = p_var * decay[k] + (h * (j_var - step * p_var) + variance_source[k]) * gain[k]
            if k == crossing:
                j_free -= reinjection
        to_mean[w] = -j_mean / j_free
        to_variance[w] = -j_var / j_free
    return rate, to_mean, to_variance


@dataclass(frozen=True)
class RateResponse:
    """An LIF neuron's stationary rate (Hz) under white noise, and the linear response of its rate to
    a modulation of the input's mean (Hz/mV) and variance (Hz/mV^2) at each frequency (Hz)."""

    frequencies: np.ndarray
    rate: float
    to_mean: np.ndarray
    to_variance: np.ndarray


def rate_response(
    mu: float,
    sigma: float,
    frequencies,
    tau_m: float = 20.0,
    theta: float = 20.0,
    v_reset: float = 10.0,
    t_ref: float = 2.0,
    dv: float = 0.005,
) -> RateResponse:
    """The rate response of an LIF neuron in the diffusion approximation, by threshold integration.

    The Fokker-Planck equation of ``tau_m dV/dt = -V + mu + sigma sqrt(tau_m) xi`` is integrated
    from the threshold down, on a grid of ``dv`` mV, once for the stationary density and once per
    frequency for its first-order modulation (Richardson 2007, Phys. Rev. E 76:021919), with the
    flux re-entering at the reset after ``t_ref``. At frequency 0 the two responses are the
    derivatives of the Siegert rate with respect to ``mu`` and ``sigma^2``, and the rate is
    Siegert's (tests/test_balance.py).
    """
    sigma = _validate.positive("sigma", sigma)
    tau_m = _validate.positive("tau_m", tau_m)
    t_ref = _validate.in_range("t_ref", t_ref, 0.0, math.inf)
    dv = _validate.in_range("dv", dv, 1e-4, 0.1)
    if v_reset >= theta:
        raise ValueError(f"v_reset must lie below theta ({theta}), got {v_reset}")
    frequencies = np.atleast_1d(np.asarray(frequencies, dtype=np.float64))
    if np.any(frequencies < 0) or not np.all(np.isfinite(frequencies)):
        raise ValueError("frequencies must be finite and >= 0 (Hz)")
    low = min(v_reset, mu) - 8.0 * sigma  # the density is below e^-32 of its peak there
    # At frequency 0 every solution's flux vanishes at the bottom and the responses are a ratio
    # 0 / 0; a millihertz gives their limit.
    angular = 2 * np.pi * np.maximum(frequencies, 1e-3)
    rate, to_mean, to_variance = _threshold_integration(
        float(mu), sigma, angular, tau_m * 1e-3, float(theta), float(v_reset), t_ref * 1e-3, dv, low
    )
    return RateResponse(frequencies, float(rate), to_mean, to_variance)


@dataclass(frozen=True)
class Stability:
    """Linear stability of a network's asynchronous state: its rate (Hz), whether it is stable, the
    frequency (Hz) of the oscillation that grows when it is not (NaN if stable), and the loop gain:
    the largest value of ``H`` where it crosses the positive real axis (0 if it never does). The
    loop gain passes 1 where the state turns unstable; near 1, a finite network's fluctuations at
    that frequency are amplified by about ``1 / (1 - gain)^2``.
    """

    rate: float
    stable: bool
    frequency: float
    loop_gain: float


@dataclass(frozen=True)
class BrunelModel:
    """Brunel's (2000) sparse network of excitatory and inhibitory LIF neurons with delta synapses.

    Each neuron receives ``C_E = eps N_E`` excitatory and ``C_I = eps N_I`` inhibitory inputs (fixed
    in-degree) of weights ``J`` and ``-g J`` mV after a delay ``D``, and ``C_E`` external Poisson inputs
    of weight ``J`` at ``eta nu_thr``, ``nu_thr = theta / (J C_E tau_m)``. Defaults: the paper's full size
    and panel C of its figure 8 (asynchronous irregular), with its reset of 10 mV.
    """

    n_exc: int = 10_000
    n_inh: int = 2_500
    eps: float = 0.1
    J: float = 0.1
    g: float = 5.0
    eta: float = 2.0
    delay: float = 1.5
    tau_m: float = 20.0
    theta: float = 20.0
    v_reset: float = 10.0
    t_ref: float = 2.0

    def __post_init__(self):
        _validate.integer_at_least("n_exc", self.n_exc, 2)
        _validate.integer_at_least("n_inh", self.n_inh, 2)
        _validate.in_range("eps", self.eps, 0.0, 1.0)
        for name in ("J", "g", "eta", "delay", "tau_m", "theta"):
            _validate.positive(name, getattr(self, name))
        _validate.in_range("t_ref", self.t_ref, 0.0, math.inf)
        if self.v_reset >= self.theta:
            raise ValueError(f"v_reset must lie below theta ({self.theta}), got {self.v_reset}")
        if self.c_exc < 1 or self.c_inh < 1:
            raise ValueError(f"eps {self.eps} leaves a neuron with no excitatory or no inhibitory input")

    @property
    def c_exc(self) -> int:
        return int(round(self.eps * self.n_exc))

    @property
    def c_inh(self) -> int:
        return int(round(self.eps * self.n_inh))

    @property
    def nu_thr(self) -> float:
        """External rate (Hz) that brings the mean input to threshold without recurrence."""
        return 1e3 * self.theta / (self.J * self.c_exc * self.tau_m)

    @property
    def nu_ext(self) -> float:
        return self.eta * self.nu_thr

    def input_moments(self, rate: float) -> tuple[float, float]:
        """Mean and SD (mV) of the input at network rate ``rate`` (Hz): Brunel (2000), eqs. 4-5.

        ``mu = C_E J tau (nu_ext + nu (1 - g gamma))``, ``sigma^2 = C_E J^2 tau (nu_ext + nu (1 + g^2 gamma))``,
        ``gamma = C_I / C_E``; the external inputs count as ``C_E`` sources at ``nu_ext``.
        """
        gamma = self.c_inh / self.c_exc
        tau = self.tau_m * 1e-3
        mu = self.c_exc * self.J * tau * (self.nu_ext + rate * (1 - self.g * gamma))
        variance = self.c_exc * self.J**2 * tau * (self.nu_ext + rate * (1 + self.g**2 * gamma))
        return mu, math.sqrt(variance)

    def stationary_rate(self) -> float:
        """The self-consistent rate of the diffusion approximation: ``nu = siegert(mu(nu), sigma(nu))`` (Hz).

        A root of ``siegert(nu) - nu`` in ``[0, 1 / t_ref]`` by bisection (brentq): the mismatch is at
        least 0 at 0 and negative at the ceiling. Where several roots exist, it returns one of them.
        """

        def mismatch(rate):
            mu, sigma = self.input_moments(rate)
            return siegert_rate(mu, sigma, self.tau_m, self.theta, self.v_reset, self.t_ref) - rate

        ceiling = 1e3 / self.t_ref if self.t_ref > 0 else 1e4
        return float(optimize.brentq(mismatch, 0.0, ceiling, xtol=1e-10))

    def stability(self, max_frequency: float = 1000.0, n_frequencies: int = 1000, dv: float = 0.01) -> Stability:
        """Linear stability of the asynchronous state (Brunel & Hakim 1999; Brunel 2000).

        A modulation of the network's rate ``nu1`` changes the recurrent input's mean by
        ``C_E J tau (1 - g gamma) nu1`` and its variance by ``C_E J^2 tau (1 + g^2 gamma) nu1`` a delay
        ``D`` later (the external input is not modulated); through the neurons' rate response
        (``rate_response``) that returns as ``H(f) nu1``. The state is unstable when the curve
        ``H(f)``, over all frequencies, winds around 1 (Nyquist's criterion; the neurons alone are
        stable). The growing oscillation's frequency is where ``H`` crosses the real axis beyond 1.
        """
        rate = self.stationary_rate()
        mu, sigma = self.input_moments(rate)
        frequencies = np.linspace(0.0, max_frequency, n_frequencies)
        response = rate_response(mu, sigma, frequencies, self.tau_m, self.theta, self.v_reset, self.t_ref, dv)
        gamma, tau = self.c_inh / self.c_exc, self.tau_m * 1e-3
        to_mean = self.c_exc * self.J * tau * (1 - self.g * gamma)
        to_variance = self.c_exc * self.J**2 * tau * (1 + self.g**2 * gamma)
        loop = (response.to_mean * to_mean + response.to_variance * to_variance) * np.exp(
            -2j * np.pi * frequencies * self.delay * 1e-3
        )
        curve = np.concatenate([np.conj(loop[:0:-1]), loop]) - 1.0  # f from -max to max
        winding = np.unwrap(np.angle(curve))
        stable = abs(winding[-1] - winding[0]) < np.pi
        crosses = (np.sign(loop.imag[1:]) != np.sign(loop.imag[:-1])) & (loop.real[1:] > 0.0)
        gains = loop.real[1:][crosses]
        beyond = np.flatnonzero(crosses & (loop.real[1:] > 1.0))
        frequency = math.nan if stable or beyond.size == 0 else float(frequencies[1:][beyond[0]])
        return Stability(rate, bool(stable), frequency, float(gains.max()) if gains.size else 0.0)

    def network(
        self,
        dt: float = 0.1,
        rng: RandomLike = None,
        synapse: str = "delta",
        tau_syn: tuple[float, float] = (0.5, 0.5),
    ) -> lif.Network:
        """The network itself, drawn from ``rng`` (fixed in-degrees, as in the paper).

        ``synapse="exponential"`` gives every synapse an exponentially decaying current of time
        constants ``tau_syn`` (excitatory, inhibitory; ms) carrying the same charge as the paper's
        delta jumps: Brunel's model when ``tau_syn`` is short against ``tau_m``, a variant otherwise.
        """
        if synapse not in lif.CURRENT_SYNAPSES:
            raise ValueError(f"synapse must be one of {lif.CURRENT_SYNAPSES}, got {synapse!r}")
        neuron = lif.NeuronParameters(
            tau_m=self.tau_m,
            theta=self.theta,
            v_reset=self.v_reset,
            t_ref=self.t_ref,
            tau_syn_exc=tau_syn[0],
            tau_syn_inh=tau_syn[1],
        )
        drive = (lif.PoissonDrive(rate=self.nu_ext, weight=self.J, n_sources=self.c_exc),)
        populations = [lif.Population("E", self.n_exc, neuron, drive), lif.Population("I", self.n_inh, neuron, drive)]
        projections = [
            lif.Projection(
                pre,
                post,
                self.J if pre == "E" else -self.g * self.J,
                self.delay,
                in_degree=self.c_exc if pre == "E" else self.c_inh,
            )
            for pre in ("E", "I")
            for post in ("E", "I")
        ]
        return lif.build_network(populations, projections, dt=dt, synapse=synapse, rng=rng)


# --- van Vreeswijk & Sompolinsky's binary balanced network ---------------------------------------


@dataclass(frozen=True)
class VogelsModel:
    """The network of Vogels et al. (2011), as its authors' Brian example has it.

    ``n_exc`` + ``n_inh`` conductance-based LIF neurons (g_L 10 nS, C 200 pF: tau_m 20 ms; E_L -60,
    E_E 0, E_I -80, threshold -50, reset -60 mV, refractory 5 ms) held at ``mu`` = -40 mV by 200 pA of
    background current; every ordered pair connected with probability ``eps``; excitatory synapses
    of ``g_exc`` (0.3 nS, tau 5 ms), I->I of ``g_inh`` (3 nS, tau 10 ms), and I->E synapses that
    start at nearly 0 and learn by ``plasticity.InhibitorySTDP`` (``eta``, ``tau_stdp``, target
    ``rho0``), bounded by ``w_max`` (100 nS). Conductances in units of g_L (10 nS); delays of one
    step (the example has none). ``eta`` is the example's 0.01 nS.
    """

    n_exc: int = 8000
    n_inh: int = 2000
    eps: float = 0.02
    g_exc: float = 0.03
    g_inh: float = 0.3
    eta: float = 1e-3
    tau_stdp: float = 20.0
    rho0: float = 3.0
    w_max: float = 10.0
    mu: float = -40.0
    dt: float = 0.1

    #: the initial magnitude of a learning I->E synapse: positive, so that its sign is inhibitory
    W_START = 1e-11
    #: the leak conductance, the unit of every conductance and weight here (nS)
    G_LEAK_NS = 10.0
    #: the leak reversal potential (mV), where the reset also is
    E_LEAK = -60.0

    def __post_init__(self):
        _validate.integer_at_least("n_exc", self.n_exc, 2)
        _validate.integer_at_least("n_inh", self.n_inh, 2)
        _validate.in_range("eps", self.eps, 0.0, 1.0)
        for name in ("g_exc", "g_inh", "w_max"):
            _validate.positive(name, getattr(self, name))

    @property
    def background_current(self) -> float:
        """The constant current, as the shift of V's steady state it causes (mV): 200 pA / 10 nS."""
        return self.mu - self.E_LEAK

    def neuron(self) -> lif.NeuronParameters:
        return lif.NeuronParameters(tau_m=20.0, theta=-50.0, v_reset=self.E_LEAK, t_ref=5.0, mu=self.mu,
                                    tau_syn_exc=5.0, tau_syn_inh=10.0, e_exc=0.0, e_inh=-80.0)  # fmt: skip

    def rule(self):
        from .plasticity import InhibitorySTDP

        return InhibitorySTDP(eta=self.eta, tau=self.tau_stdp, rho0=self.rho0)

    def network(self, rng: RandomLike = None) -> lif.Network:
        """The network, its connections drawn from ``rng``; I->E is the plastic projection "I->E"."""
        neuron = self.neuron()
        populations = [lif.Population("E", self.n_exc, neuron), lif.Population("I", self.n_inh, neuron)]
        delay, p = self.dt, self.eps
        projections = [
            lif.Projection("E", "E", self.g_exc, delay, probability=p),
            lif.Projection("E", "I", self.g_exc, delay, probability=p),
            lif.Projection(
                "I", "E", -self.W_START, delay, probability=p, plasticity=self.rule(), bounds=(0.0, self.w_max)
            ),
            lif.Projection("I", "I", -self.g_inh, delay, probability=p),
        ]
        return lif.build_network(populations, projections, dt=self.dt, synapse="conductance", rng=rng)


def synaptic_currents(simulation: lif.Simulation, neurons=slice(None)) -> tuple[np.ndarray, np.ndarray]:
    """The excitatory and inhibitory synaptic currents of a conductance-based network's ``neurons``
    now, ``g_E (E_E - V)`` and ``g_I (E_I - V)``, in mV (current over the leak conductance: the
    shift of V's steady state they would cause alone)."""
    network = simulation.network
    if network.synapse != "conductance":
        raise ValueError(f"synaptic currents need conductance synapses, the network has {network.synapse!r}")
    v = simulation.v[neurons]
    g_exc, g_inh = simulation.current[0][neurons], simulation.current[1][neurons]
    return g_exc * (network.e_rev[0][neurons] - v), g_inh * (network.e_rev[1][neurons] - v)


@dataclass(frozen=True)
class BinaryBalance:
    """Parameters of the binary balanced network (van Vreeswijk & Sompolinsky 1996, 1998).

    Couplings ``J_kl / sqrt(K)`` with ``J_EE = J_IE = 1``, ``J_EI = -J_E``, ``J_II = -J_I``; external input
    ``sqrt(K) E m0`` to excitatory and ``sqrt(K) I m0`` to inhibitory units; thresholds ``theta_E``,
    ``theta_I``. Defaults are the values commonly quoted for the papers' figures (the reference sheet
    marks them unverified): E 1, I 0.8, J_E 2, J_I 1.8, theta_E 1, theta_I 0.7.
    """

    E: float = 1.0
    I: float = 0.8  # noqa: E741  the papers' symbol
    J_E: float = 2.0
    J_I: float = 1.8
    theta_E: float = 1.0
    theta_I: float = 0.7

    def __post_init__(self):
        for name in ("E", "I", "J_E", "J_I"):
            _validate.positive(name, getattr(self, name))
        if not (self.E / self.I > self.J_E / self.J_I > 1):
            raise ValueError(
                f"a balanced state with positive rates needs E / I > J_E / J_I > 1, got E / I = {self.E / self.I:.3g} "
                f"and J_E / J_I = {self.J_E / self.J_I:.3g}"
            )


def balanced_rates(params: BinaryBalance, m0) -> tuple[np.ndarray, np.ndarray]:
    """Large-K rates: the O(sqrt K) inputs cancel, ``m_E = (J_I E - J_E I) / (J_E - J_I) m0``,
    ``m_I = (E - I) / (J_E - J_I) m0`` (van Vreeswijk & Sompolinsky 1998, eq. 4.3)."""
    m0 = np.asarray(m0, dtype=np.float64)
    m_exc = (params.J_I * params.E - params.J_E * params.I) / (params.J_E - params.J_I) * m0
    m_inh = (params.E - params.I) / (params.J_E - params.J_I) * m0
    return m_exc, m_inh


def finite_k_rates(params: BinaryBalance, m0: float, K: float) -> tuple[float, float]:
    """Rates at finite K: the Gaussian mean field of Bernoulli connectivity and constant drive.

    ``m_k = H(-mu_k / sigma_k)``, ``mu_E = sqrt(K)(E m0 + m_E - J_E m_I) - theta_E``,
    ``mu_I = sqrt(K)(I m0 + m_E - J_I m_I) - theta_I``, ``sigma_k^2 = m_E + J_k^2 m_I`` (the quenched
    and temporal fluctuations of K Bernoulli-chosen inputs; ``H`` the Gaussian tail).
    """
    m0 = _validate.in_range("m0", m0, 0.0, 1.0)
    K = _validate.positive("K", K)
    root_k = math.sqrt(K)

    def residual(m):
        m_e, m_i = np.clip(m, 1e-12, 1.0)
        mu_e = root_k * (params.E * m0 + m_e - params.J_E * m_i) - params.theta_E
        mu_i = root_k * (params.I * m0 + m_e - params.J_I * m_i) - params.theta_I
        s_e = math.sqrt(m_e + params.J_E**2 * m_i)
        s_i = math.sqrt(m_e + params.J_I**2 * m_i)
        return [special.ndtr(mu_e / s_e) - m_e, special.ndtr(mu_i / s_i) - m_i]

    start = np.clip(np.array(balanced_rates(params, m0), dtype=np.float64), 0.01, 0.99)
    solution = optimize.root(residual, start, method="hybr", tol=1e-12)
    if not solution.success:
        raise RuntimeError(f"the finite-K mean field found no solution at K = {K}, m0 = {m0}: {solution.message}")
    m_e, m_i = solution.x
    return float(m_e), float(m_i)


@dataclass(frozen=True, eq=False)
class BinaryRun:
    """What ``simulate_binary`` records: population rates over time and the input's two parts.

    ``times`` in units of tau_E; ``m_exc``, ``m_inh`` the fraction of active units at each time;
    ``rates`` each unit's time-averaged activity (excitatory units first); ``excitation`` and
    ``inhibition`` (2,) the mean over time and units of each population's excitatory input (external
    plus recurrent) and inhibitory input, whose sum is the net input before the threshold.
    """

    times: np.ndarray
    m_exc: np.ndarray
    m_inh: np.ndarray
    rates: np.ndarray
    excitation: np.ndarray
    inhibition: np.ndarray


@numba.njit(cache=True)
def _binary_kernel(
    key,
    n_updates,
    record_every,
    n_exc,
    share_exc,
    indptr,
    targets,
    weights,
    state,
    field_exc,
    field_inh,
    external,
    threshold,
    first_update,
    m_record,
    active_time,
    input_sums,
):
    """Asynchronous updates: a unit drawn at random (E with probability ``share_exc``) takes state
    ``field > threshold``; a change moves its targets' fields. Numbers from Philox by update index."""
    n = state.size
    n_inh = n - n_exc
    active_exc = 0
    active_inh = 0
    for i in range(n_exc):
        active_exc += state[i]
    for i in range(n_exc, n):
        active_inh += state[i]
    for t in range(n_updates):
        u = uniforms4(key, 0, first_update + t)
        if u[0] < share_exc:
            i = min(int(u[1] * n_exc), n_exc - 1)
        else:
            i = n_exc + min(int(u[1] * n_inh), n_inh - 1)
        new = 1 if field_exc[i] + field_inh[i] + external[i] > threshold[i] else 0
        if new != state[i]:
            sign = 1.0 if new == 1 else -1.0
            state[i] = new
            if i < n_exc:
                active_exc += new * 2 - 1
                for s in range(indptr[i], indptr[i + 1]):
                    field_exc[targets[s]] += sign * weights[s]
            else:
                active_inh += new * 2 - 1
                for s in range(indptr[i], indptr[i + 1]):
                    field_inh[targets[s]] += sign * weights[s]
        if (t + 1) % record_every == 0:
            row = (t + 1) // record_every - 1
            m_record[row, 0] = active_exc / n_exc
            m_record[row, 1] = active_inh / n_inh
            for j in range(n):
                active_time[j] += state[j]
                which = 0 if j < n_exc else 1
                input_sums[which, 0] += field_exc[j] + external[j]
                input_sums[which, 1] += field_inh[j]


def simulate_binary(
    params: BinaryBalance,
    m0: float,
    K: float,
    n_exc: int,
    n_inh: int,
    duration: float,
    tau_ratio: float = 0.9,
    record_every: float = 0.1,
    rng: RandomLike = None,
    warmup: float = 2.0,
) -> BinaryRun:
    """Simulate the binary balanced network with Bernoulli connectivity and constant external drive.

    Each unit receives on average K inputs from each population (probabilities ``K / N_E`` and
    ``K / N_I``), of weights ``1 / sqrt K`` (excitatory) and ``-J_k / sqrt K`` (inhibitory, k the
    receiving population), and ``sqrt(K) E m0`` or ``sqrt(K) I m0`` from outside. Units update
    asynchronously at rate ``1 / tau_E`` (excitatory) and ``1 / tau_I = 1 / (tau_ratio tau_E)``; time is
    in units of tau_E and advances by the mean interval between updates. Rates and inputs are
    averaged after ``warmup``, sampled every ``record_every``. The initial state is random at the
    large-K rates.
    """
    m0 = _validate.in_range("m0", m0, 0.0, 1.0)
    K = _validate.positive("K", K)
    n_exc = _validate.integer_at_least("n_exc", n_exc, 2)
    n_inh = _validate.integer_at_least("n_inh", n_inh, 2)
    if K > min(n_exc, n_inh) - 1:
        raise ValueError(f"K must be at most {min(n_exc, n_inh) - 1} (the smaller population less one), got {K}")
    duration = _validate.positive("duration", duration)
    tau_ratio = _validate.positive("tau_ratio", tau_ratio)
    record_every = _validate.positive("record_every", record_every)
    warmup = _validate.in_range("warmup", warmup, 0.0, math.inf)
    generator = as_generator(rng)
    root_k = math.sqrt(K)
    sizes = {"E": n_exc, "I": n_inh}
    sources, targets, weights = [], [], []
    for pre in ("E", "I"):
        for post in ("E", "I"):
            projection = lif.Projection(pre, post, 0.0, 1.0, probability=K / (sizes[pre] - (pre == post)))
            drawn, counts = lif._connect(projection, sizes[pre], sizes[post], pre == post, generator)
            coupling = 1.0 if pre == "E" else -(params.J_E if post == "E" else params.J_I)
            sources.append(drawn + (0 if pre == "E" else n_exc))
            targets.append(np.repeat(np.arange(sizes[post]) + (0 if post == "E" else n_exc), counts))
            weights.append(np.full(drawn.size, coupling / root_k))
    n = n_exc + n_inh
    sources = np.concatenate(sources)
    indptr, order = lif._outgoing_order(sources, n)
    targets = np.concatenate(targets)[order]
    weights = np.concatenate(weights)[order]
    external = np.r_[np.full(n_exc, root_k * params.E * m0), np.full(n_inh, root_k * params.I * m0)]
    threshold = np.r_[np.full(n_exc, params.theta_E), np.full(n_inh, params.theta_I)]
    start_exc, start_inh = balanced_rates(params, m0)
    state = (generator.random(n) < np.r_[np.full(n_exc, start_exc), np.full(n_inh, start_inh)]).astype(np.int64)
    owner = np.repeat(np.arange(n), np.diff(indptr))
    active = state[owner] == 1
    field_exc = np.bincount(targets[active & (owner < n_exc)], weights[active & (owner < n_exc)], minlength=n)
    field_inh = np.bincount(targets[active & (owner >= n_exc)], weights[active & (owner >= n_exc)], minlength=n)
    rate_sum = n_exc + n_inh / tau_ratio  # updates per tau_E
    share_exc = n_exc / rate_sum
    every = max(1, int(round(record_every * rate_sum)))
    key = kernel_key(generator)
    skipped = int(round(warmup * rate_sum / every))
    n_records = int(round(duration * rate_sum / every))
    m_record = np.zeros((skipped + n_records, 2))
    active_time = np.zeros(n)
    input_sums = np.zeros((2, 2))
    targets = targets.astype(np.int64)

    def advance(n_updates, first_update, records, active, inputs):
        _binary_kernel(key, n_updates, every, n_exc, share_exc, indptr, targets, weights, state, field_exc,
                       field_inh, external, threshold, first_update, records, active, inputs)  # fmt: skip

    # the warm-up first, its averages thrown away; then the recorded stretch
    advance(skipped * every, 0, m_record[:skipped], np.zeros(n), np.zeros((2, 2)))
    advance(n_records * every, skipped * every, m_record[skipped:], active_time, input_sums)
    sizes_array = np.array([[n_exc], [n_inh]])
    return BinaryRun(
        times=(np.arange(n_records) + 1) * every / rate_sum,
        m_exc=m_record[skipped:, 0],
        m_inh=m_record[skipped:, 1],
        rates=active_time / n_records,
        excitation=input_sums[:, 0] / (n_records * sizes_array[:, 0]),
        inhibition=input_sums[:, 1] / (n_records * sizes_array[:, 0]),
    )
