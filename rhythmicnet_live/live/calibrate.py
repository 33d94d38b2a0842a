"""The live calibration session: a click on the MIDI port and over OSC while the camera records the dancer.

The click is a side stick (GM 37) on channel 10, accented on the count-in, and ``/rhythmicnet/click i index
f bpm i count_in`` over OSC. Each tempo starts with a count-in of ``count_in`` clicks the dancer only listens
to; the clicks after it are the labels. Every click's send time is ``time.monotonic()`` right after the MIDI
message (the clock of camera frames), so keypoints and clicks share one clock. Output latency (MIDI to the
DAW to the speaker) is a constant the profile's offset absorbs.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import mido
import numpy as np

from . import osc_protocol as proto
from ..errors import UserInputError

log = logging.getLogger(__name__)

SIDE_STICK = 37
CLICK_CHANNEL = 9  # MIDI channel 10, 0-based
CLICK_LENGTH_S = 0.05
GAP_S = 2.0  # silence between tempi (s)


@dataclass(frozen=True)
class Click:
    """One planned click: due time (s, monotonic), tempo (BPM), index within its tempo, count-in or not."""

    due: float
    bpm: float
    index: int
    count_in: bool


def click_plan(start: float, bpms: list[float], seconds: float, count_in: int) -> list[Click]:
    """Clicks from ``start`` (s): per tempo ``count_in`` clicks, then ``seconds`` of clicks, then ``GAP_S`` of silence."""
    clicks, t = [], start
    for bpm in bpms:
        period = 60.0 / bpm
        n = count_in + int(np.floor(seconds / period))
        clicks += [Click(t + k * period, bpm, k, k < count_in) for k in range(n)]
        t += n * period + GAP_S
    return clicks


class ClickPlayer:
    """Plays a click plan on a MIDI port (or none) and over OSC (or not) in a thread; records send times.

    ``sent``: (click, send time s monotonic) of every click played so far. ``stop()`` ends early; the port is
    silenced (all notes off) however it ends.
    """

    def __init__(self, plan: list[Click], midi=None, osc_client=None):
        self.plan, self.midi, self.osc = plan, midi, osc_client
        self.sent: list[tuple[Click, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="click", daemon=True)

    def start(self) -> "ClickPlayer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _wait_until(self, due: float) -> bool:
        """Sleep until ``due`` (monotonic s); False if stopped first."""
        while not self._stop.is_set():
            left = due - time.monotonic()
            if left <= 0:
                return True
            self._stop.wait(min(left, 0.002) if left < 0.01 else left - 0.008)
        return False

    def _run(self) -> None:
        try:
            for click in self.plan:
                if not self._wait_until(click.due):
                    return
                velocity = 127 if click.count_in else 100
                if self.midi is not None:
                    self.midi.send(mido.Message("note_on", channel=CLICK_CHANNEL, note=SIDE_STICK, velocity=velocity))
                sent = time.monotonic()
                if self.osc is not None:
                    try:
                        self.osc.send_message(proto.CLICK, [click.index, float(click.bpm), int(click.count_in)])
                    except OSError as err:
                        log.warning("OSC click not sent: %s", err)
                self.sent.append((click, sent))
                if self.midi is not None and self._wait_until(sent + CLICK_LENGTH_S):
                    self.midi.send(mido.Message("note_off", channel=CLICK_CHANNEL, note=SIDE_STICK))
        finally:
            if self.midi is not None:
                self.midi.all_notes_off()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()


def record_click_session(camera: int, bpms: list[float], seconds: float, count_in: int, midi=None, osc_client=None):
    """Record a camera while the click plays; returns a ``profile.Session`` (clicks after each count-in only)."""
    from ..analysis.profile import Session
    from ..input.capture import CameraSource
    from ..input.keypoints import Keypoints
    from ..input.pose import PoseEstimator

    xys, confs, times = [], [], []
    with CameraSource(camera) as source, PoseEstimator() as estimator:
        plan = click_plan(time.monotonic() + 1.0, bpms, seconds, count_in)
        end = plan[-1].due + 60.0 / plan[-1].bpm
        player = ClickPlayer(plan, midi, osc_client).start()
        try:
            for frame in source:
                xy, conf = estimator.estimate(frame)
                xys.append(xy)
                confs.append(conf)
                times.append(frame.t_capture)
                if frame.t_capture > end:
                    break
        finally:
            player.stop()
    if not times:
        raise UserInputError(f"camera {camera} gave no frames")
    labelled = [(c, t) for c, t in player.sent if not c.count_in]
    segments = []
    for bpm in bpms:
        sent = [t for c, t in labelled if c.bpm == bpm]
        if sent:
            segments.append((sent[0] - 0.5 * 60.0 / bpm, sent[-1] + 0.5 * 60.0 / bpm, float(bpm)))
    keypoints = Keypoints(np.stack(xys), np.stack(confs), np.asarray(times, np.float64))
    return Session(keypoints, np.array([t for _, t in labelled]), segments)
