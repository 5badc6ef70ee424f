import numpy as np
import pytest

from helpers import learning, network
from helpers.rules import PUBLISHED_RULE
from helpers.transfer import PUBLISHED_MEDIANS

TRANSFER, RULE = PUBLISHED_MEDIANS, PUBLISHED_RULE
FEEDFORWARD = learning.OnlineSettings(presentation=0.01, recurrent_gain=0.0)


@pytest.fixture(scope="module")
def small():
    conn = network.random_connectivity(400, 0.1, 1)
    return conn, network.draw_patterns(400, 6, 2)


def test_feedforward_online_learning_is_the_one_shot_sum(small):
    conn, patterns = small
    online = learning.learn_online(conn, patterns, TRANSFER, RULE, FEEDFORWARD)
    one_shot = network.hebbian_weights(conn, patterns, TRANSFER, RULE)
    scale = network.weight_scale(RULE, conn)
    np.testing.assert_allclose(online.weights.values, one_shot.values, atol=1e-5 * scale)


def test_decay_discounts_older_patterns(small):
    conn, patterns = small
    decay = 0.3
    online = learning.learn_online(
        conn, patterns[:2], TRANSFER, RULE, learning.OnlineSettings(0.01, decay=decay, recurrent_gain=0.0)
    )
    first, second = (network.hebbian_weights(conn, patterns[[k]], TRANSFER, RULE).values for k in (0, 1))
    np.testing.assert_allclose(online.weights.values, (1 - decay) * first + second, atol=1e-5 * np.abs(second).max())


def test_bound_clips_every_weight(small):
    conn, patterns = small
    settings = learning.OnlineSettings(0.01, bound=0.05, recurrent_gain=0.0)
    online = learning.learn_online(conn, patterns, TRANSFER, RULE, settings)
    limit = 0.05 * network.weight_scale(RULE, conn)
    assert np.abs(online.weights.values).max() <= limit * (1 + 1e-6)
    assert np.mean(np.abs(online.weights.values) >= limit * (1 - 1e-6)) > 0.1  # the bound is reached


def test_settings_are_checked():
    with pytest.raises(ValueError, match=r"decay must be a number in \[0, 0.999\]"):
        learning.OnlineSettings(decay=1.0)
    with pytest.raises(ValueError, match=r"recurrent_gain must be a number in \[0, 1\]"):
        learning.OnlineSettings(recurrent_gain=-0.1)
    with pytest.raises(ValueError, match="bound must be a finite number > 0"):
        learning.OnlineSettings(bound=0.0)


def test_an_interrupted_run_resumes_from_its_checkpoint(small, tmp_path, monkeypatch):
    conn, patterns = small
    settings = learning.OnlineSettings(presentation=0.02, recurrent_gain=1.0)
    whole = learning.learn_online(conn, patterns, TRANSFER, RULE, settings)
    checkpoint = tmp_path / "online.npz"
    calls = {"n": 0}
    real_run = learning.run_rates

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real_run(*args, **kwargs)

    monkeypatch.setattr(learning, "run_rates", interrupted)
    with pytest.raises(KeyboardInterrupt):
        learning.learn_online(conn, patterns, TRANSFER, RULE, settings, checkpoint=checkpoint, save_every=2)
    with np.load(checkpoint) as saved:
        assert int(saved["done"]) == 4
    monkeypatch.setattr(learning, "run_rates", real_run)
    resumed = learning.learn_online(conn, patterns, TRANSFER, RULE, settings, checkpoint=checkpoint, save_every=2)
    np.testing.assert_array_equal(resumed.weights.values, whole.weights.values)
    np.testing.assert_array_equal(resumed.rates, whole.rates)
    with pytest.raises(ValueError, match="checkpoint online.npz was made from other"):
        learning.learn_online(conn, patterns[::-1], TRANSFER, RULE, settings, checkpoint=checkpoint)


def test_memory_strength_is_one_for_stored_and_zero_for_novel_patterns():
    n, p = 3000, 10
    conn = network.random_connectivity(n, 0.1, 3)
    patterns = network.draw_patterns(n, 2 * p, 4)
    weights = network.hebbian_weights(conn, patterns[:p], TRANSFER, RULE)
    stored = learning.memory_strength(weights, patterns[:p], TRANSFER, RULE)
    novel = learning.memory_strength(weights, patterns[p:], TRANSFER, RULE)
    assert stored.mean() == pytest.approx(1.0, abs=0.1)
    assert np.abs(novel.mean()) < 0.1
