import numpy as np
import pytest
from scipy import special

from helpers import hopfield as hp


def _network(n=600, p=20, seed=0):
    rng = np.random.default_rng(seed)
    patterns = hp.random_patterns(p, n, rng)
    return patterns, hp.hebb_rule(patterns), rng


def test_hebb_rule_is_the_textbook_sum():
    patterns = hp.random_patterns(7, 50, rng=1)
    weights = hp.hebb_rule(patterns)
    explicit = np.einsum("mi,mj->ij", patterns.astype(float), patterns.astype(float)) / 50
    np.fill_diagonal(explicit, 0)
    np.testing.assert_allclose(weights, explicit, atol=1e-7)
    assert weights.dtype == np.float32 and hp._is_symmetric(weights)


def test_a_flipped_cue_has_the_expected_overlap():
    pattern = hp.random_patterns(1, 1000, rng=2)[0]
    cue = hp.flip_bits(pattern, 0.1, rng=3)
    assert np.count_nonzero(cue != pattern) == 100
    assert hp.overlaps(pattern[None], cue)[0] == pytest.approx(0.8)
    binary = hp.random_patterns(1, 1000, rng=2, coding_level=0.2)[0]
    flipped = hp.flip_bits(binary, 0.05, rng=3, values=hp.BINARY)
    assert set(np.unique(flipped)) <= {0.0, 1.0} and np.count_nonzero(flipped != binary) == 50
    silenced = hp.silence(binary, 0.1, rng=3)
    active = int(binary.sum())
    assert np.all(silenced <= binary) and binary.sum() - silenced.sum() == active // 10


def test_textbook_vocabulary_retrieves_a_pattern_at_low_load():
    net = hp.HopfieldNetwork(400)
    patterns = hp.random_patterns(5, 400, rng=1)
    net.store_patterns(patterns)
    net.set_state_from_pattern(patterns[3], flip_fraction=0.2, rng=2)
    run = net.run(rng=3)
    m = net.overlaps()
    assert m[3] == pytest.approx(1.0) and np.all(np.abs(np.delete(m, 3)) < 0.25)
    assert run.converged and run.overlaps.shape == (run.sweeps + 1, 5)
    assert run.overlaps[0, 3] == pytest.approx(0.6)


def test_energy_changes_add_up_and_never_increase_for_symmetric_weights():
    patterns, weights, rng = _network(p=90)  # above capacity: many flips, spurious states
    start = np.where(rng.random(600) < 0.5, -1.0, 1.0)
    run = hp.run_asynchronous(weights, start, rng, record_energy=True, symmetric=True)
    assert run.converged and run.energy_changes.size == run.flips.sum() > 100
    assert run.energy_changes.max() <= 1e-9
    total = hp.energy(weights, run.state) - hp.energy(weights, start)
    assert run.energy_changes.sum() == pytest.approx(total, rel=1e-6, abs=1e-6)


def test_energy_changes_add_up_for_asymmetric_weights_and_some_are_increases():
    patterns, weights, rng = _network(p=90)
    diluted = hp.dilute(weights, 0.5, rng)
    assert not hp._is_symmetric(diluted)
    start = np.where(rng.random(600) < 0.5, -1.0, 1.0)
    run = hp.run_asynchronous(diluted, start, rng, max_sweeps=30, record_energy=True)
    total = hp.energy(diluted, run.state) - hp.energy(diluted, start)
    assert run.energy_changes.sum() == pytest.approx(total, rel=1e-5, abs=1e-5)
    assert np.count_nonzero(run.energy_changes > 1e-9) > 0


def test_symmetric_dilution_keeps_the_weights_symmetric_and_the_mean_field():
    _, weights, rng = _network(n=300)
    diluted = hp.dilute(weights, 0.3, rng, symmetric=True)
    assert hp._is_symmetric(diluted)
    kept = np.count_nonzero(diluted) / np.count_nonzero(weights)
    assert kept == pytest.approx(0.3, abs=0.01)
    kept_synapses = diluted != 0
    np.testing.assert_allclose(diluted[kept_synapses], weights[kept_synapses] / 0.3, rtol=1e-6)


@pytest.mark.parametrize("n", [2, 63, 64, 65, 200, 333])
def test_symmetry_check_finds_a_single_asymmetric_pair_anywhere(n):
    rng = np.random.default_rng(n)
    base = rng.standard_normal((n, n)).astype(np.float32)
    weights = base + base.T
    assert hp._is_symmetric(weights)
    for _ in range(20):
        i, j = rng.choice(n, size=2, replace=False)
        changed = weights.copy()
        changed[i, j] = np.nextafter(changed[i, j], np.float32(np.inf))
        assert not hp._is_symmetric(changed), (i, j)


def test_symmetry_verdict_is_reused_until_the_weights_change_in_place():
    patterns, weights, rng = _network(p=40)
    cue = hp.flip_bits(patterns[0], 0.2, rng)
    checked = hp.run_asynchronous(weights, cue, rng=1)
    told = hp.run_asynchronous(weights, cue, rng=1, symmetric=True)
    np.testing.assert_array_equal(checked.state, told.state)
    assert hp._verdicts[id(weights)][2] is True
    # The fields are the same sums whether or not the fingerprint rides along.
    field, marks = hp._fields(weights, cue, fingerprint=True)
    np.testing.assert_array_equal(field, hp._fields(weights, cue)[0])

    weights[3, 7] = np.nextafter(weights[3, 7], np.float32(np.inf))  # one float32 step, one side only
    after = hp.run_asynchronous(weights, cue, rng=1)
    assert hp._verdicts[id(weights)][2] is False
    np.testing.assert_array_equal(after.state, hp.run_asynchronous(weights, cue, rng=1, symmetric=False).state)
    key = id(weights)
    del weights, checked, told
    assert key not in hp._verdicts  # the verdict goes with the matrix


def test_synchronous_dynamics_can_cycle_where_asynchronous_cannot():
    weights = np.array([[0, 1], [1, 0]], dtype=np.float32)
    sync = hp.run_synchronous(weights, [1, -1])
    assert sync.cycle and sync.converged and list(sync.state) == [1, -1]
    run = hp.run_asynchronous(weights, [1, -1], rng=0)
    assert run.converged and run.state[0] == run.state[1]


def test_sweep_orders_replay_a_run_and_seeds_reproduce_it():
    patterns, weights, rng = _network(p=60)
    cue = hp.flip_bits(patterns[0], 0.2, rng=5)
    first = hp.run_asynchronous(weights, cue, rng=11, max_sweeps=5, temperature=0.3)
    again = hp.run_asynchronous(weights, cue, rng=11, max_sweeps=5, temperature=0.3)
    np.testing.assert_array_equal(first.state, again.state)
    orders = np.array([np.random.default_rng(k).permutation(600) for k in range(3)])
    replay = [hp.run_asynchronous(weights, cue, max_sweeps=3, sweep_orders=orders).state for _ in range(2)]
    np.testing.assert_array_equal(*replay)


def test_covariance_weights_do_not_depend_on_the_order_of_summation():
    """The same weights on every machine: a float32 product of (xi - a) rounds by the CPU's BLAS
    kernel; the rule is computed from integer co-activation counts instead, exact in any order."""
    rng = np.random.default_rng(5)
    patterns = hp.random_patterns(300, 400, rng, coding_level=0.05)
    weights = hp.covariance_rule(patterns, 0.05)
    shuffled = hp.covariance_rule(patterns[rng.permutation(300)], 0.05)
    np.testing.assert_array_equal(weights, shuffled)
    deviations = patterns.astype(np.float64) - 0.05
    exact = deviations.T @ deviations / (400 * 0.05 * 0.95)
    np.fill_diagonal(exact, 0.0)
    np.testing.assert_allclose(weights, exact, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="0/1 values"):
        hp.covariance_rule(2 * patterns - 1, 0.05)


def test_binary_neurons_at_half_coding_level_are_the_classic_model():
    rng = np.random.default_rng(4)
    binary = hp.random_patterns(40, 500, rng, coding_level=0.5)
    weights01 = hp.covariance_rule(binary, 0.5)
    ising = 2 * binary - 1
    np.testing.assert_allclose(weights01, hp.hebb_rule(ising), atol=1e-6)
    theta = hp.covariance_threshold(weights01, 0.5, 0.0)
    cue = hp.flip_bits(binary[0], 0.2, rng, values=hp.BINARY)
    orders = np.array([rng.permutation(500) for _ in range(20)])
    run01 = hp.run_asynchronous(weights01, cue, max_sweeps=20, threshold=theta, values=hp.BINARY, sweep_orders=orders)
    run_pm = hp.run_asynchronous(hp.hebb_rule(ising), 2 * cue - 1, max_sweeps=20, sweep_orders=orders)
    np.testing.assert_array_equal(2 * run01.state - 1, run_pm.state)
    # the 0/1 overlap counts the pattern's own imbalance too: m01 = m + mean(2 xi - 1)
    assert hp.overlaps(binary[:1], run01.state, coding_level=0.5)[0] == pytest.approx(
        hp.overlaps(ising[:1], run_pm.state)[0] + ising[0].mean(), abs=1e-5)


def test_one_step_error_matches_the_field_statistics():
    n, alpha = 3000, 0.25
    patterns = hp.random_patterns(int(alpha * n), n, rng=8)
    weights = hp.hebb_rule(patterns)
    fields = weights @ patterns[:10].T
    wrong = np.mean(np.sign(fields) != patterns[:10].T)
    predicted = hp.one_step_error(alpha)
    standard_error = np.sqrt(predicted * (1 - predicted) / wrong.size) * 3  # correlated across 10 patterns
    assert wrong == pytest.approx(predicted, abs=4 * standard_error)


def test_replica_capacity_solves_the_saddle_point_equations():
    alpha_c, m_c = hp.replica_capacity()
    assert alpha_c == pytest.approx(0.138, abs=5e-4)  # Amit, Gutfreund & Sompolinsky (1987)
    assert m_c == pytest.approx(0.967, abs=2e-3)
    for alpha in (0.02, 0.08, 0.13):
        m = hp.retrieval_overlap(alpha)[0]
        # the three zero-temperature equations, solved by fixed-point iteration from this m
        r = 1.0
        for _ in range(200):
            c = np.sqrt(2 / (np.pi * alpha * r)) * np.exp(-m * m / (2 * alpha * r))
            r = 1 / (1 - c) ** 2
        assert m == pytest.approx(special.erf(m / np.sqrt(2 * alpha * r)), abs=1e-8)
    assert hp.retrieval_overlap([0.001])[0] == pytest.approx(1.0)
    assert hp.retrieval_overlap([alpha_c * 1.01])[0] == 0.0


def test_mean_field_overlap_solves_m_equals_tanh_beta_m():
    betas = np.array([0.5, 1.0, 1.01, 1.5, 3.0])
    m = hp.mean_field_overlap(betas)
    assert m[0] == m[1] == 0.0
    np.testing.assert_allclose(m[2:], np.tanh(betas[2:] * m[2:]), atol=1e-12)
    assert m[2] == pytest.approx(np.sqrt(3 * 0.01), rel=0.02)  # m ~ sqrt(3 (beta - 1)) near 1


def test_sparse_capacity_scaling_grows_as_coding_level_falls():
    a = np.array([0.2, 0.1, 0.01])
    assert np.all(np.diff(hp.sparse_capacity_scaling(a)) > 0)
    assert hp.sparse_capacity_scaling(0.01) == pytest.approx(1 / (0.02 * np.log(100)))


def test_excitatory_inhibitory_network_obeys_dale_and_retrieves_most_cues():
    rng = np.random.default_rng(5)
    a, n_e = 0.1, 2000
    patterns = hp.random_patterns(40, n_e, rng, coding_level=a)  # alpha = P / (c N_E) = 0.1
    net = hp.excitatory_inhibitory_network(patterns, a, n_inhibitory=500, connectivity=0.2, rng=rng)
    w = net.weights
    assert np.all(w[:, :n_e] >= 0) and np.all(w[:, n_e:] <= 0)
    e = w[:n_e, :n_e]
    assert np.count_nonzero((e > 0) != (e.T > 0)) > 0.5 * np.count_nonzero(e)  # mostly one-way
    retrieved = []
    for mu in range(12):
        final = net.retrieve(hp.silence(patterns[mu], 0.1, rng), rng)
        assert final.shape == (n_e,)
        retrieved.append(hp.overlaps(patterns[mu : mu + 1], final, coding_level=a)[0] > 0.8)
    assert np.mean(retrieved) >= 0.75


def test_half_retrieval_load_interpolates_the_crossing():
    assert hp.half_retrieval_load([0.1, 0.2, 0.3], [1.0, 0.75, 0.25]) == pytest.approx(0.25)
    assert np.isnan(hp.half_retrieval_load([0.1, 0.2], [1.0, 0.9]))
    assert np.isnan(hp.half_retrieval_load([0.1, 0.2], [0.2, 0.0]))
    with pytest.raises(ValueError, match="increasing"):
        hp.half_retrieval_load([0.2, 0.1], [1.0, 0.0])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda w, s: hp.run_asynchronous(w, s, max_sweeps=0), "max_sweeps"),
        (lambda w, s: hp.run_asynchronous(w, s * 0.5), "every neuron's state"),
        (lambda w, s: hp.run_asynchronous(w + np.eye(len(s), dtype=np.float32), s), "zero diagonal"),
        (lambda w, s: hp.run_asynchronous(w, s, temperature=-1), "temperature"),
        (lambda w, s: hp.run_asynchronous(w, s, visits=np.zeros(len(s), int)), "visits"),
        (lambda w, s: hp.run_asynchronous(w, s, threshold=[0, 1]), "threshold"),
        (lambda w, s: hp.run_asynchronous(w[:-1], s), "square"),
        (lambda w, s: hp.random_patterns(3, 10, coding_level=1.0), "coding_level"),
        (lambda w, s: hp.dilute(w, 0.0), "connectivity"),
        (lambda w, s: hp.flip_bits(s, 1.5), "fraction"),
        (lambda w, s: hp.silence(s, -0.1), "fraction"),
    ],
)
def test_bad_arguments_name_what_is_wrong(call, message):
    _, weights, _ = _network(n=50, p=3)
    state = np.ones(50, dtype=np.float32)
    with pytest.raises(ValueError, match=message):
        call(weights, state)


def test_gaussian_output_noise_gives_the_normal_cdf():
    # No coupling: each 0/1 neuron sees the drive 0 - theta = 0.5 plus Gaussian noise of SD 1.
    n = 4000
    weights = np.zeros((n, n), dtype=np.float32)
    run = hp.run_asynchronous(weights, np.zeros(n, dtype=np.float32), 3, max_sweeps=1, temperature=1.0,
                              threshold=-0.5, values=hp.BINARY, noise="gaussian", symmetric=True)
    expected = special.ndtr(0.5)
    assert run.state.mean() == pytest.approx(expected, abs=4 * np.sqrt(expected * (1 - expected) / n))
    with pytest.raises(ValueError, match="noise"):
        hp.run_asynchronous(weights[:4, :4], np.zeros(4, dtype=np.float32), values=hp.BINARY, noise="cauchy")
