"""One place where every random draw of the package gets its generator."""

from __future__ import annotations

import numba
import numpy as np

RandomLike = np.random.Generator | int | None


def as_generator(rng: RandomLike) -> np.random.Generator:
    """Return a NumPy ``Generator`` from a generator, an integer seed or ``None``.

    ``None`` gives a fresh, unseeded generator: allowed for exploration, but the notebooks always
    pass a seed so that their stored outputs can be reproduced.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        if rng is not None and rng < 0:
            raise ValueError(f"rng seed must be a non-negative integer, got {rng}")
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy Generator, a non-negative int seed or None, got {type(rng).__name__}")


# --- a counter-based generator for numba kernels ----------------------------------------------
#
# Kernels that draw random numbers inside a parallel loop (the Poisson drive of a spiking
# network: about 10^8 draws per simulated second) cannot share a NumPy Generator, and numba's
# built-in generator keeps hidden per-thread state: its numbers depend on the thread count and
# cannot be saved with a run. Philox4x32-10 (Salmon, Moraes, Dror & Shaw 2011) has no state at
# all: its four 32-bit outputs are a bijective function of a 128-bit counter under a 64-bit key.
# A kernel names each number by (stream, counter), say (neuron, time step), so the same key gives
# the same numbers at any thread count and in any order, and a run resumes bit-exactly from the
# step it saved.

_PHILOX_M0 = np.uint64(0xD2511F53)
_PHILOX_M1 = np.uint64(0xCD9E8D57)
_PHILOX_W0 = np.uint64(0x9E3779B9)
_PHILOX_W1 = np.uint64(0xBB67AE85)
_LOW32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)
_TO_UNIT = 1.0 / 4294967296.0


@numba.njit(cache=True, inline="always")
def philox4x32(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10: four 32-bit words (as uint64 < 2^32) from a counter ``c0..c3`` and key ``k0, k1``.

    All arguments are integers below 2^32. Ten rounds, as in the Random123 reference; its
    published known-answer vectors are unit tests.
    """
    c0, c1, c2, c3 = np.uint64(c0), np.uint64(c1), np.uint64(c2), np.uint64(c3)
    k0, k1 = np.uint64(k0), np.uint64(k1)
    for _ in range(10):
        product0 = _PHILOX_M0 * c0
        product1 = _PHILOX_M1 * c2
        c0, c1, c2, c3 = (
            ((product1 >> _SHIFT32) ^ c1 ^ k0) & _LOW32,
            product1 & _LOW32,
            ((product0 >> _SHIFT32) ^ c3 ^ k1) & _LOW32,
            product0 & _LOW32,
        )
        k0 = (k0 + _PHILOX_W0) & _LOW32
        k1 = (k1 + _PHILOX_W1) & _LOW32
    return c0, c1, c2, c3


@numba.njit(cache=True, inline="always")
def uniforms4(key, stream, counter):
    """Four independent uniform numbers in (0, 1) named by ``(stream, counter)`` under ``key``.

    ``key`` is a pair of integers below 2^32 (``kernel_key``); ``stream`` and ``counter`` are
    non-negative integers below 2^64 (e.g. a neuron and a time step). Each number has 32 random
    bits and lies strictly between 0 and 1, so ``log(u)`` is always finite.
    """
    stream, counter = np.uint64(stream), np.uint64(counter)
    words = philox4x32(counter & _LOW32, counter >> _SHIFT32, stream & _LOW32, stream >> _SHIFT32, key[0], key[1])
    return (
        (words[0] + 0.5) * _TO_UNIT,
        (words[1] + 0.5) * _TO_UNIT,
        (words[2] + 0.5) * _TO_UNIT,
        (words[3] + 0.5) * _TO_UNIT,
    )


def kernel_key(rng: RandomLike) -> np.ndarray:
    """The 64-bit key of ``uniforms4``, two uint32 words drawn from ``rng`` (a Generator or a seed).

    The key is all the state there is: save it, and the counter a run reached, to resume the run.
    """
    return as_generator(rng).integers(0, 2**32, size=2, dtype=np.uint64)
