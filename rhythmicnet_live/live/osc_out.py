"""OSC output (python-osc, UDP): notes, beats, tempo, style and optionally keypoints, for Max and DAWs.

Addresses and argument types are those of :mod:`rhythmicnet_live.live.osc_protocol`. Sending never raises on a
network error (UDP to a listener that is not there is normal): the error is logged once per kind and counted
in ``errors``.

The output is also a note sink for :class:`rhythmicnet_live.live.scheduler.NoteScheduler`: ``note_on`` sends
``/rhythmicnet/note`` (one message per note, with its duration in seconds); ``note_off`` and ``all_notes_off``
send nothing. :class:`EventSender` sends the transport's beat, tempo, style and keypoints events each at the
time it is due (less the output latency), on its own thread: the sender process runs it beside the notes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Sequence

from pythonosc.udp_client import SimpleUDPClient

from . import osc_protocol as proto
from ..notes import DRUM_CHANNEL
from .timing import DueQueue, wait_until
from .transport import BeatEvent, Event, KeypointsEvent, StyleEvent, TempoEvent

if TYPE_CHECKING:
    from .scheduler import ScheduledNote

log = logging.getLogger(__name__)


def track_of(note) -> str:
    """"drums" or "piano" for a Note-like object: its ``track`` if it has one, else from its channel."""
    track = getattr(note, "track", None)
    if track in proto.TRACKS:
        return track
    return "drums" if note.channel == DRUM_CHANNEL else "piano"


class OscOutput:
    """Sends the output stream to ``host:port`` (default 127.0.0.1:9000).

    send_keypoints: send ``/rhythmicnet/keypoints`` (34 floats per frame) too; off by default (bandwidth).
    """

    def __init__(self, host: str = proto.DEFAULT_OSC_HOST, port: int = proto.DEFAULT_OSC_PORT,
                 send_keypoints: bool = False) -> None:
        self.host = host
        self.port = port
        self.send_keypoints = send_keypoints
        self.errors = 0
        self._client = SimpleUDPClient(host, port)
        self._logged: set[str] = set()

    def _send(self, address: str, args: list) -> None:
        try:
            self._client.send_message(address, args)
        except OSError as err:
            self.errors += 1
            if address not in self._logged:
                self._logged.add(address)
                log.warning("OSC send of %s to %s:%d failed: %s (further failures are counted, not logged)",
                            address, self.host, self.port, err)

    def note(self, track: str, pitch: int, velocity: int, duration_s: float) -> None:
        """``/rhythmicnet/note s i i f``: track "drums"/"piano", MIDI pitch, velocity 1..127, duration (s)."""
        if track not in proto.TRACKS:
            raise ValueError(f"track must be one of {proto.TRACKS}, got {track!r}")
        self._send(proto.NOTE, [track, int(pitch), int(velocity), float(duration_s)])

    def beat(self, index: int, position_in_bar: int, bpm: float, confidence: float) -> None:
        """``/rhythmicnet/beat i i f f``: beat number since start, beat within the bar (0..3), BPM, 0..1."""
        self._send(proto.BEAT, [int(index), int(position_in_bar), float(bpm), float(confidence)])

    def tempo(self, bpm: float) -> None:
        """``/rhythmicnet/tempo f``: the current tempo (BPM)."""
        self._send(proto.TEMPO, [float(bpm)])

    def style(self, strength: float) -> None:
        """``/rhythmicnet/style f``: a style hit (sudden move) and its strength (0..1)."""
        self._send(proto.STYLE, [float(strength)])

    def keypoints(self, xy: Sequence[float]) -> None:
        """``/rhythmicnet/keypoints`` + 34 floats (x, y of the 17 COCO joints); only if ``send_keypoints``.
        Missing joints (NaN) are sent as 0.0 (OSC floats have no NaN convention in Max)."""
        if not self.send_keypoints:
            return
        values = [float(v) for v in (xy.ravel() if hasattr(xy, "ravel") else xy)]
        if len(values) != 34:
            raise ValueError(f"keypoints must have 34 values (17 joints x 2), got {len(values)}")
        self._send(proto.KEYPOINTS, [0.0 if v != v else v for v in values])

    def event(self, event: Event) -> None:
        """Send a transport event: beat, tempo, style, or keypoints (their normalised body coordinates)."""
        if isinstance(event, BeatEvent):
            self.beat(event.index, event.position, event.bpm, event.confidence)
        elif isinstance(event, TempoEvent):
            self.tempo(event.bpm)
        elif isinstance(event, StyleEvent):
            self.style(event.strength)
        elif isinstance(event, KeypointsEvent) and event.body is not None:
            self.keypoints(event.body)

    # -- note sink API (rhythmicnet_live.live.scheduler) --------------------------------------------------
    def note_on(self, event: "ScheduledNote") -> None:
        n = event.note
        self.note(track_of(n), n.pitch, n.velocity, event.duration_s)

    def note_off(self, event: "ScheduledNote") -> None:
        pass

    def all_notes_off(self) -> None:
        pass

    def close(self) -> None:
        self._client.close()


class EventSender:
    """Sends transport events through ``osc`` at ``due_s - latency_s`` (monotonic seconds) on a daemon thread.

    ``records`` keeps (address kind, due, sent) per event sent (``time.monotonic()`` seconds, due less the latency).
    An event already past due goes out at once.
    """

    def __init__(self, osc: OscOutput, latency_s: float = 0.0, max_records: int = 100_000) -> None:
        self.osc, self.latency_s = osc, latency_s
        self.records: deque[tuple[str, float, float]] = deque(maxlen=max_records)
        self._queue = DueQueue()
        self._thread = threading.Thread(target=self._run, name="osc-events", daemon=True)
        self._thread.start()

    def schedule(self, event: Event) -> None:
        self._queue.push(event.due_s - self.latency_s, event)

    def _run(self) -> None:
        while (due := self._queue.wait()) is not None:
            wait_until(due)
            for due, event in self._queue.pop_due(time.monotonic()):
                self.osc.event(event)
                self.records.append((type(event).__name__, due, time.monotonic()))

    def close(self) -> None:
        """Stop sending; events not yet due are dropped."""
        self._queue.close()
        self._thread.join()
