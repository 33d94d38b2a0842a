"""The note scheduler in its own process, away from the engine's GIL.

In one process the scheduler thread has to win the GIL from the pose, beat and generation threads before it
can send: with one busy Python thread beside it, jitter p99 grows from 0.2 ms to about 9 ms on a loaded
machine (``benchmarks/bench_scheduler.py --gil-load``), whatever its priority. :class:`SenderProcess` runs
the MIDI output, the MIDI clock, the OSC note output and a :class:`~rhythmicnet_live.live.scheduler.NoteScheduler`
in a child process that does nothing else, and takes the same calls as the in-process scheduler
(``schedule``, ``stop``, ``close``, ``records``) plus the clock's (``clock_start``, ``clock_stop``,
``set_bpm``) and ``send_event`` for the transport's events: beat, tempo, style and keypoints go out as OSC when
due, and a beat anchors the MIDI clock on its send time (due time less ``latency_s``), like the notes; the clock
starts on a downbeat.

``time.monotonic()`` is one system-wide clock (CLOCK_MONOTONIC on Linux, mach time on macOS, QPC on Windows),
so ``ScheduledNote.time_s`` means the same instant in both processes.

No stuck notes, however anything ends:

- the child sends all notes off when told to stop or close, and when the engine process dies, even by SIGKILL
  (a watchdog sees the parent's sentinel close), before it closes the port;
- the child runs in its own process group and ignores the terminal's and a process manager's signals
  (SIGINT, SIGQUIT, SIGHUP, SIGTSTP, SIGTERM), so a Ctrl-C or a SIGKILL of the engine's process group reaches
  the engine only, and the child outlives it long enough to silence the port;
- when the child dies (SIGKILL, a crash), the engine notices (its reply pipe reaches end-of-file), starts a
  new one that re-opens the port under the same name and sends All Notes Off (CC 123, CC 120) on every
  channel used so far, at once and again ``SILENCE_REPEAT_S`` later (for a patchbay that reconnects the port);
- every ``RESEND_OFFS_S`` the child sends again the note-offs of the pitches ended since, so a note-off lost
  on the way (JACK drops a late client's cycle) hangs a note for at most that long.

The child reports each note it actually sent back to the engine (``on_sent``), which journals what was heard,
not what was planned: late notes, notes cut by a stop and notes refused by a full queue never reach it.
"""

from __future__ import annotations

import collections
import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Callable

from ..errors import UserInputError
from ..notes import DRUM_CHANNEL, PIANO_CHANNEL
from .scheduler import ScheduledNote, TimingRecord, check_note
from .transport import BeatEvent, Event

log = logging.getLogger(__name__)

#: Seconds between re-sent note-offs of the pitches ended since (see MidiOutput.resend_note_offs).
RESEND_OFFS_S = 0.5
#: After a restart, All Notes Off goes out at once and again after each of these delays (s).
SILENCE_REPEAT_S = (0.5, 1.0, 2.0)
#: Signals the child ignores: a terminal's (Ctrl-C, Ctrl-\\, hangup, Ctrl-Z) and a process manager's SIGTERM.
_IGNORED_SIGNALS = ("SIGINT", "SIGQUIT", "SIGHUP", "SIGTSTP", "SIGTERM")


@dataclass(frozen=True)
class SenderSpec:
    """What the child opens. midi_port: None for no MIDI; the other midi_* are
    :func:`~rhythmicnet_live.live.midi_out.open_midi_output`'s arguments. osc_host/osc_port: None for no OSC notes.
    The scheduler settings are :class:`~rhythmicnet_live.live.scheduler.NoteScheduler`'s. silence_channels:
    channels (0-based) to send All Notes Off on when the port opens and again ``SILENCE_REPEAT_S`` later (notes
    a killed predecessor left sounding); ``from_config`` gives perform's piano and drum channels."""

    midi_port: str | None = "RhythmicNet"
    midi_api: str | None = None
    midi_virtual: bool = True
    midi_client_name: str = "RhythmicNet"
    midi_clock: bool = False
    osc_host: str | None = None
    osc_port: int | None = None
    osc_keypoints: bool = False
    latency_s: float = 0.0
    max_pending: int = 4096
    max_late_s: float = 0.05
    realtime: bool = True
    silence_channels: tuple[int, ...] = ()

    @classmethod
    def from_config(cls, config) -> "SenderSpec":
        """From a :class:`rhythmicnet_live.config.Config`."""
        m, o, s = config.midi, config.osc, config.scheduler
        return cls(midi_port=m.port if m.enabled else None, midi_api=m.api, midi_virtual=m.virtual,
                   midi_client_name=m.client_name, midi_clock=m.clock,
                   osc_host=o.host if o.enabled else None, osc_port=o.port if o.enabled else None,
                   osc_keypoints=o.keypoints,
                   latency_s=s.latency_s, max_pending=s.max_pending, max_late_s=s.max_late_s,
                   silence_channels=(PIANO_CHANNEL, DRUM_CHANNEL))


class _Outbox:
    """The child's replies to the engine, sent by one thread: no other thread of the child ever blocks on the
    pipe (a dead or stalled engine must not stop the notes or the final silence)."""

    def __init__(self, conn) -> None:
        self._conn = conn
        self._items: collections.deque = collections.deque()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sender-outbox", daemon=True)
        self._thread.start()

    def put(self, item: tuple) -> None:
        self._items.append(item)
        self._ready.set()

    def _run(self) -> None:
        while True:
            self._ready.wait()
            self._ready.clear()
            while self._items:
                item = self._items.popleft()
                if item is None:
                    return
                try:
                    self._conn.send(item)
                except (OSError, ValueError):  # the engine is gone
                    return

    def flush(self, timeout_s: float) -> None:
        """Send what is queued (waiting at most ``timeout_s`` seconds), then stop."""
        self.put(None)
        self._thread.join(timeout_s)


class _SentNotes:
    """Note sink after the MIDI and OSC outputs: reports each note-on sent to the engine (for the journal)."""

    def __init__(self, outbox: _Outbox) -> None:
        self._outbox = outbox

    def note_on(self, event: ScheduledNote) -> None:
        self._outbox.put(("sent", (event.time_s, event.note, event.duration_s)))

    def note_off(self, event: ScheduledNote) -> None:
        pass

    def all_notes_off(self) -> None:
        pass


def _child(spec: SenderSpec, commands, outbox: _Outbox) -> None:
    """Child process main: open the outputs, then serve commands until "close" (which the watchdog also sends
    when the parent dies); every way out goes through stop, all notes off and closing the port."""
    from .midi_out import MidiClock, open_midi_output
    from .osc_out import EventSender, OscOutput
    from .scheduler import NoteScheduler

    midi = osc = None
    try:
        midi = None if spec.midi_port is None else open_midi_output(
            spec.midi_port, spec.midi_api, spec.midi_virtual, spec.midi_client_name)
        osc = None if spec.osc_host is None else OscOutput(spec.osc_host, spec.osc_port, spec.osc_keypoints)
    except (UserInputError, OSError) as err:
        if midi is not None:
            midi.close()
        what = str(err) if isinstance(err, UserInputError) else f"cannot send OSC to {spec.osc_host}:{spec.osc_port}: {err}"
        outbox.put(("error", what))
        outbox.flush(timeout_s=2.0)
        return
    sinks = [s for s in (midi, osc) if s is not None] + [_SentNotes(outbox)]
    sched = NoteScheduler(sinks, latency_s=spec.latency_s, max_pending=spec.max_pending,
                          max_late_s=spec.max_late_s, realtime=spec.realtime).start()
    clock = MidiClock(midi) if (midi is not None and spec.midi_clock) else None
    events = EventSender(osc, spec.latency_s, max_records=4096) if osc is not None else None  # bounded
    now = time.monotonic()
    silence_at = [now + d for d in SILENCE_REPEAT_S] if (midi is not None and spec.silence_channels) else []
    if silence_at:
        midi.silence(spec.silence_channels)
    outbox.put(("ready", midi.name if midi is not None else None))
    next_resend = now + RESEND_OFFS_S
    try:
        while True:
            timeout = max(0.0, min([next_resend, *silence_at]) - time.monotonic())
            try:
                command, args = commands.get(timeout=timeout)
            except queue.Empty:
                command, args = None, ()
            now = time.monotonic()
            if midi is not None and now >= next_resend:
                midi.resend_note_offs()
                next_resend = now + RESEND_OFFS_S
            if silence_at and now >= silence_at[0]:
                silence_at.pop(0)
                midi.silence(spec.silence_channels)
            if command == "close":
                break
            try:
                if command is not None:
                    _apply(command, args, sched, clock, events, spec.latency_s, outbox)
            except Exception:  # one bad command must not end the sender
                log.exception("sender: command %s failed", command)
    finally:
        if events is not None:
            events.close()
        if clock is not None:
            clock.stop()
        sched.close()
        if midi is not None:
            midi.close()
        if osc is not None:
            osc.close()
        outbox.flush(timeout_s=2.0)


def _apply(command: str, args: tuple, sched, clock, events, latency_s: float, outbox: _Outbox) -> None:
    if command == "note":
        sched.schedule(ScheduledNote(*args))
    elif command == "event":
        (event,) = args
        if clock is not None and isinstance(event, BeatEvent):  # the clock's quarter note leaves with the beat
            clock.set_bpm(event.bpm, beat_at=event.due_s - latency_s, position=event.position)
        if events is not None:
            events.schedule(event)
    elif command == "stop":
        sched.stop()
    elif command == "clock_start" and clock is not None:
        clock.start_on_downbeat()
    elif command == "clock_stop" and clock is not None:
        clock.stop()
    elif command == "set_bpm" and clock is not None:
        clock.set_bpm(*args)
    elif command == "stats":
        outbox.put(("stats", ([(r.kind, r.due_s, r.sent_s) for r in sched.records()],
                              {"late": sched.late, "dropped": sched.dropped, "sink_errors": sched.sink_errors,
                               "realtime": sched.realtime_ok, "sent_messages": sched.sent_messages,
                               "max_jitter_ms": 1e3 * sched.max_jitter_s,
                               "osc_events": list(events.records) if events is not None else []})))


def _child_main(spec: SenderSpec, commands, replies) -> None:
    """Child process entry: leave the engine's process group, ignore terminal signals, start a watchdog that
    turns the parent's death into a "close" command (a multiprocessing Queue never reports end-of-file), serve."""
    from multiprocessing.connection import wait

    if hasattr(os, "setpgrp"):
        os.setpgrp()
    for name in _IGNORED_SIGNALS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    parent = mp.parent_process()

    def watch() -> None:
        wait([parent.sentinel])
        commands.put(("close", ()))

    if parent is not None:
        threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    _child(spec, commands, _Outbox(replies))


class SenderProcess:
    """The outputs and the note scheduler in a child process; see the module docstring.

    schedule() never blocks: it returns False (``dropped`` += 1) when ``max_queue`` commands are waiting to be
    sent to the child, or while a dead child is being replaced (``restarts`` counts the replacements).
    on_sent: called with each :class:`ScheduledNote` the child actually sent (from a reader thread), e.g. a
    journal's ``note_on``. Raises UserInputError from the constructor if the child cannot open its outputs
    (unknown MIDI port, unknown OSC host...).
    """

    def __init__(self, spec: SenderSpec, max_queue: int = 4096, start_timeout_s: float = 30.0,
                 on_sent: Callable[[ScheduledNote], None] | None = None) -> None:
        self.spec = spec
        self.max_queue = max_queue
        self.start_timeout_s = start_timeout_s
        self.on_sent = on_sent
        self.dropped = 0
        self.restarts = 0
        self._lock = threading.Lock()  # held while the child is replaced, and by close()
        self._stats_lock = threading.Lock()
        self._stats: queue.Queue = queue.Queue()
        self._closing = threading.Event()
        self._closed = False
        self._channels: set[int] = set()  # every channel a note was scheduled on: silenced after a restart
        self._clock: tuple[bool, tuple | None] = (False, None)  # clock running, last set_bpm arguments
        self._spawn(spec)

    def _spawn(self, spec: SenderSpec) -> None:
        """Start a child and wait for it to open its outputs; raises UserInputError if it cannot."""
        ctx = mp.get_context("spawn")
        commands = ctx.Queue(maxsize=self.max_queue)
        replies, child_replies = ctx.Pipe(duplex=False)
        process = ctx.Process(target=_child_main, args=(spec, commands, child_replies),
                              name="rhythmicnet-sender", daemon=True)
        process.start()
        child_replies.close()
        if not replies.poll(self.start_timeout_s):
            process.kill()
            process.join()
            raise UserInputError(f"the MIDI/OSC sender process did not start within {self.start_timeout_s} s")
        try:
            kind, value = replies.recv()
        except EOFError:
            process.join()
            raise UserInputError(f"the MIDI/OSC sender process died at start (exit code {process.exitcode})") from None
        if kind == "error":
            process.join()
            raise UserInputError(value)
        self._process, self._commands, self._replies = process, commands, replies
        self.midi_port_name: str | None = value
        self._reader = threading.Thread(target=self._read, args=(process, replies), name="sender-replies",
                                        daemon=True)
        self._reader.start()

    def _read(self, process, replies) -> None:
        """Reader thread of one child: notes sent, stats; on end-of-file, replace the child unless closing."""
        while True:
            try:
                kind, value = replies.recv()
            except (EOFError, OSError):
                break
            if kind == "sent" and self.on_sent is not None:
                try:
                    self.on_sent(ScheduledNote(*value))
                except Exception:
                    log.exception("on_sent failed")
            elif kind == "stats":
                self._stats.put(value)
        process.join()
        if not self._closing.is_set():
            self._restart(process.exitcode)

    def _restart(self, exitcode: int | None) -> None:
        channels = tuple(sorted(self._channels.union(self.spec.silence_channels)))
        log.warning("the MIDI/OSC sender process died (exit code %s); restarting it, then All Notes Off on "
                    "channels %s", exitcode, [c + 1 for c in channels])
        spec = replace(self.spec, silence_channels=channels)
        while not self._closing.is_set():
            with self._lock:
                if self._closing.is_set():
                    return
                try:
                    self._spawn(spec)
                except UserInputError as err:
                    log.warning("could not restart the sender (%s); retrying", err)
                else:
                    self.restarts += 1
                    running, bpm = self._clock
                    if bpm is not None:
                        self._put("set_bpm", bpm)
                    if running:
                        self._put("clock_start")
                    return
            self._closing.wait(1.0)

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        """The child process is running."""
        return self._process.exitcode is None

    def _put(self, command: str, args: tuple = ()) -> bool:
        if self._closed:
            raise RuntimeError("SenderProcess is closed")
        if not self.alive:
            return False  # being replaced
        try:
            self._commands.put_nowait((command, args))
            return True
        except queue.Full:
            return False

    def schedule(self, event: ScheduledNote) -> bool:
        """Queue a note (see :meth:`NoteScheduler.schedule`); False (``dropped`` += 1) if it cannot be queued."""
        check_note(event)
        self._channels.add(event.note.channel)
        ok = self._put("note", (event.time_s, event.note, event.duration_s))
        if not ok:
            self.dropped += 1
        return ok

    def stop(self) -> None:
        """Drop pending notes, end sounding ones, all notes off (in the child, in order after earlier notes)."""
        self._put("stop")

    def clock_start(self) -> None:
        """Start the MIDI clock at the next downbeat (see :meth:`MidiClock.start_on_downbeat`)."""
        self._clock = (True, self._clock[1])
        self._put("clock_start")

    def clock_stop(self) -> None:
        self._clock = (False, self._clock[1])
        self._put("clock_stop")

    def set_bpm(self, bpm: float, beat_at: float | None = None) -> None:
        """See :meth:`MidiClock.set_bpm` (no effect without ``midi_clock``)."""
        self._clock = (self._clock[0], (float(bpm), None))
        self._put("set_bpm", (float(bpm), beat_at))

    def send_event(self, event: Event) -> None:
        """A transport event: OSC when due (beat, tempo, style, keypoints), and a beat anchors the MIDI clock."""
        self._put("event", (event,))

    def stats(self, timeout_s: float = 10.0) -> tuple[list[TimingRecord], dict[str, Any]]:
        """(the last timing records, counters: late, dropped, sink_errors, realtime, sent_messages,
        max_jitter_ms, osc_events: (kind, due, sent) per OSC event sent) from the child; ([], {}) if the child
        cannot answer in ``timeout_s``."""
        with self._stats_lock:
            while not self._stats.empty():
                self._stats.get_nowait()
            try:
                if self._closed or not self._put("stats"):
                    return [], {}
                records, counters = self._stats.get(timeout=timeout_s)
            except queue.Empty:
                log.warning("the sender process did not report its statistics within %s s", timeout_s)
                return [], {}
        return [TimingRecord(*r) for r in records], counters

    def records(self) -> list[TimingRecord]:
        return self.stats()[0]

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop (all notes off), close the outputs, end the child and report its last sent notes. Idempotent."""
        if self._closed:
            return
        self._closing.set()
        with self._lock:  # a restart in progress finishes first
            self._closed = True
        try:
            self._commands.put(("close", ()), timeout=timeout_s)
        except queue.Full:
            pass
        deadline = time.monotonic() + timeout_s
        while self._process.is_alive() and time.monotonic() < deadline:
            self._process.join(0.1)  # polled: a join() after a restart can return before the child ends
        if self._process.is_alive():
            log.warning("sender process did not stop within %s s; killing it", timeout_s)
            self._process.kill()
            self._process.join()
        self._reader.join(timeout_s)
        self._commands.close()
        self._replies.close()

    def __enter__(self) -> "SenderProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
