"""The counter-based generator of the numba kernels (helpers.rng.philox4x32, uniforms4)."""

import numba
import numpy as np
import pytest
from scipy import stats

from helpers import rng

# Random123's published known-answer vectors for Philox4x32-10 (counter, key, output).
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize(("counter", "key", "expected"), KNOWN_ANSWERS)
def test_philox_gives_the_reference_implementations_known_answers(counter, key, expected):
    assert tuple(int(word) for word in rng.philox4x32(*counter, *key)) == expected


@numba.njit(parallel=True)  # not cached: the cache would tie it to one module name
def _fill(key, n_streams, n_counters, first_counter):
    out = np.empty((n_streams, 4 * n_counters))
    for stream in numba.prange(n_streams):
        for t in range(n_counters):
            u = rng.uniforms4(key, stream, first_counter + t)
            for k in range(4):
                out[stream, 4 * t + k] = u[k]
    return out


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two numba threads")
def test_the_same_key_gives_the_same_numbers_at_any_thread_count_and_resumes_exactly():
    key = rng.kernel_key(7)
    draws = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        try:
            draws.append(_fill(key, 64, 100, 0))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert np.array_equal(draws[0], draws[1])
    # A run that stopped at counter 40 and resumed from it draws the same numbers.
    resumed = np.concatenate([_fill(key, 64, 40, 0), _fill(key, 64, 60, 40)], axis=1)
    assert np.array_equal(resumed, draws[0])
    assert not np.array_equal(_fill(rng.kernel_key(8), 64, 100, 0), draws[0])


def test_the_numbers_are_uniform_on_the_open_interval_and_independent():
    draws = _fill(rng.kernel_key(11), 200, 1000, 2**40)  # counters above 2^32 use the high word
    assert 0.0 < draws.min() and draws.max() < 1.0
    assert stats.kstest(draws.ravel(), "uniform").pvalue > 1e-3
    # neighbouring streams and neighbouring counters are uncorrelated
    assert abs(np.corrcoef(draws[:-1].ravel(), draws[1:].ravel())[0, 1]) < 5 / np.sqrt(draws[1:].size)
    assert abs(np.corrcoef(draws[:, :-1].ravel(), draws[:, 1:].ravel())[0, 1]) < 5 / np.sqrt(draws.size)


def test_kernel_key_descends_from_the_seed():
    assert np.array_equal(rng.kernel_key(3), rng.kernel_key(np.random.default_rng(3)))
    assert rng.kernel_key(3).shape == (2,) and rng.kernel_key(3).max() < 2**32
