"""Musical time in one place: beat index, bar and position, tempo, tempo lock, downbeat, and the events they make.

The :class:`Transport` is pure (no threads, no I/O) and reads time only from an injected clock (seconds on
``time.monotonic()``'s scale by default), so a test can drive it with a fake clock.

The beat decoder *observes* beats (late: after the activation's delay and the filter's decision); the transport
*announces* them ahead. Each observed beat (its time and the decoder's prediction of the next one) moves a beat
grid: the next beat is due one period after the last due beat, pulled toward the body's prediction by half the
difference, clamped to ``max_correction`` of a period (a smaller clamp when the tempo is held). Each announced
beat gets an index (0, 1, 2 ... since the start), a position in the bar counted from the movable downbeat, and
the tempo the grid actually plays from the previous due beat to this one, which is what the MIDI clock follows.

Tempo sources: the dancer (mean of the last ``settle_beats`` observed beat intervals, each divided by the number
of periods it spans), a lock on that settled tempo, or a tempo from outside (a known tempo, tap tempo, a DAW's
MIDI clock, an Ableton Link session) set with :meth:`Transport.set_tempo`. The phase comes from the body; taps
(:meth:`Transport.tap`) put the next announced beat on their grid, and the body moves it from there.

Every output listens to the events (each stamped with the monotonic time ``due_s`` it is due to sound): the
sender process sends OSC messages and anchors the MIDI clock at that time, the journal records them, the
preview flashes on them.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Union

import numpy as np

from ..notes import STEPS_PER_BEAT, Note

BEATS_PER_BAR = 4
#: An observed beat confirms the previous prediction when it lands within this share of a period of it.
CONFIRM_SHARE = 0.2
#: Coasting: a beat is announced without an observation this share of a period before it is due, for at most
#: this many beats after the last observation.
COAST_LEAD, COAST_BEATS = 0.3, 4
#: Tap tempo: taps further apart than this (seconds) start a new tap sequence.
TAP_RESET_S = 2.0


@dataclass(frozen=True)
class BeatEvent:
    """Beat ``index`` (since the start), ``position`` in the bar (0 = downbeat), the grid's tempo into this beat
    (BPM) and the decoder's confidence (0..1), due at ``due_s``."""

    due_s: float
    index: int
    position: int
    bpm: float
    confidence: float


@dataclass(frozen=True)
class BarEvent:
    """Bar ``bar`` starts at ``due_s`` (its downbeat)."""

    due_s: float
    bar: int


@dataclass(frozen=True)
class TempoEvent:
    """The tempo (BPM) from ``due_s`` on; ``held``: locked or set from outside rather than following the dancer."""

    due_s: float
    bpm: float
    held: bool


@dataclass(frozen=True)
class StyleEvent:
    """A sudden move of ``strength`` 0..1 made at ``at_s``, known (and due) at ``due_s``; ``step``: the 16th step
    of the bar it fell on (0..15), None before the first beat."""

    due_s: float
    strength: float
    step: int | None
    at_s: float


@dataclass(frozen=True)
class KeypointsEvent:
    """One camera frame's pose at ``due_s`` (its capture time): ``xy`` 34 floats in pixels (x0 y0 ... x16 y16,
    NaN = missing), ``conf`` 17 floats 0..1, ``body`` 34 floats in normalised body coordinates (None when the
    frame gave no internal 30 fps frame)."""

    due_s: float
    xy: tuple[float, ...]
    conf: tuple[float, ...]
    body: tuple[float, ...] | None


@dataclass(frozen=True)
class NoteEvent:
    """``note`` sounds at ``due_s`` for ``duration_s`` seconds."""

    due_s: float
    note: Note
    duration_s: float


Event = Union[BeatEvent, BarEvent, TempoEvent, StyleEvent, KeypointsEvent, NoteEvent]
Listener = Callable[[Event], None]


def tap_grid(taps: list[float]) -> tuple[float, float]:
    """(time of the last tap's beat, period), seconds: the line fitted to ``taps`` (s, two or more, increasing) by
    least squares, each tap counted as the beat nearest its place on the grid of their median interval (so a skipped
    beat is allowed). For 4 taps with 15 ms jitter the fitted period's error is 6.6 ms (s.d.), the median interval's 11.6."""
    median = statistics.median(b - a for a, b in zip(taps, taps[1:]))
    beats = np.array([round((t - taps[0]) / median) for t in taps], dtype=float)
    if np.ptp(beats) == 0:
        return float(taps[-1]), float(median)
    period, start = np.polyfit(beats, np.asarray(taps, dtype=float), 1)
    return float(start + period * beats[-1]), float(period)


class Transport:
    """The beat grid and its events; see the module docstring.

    clock: seconds, monotonic. settle_beats: observed intervals averaged for the settled tempo.
    max_correction / held_correction: the most a beat moves toward the body's prediction, as a share of the
    period, when following the dancer / when the tempo is held (locked or from outside).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, beats_per_bar: int = BEATS_PER_BAR,
                 settle_beats: int = 6, max_correction: float = 0.25, held_correction: float = 0.04) -> None:
        self.clock = clock
        self.beats_per_bar = beats_per_bar
        self.max_correction = max_correction
        self.held_correction = held_correction
        self._listeners: list[Listener] = []
        self._intervals: deque[float] = deque(maxlen=settle_beats)
        self._last_observed: float | None = None
        self._expected: float | None = None  # the next beat the last observation predicted (s)
        self._held_period: float | None = None  # locked or external tempo (s per beat)
        self._external = False
        self._taps: list[float] = []
        self._tap_grid: tuple[float, float] | None = None  # (the last tap's beat s, period s) until a beat lands on it
        self._downbeat = 0
        self.index = -1  # the latest announced beat
        self.last_due: float | None = None  # its due time (s)
        self.period = 0.5  # seconds per beat the grid plays
        self.bpm = 120.0  # the grid's tempo into the latest beat

    # ---- listeners -----------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every event, in the order they are made."""
        self._listeners.append(listener)

    def _emit(self, event: Event) -> Event:
        for listener in self._listeners:
            listener(event)
        return event

    # ---- tempo ---------------------------------------------------------------------------------
    @property
    def settled_period(self) -> float | None:
        """The dancer's tempo as seconds per beat: mean of the recent observed intervals (None before two beats)."""
        return statistics.fmean(self._intervals) if self._intervals else None

    @property
    def held(self) -> bool:
        """The tempo is locked or comes from outside."""
        return self._held_period is not None

    def lock(self, on: bool) -> None:
        """Hold the settled tempo (not the last beat's estimate), or follow the dancer again."""
        if on and not self._external:
            self._held_period = self.settled_period or self.period
        elif not on and not self._external:
            self._held_period = None

    def set_tempo(self, bpm: float | None) -> None:
        """Take the tempo from outside (known tempo, tap, MIDI clock in, Link), or None to follow the dancer."""
        self._external = bpm is not None
        self._held_period = None if bpm is None else 60.0 / bpm
        if bpm is not None:
            self.period = self._held_period

    def tap(self, t: float | None = None, bpm_range: tuple[float, float] = (0.0, float("inf"))) -> float | None:
        """A tap at ``t`` (default now). Returns the tap tempo (BPM: 60 / the period of ``tap_grid``) once two taps at most
        ``TAP_RESET_S`` apart are in and it is within ``bpm_range``, else None. The taps also give the phase: the
        next beat announced lands on their grid (``tapped_beat``), and from there the body moves it as usual."""
        t = self.clock() if t is None else t
        if self._taps and t - self._taps[-1] > TAP_RESET_S:
            self._taps = []
        self._taps = (self._taps + [t])[-8:]
        if len(self._taps) < 2:
            return None
        beat, period = tap_grid(self._taps)
        if not period > 0 or not bpm_range[0] <= 60.0 / period <= bpm_range[1]:
            return None
        self._tap_grid = (beat, period)
        return 60.0 / period

    @property
    def tapped_beat(self) -> float | None:
        """The time (s) of the last tap's beat on the grid fitted to the taps, until a beat is announced on it."""
        return None if self._tap_grid is None else self._tap_grid[0]

    def until_tapped_beat(self, t: float) -> float | None:
        """Seconds from time ``t`` (s) to the next beat on the taps' grid, in [0, period); None when there is none."""
        if self._tap_grid is None:
            return None
        tapped, period = self._tap_grid
        return (tapped - t) % period

    # ---- position ------------------------------------------------------------------------------
    def position_of(self, index: int) -> int:
        return (index - self._downbeat) % self.beats_per_bar

    def bar_of(self, index: int) -> int:
        return (index - self._downbeat) // self.beats_per_bar

    def beat_at(self, t: float) -> float | None:
        """The grid's continuous beat number at time ``t`` (None before the first beat)."""
        if self.last_due is None:
            return None
        return self.index + (t - self.last_due) / self.period

    def downbeat(self, t: float | None = None) -> int | None:
        """"This beat is one": the beat nearest ``t`` (default now) becomes position 0. Returns its index."""
        beat = self.beat_at(self.clock() if t is None else t)
        if beat is None:
            return None
        self._downbeat = round(beat)
        return self._downbeat

    def predicted_beats(self, count: int = 4) -> list[float]:
        """Due times (s) of the next ``count`` beats from now on the current grid."""
        if self.last_due is None:
            return []
        now = self.clock()
        first = self.last_due + max(0, -(-(now - self.last_due) // self.period)) * self.period
        return [first + k * self.period for k in range(count)]

    # ---- inputs --------------------------------------------------------------------------------
    def observe_beat(self, t_beat: float, next_s: float, confidence: float) -> BeatEvent | None:
        """The decoder saw a beat at ``t_beat`` (s) and predicts the next one ``next_s`` seconds after it.

        Announces the next grid beat (BeatEvent, TempoEvent, and BarEvent on a downbeat) and returns the beat,
        or None when the observation only confirms the beat already announced, or when nothing is announced
        yet and this observation did not land where the previous one predicted (the decoder is still settling).
        """
        expected, self._expected = self._expected, t_beat + next_s
        if expected is not None:  # an interval counts when the beat came where the decoder said it would
            spans = max(1, round((t_beat - self._last_observed) / next_s))
            interval = (t_beat - self._last_observed) / spans
            if abs(t_beat - (expected + (spans - 1) * next_s)) <= CONFIRM_SHARE * next_s and \
                    abs(interval / next_s - 1) <= CONFIRM_SHARE:  # and agrees with the decoder's own period
                self._intervals.append(interval)
            elif self.last_due is None:
                expected = None
        self._last_observed = t_beat
        if expected is None and self.last_due is None:
            return None  # the first beat is announced once an observation confirms a prediction
        self.period = self._held_period or self.settled_period or next_s
        predicted = t_beat + next_s
        if self._tap_grid is not None:
            due, spans = self._on_tap_grid(predicted)
        elif self.last_due is None:
            due, spans = predicted, 1
        else:
            spans = round((predicted - self.last_due) / self.period)
            if spans < 1:
                return None
            limit = (self.held_correction if self.held else self.max_correction) * self.period
            grid = self.last_due + spans * self.period
            due = grid + min(max(0.5 * (predicted - grid), -limit), limit)
        now = self.clock()
        while due < now:  # a beat already past (after an absence) would only be late: announce the next one
            due += self.period
            spans += 1
        return self._announce(due, spans, confidence)

    def _on_tap_grid(self, predicted: float) -> tuple[float, int]:
        """The tap grid's beat nearest ``predicted`` (at least half a period after the last due beat) and the
        beats it spans; the grid is used once."""
        tapped, period = self._tap_grid
        self._tap_grid = None
        due = tapped + round((predicted - tapped) / period) * period
        if self.last_due is None:
            return due, 1
        while due < self.last_due + 0.5 * self.period:
            due += period
        return due, max(1, round((due - self.last_due) / self.period))

    def coast(self) -> BeatEvent | None:
        """Announce the next grid beat without an observation when none came in time (a beat the decoder
        missed or reports late), at most ``COAST_BEATS`` beats after the last observation; call it every frame
        while the dancer is there. Returns the beat (confidence 0) or None."""
        if self.last_due is None or self._last_observed is None:
            return None
        due = self.last_due + self.period
        now = self.clock()
        if not due - COAST_LEAD * self.period <= now < due or due - self._last_observed > COAST_BEATS * self.period:
            return None
        return self._announce(due, 1, 0.0)

    def _announce(self, due: float, spans: int, confidence: float) -> BeatEvent:
        bpm = 60.0 / self.period if self.last_due is None else 60.0 * spans / (due - self.last_due)
        self.index += spans
        self.last_due, self.bpm = due, bpm
        position = self.position_of(self.index)
        self._emit(TempoEvent(due, bpm, self.held))
        beat = self._emit(BeatEvent(due, self.index, position, bpm, float(confidence)))
        if position == 0:
            self._emit(BarEvent(due, self.bar_of(self.index)))
        return beat

    def style(self, strength: float, t: float | None = None) -> StyleEvent:
        """A sudden move made at ``t`` (default now), placed on the bar's 16th grid; due now."""
        now = self.clock()
        t = now if t is None else t
        beat = self.beat_at(t)
        step = None if beat is None else round((beat - self._downbeat) * STEPS_PER_BEAT) % (
            self.beats_per_bar * STEPS_PER_BEAT)
        return self._emit(StyleEvent(now, float(strength), step, t))

    def keypoints(self, t: float, xy, conf, body=None) -> KeypointsEvent:
        """A camera frame's pose (see :class:`KeypointsEvent`) captured at ``t``."""
        flat = tuple(float(v) for v in xy.ravel())
        return self._emit(KeypointsEvent(t, flat, tuple(float(c) for c in conf),
                                         None if body is None else tuple(float(v) for v in body.ravel())))

    def note(self, note: Note, due_s: float, duration_s: float) -> NoteEvent:
        return self._emit(NoteEvent(due_s, note, duration_s))
