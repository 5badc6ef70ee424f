"""Balance theory (helpers.balance): the Siegert rate, Brunel's self-consistent rate, van Vreeswijk
& Sompolinsky's balanced rates."""

import math

import numpy as np
import pytest
from scipy import integrate, special

from helpers import balance, lif


def test_siegert_tends_to_the_deterministic_rate_as_the_noise_vanishes():
    deterministic = balance.siegert_rate(25.0, 0.0)
    assert deterministic == pytest.approx(1e3 / (2 + 20 * math.log(15 / 5)), rel=1e-12)
    assert balance.siegert_rate(25.0, 1e-3) == pytest.approx(deterministic, rel=1e-4)
    assert balance.siegert_rate(15.0, 1e-3) < 1e-100 and balance.siegert_rate(15.0, 0.0) == 0.0


@pytest.mark.parametrize(("mu", "sigma"), [(15.0, 5.0), (19.0, 2.0), (10.0, 3.0), (30.0, 10.0)])
def test_siegert_agrees_with_a_direct_quadrature_where_that_is_safe(mu, sigma):
    value, _ = integrate.quad(lambda u: special.erfcx(-u), (10 - mu) / sigma, (20 - mu) / sigma)
    assert balance.siegert_rate(mu, sigma) == pytest.approx(1e3 / (2 + 20 * math.sqrt(math.pi) * value), rel=1e-9)


def test_siegert_on_a_grid_of_inputs_agrees_with_adaptive_quadrature():
    # The fixed-node, vectorised evaluation against scipy's adaptive quad, wherever the direct
    # integral is safe (threshold at most 5 SD above the mean): 300 inputs from far below threshold
    # (rates of 1e-8 Hz) to far above it, with noise from 0.2 to 30 mV.
    rng = np.random.default_rng(0)
    mu, sigma = rng.uniform(-20.0, 80.0, 300), np.exp(rng.uniform(np.log(0.2), np.log(30.0), 300))
    keep = (20.0 - mu) / sigma <= 5.0
    rates = balance.siegert_rate(mu[keep], sigma[keep])
    for m, s, rate in zip(mu[keep], sigma[keep], rates, strict=True):
        value, _ = integrate.quad(lambda u: special.erfcx(-u), (10 - m) / s, (20 - m) / s, limit=200)
        assert rate == pytest.approx(1e3 / (2 + 20 * math.sqrt(math.pi) * value), rel=1e-9), (m, s)
    assert keep.sum() > 150 and rates.min() < 1e-6


def test_siegert_grows_with_the_mean_and_with_the_noise_below_threshold():
    rates = balance.siegert_rate(np.linspace(5, 30, 26), 3.0)
    assert np.all(np.diff(rates) > 0)
    assert balance.siegert_rate(15.0, 4.0) > balance.siegert_rate(15.0, 2.0)
    assert balance.siegert_rate(-50.0, 1.0) == 0.0  # far below threshold: 0, not nan


@pytest.mark.parametrize("tau_syn", [0.5, 2.0])
def test_the_synaptic_filter_correction_matches_neurons_with_exponential_currents(tau_syn):
    # unconnected neurons under excitatory and inhibitory Poisson input: mean 15 mV, SD 5 mV
    drive = (lif.PoissonDrive(rate=11607.0, weight=0.2), lif.PoissonDrive(rate=3143.0, weight=-0.5))
    neuron = lif.NeuronParameters(tau_syn_exc=tau_syn, tau_syn_inh=tau_syn)
    population = lif.Population("E", 2000, neuron, drive)
    network = lif.build_network([population], [], synapse="exponential", rng=1)
    simulation = lif.Simulation(network, rng=2)
    simulation.run(200.0)
    simulated = simulation.run(3000.0).rates().mean()
    white = balance.siegert_rate(15.0, 5.0)
    corrected = balance.siegert_rate(15.0, 5.0, tau_syn=tau_syn)
    assert corrected == pytest.approx(simulated, rel=0.06)
    assert abs(white - simulated) > 3 * abs(corrected - simulated)  # the correction is what matches
    with pytest.raises(ValueError, match="tau_syn must be a number in"):
        balance.siegert_rate(15.0, 5.0, tau_syn=-1.0)


def test_brunels_stationary_rate_is_self_consistent_and_matches_simulation():
    model = balance.BrunelModel()
    rate = model.stationary_rate()
    mu, sigma = model.input_moments(rate)
    assert balance.siegert_rate(mu, sigma) == pytest.approx(rate, rel=1e-8)
    assert model.nu_thr == pytest.approx(10.0)
    # a quarter-size network in the asynchronous state of panel C, against its own theory
    small = balance.BrunelModel(n_exc=4000, n_inh=1000, eps=0.25)
    record = lif.Simulation(small.network(rng=1), rng=2).run(1200.0).between(200.0, 1200.0)
    assert record.rates().mean() == pytest.approx(small.stationary_rate(), rel=0.05)


def test_brunel_model_refuses_bad_parameters():
    with pytest.raises(ValueError, match="eps must be a number in"):
        balance.BrunelModel(eps=1.5)
    with pytest.raises(ValueError, match="v_reset must lie below theta"):
        balance.BrunelModel(v_reset=25.0)
    with pytest.raises(ValueError, match="no excitatory or no inhibitory input"):
        balance.BrunelModel(n_exc=10, n_inh=4, eps=0.1)
    with pytest.raises(ValueError, match="synapse must be one of"):
        balance.BrunelModel(n_exc=20, n_inh=10).network(synapse="alpha")


def test_balanced_rates_cancel_the_order_sqrt_k_input():
    params = balance.BinaryBalance()
    m0 = 0.1
    m_exc, m_inh = balance.balanced_rates(params, m0)
    assert params.E * m0 + m_exc - params.J_E * m_inh == pytest.approx(0.0, abs=1e-15)
    assert params.I * m0 + m_exc - params.J_I * m_inh == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(balance.balanced_rates(params, [0.05, 0.2])[0], [m_exc / 2, 2 * m_exc])


def test_finite_k_rates_approach_the_balanced_line_as_one_over_root_k():
    params = balance.BinaryBalance()
    m0 = 0.1
    target = np.array(balance.balanced_rates(params, m0))
    gaps = {K: np.array(balance.finite_k_rates(params, m0, K)) - target for K in (1e3, 1e5, 1e6, 1e7)}
    assert np.all(gaps[1e3] < 0) and np.all(np.abs(gaps[1e7]) < np.abs(gaps[1e3]) / 20)
    # each tenfold K shrinks the gap by sqrt(10) as K grows (3.04, then 3.12, measured)
    for small, large in ((1e5, 1e6), (1e6, 1e7)):
        np.testing.assert_allclose(gaps[small] / gaps[large], math.sqrt(10), rtol=0.05)


def test_binary_balance_refuses_parameters_without_a_balanced_state():
    with pytest.raises(ValueError, match="E / I > J_E / J_I > 1"):
        balance.BinaryBalance(E=1.0, I=1.0)


def test_the_binary_network_sits_on_its_finite_k_mean_field_with_inputs_that_cancel():
    # Sparse enough (K / N = 0.1) for the mean field's independent inputs: within 4 % (1-2 % measured).
    params = balance.BinaryBalance()
    K = 1000
    run = balance.simulate_binary(params, 0.1, K, 10_000, 10_000, duration=5.0, rng=1)
    theory = balance.finite_k_rates(params, 0.1, K)
    assert run.m_exc.mean() == pytest.approx(theory[0], rel=0.04)
    assert run.m_inh.mean() == pytest.approx(theory[1], rel=0.04)
    # excitation and inhibition each of order sqrt(K) (here about 3), their sum of order 1
    assert np.all(run.excitation > 0.05 * math.sqrt(K)) and np.all(run.inhibition < -0.05 * math.sqrt(K))
    assert np.all(np.abs(run.excitation + run.inhibition) < 0.1 * run.excitation)
    assert run.rates.shape == (20_000,) and run.rates.mean() == pytest.approx(np.mean(theory), rel=0.05)


def test_the_binary_network_is_reproducible_from_its_seed():
    params = balance.BinaryBalance()
    first, second = (balance.simulate_binary(params, 0.1, 100, 500, 500, duration=2.0, rng=3) for _ in range(2))
    np.testing.assert_array_equal(first.m_exc, second.m_exc)
    with pytest.raises(ValueError, match="K must be at most 499"):
        balance.simulate_binary(params, 0.1, 600, 500, 500, duration=2.0)


def test_the_rate_response_at_low_frequency_is_the_siegert_rate_and_its_slopes():
    mu, sigma = 18.0, 4.0
    response = balance.rate_response(mu, sigma, [0.0], dv=0.002)
    assert response.rate == pytest.approx(balance.siegert_rate(mu, sigma), rel=1e-3)
    d_mean = (balance.siegert_rate(mu + 1e-3, sigma) - balance.siegert_rate(mu - 1e-3, sigma)) / 2e-3
    d_var = (
        balance.siegert_rate(mu, np.sqrt(sigma**2 + 1e-2)) - balance.siegert_rate(mu, np.sqrt(sigma**2 - 1e-2))
    ) / 2e-2
    assert response.to_mean[0].real == pytest.approx(d_mean, rel=2e-3) and abs(response.to_mean[0].imag) < 1e-3
    assert response.to_variance[0].real == pytest.approx(d_var, rel=2e-3)


def test_the_rate_response_at_high_frequency_follows_the_white_noise_limits():
    # A modulated mean reaches the rate as sqrt(2) nu0 / (sigma sqrt(i omega tau)); a modulated variance
    # moves the flux at threshold at once, nu0 / sigma^2 (Brunel et al. 2001, Lindner & Schimansky-Geier
    # 2001). At 4 kHz: 1.1 % and 2.2 % off (the variance's limit is approached slowly).
    mu, sigma, frequency = 18.0, 4.0, 4000.0
    response = balance.rate_response(mu, sigma, [frequency], dv=0.002)
    omega_tau = 2 * np.pi * frequency * 20e-3
    limit = np.sqrt(2) * response.rate / (sigma * np.sqrt(omega_tau))
    assert abs(response.to_mean[0]) == pytest.approx(limit, rel=0.02)
    assert np.angle(response.to_mean[0]) == pytest.approx(-np.pi / 4, abs=0.05)
    assert response.to_variance[0].real == pytest.approx(response.rate / sigma**2, rel=0.05)
    with pytest.raises(ValueError, match="frequencies must be finite and >= 0"):
        balance.rate_response(mu, sigma, [-1.0])


def test_brunels_asynchronous_state_is_stable_only_in_panel_c():
    # Brunel (2000), figure 8: A, B and D oscillate, C is asynchronous; the growing oscillations are
    # fast in A and B (the simulations of chapter 8 find 668 and 184 Hz) and slow in D.
    states = {
        panel: balance.BrunelModel(g=g, eta=eta).stability()
        for panel, (g, eta) in {"A": (3, 2), "B": (6, 4), "C": (5, 2), "D": (4.5, 0.9)}.items()
    }
    assert states["C"].stable and np.isnan(states["C"].frequency) and 0 < states["C"].loop_gain < 1
    assert states["B"].loop_gain > 1
    assert not any(states[panel].stable for panel in "ABD")
    assert states["A"].frequency > 500 and 150 < states["B"].frequency < 250 and states["D"].frequency < 60


def test_vogels_model_builds_its_network_and_reads_its_currents():
    model = balance.VogelsModel(n_exc=400, n_inh=100, eps=0.1)
    network = model.network(rng=1)
    assert network.synapse == "conductance" and [p.name for p in network.plastic] == ["I->E"]
    learning = network.plastic_synapses("I->E")
    assert learning.size == pytest.approx(400 * 100 * 0.1, rel=0.1)
    assert np.allclose(network.weights[learning], -model.W_START)
    simulation = lif.Simulation(network, rng=2, v_init=-60.0)
    excitatory, inhibitory = balance.synaptic_currents(simulation, network.population("E"))
    assert excitatory.shape == (400,) and not excitatory.any() and not inhibitory.any()
    simulation.run(50.0)  # without inhibition the neurons, held at -40 mV, fire
    excitatory, inhibitory = balance.synaptic_currents(simulation, network.population("E"))
    assert excitatory.mean() > 0 and inhibitory.mean() <= 0  # E_E above V, E_I below
    with pytest.raises(ValueError, match="need conductance synapses"):
        balance.synaptic_currents(lif.Simulation(balance.BrunelModel(n_exc=400, n_inh=100).network(rng=1)))
    with pytest.raises(ValueError, match="eps must be a number in \\[0, 1\\], got 1.5"):
        balance.VogelsModel(eps=1.5)
