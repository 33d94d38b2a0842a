"""Writing a take (any tracks of Notes) to one Standard MIDI file with one tempo map from beat times.

Ticks follow the musical grid (480 ticks per beat, a 16th step = 120 ticks) and a tempo event at every beat makes
each beat sound at its time in ``beat_times``, so drums (channel 10) and piano (channel 1) share one time base.
"""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np

from ..notes import STEPS_PER_BEAT, Note

TICKS_PER_BEAT = 480
TICKS_PER_STEP = TICKS_PER_BEAT // STEPS_PER_BEAT
TRACK_PROGRAMS = {"piano": 0}
MAX_BEAT_S = 16.0  # a MIDI tempo holds at most 16.7 s per beat  # GM program per melodic track (drums need none: channel 10)


def steps_to_seconds(steps: np.ndarray | float, beat_times: np.ndarray) -> np.ndarray:
    """Seconds of 16th-step times through the beat times (seconds of beat 0, 1, ...), extrapolated at the ends."""
    beats = np.asarray(beat_times, dtype=float)
    if len(beats) < 2:
        raise ValueError("need at least two beat times")
    b = np.asarray(steps, dtype=float) / STEPS_PER_BEAT
    idx = np.clip(np.floor(b).astype(int), 0, len(beats) - 2)
    return beats[idx] + (b - idx) * (beats[idx + 1] - beats[idx])


def seconds_to_steps(seconds: np.ndarray | float, beat_times: np.ndarray) -> np.ndarray:
    """16th steps of times in seconds through the beat times: the inverse of :func:`steps_to_seconds`."""
    beats = np.asarray(beat_times, dtype=float)
    if len(beats) < 2:
        raise ValueError("need at least two beat times")
    t = np.asarray(seconds, dtype=float)
    idx = np.clip(np.searchsorted(beats, t, side="right") - 1, 0, len(beats) - 2)
    return STEPS_PER_BEAT * (idx + (t - beats[idx]) / (beats[idx + 1] - beats[idx]))


def write_take_midi(notes: list[Note], beat_times, path: Path) -> Path:
    """Write :func:`take_midi` of ``notes`` and ``beat_times`` to ``path`` (folders created); returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    take_midi(notes, beat_times).save(str(path))
    return path


def take_midi(notes: list[Note], beat_times) -> mido.MidiFile:
    """``notes`` (steps from the take start) as a type-1 MIDI file whose tempo map follows ``beat_times``.

    beat_times: seconds of each beat on the media's clock (step 0 is beat 0 at beat_times[0]). The file's time 0
    is media time 0: a lead-in (whole beats at a slow tempo) fills the time before the first beat, so a take
    rendered from this file lines up with its video from the first frame. One track per note track, on the
    track's channel (drums 10, piano 1); a note still sounding when its pitch starts again is ended there.
    """
    beats = np.asarray(beat_times, dtype=float)
    if len(beats) < 2 or np.any(np.diff(beats) <= 0):
        raise ValueError("beat_times must hold at least two increasing times")
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    tempo = mido.MidiTrack()
    tempo.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    intervals = np.diff(beats)
    last_beat = max((n.step + n.duration for n in notes), default=0.0) / STEPS_PER_BEAT
    n_beats = max(len(intervals), int(np.ceil(last_beat)) + 1)
    events, prev = [], None
    lead_beats = int(np.ceil(beats[0] / MAX_BEAT_S)) if beats[0] > 1e-4 else 0
    if lead_beats:
        events.append((0, mido.MetaMessage("set_tempo", tempo=int(round(1e6 * beats[0] / lead_beats)))))
    lead = lead_beats * TICKS_PER_BEAT
    for i in range(n_beats):
        us = int(round(1e6 * intervals[min(i, len(intervals) - 1)]))
        if us != prev:
            events.append((lead + i * TICKS_PER_BEAT, mido.MetaMessage("set_tempo", tempo=us)))
            prev = us
    _delta(tempo, events)
    mid.tracks.append(tempo)
    for track in sorted({n.track for n in notes}):
        events = []
        chosen = [n for n in notes if n.track == track]
        channel = chosen[0].channel
        if track in TRACK_PROGRAMS:
            events.append((0, mido.Message("program_change", channel=channel, program=TRACK_PROGRAMS[track])))
        next_on: dict[int, int] = {}  # pitch -> tick of its next note-on (the notes are walked backwards)
        for n in sorted(chosen, key=lambda n: n.step, reverse=True):
            on = max(0, lead + int(round(n.step * TICKS_PER_STEP)))
            off = max(on + 1, lead + int(round((n.step + n.duration) * TICKS_PER_STEP)))
            off = max(on + 1, min(off, next_on.get(int(n.pitch), off)))
            next_on[int(n.pitch)] = on
            vel = int(np.clip(n.velocity, 1, 127))
            events.append((on, mido.Message("note_on", channel=channel, note=int(n.pitch), velocity=vel)))
            events.append((off, mido.Message("note_off", channel=channel, note=int(n.pitch), velocity=0)))
        midi_track = mido.MidiTrack()
        midi_track.append(mido.MetaMessage("track_name", name=track, time=0))
        _delta(midi_track, events)
        mid.tracks.append(midi_track)
    return mid


def _delta(track: mido.MidiTrack, events: list[tuple[int, mido.Message]]) -> None:
    """Append (absolute tick, message) events to ``track`` with delta times (note-offs first at equal ticks)."""
    now = 0
    for tick, msg in sorted(events, key=lambda e: (e[0], e[1].type != "note_off")):
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
