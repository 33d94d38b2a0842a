"""MIDI output: a virtual port (or an existing port by name) that drums and piano are played into.

Follows mido's port pattern: the public :meth:`MidiOutput.send` validates a ``mido.Message`` and takes the
port lock once, then calls the backend's small ``_send``; backends override ``_send`` and ``_close`` only.

- :func:`open_midi_output` opens the real port (python-rtmidi): a virtual output port named ``RhythmicNet``
  by default, on the ALSA, JACK, CoreMIDI or Windows MM API. Windows cannot create virtual ports: name an
  existing loopMIDI port there (``virtual=False``).
- :class:`MemoryMidiOutput` keeps the messages in a list (unit tests, offline takes).
- :func:`list_ports` lists the output ports an API can open (``--list-ports``).

Every output tracks the notes sounding on each channel. :meth:`MidiOutput.all_notes_off` sends a note-off
for each of them plus CC 123 (All Notes Off) and CC 120 (All Sound Off) on every channel used; it runs on
``panic``, on :meth:`~MidiOutput.close`, on leaving a ``with`` block (also on an exception) and at
interpreter exit (atexit), so no note is ever
left hanging. :meth:`MidiOutput.silence` does the same for channels a previous port (a sender that died) used.
A note-off lost on the way (a JACK client that misses a cycle under load drops that cycle's events) would
leave a note hanging: :meth:`MidiOutput.resend_note_offs`, called periodically, sends again the note-off of
every pitch ended since its last call that is not sounding now.

The output is also a note sink for :class:`rhythmicnet_live.live.scheduler.NoteScheduler` (``note_on``,
``note_off``, ``all_notes_off``). :class:`MidiClock` sends MIDI clock (24 per quarter note) following a tempo
that may change, plus Start and Stop.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
from collections import deque
from typing import TYPE_CHECKING

import mido
import rtmidi

from ..errors import UserInputError
from .timing import try_realtime, wait_until

if TYPE_CHECKING:
    from .scheduler import ScheduledNote

log = logging.getLogger(__name__)

DEFAULT_PORT_NAME = "RhythmicNet"
DEFAULT_CLIENT_NAME = "RhythmicNet"

#: Config / CLI API names -> python-rtmidi API constants.
APIS = {
    "alsa": rtmidi.API_LINUX_ALSA,
    "jack": rtmidi.API_UNIX_JACK,
    "coremidi": rtmidi.API_MACOSX_CORE,
    "windows": rtmidi.API_WINDOWS_MM,
}

CC_ALL_SOUND_OFF = 120
CC_ALL_NOTES_OFF = 123
CLOCKS_PER_QUARTER = 24


def default_api() -> str:
    """The platform's API: "coremidi" on macOS, "windows" on Windows, on Linux "alsa" when the ALSA
    sequencer exists (/dev/snd/seq) and "jack" otherwise."""
    if sys.platform == "darwin":
        return "coremidi"
    if sys.platform.startswith("win"):
        return "windows"
    return "alsa" if os.path.exists("/dev/snd/seq") else "jack"


def _api_name(api: str | None) -> str:
    name = default_api() if api in (None, "", "auto") else api.lower()
    if name not in APIS:
        raise UserInputError(f"unknown MIDI API {api!r}; choose one of: auto, {', '.join(APIS)}")
    return name


def _api_id(api: str | None) -> tuple[str, int]:
    name = _api_name(api)
    if APIS[name] not in rtmidi.get_compiled_api():
        compiled = [rtmidi.get_api_name(a) for a in rtmidi.get_compiled_api()]
        raise UserInputError(f"MIDI API {name!r} is not available on this system (available: {', '.join(compiled)})")
    return name, APIS[name]


def _rtmidi_out(api_name: str, api_id: int, client_name: str) -> rtmidi.MidiOut:
    try:
        return rtmidi.MidiOut(rtapi=api_id, name=client_name)
    except rtmidi.RtMidiError as err:
        hint = {
            "jack": "is a JACK server running? (e.g. `jackd -d dummy` or your audio setup's JACK)",
            "alsa": "this system has no ALSA sequencer (/dev/snd/seq); try the JACK API (--midi-api jack)",
        }.get(api_name, "")
        raise UserInputError(f"cannot open the {api_name} MIDI system: {err}. {hint}".strip()) from err


def list_ports(api: str | None = None) -> list[str]:
    """Names of the existing MIDI output ports (destinations) that ``api`` can open."""
    name, api_id = _api_id(api)
    out = _rtmidi_out(name, api_id, DEFAULT_CLIENT_NAME + "-list")
    try:
        return list(out.get_ports())
    finally:
        out.delete()


def _find_port(ports: list[str], wanted: str) -> int:
    """Index of ``wanted`` among ``ports``: an exact name, else the one port whose name contains it
    (case-insensitive; rtmidi adds client prefixes and port numbers such as "loopMIDI Port 1")."""
    if wanted in ports:
        return ports.index(wanted)
    matches = [i for i, p in enumerate(ports) if wanted.lower() in p.lower()]
    if len(matches) == 1:
        return matches[0]
    available = "\n  ".join(ports) if ports else "(none)"
    what = "is ambiguous" if matches else "was not found"
    raise UserInputError(f"MIDI port {wanted!r} {what}. Available output ports:\n  {available}")


class MidiOutput:
    """Base MIDI output: validation, locking, sounding-note tracking and all-notes-off.

    Subclasses implement ``_send(msg)`` (deliver one validated ``mido.Message``) and optionally ``_close()``.
    Thread-safe: every public method takes the port's lock.
    """

    name: str = ""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._sounding: dict[int, set[int]] = {}  # channel (0-based) -> pitches sounding
        self._used_channels: set[int] = set()
        self._ended: set[tuple[int, int]] = set()  # (channel, pitch) ended since the last resend_note_offs()
        self.closed = False
        atexit.register(self.close)

    # -- mido-style port API -------------------------------------------------------------------------
    def send(self, msg: mido.Message) -> None:
        """Validate ``msg`` and send it (raises TypeError for a non-message, ValueError on a closed port)."""
        if not isinstance(msg, mido.Message):
            raise TypeError(f"expected a mido.Message, got {type(msg).__name__}")
        with self._lock:
            if self.closed:
                raise ValueError(f"send() called on the closed MIDI port {self.name!r}")
            self._send(msg)
            self._track(msg)

    def _send(self, msg: mido.Message) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        pass

    def _track(self, msg: mido.Message) -> None:
        channel = getattr(msg, "channel", None)
        if channel is None:
            return
        self._used_channels.add(channel)
        if msg.type == "note_on" and msg.velocity > 0:
            self._sounding.setdefault(channel, set()).add(msg.note)
        elif msg.type in ("note_on", "note_off"):
            self._sounding.get(channel, set()).discard(msg.note)
            self._ended.add((channel, msg.note))

    def sounding(self) -> dict[int, frozenset[int]]:
        """Pitches currently sounding, per 0-based channel."""
        with self._lock:
            return {ch: frozenset(p) for ch, p in self._sounding.items() if p}

    def all_notes_off(self) -> None:
        """Note-off for every sounding note, then CC 123 (All Notes Off) and CC 120 (All Sound Off) on every
        channel used so far. Safe to call any number of times; does nothing on a closed port."""
        with self._lock:
            if self.closed:
                return
            for channel, pitches in sorted(self._sounding.items()):
                for pitch in sorted(pitches):
                    self._send(mido.Message("note_off", channel=channel, note=pitch, velocity=0))
                    self._ended.add((channel, pitch))
                pitches.clear()
            for channel in sorted(self._used_channels):
                self._send(mido.Message("control_change", channel=channel, control=CC_ALL_NOTES_OFF, value=0))
                self._send(mido.Message("control_change", channel=channel, control=CC_ALL_SOUND_OFF, value=0))

    panic = all_notes_off

    def silence(self, channels) -> None:
        """All notes off (CC 123 and CC 120) on ``channels`` (0-based) too, e.g. those a dead sender used."""
        with self._lock:
            self._used_channels.update(int(c) for c in channels)
            self.all_notes_off()

    def resend_note_offs(self) -> int:
        """Send again the note-off of every pitch ended since the last call and not sounding now; returns how
        many. Harmless when the first one arrived; ends the note when it was lost."""
        with self._lock:
            if self.closed:
                return 0
            again = sorted(k for k in self._ended if k[1] not in self._sounding.get(k[0], ()))
            for channel, pitch in again:
                self._send(mido.Message("note_off", channel=channel, note=pitch, velocity=0))
            self._ended.clear()
            return len(again)

    #: Seconds between the final All Notes Off and its repeat, and from the repeat to closing the port (0 = no
    #: repeat): a transport that loses a late cycle (a non-realtime JACK) gets a second chance at the silence.
    final_repeat_s = 0.0

    def close(self) -> None:
        """All notes off (repeated after ``final_repeat_s``), then close the port. Idempotent."""
        with self._lock:
            if self.closed:
                return
            try:
                self.all_notes_off()
                if self.final_repeat_s > 0:
                    time.sleep(self.final_repeat_s)
                    self.resend_note_offs()
                    self.all_notes_off()
                    time.sleep(self.final_repeat_s)  # the backend's next cycles take the messages out
            finally:
                self.closed = True
                atexit.unregister(self.close)
                self._close()

    def __enter__(self) -> "MidiOutput":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- note sink API (rhythmicnet_live.live.scheduler) --------------------------------------------------
    def note_on(self, event: "ScheduledNote") -> None:
        n = event.note
        self.send(mido.Message("note_on", channel=n.channel, note=n.pitch, velocity=n.velocity))

    def note_off(self, event: "ScheduledNote") -> None:
        n = event.note
        self.send(mido.Message("note_off", channel=n.channel, note=n.pitch, velocity=0))


class RtMidiOutput(MidiOutput):
    """A python-rtmidi output port; open it with :func:`open_midi_output`."""

    final_repeat_s = 0.05  # about ten JACK periods of 256 frames at 48 kHz

    def __init__(self, rt: rtmidi.MidiOut, name: str, api: str) -> None:
        self._rt = rt
        self.name = name
        self.api = api
        super().__init__()

    def _send(self, msg: mido.Message) -> None:
        self._rt.send_message(msg.bytes())

    def _close(self) -> None:
        self._rt.close_port()
        self._rt.delete()


def open_midi_output(
    port_name: str = DEFAULT_PORT_NAME,
    api: str | None = None,
    virtual: bool = True,
    client_name: str = DEFAULT_CLIENT_NAME,
) -> RtMidiOutput:
    """Open the MIDI output.

    port_name: the virtual port to create (``virtual=True``), or the existing output port to open
        (``virtual=False``; an exact name, or a unique part of one, e.g. "loopMIDI Port").
    api: "alsa", "jack", "coremidi", "windows", or None/"auto" for :func:`default_api`.
    client_name: the MIDI client name other programs see (JACK shows "client_name:port_name").
    Raises UserInputError for an unknown API or port (the message lists the available ports), for a virtual
    port on Windows, or when the MIDI system cannot be reached.
    """
    if virtual and _api_name(api) == "windows":
        raise UserInputError(
            "Windows cannot create virtual MIDI ports: create one with loopMIDI (or another loopback driver) "
            "and open it by name with virtual = false, e.g. --midi-port \"loopMIDI Port\" --no-midi-virtual"
        )
    name, api_id = _api_id(api)
    rt = _rtmidi_out(name, api_id, client_name)
    try:
        if virtual:
            rt.open_virtual_port(port_name)
            opened = port_name
        else:
            ports = list(rt.get_ports())
            index = _find_port(ports, port_name)
            rt.open_port(index)
            opened = ports[index]
    except BaseException as err:
        rt.delete()
        if isinstance(err, rtmidi.RtMidiError):
            raise UserInputError(f"cannot open MIDI port {port_name!r} ({name}): {err}") from err
        raise
    log.info("MIDI output %r open (%s%s)", opened, name, ", virtual" if virtual else "")
    return RtMidiOutput(rt, opened, name)


class MemoryMidiOutput(MidiOutput):
    """An in-memory port for tests: ``messages`` holds every message sent, ``times`` its monotonic send time."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.messages: list[mido.Message] = []
        self.times: list[float] = []
        super().__init__()

    def _send(self, msg: mido.Message) -> None:
        self.messages.append(msg)
        self.times.append(time.monotonic())


class MidiClock:
    """MIDI clock: 24 Clock messages per quarter note at a tempo that may change, plus Start and Stop.

    Runs its own thread with a precise wait. ``set_bpm`` takes effect from the next tick (the phase is
    continuous). With ``beat_at`` (a beat's monotonic time in seconds, announced ahead or just past) the ticks up
    to each quarter note are squeezed or stretched (to between ``min_ratio`` and ``max_ratio`` times the tempo's
    tick period) so that the quarter lands on the known beat nearest to it, or, when no known beat is within half
    a beat, on the grid that beat defines at the current tempo; this keeps a DAW's clips in phase with the dancer. Each beat keeps its own quarter when the
    next one is announced early; a beat announced again (within half a beat of a known one) replaces it; a beat
    announced late still pulls the following quarters onto its grid. Pass the beat's send time (its sounding time
    minus the scheduler's ``latency_s``) so clock and notes leave with the same offset.

    ``start_on_downbeat`` sends Start with the first Clock at the next downbeat announced after it (``set_bpm(...,
    position=0)``): a DAW's bar 1 beat 1 is where Start comes, so its bars begin with the dancer's; beats announced
    with their ``position`` in the bar keep them so (quarter q from Start on place q % 4, 4/4).
    """

    def __init__(self, port: MidiOutput, bpm: float = 120.0, min_ratio: float = 0.5, max_ratio: float = 2.0) -> None:
        """``max_ratio`` is the larger because slowing the ticks is safe, while squeezing them sends bursts; 2.0 lets
        a beat announced when a third of its quarter's ticks are left land on time after the tempo halves."""
        self.port = port
        self.min_ratio, self.max_ratio = min_ratio, max_ratio
        self._bpm = float(bpm)
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ticks = 0  # clocks sent since Start
        self._next_tick = 0.0  # monotonic seconds
        self._last_tick = 0.0
        # The latest beats announced, ascending: (monotonic time s, position in the bar 0-3 or None if unknown).
        self._beats: deque[tuple[float, int | None]] = deque(maxlen=8)
        self._armed = False  # start_on_downbeat was called and the clock waits for a downbeat
        self._send_start = False  # the thread sends Start with its first Clock

    @property
    def bpm(self) -> float:
        return self._bpm

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def ticks(self) -> int:
        """Clock messages sent since the last Start."""
        return self._ticks

    @property
    def armed(self) -> bool:
        """Waiting for a downbeat to start (see ``start_on_downbeat``)."""
        return self._armed

    def set_bpm(self, bpm: float, beat_at: float | None = None, position: int | None = None) -> None:
        """Follow ``bpm`` (beats per minute, > 0); ``beat_at``: monotonic time (s) of a beat, or None (a new tempo
        without one lets the clock run on from its own phase); ``position``: that beat's place in its 4/4 bar
        (0 = downbeat; a downbeat still ahead starts an armed clock), or None."""
        if not bpm > 0:
            raise ValueError(f"bpm must be > 0, got {bpm}")
        with self._cond:
            if beat_at is not None:
                half = 30.0 / float(bpm)
                kept = [b for b in self._beats if abs(b[0] - beat_at) >= half]  # a beat announced again replaces itself
                self._beats.clear()
                self._beats.extend(sorted(kept + [(float(beat_at), None if position is None else int(position) % 4)],
                                          key=lambda b: b[0]))
            elif float(bpm) != self._bpm:
                self._beats.clear()
            self._bpm = float(bpm)
            self._cond.notify()
        if position == 0 and beat_at is not None and self._armed and beat_at > time.monotonic():
            self.start(at=beat_at)

    def _period(self) -> float:
        """Seconds until the next tick, from the tempo and the known beats; called with the lock held."""
        nominal = 60.0 / (self._bpm * CLOCKS_PER_QUARTER)
        if not self._beats:
            return nominal
        # Clock k (0-based, k = ticks - 1 was the last one sent) is quarter k / 24 from Start when k % 24 == 0;
        # the next quarter is `steps` clocks after the last one sent. Quarter q from Start belongs on place q % 4
        # of the bar (Start was bar 1): aim it at a known beat in that place within 1.5 beats of where it would
        # fall; else at the known beat nearest to there, or at that beat's grid when it is more than half a beat
        # away, counted so that the places agree when the beat's is known.
        steps = (-self._ticks) % CLOCKS_PER_QUARTER + 1
        upcoming = (self._ticks - 1 + steps) // CLOCKS_PER_QUARTER
        quarter = nominal * CLOCKS_PER_QUARTER
        free = self._last_tick + steps * nominal
        own = [b for b, p in self._beats if p == upcoming % 4 and abs(b - free) < 1.5 * quarter]
        if own:  # a beat in the upcoming quarter's place in the bar: the quarter lands on it
            target = min(own, key=lambda b: abs(b - free))
        else:
            beat, position = min(self._beats, key=lambda b: abs(b[0] - free))
            after = round((free - beat) / quarter)  # quarters from the beat to the upcoming one
            if position is not None:
                behind = (position - (upcoming - after)) % 4  # quarters the beat's number is short of its place
                after -= behind if behind <= 2 else behind - 4
            target = beat + after * quarter
        period = (target - self._last_tick) / steps
        return min(max(period, nominal * self.min_ratio), nominal * self.max_ratio)

    def start(self, at: float | None = None) -> None:
        """Send Start and begin ticking at the current tempo, now or at monotonic time ``at`` (s); the first Clock
        goes out with Start."""
        self._armed = False
        if self._thread is not None:
            return
        self._stop.clear()
        self._ticks = 0
        self._send_start = True
        self._last_tick = self._next_tick = time.monotonic() if at is None else float(at)
        self._thread = threading.Thread(target=self._run, name="midi-clock", daemon=True)
        self._thread.start()

    def start_on_downbeat(self) -> None:
        """Start (see ``start``) at the next downbeat announced ahead with ``set_bpm(..., position=0)``."""
        if self._thread is None:
            self._armed = True

    def stop(self) -> None:
        """Stop ticking and send Stop (an armed clock that never started is disarmed and sends nothing)."""
        self._armed = False
        if self._thread is None:
            return
        self._stop.set()
        with self._cond:
            self._cond.notify()
        self._thread.join()
        self._thread = None
        if not self.port.closed:
            self.port.send(mido.Message("stop"))

    def _run(self) -> None:
        try_realtime()
        tick = mido.Message("clock")
        while not self._stop.is_set():
            if not wait_until(self._next_tick, self._stop):
                break
            try:
                if self._send_start:
                    self.port.send(mido.Message("start"))
                    self._send_start = False
                self.port.send(tick)
            except Exception:  # a closed or failing port ends the clock, it never crashes the engine
                log.exception("MIDI clock stopped: sending failed")
                break
            with self._cond:
                self._ticks += 1
                self._last_tick = self._next_tick
                self._next_tick += self._period()
                # Never try to catch up a backlog of ticks after a stall: resume from now.
                self._next_tick = max(self._next_tick, time.monotonic())
