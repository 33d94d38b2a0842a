"""Video2Rhythm, offline: keypoints -> beat activation -> beats (HMM) + style hits -> 16th-note rhythm.

The rhythm lives on a 16th-note grid anchored to the decoded beats (each beat split into 4 steps,
times interpolated between beats), one bar (16 steps) at a time: a step is a tap where a beat falls
or where a style hit (a sudden move) is nearest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .hmm import BeatTracker
from ..input.keypoints import Keypoints
from ..notes import STEPS_PER_BAR, STEPS_PER_BEAT
from .style import StyleProcessor


@dataclass
class RhythmAnalysis:
    """Everything the offline analysis of one clip found.

    activation: (T,) beat activation in [0, 1] at ``fps`` (NaN = no body); frame 0 is at ``start`` s.
    beats: beat times (s). tempo: (T,) BPM per frame along the decoded path.
    style_energy: (T,); style_hits: times (s) of sudden moves.
    step_times: (N,) time (s) of every 16th step, from the first beat; taps: (N,) 0/1 rhythm per step.
    """

    fps: float
    start: float
    activation: np.ndarray
    beats: np.ndarray
    tempo: np.ndarray
    style_energy: np.ndarray
    style_hits: np.ndarray
    step_times: np.ndarray
    taps: np.ndarray

    @property
    def num_bars(self) -> int:
        """Bars that hold at least one beat (the last one may be incomplete)."""
        return -(-len(self.taps) // STEPS_PER_BAR)

    def bar_taps(self, bar: int) -> np.ndarray:
        """Taps (16,) of bar ``bar``; steps past the last decoded beat keep tapping the beat."""
        taps = np.zeros(STEPS_PER_BAR, dtype=np.int8)
        taps[::STEPS_PER_BEAT] = 1
        known = self.taps[bar * STEPS_PER_BAR:(bar + 1) * STEPS_PER_BAR]
        taps[:len(known)] = known
        return taps


def step_grid(beats: np.ndarray) -> np.ndarray:
    """Times (s) of 16th steps between consecutive beats, plus one beat's worth after the last beat."""
    if len(beats) < 2:
        return np.zeros(0)
    beats = np.append(beats, beats[-1] + (beats[-1] - beats[-2]))
    positions = np.arange((len(beats) - 1) * STEPS_PER_BEAT) / STEPS_PER_BEAT
    return np.interp(positions, np.arange(len(beats)), beats)


def rhythm_taps(step_times: np.ndarray, beats: np.ndarray, style_hits: np.ndarray) -> np.ndarray:
    """0/1 per step: every beat step, plus the step nearest each style hit."""
    taps = np.zeros(len(step_times), dtype=np.int8)
    taps[::STEPS_PER_BEAT] = 1
    if len(step_times):
        for hit in style_hits:
            if step_times[0] <= hit <= step_times[-1]:
                taps[int(np.argmin(np.abs(step_times - hit)))] = 1
    return taps


def analyse(kp: Keypoints, activation_processor, tracker: BeatTracker | None = None,
            style: StyleProcessor | None = None) -> RhythmAnalysis:
    """Offline rhythm of prepared keypoints ``kp`` (uniform ``FPS``, normalised).

    activation_processor: any object with ``process_offline(xy (T, 17, 2)) -> (T,)``.
    """
    tracker = tracker or BeatTracker()
    style = style or StyleProcessor()
    fps = tracker.fps
    start = float(kp.times[0]) if len(kp) else 0.0
    activation = activation_processor.process_offline(kp.xy)
    beat_times, tempo = tracker.decode_offline(activation)
    beats = start + beat_times
    stream = style.process_offline(kp.xy)
    hits = start + stream.hits / fps
    steps = step_grid(beats)
    return RhythmAnalysis(fps, start, activation, beats, tempo, stream.energy, hits, steps,
                          rhythm_taps(steps, beats, hits))
