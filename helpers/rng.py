"""One place where every random draw of the package gets its generator."""

from __future__ import annotations

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
