"""Crash-safe performance journal (JSON Lines) and its export to a MIDI file.

A performance appends each event as one JSON object per line while it plays: notes sent, beats, tempo
changes, style hits and (optionally) keypoints. Every record is written and flushed to the OS at once, so a
SIGKILL of the engine loses at most the line being written; ``os.fsync`` runs at most every
``fsync_interval_s`` seconds (0 = after every record) and on close, so an OS crash or power cut loses at most
that much. :func:`read_journal` skips a truncated last line; :func:`journal_to_midi` writes the take as a
standard MIDI file (drums on channel 10, piano on channel 1, with the tempo map from the tempo records).

Record format (``t``: seconds since the journal's origin, a ``time.monotonic()`` instant)::

    {"type": "header", "version": 1, "created_unix": 1790000000.0, "origin_monotonic": 1234.5, ...}
    {"type": "note", "t": 1.25, "track": "drums", "channel": 9, "pitch": 36, "velocity": 100, "duration": 0.1}
    {"type": "beat", "t": 1.25, "index": 3, "position_in_bar": 3, "bpm": 120.0, "confidence": 0.8}
    {"type": "tempo", "t": 1.25, "bpm": 121.5}
    {"type": "style", "t": 1.30, "strength": 0.7}
    {"type": "keypoints", "t": 1.27, "xy": [34 floats, NaN as null], "conf": [17 floats]}

``JournalWriter.note_on`` records a scheduled note at its time ``ScheduledNote.time_s``. In a performance it is fed
by the sender process
(:attr:`SenderProcess.on_sent <rhythmicnet_live.live.sender.SenderProcess>`) with the notes actually sent: a note
dropped as late, cut before it started by a stop, or refused by a full queue is not in the journal.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import mido
import numpy as np

from ..errors import UserInputError
from ..notes import DRUM_CHANNEL, PIANO_CHANNEL, Note
from ..offline.midi_file import MAX_BEAT_S, seconds_to_steps, take_midi
from .osc_out import track_of

if TYPE_CHECKING:
    from .scheduler import ScheduledNote

log = logging.getLogger(__name__)

JOURNAL_VERSION = 1
DEFAULT_BPM = 120.0


def new_journal_path(directory: str | os.PathLike, prefix: str = "take") -> Path:
    """A fresh journal path in ``directory``: ``<prefix>-YYYYmmdd-HHMMSS.jsonl`` (local time), with ``-2``,
    ``-3``... appended if that name is taken."""
    directory = Path(directory)
    stem = f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = directory / f"{stem}.jsonl", 1
    while path.exists():
        n += 1
        path = directory / f"{stem}-{n}.jsonl"
    return path


class JournalWriter:
    """Appends records to ``path`` (created with its parent folders; an existing file is refused).

    origin: the ``time.monotonic()`` instant that is t = 0 (default: now). Timestamps passed to the methods
    are ``time.monotonic()`` seconds (default: now). Thread-safe.
    """

    def __init__(self, path: str | os.PathLike, origin: float | None = None, fsync_interval_s: float = 0.5,
                 meta: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.origin = time.monotonic() if origin is None else origin
        self.fsync_interval_s = fsync_interval_s
        self.records = 0
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "x", encoding="utf-8")
        except FileExistsError as err:
            raise UserInputError(f"journal {self.path} already exists; choose a new name") from err
        except OSError as err:
            raise UserInputError(f"cannot write the journal {self.path}: {err.strerror or err}") from err
        self._last_sync = time.monotonic()
        header = {"type": "header", "version": JOURNAL_VERSION, "created_unix": time.time(),
                  "origin_monotonic": self.origin, **(meta or {})}
        self._write_line(header)
        self._sync()

    def _write_line(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":"), allow_nan=False)
        with self._lock:
            if self._file.closed:
                raise ValueError(f"journal {self.path} is closed")
            self._file.write(line + "\n")
            self._file.flush()  # in the OS now: survives the process being killed
            self.records += 1
            if time.monotonic() - self._last_sync >= self.fsync_interval_s:
                self._sync()

    def _sync(self) -> None:
        os.fsync(self._file.fileno())
        self._last_sync = time.monotonic()

    def _t(self, t: float | None) -> float:
        return round((time.monotonic() if t is None else t) - self.origin, 6)

    def write(self, type_: str, t: float | None = None, **fields: Any) -> None:
        """Append a record ``{"type": type_, "t": seconds since origin, **fields}`` (JSON-serialisable)."""
        self._write_line({"type": type_, "t": self._t(t), **fields})

    def note(self, track: str, pitch: int, velocity: int, duration_s: float, t: float | None = None,
             channel: int | None = None) -> None:
        """A note that sounded at monotonic time ``t`` for ``duration_s`` seconds."""
        if channel is None:
            channel = DRUM_CHANNEL if track == "drums" else PIANO_CHANNEL
        self.write("note", t, track=track, channel=int(channel), pitch=int(pitch), velocity=int(velocity),
                   duration=round(float(duration_s), 6))

    def beat(self, index: int, position_in_bar: int, bpm: float, confidence: float, t: float | None = None) -> None:
        self.write("beat", t, index=int(index), position_in_bar=int(position_in_bar), bpm=float(bpm),
                   confidence=float(confidence))

    def tempo(self, bpm: float, t: float | None = None) -> None:
        self.write("tempo", t, bpm=float(bpm))

    def style(self, strength: float, t: float | None = None) -> None:
        self.write("style", t, strength=float(strength))

    def keypoints(self, xy: Sequence[float], conf: Sequence[float] | None = None, t: float | None = None) -> None:
        """One frame of keypoints: ``xy`` 34 values (17 COCO joints x (x, y); NaN = missing, stored as null),
        ``conf`` 17 values in [0, 1]."""
        flat = [float(v) for v in (xy.ravel() if hasattr(xy, "ravel") else xy)]
        if len(flat) != 34:
            raise ValueError(f"keypoints xy must have 34 values, got {len(flat)}")
        rec: dict[str, Any] = {"xy": [None if math.isnan(v) else round(v, 5) for v in flat]}
        if conf is not None:
            rec["conf"] = [round(float(c), 4) for c in (conf.ravel() if hasattr(conf, "ravel") else conf)]
        self.write("keypoints", t, **rec)

    def note_on(self, event: "ScheduledNote") -> None:
        """Record a scheduled note at its time (the sender calls it with each note it has sent)."""
        n = event.note
        self.note(track_of(n), n.pitch, n.velocity, event.duration_s, t=event.time_s, channel=n.channel)

    def close(self) -> None:
        """fsync and close. Idempotent."""
        with self._lock:
            if self._file.closed:
                return
            self._sync()
            self._file.close()

    def __enter__(self) -> "JournalWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class Journal:
    """A journal read back. header: the first record. events: the other records in file order.
    truncated: the last line was incomplete (the writer was killed mid-line) and was skipped.
    skipped: other unreadable lines skipped."""

    header: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False
    skipped: int = 0

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == type_]


def read_journal(path: str | os.PathLike) -> Journal:
    """Read a journal, tolerating a truncated last line. Raises UserInputError if the file is missing or
    is not a journal (no header record)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UserInputError(f"cannot read journal {path}: {err}") from err
    lines = data.split(b"\n")
    # A complete file ends with "\n", so the last element is b""; anything else there is a partial line.
    tail = lines.pop()
    truncated = bool(tail.strip())
    records: list[dict[str, Any]] = []
    skipped = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict) or "type" not in rec:
                raise ValueError("not a record")
        except ValueError:
            skipped += 1
            log.warning("%s line %d is not a journal record; skipped", path, number)
            continue
        records.append(rec)
    if not records or records[0].get("type") != "header":
        raise UserInputError(f"{path} is not a rhythmicnet journal (no header record)")
    if records[0].get("version") != JOURNAL_VERSION:
        raise UserInputError(f"{path}: journal version {records[0].get('version')} is not supported")
    return Journal(header=records[0], events=records[1:], truncated=truncated, skipped=skipped)


def journal_beat_grid(journal: Journal) -> np.ndarray:
    """Beat times (s, from 0) for the journal's tempo map: the performance's own beats (beat records), preceded by
    beats that fill the time from 0 (none longer than MAX_BEAT_S); without two beats, a grid at the tempo records'
    tempi (120 BPM without any) long enough for every note."""
    beats = np.unique([e["t"] for e in journal.of_type("beat") if e["t"] > 0])
    beats = beats[np.concatenate([[True], np.diff(beats) > 1e-3])] if len(beats) else beats
    if len(beats) < 2:
        end = max([e["t"] + e.get("duration", 0.0) for e in journal.events if "t" in e] + [0.0]) + 2.0
        tempos = sorted((max(0.0, e["t"]), float(e["bpm"])) for e in journal.of_type("tempo") if e.get("bpm", 0) > 0)
        grid, t = [], 0.0
        while t <= end:
            grid.append(t)
            t += 60.0 / next((bpm for start, bpm in reversed(tempos) if start <= t), tempos[0][1] if tempos else DEFAULT_BPM)
        return np.asarray(grid + [t])
    lead = int(np.ceil(beats[0] / MAX_BEAT_S))
    return np.concatenate([np.linspace(0.0, beats[0], lead + 1)[:-1], beats])


def journal_to_midi(journal: Journal | str | os.PathLike, out_path: str | os.PathLike | None = None) -> mido.MidiFile:
    """The journal's notes as a type-1 MIDI file through the take writer (:func:`~rhythmicnet_live.offline.midi_file.take_midi`):
    the performance's beats are the tempo map (:func:`journal_beat_grid`), drums on channel 10, piano on channel 1.
    Note times keep their seconds (up to a tick). Written to ``out_path`` if given."""
    if not isinstance(journal, Journal):
        journal = read_journal(journal)
    grid = journal_beat_grid(journal)
    notes = []
    for e in journal.of_type("note"):
        start = max(0.0, e["t"])
        on, off = seconds_to_steps(np.array([start, start + e["duration"]]), grid)
        notes.append(Note(e["track"], int(e["pitch"]), max(1, min(127, int(e["velocity"]))), float(on),
                          float(off - on)))
    midi = take_midi(notes, grid)
    if out_path is not None:
        midi.save(out_path)
    return midi
