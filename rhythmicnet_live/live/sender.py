"""The note scheduler in its own process, away from the engine's GIL.

In one process the scheduler thread has to win the GIL from the pose, beat and generation threads before it
can send: with one busy Python thread beside it, jitter p99 grows from 0.2 ms to about 9 ms on a loaded
machine (``benchmarks/bench_scheduler.py --gil-load``), whatever its priority. :class:`SenderProcess` runs
the MIDI output, the MIDI clock, the OSC note output and a :class:`~rhythmicnet_live.live.scheduler.NoteScheduler`
in a child process that does nothing else, and takes the same calls as the in-process scheduler
(``schedule``, ``stop``, ``close``, ``records``) plus the clock's (``clock_start``, ``clock_stop``,
``set_bpm``) and ``send_event`` for the transport's events: beat, tempo, style and keypoints go out as OSC when
due, and a beat anchors the MIDI clock on its send time (due time less ``latency_s``), like the notes.

``time.monotonic()`` is one system-wide clock (CLOCK_MONOTONIC on Linux, mach time on macOS, QPC on Windows),
so ``ScheduledNote.time_s`` means the same instant in both processes.

No stuck notes: the child sends all notes off when told to stop or close, and also when the engine process
dies, even by SIGKILL (its command pipe reaches end-of-file), before it closes the port.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import threading
from dataclasses import dataclass
from typing import Any

from ..errors import UserInputError
from .scheduler import ScheduledNote, TimingRecord, check_note
from .transport import BeatEvent, Event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SenderSpec:
    """What the child opens. midi_port: None for no MIDI; the other midi_* are
    :func:`~rhythmicnet_live.live.midi_out.open_midi_output`'s arguments. osc_host/osc_port: None for no OSC notes.
    The scheduler settings are :class:`~rhythmicnet_live.live.scheduler.NoteScheduler`'s."""

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

    @classmethod
    def from_config(cls, config) -> "SenderSpec":
        """From a :class:`rhythmicnet_live.config.Config`."""
        m, o, s = config.midi, config.osc, config.scheduler
        return cls(midi_port=m.port if m.enabled else None, midi_api=m.api, midi_virtual=m.virtual,
                   midi_client_name=m.client_name, midi_clock=m.clock,
                   osc_host=o.host if o.enabled else None, osc_port=o.port if o.enabled else None,
                   osc_keypoints=o.keypoints,
                   latency_s=s.latency_s, max_pending=s.max_pending, max_late_s=s.max_late_s)


def _child(spec: SenderSpec, commands, replies) -> None:
    """Child process main: open the outputs, then serve commands until "close" (which the watchdog also sends
    when the parent dies); every way out goes through stop, all notes off and closing the port."""
    from .midi_out import MidiClock, open_midi_output
    from .osc_out import EventSender, OscOutput
    from .scheduler import NoteScheduler

    try:
        midi = None if spec.midi_port is None else open_midi_output(
            spec.midi_port, spec.midi_api, spec.midi_virtual, spec.midi_client_name)
        osc = None if spec.osc_host is None else OscOutput(spec.osc_host, spec.osc_port, spec.osc_keypoints)
    except UserInputError as err:
        replies.send(("error", str(err)))
        return
    sinks = [s for s in (midi, osc) if s is not None]
    sched = NoteScheduler(sinks, latency_s=spec.latency_s, max_pending=spec.max_pending,
                          max_late_s=spec.max_late_s, realtime=spec.realtime).start()
    clock = MidiClock(midi) if (midi is not None and spec.midi_clock) else None
    events = EventSender(osc, spec.latency_s) if osc is not None else None
    replies.send(("ready", midi.name if midi is not None else None))
    try:
        while True:
            command, args = commands.get()
            if command == "close":
                break
            try:
                _apply(command, args, sched, clock, events, spec.latency_s, replies)
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


def _apply(command: str, args: tuple, sched, clock, events, latency_s: float, replies) -> None:
    if command == "note":
        sched.schedule(ScheduledNote(*args))
    elif command == "event":
        (event,) = args
        if clock is not None and isinstance(event, BeatEvent):  # the clock's quarter note leaves with the beat
            clock.set_bpm(event.bpm, beat_at=event.due_s - latency_s)
        if events is not None:
            events.schedule(event)
    elif command == "stop":
        sched.stop()
    elif command == "clock_start" and clock is not None:
        clock.start()
    elif command == "clock_stop" and clock is not None:
        clock.stop()
    elif command == "set_bpm" and clock is not None:
        clock.set_bpm(*args)
    elif command == "stats":
        replies.send(("stats", ([(r.kind, r.due_s, r.sent_s) for r in sched.records()],
                                {"late": sched.late, "dropped": sched.dropped,
                                 "sink_errors": sched.sink_errors, "realtime": sched.realtime_ok,
                                 "osc_events": list(events.records) if events is not None else []})))


def _child_main(spec: SenderSpec, commands, replies) -> None:
    """Child process entry: a watchdog turns the parent's death into a "close" command (a multiprocessing
    Queue never reports end-of-file), then serve."""
    from multiprocessing.connection import wait

    parent = mp.parent_process()

    def watch() -> None:
        wait([parent.sentinel])
        commands.put(("close", ()))

    if parent is not None:
        threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    _child(spec, commands, replies)


class SenderProcess:
    """The outputs and the note scheduler in a child process; see the module docstring.

    schedule() never blocks: it returns False when ``max_queue`` commands are waiting to be sent to the child.
    Raises UserInputError from the constructor if the child cannot open its outputs (unknown MIDI port...).
    """

    def __init__(self, spec: SenderSpec, max_queue: int = 4096, start_timeout_s: float = 30.0) -> None:
        ctx = mp.get_context("spawn")
        self.spec = spec
        self.dropped = 0
        self._commands = ctx.Queue(maxsize=max_queue)
        self._replies, child_replies = ctx.Pipe(duplex=False)
        self._lock = threading.Lock()
        self._closed = False
        self._process = ctx.Process(target=_child_main, args=(spec, self._commands, child_replies),
                                    name="rhythmicnet-sender", daemon=True)
        self._process.start()
        child_replies.close()
        if not self._replies.poll(start_timeout_s):
            self._process.kill()
            raise UserInputError(f"the MIDI/OSC sender process did not start within {start_timeout_s} s")
        try:
            kind, value = self._replies.recv()
        except EOFError:
            self._process.join()
            raise UserInputError(f"the MIDI/OSC sender process died at start (exit code {self._process.exitcode})")
        if kind == "error":
            self._process.join()
            raise UserInputError(value)
        self.midi_port_name: str | None = value

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
            raise RuntimeError(f"the sender process has died (exit code {self._process.exitcode})")
        try:
            self._commands.put_nowait((command, args))
            return True
        except queue.Full:
            return False

    def schedule(self, event: ScheduledNote) -> bool:
        """Queue a note (see :meth:`NoteScheduler.schedule`); False (``dropped`` += 1) if the queue is full."""
        check_note(event)
        ok = self._put("note", (event.time_s, event.note, event.duration_s))
        if not ok:
            self.dropped += 1
        return ok

    def stop(self) -> None:
        """Drop pending notes, end sounding ones, all notes off (in the child, in order after earlier notes)."""
        self._put("stop")

    def clock_start(self) -> None:
        self._put("clock_start")

    def clock_stop(self) -> None:
        self._put("clock_stop")

    def set_bpm(self, bpm: float, beat_at: float | None = None) -> None:
        """See :meth:`MidiClock.set_bpm` (no effect without ``midi_clock``)."""
        self._put("set_bpm", (float(bpm), beat_at))

    def send_event(self, event: Event) -> None:
        """A transport event: OSC when due (beat, tempo, style, keypoints), and a beat anchors the MIDI clock."""
        self._put("event", (event,))

    def stats(self, timeout_s: float = 10.0) -> tuple[list[TimingRecord], dict[str, Any]]:
        """(timing records, counters: late, dropped, sink_errors, realtime, osc_events: (kind, due, sent) per
        OSC event sent) from the child."""
        with self._lock:
            self._commands.put(("stats", ()), timeout=timeout_s)
            if not self._replies.poll(timeout_s):
                raise TimeoutError("the sender process did not answer")
            kind, (records, counters) = self._replies.recv()
        return [TimingRecord(*r) for r in records], counters

    def records(self) -> list[TimingRecord]:
        return self.stats()[0]

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop (all notes off), close the outputs and end the child. Idempotent."""
        if self._closed:
            return
        try:
            self._commands.put(("close", ()), timeout=timeout_s)
        except queue.Full:
            pass
        self._closed = True
        self._process.join(timeout_s)
        if self._process.is_alive():
            log.warning("sender process did not stop; terminating it")
            self._process.terminate()
            self._process.join()
        self._commands.close()
        self._replies.close()

    def __enter__(self) -> "SenderProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
