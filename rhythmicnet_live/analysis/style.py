"""The style stream (paper section 3): sudden moves found in joint velocities.

directogram (T, B): per frame, joint speeds binned by motion angle (B angle bins), summed over joints.
kinematic offsets (T,): positive first difference of the directogram, averaged over bins.
energy (T,): short-time energy, a moving sum of the offsets over the last ``window`` frames.
hits: frames where the energy peaks above a threshold.

``StyleProcessor.process_offline`` thresholds at a percentile of the whole clip (the paper's "top 10%");
``process_online`` is causal: the same energy, a running percentile over the recent past as the
threshold, and a peak confirmed ``lookahead`` frames late. With the same fixed threshold both give the
same hits (tests check this).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from .. import FPS

NUM_ANGLE_BINS = 8


def directogram_frame(prev_xy: np.ndarray, xy: np.ndarray, num_bins: int = NUM_ANGLE_BINS) -> np.ndarray:
    """Directogram row (num_bins,) from two consecutive frames (17, 2); NaN row if no joint moved visibly."""
    velocity = xy - prev_xy
    ok = np.isfinite(velocity).all(-1)
    row = np.zeros(num_bins)
    if not ok.any():
        return np.full(num_bins, np.nan)
    speed = np.linalg.norm(velocity[ok], axis=-1)
    angle = np.arctan2(velocity[ok, 1], velocity[ok, 0])
    bins = ((angle + np.pi) / (2 * np.pi) * num_bins).astype(int) % num_bins
    np.add.at(row, bins, speed)
    return row


def directogram(xy: np.ndarray, num_bins: int = NUM_ANGLE_BINS) -> np.ndarray:
    """Directogram (T, num_bins) of normalised keypoints xy (T, 17, 2); row 0 is NaN (no velocity yet)."""
    out = np.full((len(xy), num_bins), np.nan)
    for t in range(1, len(xy)):
        out[t] = directogram_frame(xy[t - 1], xy[t], num_bins)
    return out


class KinematicOffsets:
    """Directogram -> kinematic offset per frame, offline over (T, 17, 2) or online one (17, 2) frame at a time.

    A frame whose directogram (or the previous one) is missing gives NaN.
    """

    def __init__(self, num_bins: int = NUM_ANGLE_BINS):
        self.num_bins = num_bins
        self.reset()

    def reset(self) -> None:
        self.prev_xy: np.ndarray | None = None
        self.prev_row = np.full(self.num_bins, np.nan)

    def process_offline(self, xy: np.ndarray) -> np.ndarray:
        dg = directogram(xy, self.num_bins)
        diff = np.diff(dg, axis=0, prepend=np.full((1, self.num_bins), np.nan))
        return np.maximum(diff, 0.0).mean(axis=1)

    def process_online(self, xy: np.ndarray, reset: bool = False) -> float:
        if reset:
            self.reset()
        row = np.full(self.num_bins, np.nan) if self.prev_xy is None else directogram_frame(self.prev_xy, xy, self.num_bins)
        offset = float(np.maximum(row - self.prev_row, 0.0).mean())
        self.prev_xy, self.prev_row = xy, row
        return offset


@dataclass
class StyleStream:
    """Offline style analysis. energy: (T,) per frame; hits: frame indices (int) of sudden moves."""

    energy: np.ndarray
    hits: np.ndarray


def is_peak(values: np.ndarray, centre: int, radius: int, threshold: float) -> bool:
    """values[centre] is above threshold and the first maximum within +-radius frames."""
    v = values[centre]
    if not np.isfinite(v) or v <= threshold:
        return False
    lo = max(0, centre - radius)
    window = np.nan_to_num(values[lo: centre + radius + 1], nan=-np.inf)
    return int(np.argmax(window)) == centre - lo


class StyleProcessor:
    """Sudden moves from keypoints.

    window: frames of the short-time energy moving sum; lookahead: frames a peak must stay the
    maximum (also the online delay); percentile: hits are above this percentile of the energy
    (whole clip offline, the last ``history_s`` seconds online); threshold: a fixed energy threshold
    instead of the percentile; min_energy: energy below this never counts (a still body).
    """

    def __init__(
        self,
        window: int = 6,
        lookahead: int = 3,
        percentile: float = 90.0,
        history_s: float = 8.0,
        fps: float = FPS,
        threshold: float | None = None,
        min_energy: float = 0.05,
    ):
        self.window, self.lookahead, self.percentile = window, lookahead, percentile
        self.history = int(history_s * fps)
        self.threshold = threshold
        self.min_energy = min_energy
        self.offsets = KinematicOffsets()
        self.reset()

    def reset(self) -> None:
        self.offsets.reset()
        self.frame = -1
        self.recent_offsets: deque[float] = deque(maxlen=self.window)
        self.recent_energy: deque[float] = deque(maxlen=self.history)

    def energy_offline(self, offsets: np.ndarray) -> np.ndarray:
        """Causal moving sum over ``window`` frames (NaN offsets count as 0), shape (T,)."""
        clean = np.nan_to_num(offsets, nan=0.0)
        csum = np.concatenate([[0.0], np.cumsum(clean)])
        idx = np.arange(1, len(clean) + 1)
        return csum[idx] - csum[np.maximum(idx - self.window, 0)]

    def process_offline(self, xy: np.ndarray) -> StyleStream:
        """Energy and hit frames for normalised keypoints xy (T, 17, 2)."""
        energy = self.energy_offline(self.offsets.process_offline(xy))
        threshold = self.threshold
        if threshold is None:
            threshold = float(np.percentile(energy, self.percentile)) if len(energy) else 0.0
        threshold = max(threshold, self.min_energy)
        hits = [t for t in range(len(energy)) if is_peak(energy, t, self.lookahead, threshold)]
        return StyleStream(energy, np.asarray(hits, dtype=np.int64))

    def process_online(self, xy: np.ndarray, reset: bool = False) -> tuple[float, int | None]:
        """Feed one frame (17, 2): returns (energy of this frame, frame index of a hit confirmed now or None).

        A hit at frame f is confirmed at frame f + lookahead.
        """
        if reset:
            self.reset()
        self.frame += 1
        self.recent_offsets.append(np.nan_to_num(self.offsets.process_online(xy), nan=0.0))
        energy = float(sum(self.recent_offsets))
        self.recent_energy.append(energy)
        centre = self.frame - self.lookahead
        if centre < 0:
            return energy, None
        values = np.asarray(self.recent_energy)
        local = len(values) - 1 - self.lookahead
        if local < 0:
            return energy, None
        threshold = self.threshold
        if threshold is None:
            threshold = float(np.percentile(values, self.percentile))
        threshold = max(threshold, self.min_energy)
        # The peak test sees the past (as far as the history reaches) and lookahead frames ahead.
        return energy, centre if is_peak(values, local, self.lookahead, threshold) else None
