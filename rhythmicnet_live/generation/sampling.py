"""Token sampling shared by the drum and piano generators."""

from __future__ import annotations

import numpy as np


def sample_top_k(logits: np.ndarray, rng: np.random.Generator, temperature: float = 1.0, top_k: int = 0,
                 allowed: np.ndarray | None = None) -> int:
    """An index drawn from softmax(logits / temperature) over the ``top_k`` most likely allowed entries.

    logits: (V,); allowed: (V,) bool mask (default: all); temperature <= 0 takes the most likely allowed entry;
    top_k = 0 samples among all allowed entries.
    """
    scores = np.asarray(logits, dtype=np.float64)
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    if temperature <= 0:
        return int(np.argmax(scores))
    n_allowed = int(np.isfinite(scores).sum())
    k = n_allowed if not top_k else max(1, min(int(top_k), n_allowed))
    top = np.argpartition(-scores, k - 1)[:k]
    z = scores[top] / temperature
    cdf = np.cumsum(np.exp(z - z.max()))
    return int(top[min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), k - 1)])
