"""Note scheduler: sends every note at its time on the monotonic clock, early by the output latency.

The generators hand over :class:`ScheduledNote` objects (an absolute ``time.monotonic()`` time in seconds at
which the note should *sound*, a Note-like object with ``channel``, ``pitch``, ``velocity`` and optionally
``track``, and a duration in seconds). A dedicated thread sends the note-on ``latency_s`` seconds before that
time (so that it sounds on time after the DAW/synth's output latency) and its note-off ``duration_s`` later, to
every sink (:class:`~rhythmicnet_live.live.midi_out.MidiOutput`, :class:`~rhythmicnet_live.live.osc_out.OscOutput`, a
journal sink...). The wait is precise: sleep until about 1 ms before, then spin.

Guarantees:
- every note-on sent gets exactly one note-off: a new note on a (channel, pitch) that is still sounding first
  ends the old one (retrigger) and the old one's pending note-off is dropped; :meth:`NoteScheduler.stop`
  drops the notes not yet started, sends the note-offs of the sounding ones at once and then
  ``all_notes_off()`` on every sink;
- the queue is bounded: :meth:`NoteScheduler.schedule` never blocks; when ``max_pending`` note-ons are
  waiting it refuses the note and counts it in ``dropped``;
- a note-on more than ``max_late_s`` past due when its turn comes is not sent (counted in ``late``): a drum
  hit 100 ms late sounds wrong, silence does not;
- every message sent is recorded as a :class:`TimingRecord` (due time, sent time) for jitter measurement, in
  a ring of the last ``max_records`` (bounded memory on an all-night show), plus whole-run counters
  (``sent_messages``, ``max_jitter_s``).

Usage::

    sched = NoteScheduler([midi, osc], latency_s=0.02).start()
    sched.schedule(ScheduledNote(time.monotonic() + 0.5, Note("drums", 36, 100, 0.0, 1.0), 0.1))
    ...
    sched.close()          # stop (note-offs, all notes off) and end the thread
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Iterable, Protocol

from .timing import SPIN_S, DueQueue, try_realtime, wait_until

log = logging.getLogger(__name__)

_OFF, _ON = 0, 1  # at equal due times a note-off goes before a note-on


@dataclass(frozen=True)
class ScheduledNote:
    """time_s: ``time.monotonic()`` seconds at which the note should sound. note: Note-like (``channel`` 0-based,
    ``pitch``, ``velocity`` 1..127, optional ``track``), e.g. :class:`rhythmicnet_live.notes.Note`.
    duration_s: seconds from note-on to note-off (> 0)."""

    time_s: float
    note: Any
    duration_s: float


class NoteSink(Protocol):
    """Where scheduled notes go. Called from the scheduler thread (or from ``stop``'s caller)."""

    def note_on(self, event: ScheduledNote) -> None: ...

    def note_off(self, event: ScheduledNote) -> None: ...

    def all_notes_off(self) -> None: ...


def check_note(event: ScheduledNote) -> None:
    """Raise ValueError unless the duration is > 0 and channel 0..15, pitch 0..127, velocity 1..127."""
    if not event.duration_s > 0:
        raise ValueError(f"duration_s must be > 0, got {event.duration_s}")
    n = event.note
    if not (0 <= n.channel <= 15 and 0 <= n.pitch <= 127 and 1 <= n.velocity <= 127):
        raise ValueError(f"note out of MIDI range (channel 0..15, pitch 0..127, velocity 1..127): {n}")


@dataclass(frozen=True)
class TimingRecord:
    """One message sent. kind: "on" or "off". due_s: when it should have left (``time_s - latency_s``, plus
    the duration for an off). sent_s: when every sink had it. Both ``time.monotonic()`` seconds;
    jitter = sent_s - due_s."""

    kind: str
    due_s: float
    sent_s: float


class NoteScheduler:
    """Sends :class:`ScheduledNote` objects to ``sinks`` at their time; see the module docstring.

    latency_s: output-latency compensation (seconds, >= 0): note-ons leave this much before ``time_s``.
    max_pending: most note-ons waiting at once. max_late_s: note-ons later than this are not sent.
    max_records: timing records kept (a ring: the oldest are dropped first).
    spin_s: the last ``spin_s`` seconds before a due time are spun rather than slept (0 = sleep only).
    realtime: try to run the sending thread at SCHED_FIFO priority (Linux, best effort; see ``realtime_ok``).
    """

    def __init__(self, sinks: Iterable[NoteSink], latency_s: float = 0.0, max_pending: int = 4096,
                 max_late_s: float = 0.05, max_records: int = 4096, spin_s: float = SPIN_S,
                 realtime: bool = True) -> None:
        if latency_s < 0:
            raise ValueError(f"latency_s must be >= 0, got {latency_s}")
        self.sinks = list(sinks)
        self.latency_s = latency_s
        self.max_pending = max_pending
        self.max_late_s = max_late_s
        self.spin_s = spin_s
        self.realtime = realtime
        self.realtime_ok = False  # set by the thread: it runs at real-time priority
        self.dropped = 0  # refused by schedule(): queue full
        self.late = 0  # note-ons not sent: past due by more than max_late_s
        self.sink_errors = 0
        self.sent_messages = 0  # every message sent since start (records() keeps only the last max_records)
        self.max_jitter_s = 0.0  # largest sent - due over the whole run (s)
        self._records: deque[TimingRecord] = deque(maxlen=max_records)
        self._queue = DueQueue(spin_s)  # items (kind, event, token); at equal due times note-offs go first
        self._pending_ons = 0
        self._tokens = itertools.count()  # one per note-on; its note-off carries it
        self._sounding: dict[tuple[int, int], tuple[int, ScheduledNote]] = {}  # (channel, pitch) -> (token, ev)
        self._lock = threading.Lock()  # the counters, the records and the closing flag
        self._dispatch = threading.Lock()  # held while due events are popped and sent, and by stop()
        self._closing = False
        self._thread: threading.Thread | None = None

    # -- public API ----------------------------------------------------------------------------------
    def start(self) -> "NoteScheduler":
        """Start the sending thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="note-scheduler", daemon=True)
            self._thread.start()
        return self

    def schedule(self, event: ScheduledNote) -> bool:
        """Queue a note; never blocks. False (and ``dropped`` += 1) if ``max_pending`` notes are waiting.
        Raises ValueError for a non-positive duration or a channel/pitch/velocity outside MIDI's range
        (velocity 1..127), RuntimeError after :meth:`close`."""
        check_note(event)
        with self._lock:
            if self._closing:
                raise RuntimeError("schedule() on a closed NoteScheduler")
            if self._pending_ons >= self.max_pending:
                self.dropped += 1
                return False
            self._queue.push(event.time_s - self.latency_s, (_ON, event, next(self._tokens)), rank=_ON)
            self._pending_ons += 1
            return True

    def pending(self) -> int:
        """Note-ons waiting to be sent."""
        with self._lock:
            return self._pending_ons

    def sounding(self) -> int:
        """Notes sent and not yet ended."""
        with self._dispatch:
            return len(self._sounding)

    def records(self) -> list[TimingRecord]:
        """Timing of the messages sent so far (oldest first)."""
        with self._lock:
            return list(self._records)

    def stop(self) -> None:
        """Drop the notes not yet started, end the sounding ones now, then ``all_notes_off()`` on every sink.
        The thread keeps running: new notes can be scheduled afterwards."""
        with self._dispatch:
            with self._lock:
                self._queue.clear()
                self._pending_ons = 0
            for _, event in list(self._sounding.values()):
                self._to_sinks("note_off", event)
            self._sounding.clear()
            for sink in self.sinks:
                self._call(sink, "all_notes_off")

    def close(self) -> None:
        """:meth:`stop`, then end the thread. Idempotent."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
        self._queue.close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.stop()

    def __enter__(self) -> "NoteScheduler":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------------------
    def _call(self, sink: NoteSink, method: str, *args: Any) -> None:
        try:
            getattr(sink, method)(*args)
        except Exception:
            self.sink_errors += 1
            log.exception("note sink %r failed in %s", sink, method)

    def _to_sinks(self, method: str, event: ScheduledNote) -> None:
        for sink in self.sinks:
            self._call(sink, method, event)

    def _run(self) -> None:
        if self.realtime:
            self.realtime_ok = try_realtime()
            log.info("note scheduler thread at real-time priority: %s", self.realtime_ok)
        while (due := self._queue.wait()) is not None:
            wait_until(due, spin_s=self.spin_s)
            try:
                self._send_due()
            except Exception:  # keep the engine playing; never leave a note hanging
                log.exception("note scheduler error; sending all notes off")
                self.stop()

    def _send_due(self) -> None:
        with self._dispatch:
            with self._lock:
                due = self._queue.pop_due(time.monotonic())
                self._pending_ons -= sum(item[0] == _ON for _, item in due)
            for due_s, (kind, event, token) in due:
                key = (event.note.channel, event.note.pitch)
                if kind == _OFF:
                    current = self._sounding.get(key)
                    if current is None or current[0] != token:
                        continue  # retriggered or stopped: its note-off was already sent
                    del self._sounding[key]
                    self._to_sinks("note_off", event)
                    self._record("off", due_s)
                    continue
                if time.monotonic() - due_s > self.max_late_s:
                    self.late += 1
                    continue
                if key in self._sounding:  # retrigger: end the old note first
                    self._to_sinks("note_off", self._sounding.pop(key)[1])
                    self._record("off", due_s)
                self._sounding[key] = (token, event)
                self._to_sinks("note_on", event)
                self._record("on", due_s)
                self._queue.push(due_s + event.duration_s, (_OFF, event, token), rank=_OFF)

    def _record(self, kind: str, due_s: float) -> None:
        sent = time.monotonic()
        with self._lock:
            self._records.append(TimingRecord(kind, due_s, sent))
            self.sent_messages += 1
            self.max_jitter_s = max(self.max_jitter_s, sent - due_s)
