import numpy as np
import pytest

from helpers.rng import as_generator


def test_seeds_and_generators():
    assert as_generator(3).random() == as_generator(3).random()
    generator = np.random.default_rng(0)
    assert as_generator(generator) is generator
    assert isinstance(as_generator(None), np.random.Generator)
    assert as_generator(np.int64(3)).random() == as_generator(3).random()


@pytest.mark.parametrize(
    ("value", "error"), [(-1, ValueError), ("seed", TypeError), (1.5, TypeError), (True, TypeError)]
)
def test_bad_rng_is_refused(value, error):
    with pytest.raises(error, match="rng"):
        as_generator(value)
