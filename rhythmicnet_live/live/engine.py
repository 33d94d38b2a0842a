"""The live engine: camera (or a video played in real time) -> pose -> beats -> drums + piano -> MIDI/OSC.

Threads joined by bounded queues, none blocking another:

    capture ──frames (2)──> analysis ──bar requests (4)──> generation
                               │  pose, rhythm pipeline (keypoints, activation, HMM online, style)
                               └──> transport (musical time) ──events──> sender process: notes, OSC, clock
                                                                      ├──> journal
                                                                      └──> preview window
    control (OSC server), MIDI clock in, Link ──> EngineControls ──> the engine's reactions

The engine keeps only threads and wiring; musical time (beat index, bar, tempo, lock, downbeat) belongs to
:class:`~rhythmicnet_live.live.transport.Transport`, whose events every output listens to.

Predictive playing: every beat the decoder observes moves the transport's beat grid, which announces the next
beat with the time it is due; the notes of that beat (4 sixteenth steps) are scheduled on it, so they land on
the beat instead of a frame late. Bar n+1 is generated (drums, then piano over them) while bar n plays, from the
predicted rhythm (quarter-note beats plus the sudden moves of the bar before). A sudden move (style hit) also
triggers an immediate accent. When the dancer leaves the frame the music winds down (nothing new is scheduled)
and it comes back on the beat when they return.

Every frame carries its capture timestamp (``time.monotonic()`` seconds). A frame arriving while the
analysis is still busy replaces the waiting one and is counted as dropped. Control changes that touch the
decoder or the transport are queued to the analysis thread, which owns both.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import FPS
from ..analysis.hmm import BeatTracker
from ..analysis.rhythm import RhythmPipeline
from ..analysis.tempo import MotionTempo
from ..generation.music import MusicGenerator
from ..input.capture import Frame
from ..input.keypoints import OnlineKeypoints
from ..notes import STEPS_PER_BAR, STEPS_PER_BEAT, Note
from . import osc_protocol as proto
from .control import EngineControls
from .scheduler import ScheduledNote
from .transport import BarEvent, BeatEvent, Event, KeypointsEvent, NoteEvent, StyleEvent, TempoEvent, Transport

log = logging.getLogger(__name__)

#: Seconds without a body after which the music winds down.
ABSENT_AFTER_S = 1.5
#: GM pitches of the immediate accents a sudden move triggers: crash for a strong one, snare otherwise.
CRASH, SNARE = 49, 38
#: A known tempo (``--bpm``, ``/rhythmicnet/bpm``, tap, MIDI clock in, Link) lets the decoder move this much (share).
KNOWN_TEMPO_RANGE = 0.04
#: Samples kept per EngineStats series: a ring of the latest ones (percentiles), bounded on a long show.
STATS_SAMPLES = 4096


def _heap_trimmer() -> Callable[[], None]:
    """A call that gives the C heap's free pages back to the system: glibc's ``malloc_trim(0)``, or nothing where
    the C library has none (macOS, musl)."""
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: trim(0)


#: Called after each bar is generated: the generators' buffers change size every bar, and the freed ones left the
#: heap fragmented and growing (+3.4 MB over 400 bars without it, +1.2 with it, nearly all in the first 100).
trim_heap = _heap_trimmer()


class SampleRing:
    """The latest ``size`` samples (floats, or tuples of ``width`` floats) in an array allocated up front, so a
    series costs the same memory in its first minute as after hours. Iterates oldest first; ``np.asarray`` works."""

    def __init__(self, size: int = STATS_SAMPLES, width: int | None = None) -> None:
        self._data = np.zeros(size if width is None else (size, width))
        self._count = 0

    def append(self, value) -> None:
        self._data[self._count % len(self._data)] = value
        self._count += 1

    def extend(self, values) -> None:
        for value in values:
            self.append(value)

    def values(self) -> np.ndarray:
        """The samples kept, oldest first: (n,) or (n, width)."""
        if self._count <= len(self._data):
            return self._data[:self._count].copy()
        cut = self._count % len(self._data)
        return np.concatenate([self._data[cut:], self._data[:cut]])

    def tolist(self) -> list:
        return self.values().tolist()

    def __len__(self) -> int:
        return min(self._count, len(self._data))

    def __iter__(self):
        return iter(self.values().tolist() if self._data.ndim == 1 else map(tuple, self.values().tolist()))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self.values() if dtype is None else self.values().astype(dtype)

    def __deepcopy__(self, memo) -> "SampleRing":
        ring = SampleRing(len(self._data), None if self._data.ndim == 1 else self._data.shape[1])
        ring._data[:], ring._count = self._data, self._count
        return ring


def _samples() -> SampleRing:
    return SampleRing()


def _sample_pairs() -> SampleRing:
    return SampleRing(width=2)


@dataclass
class EngineStats:
    """Measurements of one performance (all times in milliseconds unless named otherwise). The series keep
    the latest ``STATS_SAMPLES`` values; seen_frames counts the 30 fps frames with a body in view.

    pose_ms / rhythm_ms: per frame, pose and the rest of the analysis (keypoints, activation, HMM, style).
    capture_to_decision_ms: capture timestamp to the end of the frame's analysis (notes scheduled).
    accent_capture_to_send_ms: capture of the frame that confirmed a sudden move to its accent's send.
    accent_times_s: (capture, due) ``time.monotonic()`` seconds of each accent handed to the sender, to follow
    an accent to a synth (benchmarks/bench_live.py).
    generation_ms / bar_s: time to generate each bar, and that bar's duration (s) at the tempo then.
    jitter_ms: per MIDI/OSC note message the sender sent, sent time minus intended time.
    notes_late: note-ons the sender did not send, past due by more than its ``max_late_s`` when their turn came.
    osc_event_ms: per OSC beat/tempo/style message, sent time minus due time (both less the output latency).
    """

    frames: int = 0
    dropped: int = 0
    beats: int = 0
    bars_generated: int = 0
    bars_late: int = 0
    seen_frames: int = 0
    notes_late: int = 0
    pose_ms: SampleRing = field(default_factory=_samples)
    rhythm_ms: SampleRing = field(default_factory=_samples)
    capture_to_decision_ms: SampleRing = field(default_factory=_samples)
    accent_capture_to_send_ms: SampleRing = field(default_factory=_samples)
    accent_times_s: SampleRing = field(default_factory=_sample_pairs)
    generation_ms: SampleRing = field(default_factory=_samples)
    bar_s: SampleRing = field(default_factory=_samples)
    jitter_ms: SampleRing = field(default_factory=_samples)
    osc_event_ms: SampleRing = field(default_factory=_samples)


def thin(notes: list[Note], density: float, rng: np.random.Generator) -> list[Note]:
    """Keep every note on a beat and each other note with probability ``density`` (0..1)."""
    if density >= 1.0:
        return notes
    return [n for n in notes if round(n.step) % STEPS_PER_BEAT == 0 or rng.random() < density]


def known_tempo_tracker(bpm: float) -> BeatTracker:
    """A decoder held within ``KNOWN_TEMPO_TOLERANCE`` of ``bpm`` (known tempo: ``--bpm``, ``/rhythmicnet/bpm``,
    tap, MIDI clock in, Link): the tempo is known, the body gives the phase."""
    return BeatTracker.known_tempo(bpm, tolerance=proto.KNOWN_TEMPO_TOLERANCE)


class PerformanceEngine:
    """One live performance. ``run()`` plays until the source ends, ``stop_event`` is set, or Ctrl-C.

    source: a frame source (``capture.CameraSource`` or ``VideoFileSource(realtime=True)``).
    estimator: pose (``pose.PoseEstimator``); activation: an activation processor (``process_online(xy (17, 2))
    -> float`` and ``delay_s``). generator: ``music.MusicGenerator``; sender: ``sender.SenderProcess`` (notes,
    MIDI clock and OSC in a child process; it listens to the transport's events); journal: ``journal.JournalWriter``
    or None; latency_s: output latency the sender compensates (s); send_keypoints: OSC keypoints every frame;
    clock: the transport's clock (monotonic seconds); motion_tempo: while the tempo is searched, the motion's
    periodicity (``MotionTempo``) is an observation of the tempo (off for a calibration profile, whose head and
    tempo range were measured without it). ``transport`` and ``frame_listeners`` (called with each
    analysed frame, its pose xy (17, 2) in pixels and conf (17,)) are public: the preview window listens to both.
    """

    def __init__(self, source, estimator, activation, generator: MusicGenerator, sender,
                 controls: EngineControls, journal=None, seed: int = 0, latency_s: float = 0.0,
                 record_keypoints: bool = True, stop_event: threading.Event | None = None,
                 send_keypoints: bool = False, clock: Callable[[], float] = time.monotonic,
                 motion_tempo: bool = True):
        self.source, self.estimator = source, estimator
        self.generator, self.sender, self.controls = generator, sender, controls
        self.journal, self.latency_s = journal, latency_s
        self.record_keypoints, self.send_keypoints = record_keypoints, send_keypoints
        self.rng = np.random.default_rng(seed)
        self.stats = EngineStats()
        self.stop_event = stop_event or threading.Event()
        self.frames: queue.Queue[Frame | None] = queue.Queue(maxsize=2)
        self.requests: queue.Queue[tuple[int, np.ndarray, float] | None] = queue.Queue(maxsize=4)
        self.keypoints = OnlineKeypoints(FPS)
        self.motion_tempo = motion_tempo
        self.pipeline = RhythmPipeline(activation, self._searching_tracker(),
                                       tempo=MotionTempo() if motion_tempo else None)
        self.transport = Transport(clock)
        self.transport.subscribe(self._on_event)
        self.frame_listeners: list[Callable[[Frame, np.ndarray, np.ndarray], None]] = []
        self._bars: dict[int, list[Note]] = {}
        self._requested: set[int] = set()
        self._bars_lock = threading.Lock()
        self._style_steps: list[int] = []  # sudden moves of the current bar, as steps in the bar
        self._last_body = -np.inf
        self._decoded_until: float | None = None  # capture time (s) of the frame the decoder filtered last
        self._known_bpm: float | None = None
        self._actions: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        controls.subscribe(self._on_control)
        if controls.bpm is not None:
            self._set_known_tempo(controls.bpm)
        if controls.tempo_lock:
            self.transport.lock(True)

    # ---- control -------------------------------------------------------------------------------
    def _on_control(self, event: str, value) -> None:
        if event in ("stop", "panic"):
            self.sender.stop()
        if event == "stop":
            self.sender.clock_stop()
        if event == "start":
            self.sender.clock_start()
        reactions = {
            "tempo_range": self._follow_range,
            "tempo_lock": lambda: self.transport.lock(bool(value)),
            "bpm": lambda: self._set_known_tempo(value),
            "tap": lambda: self._tap(value),
            "downbeat": lambda: self.transport.downbeat(value),
        }
        if event in reactions:
            self._actions.put(reactions[event])  # applied by the analysis thread, which owns decoder and transport

    def _searching_tracker(self) -> BeatTracker:
        """The decoder that searches the controls' tempo range (with the motion's tempo when ``motion_tempo``)."""
        return BeatTracker.searching(self.controls.tempo_min, self.controls.tempo_max, self.motion_tempo, fps=FPS)

    def _follow_range(self) -> None:
        """Decode within the controls' tempo range (unless a known tempo holds the decoder)."""
        if self._known_bpm is None:
            self.pipeline.retune(self._searching_tracker())

    def _set_known_tempo(self, bpm: float | None, tracker: BeatTracker | None = None) -> None:
        """Hold the tempo at ``bpm`` (the body gives the phase), or None to follow the dancer again; ``tracker``: the
        decoder to hold it with instead of the known-tempo one (taps: seeded with their phase)."""
        self.transport.set_tempo(bpm)
        if bpm is None:
            self._known_bpm = None
            self._follow_range()
            return
        current = self.pipeline.tracker
        inside = self._known_bpm is not None and current.min_bpm * 1.01 <= bpm <= current.max_bpm / 1.01
        self._known_bpm = bpm
        if tracker is not None:
            self.pipeline.retune(tracker)
        elif inside and current.prior_bpm is not None:  # a small change within the decoder's range keeps its phase
            current.set_prior(bpm, current.prior_width)
        elif not inside:
            self.pipeline.retune(known_tempo_tracker(bpm))
        log.info("tempo held at %.2f BPM", bpm)

    def _tap(self, t: float) -> None:
        """Taps give the tempo and the phase: the decoder starts afresh with its next beat on the taps' grid."""
        bpm = self.transport.tap(t, proto.TEMPO_LIMITS)
        if bpm is None:
            return
        tracker = None
        if self._decoded_until is not None:
            first = self._decoded_until + 1.0 / FPS  # the new tracker's first frame
            tracker = BeatTracker.tapped(bpm, self.transport.until_tapped_beat(first),
                                         tolerance=proto.KNOWN_TEMPO_TOLERANCE)
        self._set_known_tempo(bpm, tracker)

    # ---- transport events ----------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        """Every transport event: to the sender (OSC when due, the MIDI clock), the journal, then the engine's
        own reactions (bars to generate, notes to schedule)."""
        to_sender = not isinstance(event, (NoteEvent, BarEvent))  # notes go through schedule(); bars are internal
        if to_sender and (self.send_keypoints or not isinstance(event, KeypointsEvent)):
            self.sender.send_event(event)
        if self.journal is not None:
            self._journal(event)
        if isinstance(event, BeatEvent):
            self._on_beat(event)
        elif isinstance(event, StyleEvent):
            self._on_style(event)

    def _journal(self, event: Event) -> None:
        j, t = self.journal, event.due_s
        if isinstance(event, BeatEvent):
            j.beat(event.index, event.position, event.bpm, event.confidence, t=t)
        elif isinstance(event, TempoEvent):
            j.tempo(event.bpm, t=t)
        elif isinstance(event, StyleEvent):
            j.style(event.strength, t=t)
        elif isinstance(event, KeypointsEvent) and self.record_keypoints:
            j.keypoints(event.xy, event.conf, t=t)

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
            trim_heap()  # after the bar is handed over: its notes never wait for it

    def _analysis(self) -> None:
        while True:
            frame = self.frames.get()
            if frame is None or self.stop_event.is_set():
                return
            while not self._actions.empty():
                self._actions.get()()
            t0 = time.perf_counter()
            xy, conf = self.estimator.estimate(frame)
            t1 = time.perf_counter()
            body = None
            for t_frame, xy_norm in self.keypoints.process_online(xy, conf, frame.t_capture):
                self._step(t_frame, xy_norm)
                body = xy_norm
            self.transport.keypoints(frame.t_capture, xy, conf, body)
            for listener in self.frame_listeners:
                listener(frame, xy, conf)
            t2 = time.perf_counter()
            self.stats.frames += 1
            self.stats.pose_ms.append(1e3 * (t1 - t0))
            self.stats.rhythm_ms.append(1e3 * (t2 - t1))
            self.stats.capture_to_decision_ms.append(1e3 * (time.monotonic() - frame.t_capture))

    def _step(self, t_frame: float, xy: np.ndarray) -> None:
        """One internal (30 fps) frame at capture time ``t_frame``."""
        step = self.pipeline.process_online(xy)
        self._decoded_until = t_frame - self.pipeline.delay_s
        if np.isfinite(step.activation):
            self._last_body = t_frame
            self.stats.seen_frames += 1
        present = t_frame - self._last_body < ABSENT_AFTER_S
        if step.hit and present and self.controls.running:
            self.transport.style(float(np.clip(step.energy / 2.0, 0.0, 1.0)), t_frame)
        if step.beat.is_beat and present:
            lag = step.beat.beat_lag  # s: the decoder reports a beat that long after it happened
            self.transport.observe_beat(t_frame - self.pipeline.delay_s - lag, step.beat.next_beats[0] + lag,
                                        step.beat.confidence)
        elif present:
            self.transport.coast()

    def _on_style(self, event: StyleEvent) -> None:
        """A sudden move: remember its step for the next bar's rhythm and play an accent now."""
        if event.step is not None:
            self._style_steps.append(event.step)
        if self.controls.drums:
            pitch = CRASH if event.strength > 0.6 else SNARE
            now = time.monotonic()
            self._play(now + self.latency_s, Note("drums", pitch, int(70 + 50 * event.strength), 0.0, 1.0), 0.12)
            self.stats.accent_capture_to_send_ms.append(1e3 * (now - event.at_s))
            self.stats.accent_times_s.append((event.at_s, now + self.latency_s))

    def _play(self, when: float, note: Note, duration_s: float) -> None:
        """Hand a note to the sender; once it took it, tell the transport's listeners (the journal gets the
        note from the sender, once it was actually sent)."""
        if self.sender.schedule(ScheduledNote(when, note, duration_s)):
            self.transport.note(note, when, duration_s)

    def _on_beat(self, beat: BeatEvent) -> None:
        """Beat ``beat.index`` is due: plan generation, schedule its notes."""
        self.stats.beats += 1
        bar = self.transport.bar_of(beat.index)
        if beat.position == 0:
            self._style_steps = []
        for b in (bar, bar + 1):  # the next bar, and this one if a moved downbeat skipped it
            if b not in self._requested:
                self._request(b, beat.bpm)
        if self.controls.running:
            self._schedule_beat(bar, beat.position, beat.due_s, 60.0 / beat.bpm)

    def _request(self, bar: int, bpm: float) -> None:
        taps = np.zeros(STEPS_PER_BAR, dtype=np.int8)
        taps[::STEPS_PER_BEAT] = 1
        taps[self._style_steps] = 1
        try:
            self.requests.put_nowait((bar, taps, bpm))
            self._requested.add(bar)
        except queue.Full:
            self.stats.bars_late += 1

    def _schedule_beat(self, bar: int, position: int, due: float, period: float) -> None:
        """Schedule the notes of beat ``position`` of ``bar`` (its 4 steps) from its due time and period (s)."""
        first_step = position * STEPS_PER_BEAT
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
                self._play(due + (note.step - first_step) * step_s, note, max(0.05, note.duration * step_s))

    # ---- running -------------------------------------------------------------------------------
    def run(self, idle: Callable[[], None] | None = None, idle_s: float = 0.2) -> EngineStats:
        """Play until the source ends or ``stop_event`` is set; always ends with all notes off. ``idle`` (the
        preview window) is called about every ``idle_s`` seconds from the calling thread, which does nothing else."""
        threads = [threading.Thread(target=fn, name=name, daemon=True)
                   for fn, name in ((self._capture, "capture"), (self._analysis, "analysis"), (self._generation, "generation"))]
        if self.controls.running:
            self.sender.clock_start()
        for thread in threads:
            thread.start()
        try:
            while threads[1].is_alive():
                threads[1].join(timeout=idle_s)
                if idle is not None:
                    idle()
        except KeyboardInterrupt:
            log.info("interrupted")
            raise
        finally:
            self.stop_event.set()
            self.requests.put(None)
            threads[2].join(timeout=5)
            self.sender.clock_stop()
            records, counters = self.sender.stats()
            self.stats.jitter_ms.extend(1e3 * (r.sent_s - r.due_s) for r in records)
            self.stats.osc_event_ms.extend(1e3 * (sent - due) for _, due, sent in counters.get("osc_events", []))
            self.stats.notes_late = counters.get("late", 0)
            self.sender.stop()
            self.stats.dropped += getattr(self.source, "dropped", 0)
        return self.stats
