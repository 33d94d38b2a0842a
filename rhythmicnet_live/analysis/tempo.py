"""Tempo from the periodicity of the body's motion: a tempo distribution per frame for the beat tracker.

A dancer repeats their moves every beat or every few beats, so the motion's autocorrelation peaks at multiples of
the beat period even where the beat activation does not say which frames are beats. ``MotionTempo`` looks at the
last ``window_s`` seconds of joint velocities (x and y of the 17 joints, 34 channels, each standardised over the
window), sums the channels' autocorrelations (normalised to 1 at lag 0, unbiased) and scores every tempo bin by
the mean autocorrelation at 1 .. ``pulses`` of its beat periods. The distribution over ``bins`` (BPM) is
``softmax(sharpness x score)`` times a log-normal prior (``prior_bpm``, ``prior_width`` in natural-log units).

The beat tracker takes it as an observation of the tempo: ``BeatTracker(tempo_bins=MotionTempo.bins,
tempo_weight=...)`` and ``process_online(a, tempo=p)`` / ``decode_offline(a, tempo)``. ``MOTION_TEMPO_SETTINGS``
are what the test folds chose in cross-validation by dancer on AIST++ (``python -m export.beats.evaluate --cv ROW``,
"motion tempo").

Causal: the distribution of frame t uses frames up to t. NaN (no tempo evidence) while fewer than
``min_history_s`` seconds are in the window, and on frames without a body.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from .. import FPS

#: Tempo bins (BPM): 49 log-spaced over 60-180 (2.3% apart).
TEMPO_BINS = np.exp(np.linspace(np.log(60.0), np.log(180.0), 49))
#: MotionTempo's settings and the tracker's ``tempo_weight``, chosen per test fold on AIST++ (see the module docstring).
MOTION_TEMPO_SETTINGS = {"sharpness": 30.0, "prior_bpm": 120.0, "prior_width": 0.3, "tempo_weight": 1.0}


def joint_velocity(previous: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Velocities (34,) of the 17 joints from ``previous`` to ``xy`` (17, 2) (normalised units per frame); 0 for a
    joint missing (NaN) in either frame."""
    v = np.asarray(xy, np.float64) - np.asarray(previous, np.float64)
    return np.where(np.isfinite(v), v, 0.0).reshape(-1)


class MotionTempo:
    """Per-frame tempo distributions (over ``bins``, BPM) from the motion's autocorrelation; see the module docstring.

    ``process_online(xy)`` takes one frame (17, 2) and returns the distribution (K,) of that frame;
    ``process_offline(xy)`` returns (T, K) for a whole clip (T, 17, 2), equal to it frame by frame.
    """

    def __init__(self, bins: np.ndarray = TEMPO_BINS, window_s: float = 8.0, pulses: int = 4,
                 sharpness: float = MOTION_TEMPO_SETTINGS["sharpness"],
                 prior_bpm: float | None = MOTION_TEMPO_SETTINGS["prior_bpm"],
                 prior_width: float = MOTION_TEMPO_SETTINGS["prior_width"], min_history_s: float = 2.0,
                 fps: float = FPS):
        if not (window_s > 0 and pulses >= 1 and sharpness > 0 and prior_width > 0):
            raise ValueError("need window_s > 0, pulses >= 1, sharpness > 0 and prior_width > 0")
        self.bins = np.asarray(bins, np.float64)
        self.window = int(round(window_s * fps))
        self.min_history = int(round(min_history_s * fps))
        self.sharpness = sharpness
        self.lags = 60.0 * fps / self.bins[:, None] * np.arange(1, pulses + 1)[None, :]  # (K, pulses) frames
        self.log_prior = (np.zeros(len(self.bins)) if prior_bpm is None
                          else -0.5 * (np.log(self.bins / prior_bpm) / prior_width) ** 2)
        self.reset()

    def reset(self) -> None:
        self.previous: np.ndarray | None = None
        self.velocities: deque[np.ndarray] = deque(maxlen=self.window)

    def scores(self, velocities: np.ndarray) -> np.ndarray:
        """Score per bin (K,) of a window of velocities (n, 34): mean normalised autocorrelation at the bin's
        beat periods (those shorter than n - 20 frames; 0 if none)."""
        n = len(velocities)
        x = velocities - velocities.mean(0)
        sd = x.std(0)
        moving = sd > 1e-9
        if not moving.any():
            return np.zeros(len(self.bins))
        x = x[:, moving] / sd[moving]
        spectrum = np.fft.rfft(x, 2 * n, axis=0)
        acf = np.fft.irfft(spectrum.real ** 2 + spectrum.imag ** 2, axis=0)[:n].sum(1) / np.arange(n, 0, -1)
        acf /= acf[0]
        usable = self.lags < n - 20
        values = np.interp(self.lags, np.arange(n), acf)
        return np.where(usable, values, 0.0).sum(1) / np.maximum(usable.sum(1), 1)

    def observe(self, xy: np.ndarray, reset: bool = False) -> bool:
        """Buffer one frame (17, 2) (NaN = missing joint) without scoring it; true if the frame has a body and the
        window holds enough history for a distribution (what ``process_online`` then returns)."""
        if reset:
            self.reset()
        xy = np.asarray(xy, np.float64)
        if self.previous is not None:
            self.velocities.append(joint_velocity(self.previous, xy))
        self.previous = xy
        return bool(np.isfinite(xy).all(-1).any()) and len(self.velocities) >= self.min_history

    def process_online(self, xy: np.ndarray, reset: bool = False) -> np.ndarray:
        """One frame (17, 2) (NaN = missing joint) -> tempo distribution (K,) (NaN: no body or too little history)."""
        if not self.observe(xy, reset=reset):
            return np.full(len(self.bins), np.nan)
        log_p = self.sharpness * self.scores(np.asarray(self.velocities)) + self.log_prior
        p = np.exp(log_p - log_p.max())
        return p / p.sum()

    def process_offline(self, xy: np.ndarray) -> np.ndarray:
        """Tempo distributions (T, K) for a whole clip (T, 17, 2)."""
        self.reset()
        out = np.stack([self.process_online(frame) for frame in np.asarray(xy)]) if len(xy) else \
            np.zeros((0, len(self.bins)))
        self.reset()
        return out
