"""The live engine: camera (or a video played in real time) -> pose -> beats -> drums + piano -> MIDI/OSC.

Threads joined by bounded queues, none blocking another:

    capture ──frames (2)──> analysis ──bar requests (4)──> generation
                               │  pose, keypoints, activation, HMM (online), style
                               └──────── scheduled notes ──────> sender process (scheduler) ──> MIDI port, OSC
                                                                 └──> journal
    control (OSC server) ──> EngineControls ──> the engine's reactions (stop, panic, tempo range ...)

Predictive playing: every detected beat gives the HMM's prediction of the next beat time and period;
the notes of the next beat (4 sixteenth steps) are scheduled on that prediction, so they land on the
beat instead of a frame late. Bar n+1 is generated (drums, then piano over them) while bar n plays, from
the predicted rhythm (quarter-note beats plus the sudden moves of the bar before). A sudden move
(style hit) also triggers an immediate accent. When the dancer leaves the frame the music winds down
(nothing new is scheduled) and it comes back on the beat when they return.

Every frame carries its capture timestamp (``time.monotonic()`` seconds). A frame arriving while the
analysis is still busy replaces the waiting one and is counted as dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .. import FPS
from ..input.capture import Frame
from .control import EngineControls
from ..analysis.hmm import BeatTracker, OnlineBeat
from ..generation.music import MusicGenerator
from ..input.keypoints import OnlineKeypoints
from ..notes import STEPS_PER_BAR, STEPS_PER_BEAT, Note
from .scheduler import ScheduledNote
from ..analysis.style import StyleProcessor

log = logging.getLogger(__name__)

#: Seconds without a body after which the music winds down.
ABSENT_AFTER_S = 1.5
#: GM pitches of the immediate accents a sudden move triggers: crash for a strong one, snare otherwise.
CRASH, SNARE = 49, 38


@dataclass
class EngineStats:
    """Measurements of one performance (all times in milliseconds unless named otherwise).

    pose_ms / rhythm_ms: per frame, pose and the rest of the analysis (keypoints, activation, HMM, style).
    capture_to_decision_ms: capture timestamp to the end of the frame's analysis (notes scheduled).
    accent_capture_to_send_ms: capture of the frame that confirmed a sudden move to its accent's send.
    generation_ms / bar_s: time to generate each bar, and that bar's duration (s) at the tempo then.
    jitter_ms: per MIDI/OSC message the sender sent, sent time minus intended time.
    """

    frames: int = 0
    dropped: int = 0
    beats: int = 0
    bars_generated: int = 0
    bars_late: int = 0
    pose_ms: list[float] = field(default_factory=list)
    rhythm_ms: list[float] = field(default_factory=list)
    capture_to_decision_ms: list[float] = field(default_factory=list)
    accent_capture_to_send_ms: list[float] = field(default_factory=list)
    generation_ms: list[float] = field(default_factory=list)
    bar_s: list[float] = field(default_factory=list)
    jitter_ms: list[float] = field(default_factory=list)


def thin(notes: list[Note], density: float, rng: np.random.Generator) -> list[Note]:
    """Keep every note on a beat and each other note with probability ``density`` (0..1)."""
    if density >= 1.0:
        return notes
    return [n for n in notes if round(n.step) % STEPS_PER_BEAT == 0 or rng.random() < density]


class PerformanceEngine:
    """One live performance. ``run()`` plays until the source ends, ``stop_event`` is set, or Ctrl-C.

    source: a frame source (``capture.CameraSource`` or ``VideoFileSource(realtime=True)``).
    estimator: pose (``pose.PoseEstimator``); activation: ``process_online(xy (17, 2)) -> float``.
    generator: ``music.MusicGenerator``; sender: ``sender.SenderProcess`` (the note scheduler, MIDI port, clock and
    OSC notes in a child process); osc: ``osc_out.OscOutput`` (beats, tempo, style) or None;
    journal: ``journal.JournalWriter`` or None; latency_s: output latency the sender compensates (s).
    """

    def __init__(self, source, estimator, activation, generator: MusicGenerator, sender,
                 controls: EngineControls, osc=None, journal=None, seed: int = 0, latency_s: float = 0.0,
                 record_keypoints: bool = True, stop_event: threading.Event | None = None):
        self.source, self.estimator, self.activation = source, estimator, activation
        self.generator, self.sender, self.controls = generator, sender, controls
        self.osc, self.journal, self.latency_s = osc, journal, latency_s
        self.record_keypoints = record_keypoints
        self.rng = np.random.default_rng(seed)
        self.stats = EngineStats()
        self.stop_event = stop_event or threading.Event()
        self.frames: queue.Queue[Frame | None] = queue.Queue(maxsize=2)
        self.requests: queue.Queue[tuple[int, np.ndarray, float] | None] = queue.Queue(maxsize=4)
        self.keypoints = OnlineKeypoints(FPS)
        self.style = StyleProcessor()
        self.tracker = BeatTracker(controls.tempo_min, controls.tempo_max, FPS)
        self._bars: dict[int, list[Note]] = {}
        self._bars_lock = threading.Lock()
        self._beat_index = -1
        self._last_beat = (0.0, 0.5)  # (time s, period s) of the latest beat
        self._style_steps: list[int] = []  # sudden moves of the current bar, as steps in the bar
        self._last_body = -np.inf
        self._locked_period: float | None = None
        self._retune = threading.Event()
        controls.subscribe(self._on_control)

    # ---- control -------------------------------------------------------------------------------
    def _on_control(self, event: str, value) -> None:
        if event in ("stop", "panic"):
            self.sender.stop()
        if event == "stop":
            self.sender.clock_stop()
        if event == "start":
            self.sender.clock_start()
        if event == "tempo_range":
            self._retune.set()  # rebuilt by the analysis thread, which owns the tracker
        if event == "tempo_lock" and not value:
            self._locked_period = None

    # ---- threads -------------------------------------------------------------------------------
    def _capture(self) -> None:
        try:
            for frame in self.source:
                if self.stop_event.is_set():
                    break
                try:
                    self.frames.put_nowait(frame)
                except queue.Full:
                    try:
                        self.frames.get_nowait()  # the analysis is behind: the newest frame wins
                        self.stats.dropped += 1
                    except queue.Empty:
                        pass
                    self.frames.put_nowait(frame)
        finally:
            self.frames.put(None)

    def _generation(self) -> None:
        while True:
            request = self.requests.get()
            if request is None:
                return
            bar, taps, bpm = request
            t0 = time.perf_counter()
            controls = self.controls.snapshot()
            notes = self.generator.generate(taps, bpm, controls["temperature"], controls["temperature"],
                                            drums=controls["drums"], piano=controls["piano"])
            self.stats.generation_ms.append(1e3 * (time.perf_counter() - t0))
            self.stats.bar_s.append(STEPS_PER_BAR / STEPS_PER_BEAT * 60.0 / bpm)
            with self._bars_lock:
                self._bars[bar] = notes
                for old in [b for b in self._bars if b < bar - 2]:
                    del self._bars[old]
            self.stats.bars_generated += 1

    def _analysis(self) -> None:
        while True:
            frame = self.frames.get()
            if frame is None or self.stop_event.is_set():
                return
            t0 = time.perf_counter()
            xy, conf = self.estimator.estimate(frame)
            t1 = time.perf_counter()
            if self._retune.is_set():
                self._retune.clear()
                self.tracker = BeatTracker(self.controls.tempo_min, self.controls.tempo_max, FPS)
            for t_frame, xy_norm in self.keypoints.process_online(xy, conf, frame.t_capture):
                self._step(t_frame, xy_norm, frame.t_capture)
            if self.journal is not None and self.record_keypoints:
                self.journal.keypoints(xy.ravel().tolist(), conf.tolist(), t=frame.t_capture)
            t2 = time.perf_counter()
            self.stats.frames += 1
            self.stats.pose_ms.append(1e3 * (t1 - t0))
            self.stats.rhythm_ms.append(1e3 * (t2 - t1))
            self.stats.capture_to_decision_ms.append(1e3 * (time.monotonic() - frame.t_capture))

    def _step(self, t_frame: float, xy: np.ndarray, t_capture: float) -> None:
        """One internal (30 fps) frame at capture time ``t_frame``."""
        activation = self.activation.process_online(xy)
        if np.isfinite(activation):
            self._last_body = t_frame
        beat = self.tracker.process_online(activation)
        energy, hit = self.style.process_online(xy)
        present = t_frame - self._last_body < ABSENT_AFTER_S
        playing = present and self.controls.running
        if hit is not None and playing:
            self._accent(energy, t_capture)
        if beat.is_beat and present:
            self._on_beat(beat, t_frame - getattr(self.activation, "delay_s", 0.0))

    def _accent(self, energy: float, t_capture: float) -> None:
        strength = float(np.clip(energy / 2.0, 0.0, 1.0))
        if self.osc is not None:
            self.osc.style(strength)
        if self.journal is not None:
            self.journal.style(strength)
        if self._beat_index >= 0:  # where in the bar it fell, for the next bar's rhythm
            since_beat = (t_capture - self._last_beat[0]) / (self._last_beat[1] / STEPS_PER_BEAT)
            step = (self._beat_index % 4) * STEPS_PER_BEAT + int(round(since_beat))
            self._style_steps.append(min(max(step, 0), STEPS_PER_BAR - 1))
        if self.controls.drums:
            pitch = CRASH if strength > 0.6 else SNARE
            now = time.monotonic()
            self._play(ScheduledNote(now + self.latency_s, Note("drums", pitch, int(70 + 50 * strength), 0.0, 1.0), 0.12))
            self.stats.accent_capture_to_send_ms.append(1e3 * (now - t_capture))

    def _play(self, event: ScheduledNote) -> None:
        """Hand a note to the sender and journal it at its intended time."""
        if self.sender.schedule(event) and self.journal is not None:
            note = event.note
            self.journal.note(note.track, note.pitch, note.velocity, event.duration_s, t=event.time_s, channel=note.channel)

    def _on_beat(self, beat: OnlineBeat, t_beat: float) -> None:
        """A beat at ``t_beat``: report it, plan generation, schedule the next beat's notes."""
        self._beat_index += 1
        self.stats.beats += 1
        index = self._beat_index
        period = beat.next_beats[1] - beat.next_beats[0]
        if self.controls.tempo_lock:
            self._locked_period = self._locked_period or period
            period = self._locked_period
        bpm = 60.0 / period
        self._last_beat = (t_beat, period)
        position = index % 4
        if self.osc is not None:
            self.osc.beat(index, position, bpm, beat.confidence)
            self.osc.tempo(bpm)
        if self.journal is not None:
            self.journal.beat(index, position, bpm, beat.confidence, t=t_beat)
            self.journal.tempo(bpm, t=t_beat)
        self.sender.set_bpm(bpm, beat_at=t_beat)
        bar = index // 4
        if position == 0:
            if index == 0:
                self._request(bar, bpm)
            self._request(bar + 1, bpm)
            self._style_steps = []
        if self.controls.running:
            self._schedule_beat(index + 1, t_beat + beat.next_beats[0] if not self.controls.tempo_lock else t_beat + period, period)

    def _request(self, bar: int, bpm: float) -> None:
        taps = np.zeros(STEPS_PER_BAR, dtype=np.int8)
        taps[::STEPS_PER_BEAT] = 1
        taps[self._style_steps] = 1
        try:
            self.requests.put_nowait((bar, taps, bpm))
        except queue.Full:
            self.stats.bars_late += 1

    def _schedule_beat(self, beat_index: int, t_next: float, period: float) -> None:
        """Schedule the notes of beat ``beat_index`` (its 4 steps) from its predicted time and period (s)."""
        bar, first_step = divmod(beat_index * STEPS_PER_BEAT, STEPS_PER_BAR)
        with self._bars_lock:
            notes = self._bars.get(bar)
        if notes is None:
            self.stats.bars_late += first_step == 0
            return
        controls = self.controls.snapshot()
        step_s = period / STEPS_PER_BEAT
        for note in thin(notes, controls["density"], self.rng):
            if first_step - 0.5 <= note.step < first_step + STEPS_PER_BEAT - 0.5:
                if (note.track == "drums" and not controls["drums"]) or (note.track == "piano" and not controls["piano"]):
                    continue
                when = t_next + (note.step - first_step) * step_s
                self._play(ScheduledNote(when, note, max(0.05, note.duration * step_s)))

    # ---- running -------------------------------------------------------------------------------
    def run(self) -> EngineStats:
        """Play until the source ends or ``stop_event`` is set; always ends with all notes off."""
        threads = [threading.Thread(target=fn, name=name, daemon=True)
                   for fn, name in ((self._capture, "capture"), (self._analysis, "analysis"), (self._generation, "generation"))]
        if self.controls.running:
            self.sender.clock_start()
        for thread in threads:
            thread.start()
        try:
            while threads[1].is_alive():
                threads[1].join(timeout=0.2)
        except KeyboardInterrupt:
            log.info("interrupted")
            raise
        finally:
            self.stop_event.set()
            self.requests.put(None)
            threads[2].join(timeout=5)
            self.sender.clock_stop()
            self.stats.jitter_ms = [1e3 * (r.sent_s - r.due_s) for r in self.sender.records()]
            self.sender.stop()
            self.stats.dropped += getattr(self.source, "dropped", 0)
        return self.stats
