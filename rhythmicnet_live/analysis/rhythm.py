"""Video2Rhythm, one pipeline for takes and live: keypoints -> beat activation -> beats (HMM) + style hits ->
16th-note rhythm.

:class:`RhythmPipeline` holds the three stages. ``process_offline`` decodes a whole clip (Viterbi) for takes and
``beats``; ``process_online`` takes one 30 fps frame at a time (forward filtering) for the live engine, whose
transport then puts beats and style hits on the bar's 16th grid. Both run the same activation, decoder and style
processors, so takes and live playing cannot drift apart.

The rhythm lives on a 16th-note grid anchored to the decoded beats (each beat split into 4 steps,
times interpolated between beats), one bar (16 steps) at a time: a step is a tap where a beat falls
or where a style hit (a sudden move) is nearest.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .hmm import BeatTracker, OnlineBeat
from ..input.keypoints import Keypoints
from ..notes import STEPS_PER_BAR, STEPS_PER_BEAT
from .style import StyleProcessor
from .tempo import MotionTempo


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


class ActivationProcessor(Protocol):
    """A beat activation: per frame in [0, 1] (NaN = no body) at ``FPS``; ``delay_s``: seconds between a frame and
    the moment ``process_online`` returns its activation (its lookahead)."""

    delay_s: float

    def process_online(self, xy: np.ndarray, reset: bool = False) -> float: ...

    def process_offline(self, xy: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class RhythmFrame:
    """What one online frame gave: its activation (NaN = no body), the decoder's report (a beat observed here
    belongs to the frame ``delay_s`` back), the style energy and whether a sudden move was confirmed now."""

    activation: float
    beat: OnlineBeat
    energy: float
    hit: bool


class RhythmPipeline:
    """Activation -> beat decoder -> style, offline and online (see the module docstring).

    activation: an :class:`ActivationProcessor`; tracker: the beat decoder (default ``BeatTracker()``);
    style: the sudden-move detector (default ``StyleProcessor()``); tempo: a ``MotionTempo`` whose distributions
    the tracker takes as an observation of the tempo, or None. Online, the distribution passed with an activation
    is that of the activation's own frame (``delay`` frames back); while the tracker has no ``tempo_bins`` (a known
    tempo, taps, a clock), the motion is only buffered, so a later searching tracker gets its tempo at once.
    """

    def __init__(self, activation: ActivationProcessor, tracker: BeatTracker | None = None,
                 style: StyleProcessor | None = None, tempo: MotionTempo | None = None) -> None:
        self.activation = activation
        self.tracker = tracker or BeatTracker()
        self.style = style or StyleProcessor()
        self.tempo = tempo
        self._tempo_pending: deque[np.ndarray] = deque(maxlen=int(getattr(activation, "delay", 0)) + 1)

    @property
    def delay_s(self) -> float:
        """Seconds an online beat report lags its frame: the activation's lookahead."""
        return self.activation.delay_s

    def retune(self, tracker: BeatTracker) -> None:
        """Decode with ``tracker`` from the next frame on (a new tempo range or a known tempo)."""
        self.tracker = tracker

    def process_online(self, xy: np.ndarray, reset: bool = False) -> RhythmFrame:
        """One frame of normalised keypoints (17, 2) at ``FPS``."""
        activation = self.activation.process_online(xy, reset=reset)
        tempo = None
        if self.tempo is not None:
            if reset:
                self._tempo_pending.clear()
            if self.tracker.tempo_map is None:  # this tracker ignores the tempo: keep the window, skip the scoring
                self.tempo.observe(xy, reset=reset)
                self._tempo_pending.append(None)
            else:
                self._tempo_pending.append(self.tempo.process_online(xy, reset=reset))
            tempo = self._tempo_pending[0]
        beat = self.tracker.process_online(activation, reset=reset, tempo=tempo)
        energy, hit = self.style.process_online(xy, reset=reset)
        return RhythmFrame(float(activation), beat, energy, hit is not None)

    def process_offline(self, kp: Keypoints) -> RhythmAnalysis:
        """The rhythm of prepared keypoints ``kp`` (uniform ``FPS``, normalised), decoded over the whole clip."""
        fps = self.tracker.fps
        start = float(kp.times[0]) if len(kp) else 0.0
        activation = self.activation.process_offline(kp.xy)
        beat_times, tempo = self.tracker.decode_offline(
            activation, None if self.tempo is None else self.tempo.process_offline(kp.xy))
        beats = start + beat_times
        stream = self.style.process_offline(kp.xy)
        hits = start + stream.hits / fps
        steps = step_grid(beats)
        return RhythmAnalysis(fps, start, activation, beats, tempo, stream.energy, hits, steps,
                              rhythm_taps(steps, beats, hits))
