"""Ableton Link: share the tempo and the beat grid with Live, Bitwig, phones and other Link apps on the network.

``--link`` joins the Link session on the local network (``linkpython-extern``, the ``link`` extra). Who sets the
tempo depends on the tempo lock:

- **the dancer leads** (tempo lock off): every beat the transport announces sets the session's tempo (when it
  moved by more than ``min_change``) at the beat's time, and bar one of the transport is put on the session's
  bar line (quantum 4), so Live's bars start where the dancer's do;
- **the session leads** (tempo lock on, ``/rhythmicnet/tempo_lock 1``, and at least one other peer): the
  session's tempo becomes the engine's known tempo (held within 4 %, the body gives the phase), followed as it
  changes; unlocking, or the last peer leaving, gives the lead back to the dancer (or to ``--bpm``). Alone, the
  engine's own session holds only Link's default tempo, which nobody chose, so it is not followed.

Start/Stop sync is on: a peer pressing play or stop starts or stops the performance.

Why ``linkpython-extern`` rather than ``aalink``: it binds the whole Link API (session state, beat/phase at a
time, tempo and start/stop callbacks) synchronously, which suits the engine's threads; ``aalink`` is built
around an asyncio event loop the engine does not run. Both install from wheels.

Link's clock is not ``time.monotonic()``: times are converted with the offset between the two, measured at
join time.
"""

from __future__ import annotations

import logging
import time

from ..errors import UserInputError
from .control import EngineControls, ExternalInput
from .transport import BeatEvent, Event

log = logging.getLogger(__name__)

QUANTUM = 4.0  # beats per bar on the session's grid


class LinkSync(ExternalInput):
    """A Link peer for the engine: subscribe :meth:`on_event` to the transport; see the module docstring.

    poll_s: how often the session tempo is read while following it (s).
    """

    thread_name = "link"

    def __init__(self, controls: EngineControls, bpm: float = 120.0, min_change: float = 0.005,
                 poll_s: float = 0.05) -> None:
        try:
            import link
        except ImportError as err:
            raise UserInputError("--link needs Ableton Link's Python binding: pip install 'rhythmicnet-live[link]'"
                                 ) from err
        super().__init__()
        self.controls, self.min_change, self.poll_s = controls, min_change, poll_s
        self._link = link.Link(float(bpm))
        self._link.startStopSyncEnabled = True
        self._link.setStartStopCallback(self._on_start_stop)
        self._following: float | None = None  # the session tempo handed to the engine
        self._given: float | None = None  # the known tempo before the session led (--bpm, /rhythmicnet/bpm)
        self._offset_us = 0

    @property
    def peers(self) -> int:
        return self._link.numPeers()

    @property
    def tempo(self) -> float:
        """The session's tempo (BPM)."""
        return self._link.captureAppSessionState().tempo()

    def _us(self, t: float) -> int:
        """Link clock microseconds of monotonic time ``t`` (s)."""
        return int(t * 1e6) + self._offset_us

    def _on_start_stop(self, playing: bool) -> None:
        if playing and not self.controls.running:
            self.controls.start()
        elif not playing and self.controls.running:
            self.controls.stop()

    def on_event(self, event: Event) -> None:
        """Transport listener: while the dancer leads, put the session's tempo and bar line on the beats."""
        if not isinstance(event, BeatEvent) or self.controls.tempo_lock:
            return
        state = self._link.captureAppSessionState()
        at = self._us(event.due_s)
        if abs(event.bpm / state.tempo() - 1) > self.min_change:
            state.setTempo(event.bpm, at)
        phase = state.phaseAtTime(at, QUANTUM)
        if event.position == 0 and min(phase, QUANTUM - phase) > 0.05:  # the dancer's bar one on a bar line
            state.forceBeatAtTime(QUANTUM * round(state.beatAtTime(at, QUANTUM) / QUANTUM), at, QUANTUM)
        self._link.commitAppSessionState(state)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.follow()

    def follow(self) -> None:
        """One poll (every ``poll_s`` on the Link thread): hand the session's tempo to the engine while the tempo
        is locked and another peer is in the session; give the lead back when either ends."""
        if self.controls.tempo_lock and self.peers > 0:
            tempo = self.tempo
            if self._following is None:
                self._given = self.controls.bpm
            if self._following is None or abs(tempo / self._following - 1) > self.min_change:
                self._following = tempo
                self.controls.set_bpm(round(tempo, 2))
        elif self._following is not None:
            self._following = None
            self.controls.set_bpm(self._given or 0)  # the dancer (or the tempo given before) leads again

    def _opening(self) -> None:
        self._offset_us = self._link.clock().micros() - int(time.monotonic() * 1e6)
        self._link.enabled = True
        log.info("joined the Ableton Link session")

    def _closing(self) -> None:
        self._link.enabled = False
