"""MIDI clock in: follow a DAW's tempo (24 Clock messages per quarter note) and its Start/Stop.

``--clock-in PORT`` opens an input connected to the DAW's MIDI output port named (or containing) PORT, on the
configured MIDI API (JACK, ALSA, CoreMIDI, Windows). The tempo is the least-squares slope of the last
``window`` ticks' times, taken from the MIDI system's own timestamps (rtmidi's delta times, stamped in its
real-time thread, so a busy engine that polls late does not bend them; JACK stamps per audio period, which the
fit over many ticks averages out); it is handed to :meth:`EngineControls.set_bpm` (the engine then holds that
tempo within 4 % and the dancer's body gives the phase) whenever it moves by more than ``min_change``. Start and Continue start the
performance, Stop stops it (all notes off).

A polling thread reads the input queue every ``poll_s`` seconds rather than an rtmidi callback, which would run
Python in the MIDI system's real-time thread.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

import numpy as np

import rtmidi

from ..errors import UserInputError
from .control import EngineControls
from .midi_out import CLOCKS_PER_QUARTER, _api_id, _find_port

log = logging.getLogger(__name__)

CLOCK, START, CONTINUE, STOP = 0xF8, 0xFA, 0xFB, 0xFC


class ClockIn:
    """Follows the MIDI clock on ``port`` (see the module docstring); ``bpm`` is the latest tempo (BPM) or None.

    Raises UserInputError when the MIDI API or the port is not there (the message lists the ports)."""

    def __init__(self, controls: EngineControls, port: str, api: str | None = None, window: int = 96,
                 min_change: float = 0.005, poll_s: float = 0.002, client_name: str = "RhythmicNet-clock-in") -> None:
        self.controls = controls
        self.min_change, self.poll_s = min_change, poll_s
        self.bpm: float | None = None
        self._ticks: deque[float] = deque(maxlen=window)  # times (s) of the last ticks on the MIDI system's clock
        self._now = 0.0  # the MIDI system's clock (s): rtmidi's delta times summed
        name, api_id = _api_id(None if api == "auto" else api)
        try:
            self._rt = rtmidi.MidiIn(rtapi=api_id, name=client_name)
        except rtmidi.RtMidiError as err:
            raise UserInputError(f"cannot open the {name} MIDI system for --clock-in: {err}") from err
        ports = list(self._rt.get_ports())
        try:
            index = _find_port(ports, port)
        except UserInputError as err:
            self._rt.delete()
            raise UserInputError(f"--clock-in: {err}".replace("output ports", "MIDI ports")) from err
        self.port_name = ports[index]
        self._rt.ignore_types(sysex=True, timing=False, active_sense=True)
        self._rt.open_port(index)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def handle(self, status: int, delta_s: float) -> None:
        """One message (its status byte) that arrived ``delta_s`` seconds after the previous one."""
        self._now += delta_s
        if status == CLOCK:
            self._ticks.append(self._now)
            if len(self._ticks) > CLOCKS_PER_QUARTER and self._ticks[-1] > self._ticks[0]:
                tick_s = np.polyfit(np.arange(len(self._ticks)), np.asarray(self._ticks), 1)[0]
                bpm = 60.0 / (CLOCKS_PER_QUARTER * tick_s)
                if self.bpm is None or abs(bpm / self.bpm - 1) > self.min_change:
                    self.bpm = bpm
                    self.controls.set_bpm(round(bpm, 2))
        elif status in (START, CONTINUE):
            self._ticks.clear()
            self.controls.start()
        elif status == STOP:
            self.controls.stop()

    def _poll(self) -> None:
        while not self._stop.is_set():
            while (event := self._rt.get_message()) is not None:
                try:
                    self.handle(event[0][0], event[1])
                except ValueError as err:  # a tempo outside the engine's limits
                    log.warning("MIDI clock in: %s", err)
            self._stop.wait(self.poll_s)

    def start(self) -> "ClockIn":
        if self._thread is None:
            self._thread = threading.Thread(target=self._poll, name="midi-clock-in", daemon=True)
            self._thread.start()
            log.info("following the MIDI clock of %r", self.port_name)
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._rt.close_port()
        self._rt.delete()

    def __enter__(self) -> "ClockIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
