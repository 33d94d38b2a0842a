"""The one token sampler of the drum and piano generators."""

import numpy as np

from rhythmicnet_live.generation.sampling import sample_top_k


def test_top_k_allowed_and_greedy():
    rng = np.random.default_rng(0)
    logits = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    draws = {sample_top_k(logits, rng, 1.0, top_k=2) for _ in range(300)}
    assert draws == {0, 1}
    allowed = np.array([False, True, True, True, True])
    draws = {sample_top_k(logits, rng, 1.0, top_k=2, allowed=allowed) for _ in range(300)}
    assert draws == {1, 2}
    assert sample_top_k(logits, rng, 0.0, allowed=allowed) == 1
    draws = [sample_top_k(logits, rng, 100.0, top_k=0) for _ in range(2000)]
    assert set(draws) == {0, 1, 2, 3, 4}  # a high temperature spreads over every allowed token


def test_temperature_sharpens():
    rng = np.random.default_rng(1)
    logits = np.array([1.0, 0.0])
    cold = np.mean([sample_top_k(logits, rng, 0.2) == 0 for _ in range(2000)])
    warm = np.mean([sample_top_k(logits, rng, 1.0) == 0 for _ in range(2000)])
    assert cold > 0.95 and 0.65 < warm < 0.80  # softmax([1, 0]) = 0.73
