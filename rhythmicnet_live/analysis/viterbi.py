"""Compiled (numba) kernel of ``BeatTracker.viterbi``: beat-pointer Viterbi decoded beat by beat.

Between two beats the pointer only advances, so the best score at pointer 0 of tempo k at step t is
``max_j [best at pointer 0 of tempo j at step t - n_j + that beat's evidence + log A(j, k)]`` plus the evidence at t.
The maximum over j is a distance transform in log tempo (two running maxima, see ``TempoTransitionModel``), so a
step costs O(K) for K tempi, not O(states). Arrays are float64 unless said; ``u`` indexes padded steps (step
``u - pad``).
"""

from __future__ import annotations

import numpy as np
from numba import njit


def _beat_viterbi(log_ratio, n, pad, intervals, first, ones, edge, on_weight, log_normaliser, cost, log_floor,
                  log_arrival, log_weight, initial, prior, prior_cumulative):  # pragma: no cover - compiled
    """Most likely state path (n,) int64.

    log_ratio (n + 3 pad,): log P(a | beat) - log P(a | no beat) at padded step u (0 outside the clip and for
    missing steps). intervals, first, ones (int64, K), edge (K,): a tempo's beat interval (steps), the state of its
    pointer 0 (``BeatStateSpace.first``) and its observation
    weights (pointers d and n - d weigh 1 for 1 <= d <= ones, ``edge`` for d = ones + 1). on_weight (K,): the
    weight of pointer 0. log_normaliser, cost, log_arrival (K,), log_floor, log_weight (K, K): ``TempoTransitionModel``.
    initial (K,): log probability of each tempo's states at step 0. prior (n + 2 pad, K) and prior_cumulative
    (n + 2 pad + 1, K): per-step tempo log weights and their running sum (both with 0 rows: no tempo prior).
    """
    num_tempi = intervals.shape[0]
    width = n + 2 * pad
    with_prior = prior.shape[0] > 0
    cumulative = np.zeros(log_ratio.shape[0] + 1)
    for u in range(log_ratio.shape[0]):
        cumulative[u + 1] = cumulative[u] + log_ratio[u]

    def beat(u, k):  # evidence of pointers 1 .. n_k - 1 of a beat of tempo k that starts at u, less the normaliser
        m, o = intervals[k], ones[k]
        out = (cumulative[u + o + 1] - cumulative[u + 1] + cumulative[u + m] - cumulative[u + m - o]
               + edge[k] * (log_ratio[u + o + 1] + log_ratio[u + m - o - 1]) - log_normaliser[k])
        if with_prior:
            out += prior_cumulative[min(u + m, width), k] - prior_cumulative[u + 1, k]
        return out

    def on_beat(u, k):
        out = log_ratio[u] * on_weight[k]
        if with_prior:
            out += prior[u, k]
        return out

    # leaving[u, k]: best score at the last pointer of the beat of tempo k that starts at u (pointer 0 there, then
    # that beat's evidence), less log_normaliser[k]; before step 0 the initial distribution.
    leaving = np.empty((n + pad, num_tempi))
    for u in range(pad):
        for k in range(num_tempi):
            leaving[u, k] = initial[k] + beat(u, k)
    for k in range(num_tempi):
        leaving[pad, k] = initial[k] + (on_beat(pad, k) + beat(pad, k))
    arriving, scores = np.empty(num_tempi), np.empty(num_tempi)
    for u in range(pad + 1, pad + n):
        best_leaving = -np.inf
        running = -np.inf  # from faster tempi (shorter intervals: j <= k)
        for k in range(num_tempi):
            score = leaving[u - intervals[k], k]
            scores[k] = score - cost[k]
            best_leaving = max(best_leaving, score)
            running = max(running, score + cost[k])
            arriving[k] = running - cost[k]
        floor = best_leaving + log_floor
        running = -np.inf  # from slower tempi (j >= k)
        for k in range(num_tempi - 1, -1, -1):
            running = max(running, scores[k])
            best = max(arriving[k], running + cost[k], floor) + log_arrival[k]
            leaving[u, k] = best + (on_beat(u, k) + beat(u, k))
    # Pointer p of tempo k at the last step is the beat of tempo k that started at n - 1 - p.
    best, k, start = -np.inf, 0, 0
    for j in range(num_tempi):
        for p in range(intervals[j]):
            score = leaving[pad + n - 1 - p, j] + log_normaliser[j]
            if score > best:
                best, k, start = score, j, n - 1 - p
    path = np.empty(n, np.int64)
    end = n
    while True:
        for t in range(max(start, 0), end):
            path[t] = first[k] + t - start
        if start <= 0:
            return path
        end = start
        best, source = -np.inf, 0
        for j in range(num_tempi):
            score = leaving[pad + start - intervals[j], j] + log_weight[j, k]
            if score > best:
                best, source = score, j
        k = source
        start -= intervals[k]


try:
    beat_viterbi = njit(cache=True, nogil=True)(_beat_viterbi)
except RuntimeError:  # numba found no writable cache folder: compile in memory on each start instead
    beat_viterbi = njit(nogil=True)(_beat_viterbi)
