import numba
import numpy as np
import pytest

from helpers._llvm import prefetch


@numba.njit
def _sum_with_prefetch(values, ahead):
    total = 0.0
    for i in range(values.shape[1]):
        if i + ahead < values.shape[1]:
            prefetch(values, (1, i + ahead))
        total += values[1, i]
    return total


def test_prefetch_changes_no_value():
    values = np.arange(20.0).reshape(2, 10)
    assert _sum_with_prefetch(values, 3) == values[1].sum()


def test_prefetch_wants_one_index_per_dimension():
    @numba.njit
    def wrong(values):
        prefetch(values, (0,))

    with pytest.raises(numba.core.errors.TypingError):
        wrong(np.zeros((2, 2)))
