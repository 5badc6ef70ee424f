"""The package's threading choices (helpers.threads): made once, obeyed, and without effect on results."""

import os
import subprocess
import sys

import numba
import numpy as np
import pytest

from helpers import network, threads
from helpers.rules import PUBLISHED_RULE
from helpers.transfer import PUBLISHED_MEDIANS, phi

_PROBE = (
    "import os, numba, numpy as np; from helpers import network;"
    "w = network.hebbian_weights(network.random_connectivity(400, 0.1, 1), network.draw_patterns(400, 4, 2),"
    " __import__('helpers.transfer').transfer.PUBLISHED_MEDIANS, __import__('helpers.rules').rules.PUBLISHED_RULE);"
    "print(numba.threading_layer(), os.environ.get('OMP_WAIT_POLICY'))"
)


def _layer_in_a_fresh_process(**environment) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_THREADING_LAYER", "OMP_WAIT_POLICY")}
    env.update(environment)
    done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_package_runs_its_kernels_on_the_workqueue_layer():
    layer, _ = _layer_in_a_fresh_process()
    assert layer == threads.THREADING_LAYER == "workqueue"


def test_a_users_layer_is_kept_and_openmp_waits_passively():
    layer, policy = _layer_in_a_fresh_process(NUMBA_THREADING_LAYER="omp")
    assert (layer, policy) == ("omp", "passive")
    _, policy = _layer_in_a_fresh_process(NUMBA_THREADING_LAYER="omp", OMP_WAIT_POLICY="active")
    assert policy == "active"


def test_small_work_runs_on_one_thread_and_large_on_all():
    assert threads.threads_for(threads.MIN_PARALLEL_WORK - 1) == 1
    assert threads.threads_for(threads.MIN_PARALLEL_WORK) == numba.get_num_threads()


def test_for_work_sets_the_count_inside_the_block_and_restores_it():
    before = numba.get_num_threads()
    with threads.for_work(10):
        assert numba.get_num_threads() == 1
        with threads.for_work(threads.MIN_PARALLEL_WORK):  # nested: back to the outer ceiling, not to 1
            assert numba.get_num_threads() == before
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two numba threads")
def test_the_rate_dynamics_give_identical_results_on_one_and_two_threads(monkeypatch):
    """Rows are summed by one thread each in a fixed order: the thread count changes no bit."""
    n = 3000
    weights = network.hebbian_weights(
        network.random_connectivity(n, 0.2, 3), network.draw_patterns(n, 20, 4), PUBLISHED_MEDIANS, PUBLISHED_RULE
    )
    start = phi(network.draw_patterns(n, 9, 5), PUBLISHED_MEDIANS)
    monkeypatch.setattr(threads, "MIN_PARALLEL_WORK", 0)  # parallel even at this size
    results = []
    for count in (1, 2):
        numba.set_num_threads(count)
        try:
            results.append([network.run_rates(weights, PUBLISHED_MEDIANS, rates, 0.05) for rates in (start[0], start)])
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for one, two in zip(*results, strict=True):
        assert np.array_equal(one, two)


def test_one_blas_thread_limits_blas_inside_the_block_only():
    from threadpoolctl import threadpool_info

    def blas_threads():
        return {pool["filepath"]: pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    before = blas_threads()
    assert before, "numpy and scipy load a BLAS library"
    with threads.one_blas_thread():
        assert set(blas_threads().values()) == {1}
    assert blas_threads() == before


def test_least_squares_fits_and_arpack_run_blas_on_one_thread(monkeypatch):
    # Chapter 2's bootstrap and chapter 4's eigenvalues ran 9-11x and 2x slower on a busy machine
    # with BLAS's own threads: each solver call must see one BLAS thread.
    from scipy import optimize
    from scipy.sparse import linalg as sparse_linalg
    from threadpoolctl import threadpool_info

    from helpers import retrieval, rules, transfer

    seen = []

    def recording(solver):
        def call(*args, **kwargs):
            seen.append({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"})
            return solver(*args, **kwargs)
        return call

    monkeypatch.setattr(optimize, "least_squares", recording(optimize.least_squares))
    monkeypatch.setattr(sparse_linalg, "eigs", recording(sparse_linalg.eigs))
    rng = np.random.default_rng(3)
    rates = np.sort(rng.uniform(0, 60, 200))
    rules.fit_post_factor(rates, rules.amplitude_times_f(rates, 1.0, 0.8, 0.3, 26.0))
    transfer.fit_quantile_map(rng.gamma(2.0, 5.0, 300))
    connectivity = network.random_connectivity(300, 0.1, rng)
    patterns = network.draw_patterns(300, 3, rng)
    weights = network.hebbian_weights(connectivity, patterns, PUBLISHED_MEDIANS, rules.PUBLISHED_RULE)
    retrieval.leading_eigenvalues(weights, PUBLISHED_MEDIANS, transfer.phi(patterns[0], PUBLISHED_MEDIANS))
    assert len(seen) == 3 and all(threads_seen == {1} for threads_seen in seen), seen
