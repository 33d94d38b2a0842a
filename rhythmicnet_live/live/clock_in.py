"""MIDI clock in: follow a DAW's tempo (24 Clock messages per quarter note) and its Start/Stop.

``--clock-in PORT`` opens an input connected to the DAW's MIDI output port named (or containing) PORT, on the
configured MIDI API (JACK, ALSA, CoreMIDI, Windows). The tempo is the least-squares slope of the last
``window`` ticks' times, taken from the MIDI system's own timestamps (rtmidi's delta times, stamped in its
real-time thread, so a busy engine that polls late does not bend them; JACK stamps per audio period, which the
fit over many ticks averages out); it is handed to :meth:`EngineControls.set_bpm` (the engine then holds that
tempo within 4 % and the dancer's body gives the phase) whenever it moves by more than ``min_change``. Start and Continue start the
performance, Stop stops it (all notes off).

The input itself (port, polling thread) is :class:`~.midi_in.MidiInput`.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from .control import EngineControls
from .midi_in import MidiInput
from .midi_out import CLOCKS_PER_QUARTER

CLOCK, START, CONTINUE, STOP = 0xF8, 0xFA, 0xFB, 0xFC


class ClockIn(MidiInput):
    """Follows the MIDI clock on ``port`` (see the module docstring); ``bpm`` is the latest tempo (BPM) or None.

    Raises UserInputError when the MIDI API or the port is not there (the message lists the ports)."""

    thread_name = "midi-clock-in"

    def __init__(self, controls: EngineControls, port: str, api: str | None = None, window: int = 96,
                 min_change: float = 0.005, poll_s: float = 0.002, client_name: str = "RhythmicNet-clock-in") -> None:
        super().__init__(port, api, client_name, "--clock-in", poll_s, timing=True)
        self.controls = controls
        self.min_change = min_change
        self.bpm: float | None = None
        self._ticks: deque[float] = deque(maxlen=window)  # times (s) of the last ticks on the MIDI system's clock
        self._now = 0.0  # the MIDI system's clock (s): rtmidi's delta times summed

    def handle(self, message: list[int], delta_s: float) -> None:
        """One message (its bytes; the status byte decides) that arrived ``delta_s`` seconds after the previous one."""
        status = message[0]
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
