"""Static mean-field theory of retrieval in the rate network of Pereira & Brunel (2018).

One stored pattern is retrieved with overlap ``q``; the other ``p - 1`` patterns add a Gaussian
field of variance ``Delta``. With ``xi, z ~ N(0, 1)`` independent and ``f, g`` evaluated at the
pattern's rate ``phi(xi)``:

    h     = A f q + sqrt(Delta) z
    q     = E[g phi(h)]
    Delta = alpha A^2 E[f^2] E[g^2] E[phi(h)^2]
    m     = q / sqrt(E[g^2] Var[phi(h)])

The load is ``alpha = p / (c N)``. The capacity ``alpha_c`` is the largest load with a retrieval
solution ``q != 0``.

These are the equations of the limit ``K = c N -> infinity`` at fixed ``alpha``. In a network
with ``K`` inputs per neuron the retrieved pattern's own field, ``(A / K) sum_j c_ij f_i g_j r_j``,
is itself a sum over ``K`` random terms: besides its mean ``A f q`` it carries a quenched noise of
variance ``A^2 f^2 E[g^2 r^2] / K`` (Bernoulli connectivity). Given ``in_degree=K`` the class adds
it to the crosstalk,

    h = A f q + sqrt(Delta + A^2 f^2 s2 / K) z,    s2 = E[g^2 phi(h)^2],

the leading finite-size correction; its relative size is about ``1 / p``, so it matters at low
load in small networks.

How the equations are solved. For a fixed ``q`` the first equation involves ``Delta`` alone and
is solved for it; the second then *gives* the load, ``alpha(q)``. Walking down from the
noise-free overlap (``Delta = 0``, ``alpha = 0``), ``alpha(q)`` rises to a maximum and falls: the
maximum is the capacity (the saddle-node where the stable and unstable retrieval states meet),
and the stable state at a load below it is the larger ``q`` with ``alpha(q) = alpha``. This
avoids iterating the fixed point, which converges ever more slowly near capacity. (With a finite
``K`` and a large ``A`` there can be no maximum: the retrieval state then fades continuously into
the background, and the capacity is the crossover where ``alpha(q)`` is flattest; see
``MeanField.capacity``.)

Expectations are two-dimensional trapezoid rules on ``[-9, 9]^2`` (``rules._gaussian_grid``),
accurate enough that ``alpha_c`` is stable to better than four digits when the grids double
(tested). Steep functions would break that: a rule whose factors are (nearly) step functions of
the rate, or a large amplitude, whose crosstalk makes ``phi(h)`` a near-step in ``z``. Both are
integrated exactly instead: nodes in ``xi`` are placed off the rule's steps
(``rules.expectation_grid``), and where ``phi`` turns over within a fraction of a node spacing
in ``z`` its average is a Gaussian tail plus a correction integrated in the logistic's own
variable (``_steep_moments``). The step-function limit at large amplitude, whose capacity has a
closed form, is a test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from . import _validate
from .information import binary_entropy
from .rules import RuleParams, _gaussian_grid, balanced_q_g, expectation_grid, post_factor, pre_factor
from .transfer import TransferParams, phi, phi_derivative, phi_inverse

#: Default numbers of nodes along the pattern input ``xi`` and the crosstalk noise ``z``.
PATTERN_NODES = 201
NOISE_NODES = 121
#: Above this slope of the logistic in units of ``z`` (``beta`` times the field's SD) its average
#: over ``z`` is computed by ``_steep_moments``; below, the trapezoid rule's error is about
#: ``exp(-2 pi^2 / (slope * spacing))``, under 1e-11 with the default 121 nodes.
STEEP_LOGISTIC = 5.0
#: Gauss-Legendre panels in ``y`` (the logistic's argument) for the correction of ``_steep_moments``.
_PANEL_EDGES = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 40.0])
_UNIT_NODES, _UNIT_WEIGHTS = np.polynomial.legendre.leggauss(12)
_HALF = 0.5 * np.diff(_PANEL_EDGES)[:, None]
_Y = (0.5 * (_PANEL_EDGES[1:] + _PANEL_EDGES[:-1])[:, None] + _HALF * _UNIT_NODES).ravel()
_Y_WEIGHTS = (_HALF * _UNIT_WEIGHTS).ravel()


def _steep_moments(mean, slope):
    """``E[s(m + sigma z)]`` and ``E[s(m + sigma z)^2]`` for the logistic ``s``, ``z ~ N(0, 1)``.

    With ``y = m + sigma z`` of density ``n(y)`` (mean ``m``, SD ``sigma``): the step ``Theta(y)``
    gives ``Phi(m / sigma)``, and what the logistic adds to it decays as ``exp(-|y|)`` on either
    side of ``y = 0``, where ``n`` varies on the scale ``sigma`` (large here). So

        E[s]   = Phi(m / sigma) + int_0^inf s(-y) (n(-y) - n(y)) dy
        E[s^2] = Phi(m / sigma) + int_0^inf (s(-y)^2 n(-y) - s(-y) (1 + s(y)) n(y)) dy

    integrated by Gauss-Legendre panels on [0, 40] (beyond, ``s(-y) < 5e-18``).
    """
    m, sigma = np.asarray(mean, dtype=float)[:, None], np.asarray(slope, dtype=float)[:, None]
    y = _Y[None, :]
    below = special.expit(-y)
    above = special.expit(y)
    density_minus = np.exp(-0.5 * ((-y - m) / sigma) ** 2) / (sigma * np.sqrt(2.0 * np.pi))
    density_plus = np.exp(-0.5 * ((y - m) / sigma) ** 2) / (sigma * np.sqrt(2.0 * np.pi))
    tail = special.ndtr(m[:, 0] / sigma[:, 0])
    first = tail + (below * (density_minus - density_plus)) @ _Y_WEIGHTS
    second = tail + (below**2 * density_minus - below * (1.0 + above) * density_plus) @ _Y_WEIGHTS
    return first, second


@dataclass(frozen=True)
class RetrievalState:
    """A solution of the mean-field equations at load ``alpha``.

    Attributes
    ----------
    alpha : float
        Load ``p / (c N)``.
    q : float
        Overlap with the retrieved pattern (Hz; 0 for the background state).
    delta : float
        Variance of the crosstalk field (in units of the input SD squared).
    m : float
        Normalised overlap.
    mean_rate, sd_rate : float
        Mean and standard deviation of the rates over neurons (Hz).
    """

    alpha: float
    q: float
    delta: float
    m: float
    mean_rate: float
    sd_rate: float


class MeanField:
    """The mean-field equations of one network: a transfer function and a rule.

    Parameters
    ----------
    transfer : TransferParams
    rule : RuleParams
        ``A`` in 1/Hz, as in the network (``J = A / (c N) sum f g``).
    in_degree : float or None
        ``K = c N`` for the finite-size correction (see the module notes); ``None``: the paper's
        ``K -> infinity`` theory.
    pattern_nodes, noise_nodes : int
        Trapezoid nodes along ``xi`` and ``z``.
    """

    def __init__(
        self,
        transfer: TransferParams,
        rule: RuleParams,
        in_degree: float | None = None,
        pattern_nodes: int = PATTERN_NODES,
        noise_nodes: int = NOISE_NODES,
    ):
        self.in_degree = None if in_degree is None else _validate.positive("in_degree", in_degree)
        _validate.integer_at_least("pattern_nodes", pattern_nodes, 21)
        _validate.integer_at_least("noise_nodes", noise_nodes, 21)
        self.transfer, self.rule = transfer, rule
        xi, self._w_xi = expectation_grid(pattern_nodes, rule, transfer)
        self._z, self._w_z = _gaussian_grid(noise_nodes)
        eta = phi(xi, transfer)
        q_g = balanced_q_g(rule, transfer)
        self._f = post_factor(eta, rule)
        self._g = pre_factor(eta, rule, q_g)
        self.f2 = float(self._w_xi @ self._f**2)
        self.g2 = float(self._w_xi @ self._g**2)
        self.fg = float(self._w_xi @ (self._f * self._g))
        self._s2_guess = 0.0
        self._capacity = None
        self._transition = None
        #: ``alpha A^2 E[f^2] E[g^2]`` per unit load: Delta = alpha * noise_per_load * E[phi^2].
        self.noise_per_load = rule.A**2 * self.f2 * self.g2

    # --- expectations over (xi, z) ------------------------------------------------------------

    def _field_variance(self, q: float, delta: float, s2: float) -> np.ndarray:
        """Variance of the field at each ``xi`` node: ``Delta``, plus at finite K the self-noise
        ``(A f)^2 s2 / K``, where ``s2`` is ``E[g^2 r^2]``."""
        if self.in_degree is not None and q != 0:
            return delta + (self.rule.A * self._f) ** 2 * s2 / self.in_degree
        return np.full(self._f.shape, delta)

    def _rates(self, q: float, delta: float, s2: float = 0.0) -> np.ndarray:
        """Rates on the (xi, z) grid; ``s2`` is ``E[g^2 r^2]`` of the finite-size correction."""
        variance = self._field_variance(q, delta, s2)[:, None]
        h = self.rule.A * self._f[:, None] * q + np.sqrt(variance) * self._z[None, :]
        return phi(h, self.transfer)

    def _averages(self, q: float, delta: float, s2: float = 0.0):
        """``E[g phi(h)]``, ``E[phi(h)]``, ``E[phi(h)^2]`` and ``E[g^2 phi(h)^2]``."""
        rates = self._rates(q, delta, s2)
        over_z = rates @ self._w_z
        over_z2 = (rates**2) @ self._w_z
        # Where phi turns over within a fraction of a node spacing in z, the trapezoid rule would
        # see a staircase: those rows are integrated exactly instead.
        sd = np.sqrt(self._field_variance(q, delta, s2))
        steep = self.transfer.beta * sd > STEEP_LOGISTIC
        if np.any(steep):
            mean = self.rule.A * self._f[steep] * q
            beta = self.transfer.beta
            first, second = _steep_moments(beta * (mean - self.transfer.h0), beta * sd[steep])
            over_z[steep] = self.transfer.r_max * first
            over_z2[steep] = self.transfer.r_max**2 * second
        return (
            float(self._w_xi @ (self._g * over_z)), float(self._w_xi @ over_z),
            float(self._w_xi @ over_z2), float(self._w_xi @ (self._g**2 * over_z2)),
        )

    def state(self, q: float, delta: float, alpha: float) -> RetrievalState:
        """The order parameters at given ``q`` and ``delta`` (no equation is solved)."""
        s2 = self._self_noise(q, delta)
        _, mean, second, _ = self._averages(q, delta, s2)
        variance = max(second - mean**2, 0.0)
        m = q / np.sqrt(self.g2 * variance) if variance > 0 else 0.0
        return RetrievalState(alpha, q, delta, float(m), mean, float(np.sqrt(variance)))

    # --- background ---------------------------------------------------------------------------

    def background(self, alpha: float) -> RetrievalState:
        """The state with no retrieved pattern: ``q = 0``, ``Delta = alpha A^2 E f^2 E g^2 E[phi(sqrt(Delta) z)^2]``."""
        alpha = _validate.in_range("alpha", alpha, 0.0, 1e3)
        if alpha == 0:
            return self.state(0.0, 0.0, 0.0)

        def excess(delta):
            return alpha * self.noise_per_load * self._averages(0.0, delta)[2] - delta  # no self-term at q = 0

        upper = alpha * self.noise_per_load * self.transfer.r_max**2 * 1.01
        delta = optimize.brentq(excess, 0.0, upper, xtol=1e-12, rtol=1e-12)
        return self.state(0.0, delta, alpha)

    def background_gain(self, alpha: float) -> float:
        """Growth factor of a small overlap around the background: ``A E[f g] E[phi'(sqrt(Delta) z)]``.

        Above 1 the background is unstable: any pattern's overlap grows and the network falls into
        a memory without being cued.
        """
        delta = self.background(alpha).delta
        slope = float(self._w_z @ phi_derivative(np.sqrt(delta) * self._z, self.transfer))
        return self.rule.A * self.fg * slope

    # --- retrieval branch ---------------------------------------------------------------------

    def noise_free_overlap(self) -> float:
        """The largest solution of ``q = E[g phi(A f q)]`` (retrieval at zero load), or 0 if none."""
        def excess(q):
            return self._averages(q, 0.0, self._self_noise(q, 0.0))[0] - q

        top = self.transfer.r_max * np.sqrt(self.g2) * 1.01  # |E[g phi]| <= r_max sqrt(E g^2)
        grid = np.linspace(top, 0.0, 400, endpoint=False)
        values = np.array([excess(q) for q in grid])
        positive = np.nonzero(values > 0)[0]
        if positive.size == 0:
            return 0.0
        first = positive[0]
        return optimize.brentq(excess, grid[first], grid[first - 1], xtol=1e-12) if first > 0 else float(top)

    def load_at_overlap(self, q: float) -> tuple[float, float]:
        """``(alpha, Delta)`` of the retrieval solution with overlap ``q``, or ``(nan, nan)`` if none.

        Solves ``q = E[g phi(A f q + sqrt(Delta) z)]`` for ``Delta`` and returns the load that
        makes the crosstalk equation hold.
        """
        def excess(delta):
            return self._averages(q, delta, self._self_noise(q, delta))[0] - q

        if excess(0.0) < 0:
            return float("nan"), float("nan")
        upper = 1.0
        while excess(upper) > 0:
            upper *= 4
            if upper > 1e8:
                return float("nan"), float("nan")
        delta = optimize.brentq(excess, 0.0, upper, xtol=1e-13, rtol=1e-12)
        second = self._averages(q, delta, self._self_noise(q, delta))[2]
        return delta / (self.noise_per_load * second), delta

    def _self_noise(self, q: float, delta: float, tolerance: float = 1e-12) -> float:
        """``s2 = E[g^2 phi(h)^2]`` solved self-consistently at given ``q`` and ``delta`` (0 if K is infinite)."""
        if self.in_degree is None or q == 0:
            return 0.0
        s2 = self._s2_guess or self._averages(q, delta, 0.0)[3]  # the last solution is a close start
        for _ in range(100):  # a contraction: s2 enters only through a noise of relative size 1/p
            updated = self._averages(q, delta, s2)[3]
            s2, previous = updated, s2
            if abs(s2 - previous) <= tolerance * max(s2, 1e-300):
                break
        self._s2_guess = s2
        return s2

    def branch(self, n_points: int = 60) -> list[RetrievalState]:
        """Retrieval solutions from the noise-free overlap down the ``q`` axis (stable and unstable)."""
        q0 = self.noise_free_overlap()
        states = []
        for q in np.linspace(q0, 0.0, n_points, endpoint=False):
            alpha, delta = self.load_at_overlap(q)
            if np.isfinite(alpha):
                states.append(self.state(q, delta, alpha))
        return states

    def stable_branch(self, n_points: int = 30) -> list[RetrievalState]:
        """Stable retrieval states from zero load to the capacity, evenly spaced in ``q``.

        One solve per point (``load_at_overlap``), where calling :meth:`retrieval` at given loads
        would search ``q`` for each: the way to draw the curve ``m(alpha)``.
        """
        _validate.integer_at_least("n_points", n_points, 2)
        critical = self.capacity()
        if critical.alpha == 0:
            return [critical]
        states = [self.retrieval(0.0)]
        for q in np.linspace(self.noise_free_overlap(), critical.q, n_points)[1:-1]:
            alpha, delta = self.load_at_overlap(q)
            states.append(self.state(q, delta, alpha))
        return states + [critical]

    def capacity(self) -> RetrievalState:
        """The retrieval state at the capacity, where the retrieval branch ends.

        Walking down the ``q`` axis from the noise-free overlap, ``alpha(q)`` normally rises to a
        maximum, the saddle-node where the stable and the unstable retrieval states meet: above
        that load there is no retrieval state. (Further down, the unstable branch can climb again
        towards the load at which the background itself loses stability; that is not retrieval.)

        With a finite ``in_degree`` and a large amplitude the branch can instead rise all the way
        down, with no maximum: every pattern then has a small overlap even in the background (the
        self-noise's variance follows the pattern; it vanishes as K grows), and the retrieval state fades
        into it continuously. There the capacity is the crossover, the point where ``alpha(q)``
        is flattest, i.e. where the overlap falls fastest with the load (the saddle-node is the
        limit of a flat point). :meth:`transition` says which of the two was found.

        Returns the state with ``alpha = alpha_c``, or a state with ``alpha = 0`` and ``q = 0``
        when there is no retrieval even at zero load. Computed once and kept.
        """
        if self._capacity is not None:
            return self._capacity
        q0 = self.noise_free_overlap()
        if q0 == 0:
            self._capacity, self._transition = self.state(0.0, 0.0, 0.0), "none"
            return self._capacity
        grid = np.linspace(q0, 0.0, 41, endpoint=False)
        loads = np.array([0.0] + [self.load_at_overlap(q)[0] for q in grid[1:]])
        loads = np.where(np.isfinite(loads), loads, -1.0)  # no solution: below any load
        rises = np.diff(loads)  # load gained per step down the q axis
        falling = np.nonzero(rises < 0)[0]
        flattening = np.nonzero(rises[1:] > rises[:-1])[0]
        step = 1e-4 * q0

        def minus_load(q):
            return -self.load_at_overlap(q)[0]

        def slope(q):  # load gained over a small step down the q axis
            return self.load_at_overlap(q - step)[0] - self.load_at_overlap(q + step)[0]

        if falling.size:  # the first maximum of alpha(q)
            peak, objective, self._transition = int(falling[0]), minus_load, "saddle-node"
        elif flattening.size:  # no maximum: the first minimum of the slope
            peak, objective, self._transition = int(flattening[0]) + 1, slope, "crossover"
        else:  # alpha(q) rises ever faster down to q -> 0
            peak, objective, self._transition = grid.size - 1, minus_load, "continuous"
        low = grid[min(peak + 1, grid.size - 1)]
        high = grid[max(peak - 1, 0)]
        result = optimize.minimize_scalar(objective, bounds=(low, high), method="bounded", options={"xatol": 1e-9 * q0})
        q = float(result.x)
        alpha, delta = self.load_at_overlap(q)
        self._capacity = self.state(q, delta, alpha)
        return self._capacity

    def transition(self) -> str:
        """How the retrieval branch ends at :meth:`capacity`.

        ``"saddle-node"``: the stable retrieval state disappears above the capacity (a maximum of
        ``alpha(q)``). ``"crossover"``: it fades continuously into the background's small overlap
        (finite ``in_degree`` only; see :meth:`capacity`). ``"continuous"``: ``alpha(q)`` rises
        all the way to ``q -> 0``, where the overlap vanishes. ``"none"``: no retrieval at any load.
        """
        self.capacity()
        return self._transition

    def retrieval(self, alpha: float) -> RetrievalState | None:
        """The stable retrieval state at load ``alpha`` (the larger ``q``), or ``None`` above capacity."""
        alpha = _validate.in_range("alpha", alpha, 0.0, 1e3)
        critical = self.capacity()
        if alpha > critical.alpha:
            return None
        q0 = self.noise_free_overlap()
        if alpha == 0:
            return self.state(q0, 0.0, 0.0)
        q = optimize.brentq(
            lambda q: self.load_at_overlap(q)[0] - alpha if q < q0 else -alpha,
            critical.q, q0, xtol=1e-12 * q0,
        )
        loads, delta = self.load_at_overlap(q)
        return self.state(q, delta, alpha)

    def pattern_information(self, state: RetrievalState, threshold: float, n_nodes: int = 801) -> float:
        """Bits per neuron that a retrieval state tells about the stored pattern, read as one bit.

        The bit is ``b = [phi(xi) > threshold]``, whether the neuron's rate in the stored pattern
        lies above ``threshold`` (Hz); its coding level is ``P(b = 1)``. In the state the neuron's
        field is ``h = A f(phi(xi)) q + sqrt(Delta) z`` (plus the finite-``K`` self-noise), and
        its rate ``phi(h)`` carries the same information as ``h``: ``I(b; h)``, integrated on grids
        of ``xi`` split at the threshold (so each side's probability is exact) and of ``h``. At
        most ``H_2(P(b = 1))``, reached when the crosstalk vanishes; 0 at ``q = 0``. Times the load
        it is the information stored per synapse, ``alpha I`` (Treves & Rolls).
        """
        threshold = _validate.in_range("threshold", threshold, 0.0, self.transfer.r_max)
        n_nodes = _validate.integer_at_least("n_nodes", n_nodes, 101)
        cut = float(np.clip(phi_inverse(threshold, self.transfer), -9.0, 9.0))
        p_above = float(stats.norm.sf(cut))
        if state.q == 0 or p_above in (0.0, 1.0):
            return 0.0
        if state.delta == 0 and self.in_degree is None:  # h is a strictly increasing function of xi
            return float(binary_entropy(p_above))
        s2 = 0.0 if self.in_degree is None else self._self_noise(state.q, state.delta)
        sides = []
        for low, high in ((-9.0, cut), (cut, 9.0)):
            xi = np.linspace(low, high, n_nodes)
            weights = np.full(n_nodes, (high - low) / (n_nodes - 1)) * stats.norm.pdf(xi)
            weights[[0, -1]] *= 0.5
            f = post_factor(phi(xi, self.transfer), self.rule)
            variance = state.delta + (self.rule.A * f) ** 2 * (0.0 if self.in_degree is None else s2 / self.in_degree)
            sides.append((weights, self.rule.A * f * state.q, np.sqrt(variance)))
        means = np.concatenate([side[1] for side in sides])
        sds = np.concatenate([side[2] for side in sides])
        fields = np.linspace((means - 9 * sds).min(), (means + 9 * sds).max(), 2 * n_nodes)
        joints = [  # p(h, b) on the field grid, for b = 0 and b = 1
            weights @ (stats.norm.pdf(fields[None, :], mean[:, None], sd[:, None]))
            for weights, mean, sd in sides
        ]
        total = joints[0] + joints[1]
        information = 0.0
        for joint, p_bit in zip(joints, (1.0 - p_above, p_above), strict=True):
            mask = joint > 0
            integrand = np.zeros_like(fields)
            integrand[mask] = joint[mask] * np.log2(joint[mask] / (total[mask] * p_bit))
            information += np.trapezoid(integrand, fields)
        return float(information)

    def rate_histogram(self, state: RetrievalState, edges) -> np.ndarray:
        """Predicted density of rates over neurons in ``state`` on the bins ``edges`` (Hz).

        Given the pattern ``xi`` the field is Gaussian, ``h ~ N(A f q, Delta')`` (``Delta'``
        with the finite-K correction), so the probability of a bin ``[a, b)`` is integrated
        exactly in the noise, ``Phi((phi^-1(b) - A f q) / sqrt(Delta')) - Phi(...a...)``, and by
        quadrature over ``xi`` only. (Binning the rates at the ``(xi, z)`` quadrature nodes
        instead leaves bins that no node falls in: spurious dips of orders of magnitude.)
        """
        edges = np.asarray(edges, dtype=float)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise ValueError("edges must be an increasing 1-d array of at least 2 bin edges")
        variance = self._field_variance(state.q, state.delta, self._self_noise(state.q, state.delta))
        mean = self.rule.A * self._f * state.q
        # Fields at the edges: rates at or below 0 and at or above r_max map to -inf and +inf.
        clipped = np.clip(edges, 0.0, self.transfer.r_max)
        inside = (clipped > 0) & (clipped < self.transfer.r_max)
        fields = np.where(clipped <= 0, -np.inf, np.inf)
        fields[inside] = phi_inverse(clipped[inside], self.transfer)
        sd = np.sqrt(np.maximum(variance, 1e-300))[:, None]
        below = stats.norm.cdf((fields[None, :] - mean[:, None]) / sd)
        probability = self._w_xi @ np.diff(below, axis=1)
        return probability / np.diff(edges)
