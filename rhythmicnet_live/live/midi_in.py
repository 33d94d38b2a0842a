"""MIDI inputs of ``perform``: an rtmidi input on another program's MIDI output port, read by a polling thread.

``MidiInput`` opens the port named (or containing) PORT on the configured MIDI API (JACK, ALSA, CoreMIDI,
Windows) and hands every message to ``handle``, with the seconds since the previous message as rtmidi stamped
them in its real-time thread. A polling thread reads the input queue every ``poll_s`` seconds rather than an
rtmidi callback, which would run Python in the MIDI system's real-time thread. Subclasses: ``ClockIn``
(``--clock-in``: a DAW's clock) and ``TapIn`` (``--tap-in``: a pad or foot switch tapping the beat).
"""

from __future__ import annotations

import logging
import time

import rtmidi

from ..errors import UserInputError
from .control import EngineControls, ExternalInput
from .midi_out import _api_id, _find_port

log = logging.getLogger(__name__)

NOTE_ON, CONTROL_CHANGE = 0x90, 0xB0
SUSTAIN = 64  # the controller a foot switch (sustain pedal) sends: >= 64 pressed, < 64 released


class MidiInput(ExternalInput):
    """An input on ``port`` (see the module docstring); ``flag`` names the option in error messages.

    Raises UserInputError when the MIDI API or the port is not there (the message lists the ports)."""

    thread_name = "midi-in"

    def __init__(self, port: str, api: str | None, client_name: str, flag: str, poll_s: float = 0.002,
                 timing: bool = False) -> None:
        super().__init__()
        self.poll_s = poll_s
        name, api_id = _api_id(None if api == "auto" else api)
        try:
            self._rt = rtmidi.MidiIn(rtapi=api_id, name=client_name)
        except rtmidi.RtMidiError as err:
            raise UserInputError(f"cannot open the {name} MIDI system for {flag}: {err}") from err
        ports = list(self._rt.get_ports())
        try:
            index = _find_port(ports, port)
        except UserInputError as err:
            self._rt.delete()
            raise UserInputError(f"{flag}: {err}".replace("output ports", "MIDI ports")) from err
        self.port_name = ports[index]
        self._rt.ignore_types(sysex=True, timing=not timing, active_sense=True)
        self._rt.open_port(index)

    def handle(self, message: list[int], delta_s: float) -> None:
        """One message (its bytes) that arrived ``delta_s`` seconds after the previous one."""
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            while (event := self._rt.get_message()) is not None:
                try:
                    self.handle(event[0], event[1])
                except ValueError as err:  # a value outside the engine's limits
                    log.warning("%s: %s", self.thread_name, err)
            self._stop.wait(self.poll_s)

    def _opening(self) -> None:
        log.info("%s: reading %r", self.thread_name, self.port_name)

    def _closing(self) -> None:
        if self._rt is not None:  # closing twice must not free the port twice
            self._rt.close_port()
            self._rt.delete()
            self._rt = None


class TapReader:
    """What a pad's or foot switch's messages say: every note-on (velocity > 0), and every press of a foot switch
    (controller 64 rising to >= 64), is :meth:`EngineControls.tap`; a note-on of ``downbeat_note`` (0-127) is
    :meth:`EngineControls.downbeat` ("this beat is one") instead. Other messages are ignored.

    A tap's time is when it arrived, on the engine's clock (``time.monotonic``): the MIDI system's own timestamps
    (rtmidi's delta times, stamped in its real-time thread) plus their offset to the engine's clock, the smallest
    (read time - MIDI time) seen so far, allowed to grow by ``DRIFT`` seconds per second. A busy engine whose polling
    thread reads a message late (tens of ms while pose estimation holds the interpreter) does not move the tap."""

    DRIFT = 1e-3

    def __init__(self, controls: EngineControls, downbeat_note: int | None = None) -> None:
        if downbeat_note is not None and not 0 <= downbeat_note <= 127:
            raise UserInputError(f"--downbeat-note must be a MIDI note number 0-127, got {downbeat_note}")
        self.controls, self.downbeat_note = controls, downbeat_note
        self._pedal_down = False
        self._midi_now = 0.0  # the MIDI system's clock (s): rtmidi's delta times summed
        self._offset = float("inf")  # engine clock - MIDI clock (s), the smallest seen

    def arrival(self, delta_s: float, read_at: float) -> float:
        """When (``time.monotonic``, s) a message that came ``delta_s`` after the previous one and was read at
        ``read_at`` arrived."""
        self._midi_now += delta_s
        self._offset = min(self._offset + self.DRIFT * delta_s, read_at - self._midi_now)
        return self._midi_now + self._offset

    def read(self, message: list[int], delta_s: float, read_at: float) -> None:
        """One message (its bytes) that came ``delta_s`` s after the previous one, read at ``read_at``."""
        now = self.arrival(delta_s, read_at)
        if len(message) < 3:
            return
        kind, number, value = message[0] & 0xF0, message[1], message[2]
        if kind == NOTE_ON and value > 0:
            if number == self.downbeat_note:
                self.controls.downbeat(now)
            else:
                self.controls.tap(now)
        elif kind == CONTROL_CHANGE and number == SUSTAIN:
            pressed = value >= 64
            if pressed and not self._pedal_down:
                self.controls.tap(now)
            self._pedal_down = pressed


class TapIn(MidiInput):
    """Taps the beat from a MIDI controller on ``port`` (``--tap-in``): its messages are read by a
    :class:`TapReader` (what they mean, and when they arrived)."""

    thread_name = "midi-tap-in"

    def __init__(self, controls: EngineControls, port: str, api: str | None = None, downbeat_note: int | None = None,
                 poll_s: float = 0.001, client_name: str = "RhythmicNet-tap-in") -> None:
        self.reader = TapReader(controls, downbeat_note)
        super().__init__(port, api, client_name, "--tap-in", poll_s)

    def handle(self, message: list[int], delta_s: float) -> None:
        self.reader.read(message, delta_s, time.monotonic())
