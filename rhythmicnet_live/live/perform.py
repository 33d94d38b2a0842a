"""``rhythmicnet-live perform``: build the live engine from the config and flags, run it, clean up.

Whatever happens (end of the video, Ctrl-C, SIGTERM, an error, even SIGKILL), the sender process sends every
pending note-off and All Notes Off on every used channel before the MIDI port closes; the journal is closed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import sys
import threading
from dataclasses import asdict
from pathlib import Path

from ..errors import UserInputError

log = logging.getLogger(__name__)


def perform_from_args(args) -> None:
    from ..config import config_from_args
    from .midi_out import list_ports

    config = config_from_args(args)
    if args.list_ports:
        api = None if config.midi.api == "auto" else config.midi.api
        for name in list_ports(api):
            print(name)
        return
    if args.camera is None and args.video is None:
        raise UserInputError("give --camera N or --video FILE (see perform --help)")
    activation, activation_name, config.tempo.min_bpm, config.tempo.max_bpm = \
        config.analysis.activation_processor(config.tempo)
    # The range now holds the profile's prior; a known tempo (--bpm) stays set: the transport holds it.
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())  # SIGTERM ends the performance cleanly
    try:
        stats = perform(config, camera=args.camera, video=args.video, activation=activation, seed=config.generation.seed,
                        stop_event=stop)
    finally:
        signal.signal(signal.SIGTERM, previous)
    summary = {k: v for k, v in asdict(stats).items() if not isinstance(v, list)}
    print(f"performance over ({activation_name} activation): " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    if args.stats:
        args.stats.write_text(json.dumps(asdict(stats)) + "\n")


def perform(config, camera: int | None = None, video: Path | None = None, activation=None, seed: int = 0,
            journal_path: Path | None = None, stop_event: threading.Event | None = None):
    """Run one performance with ``config`` until the source ends, ``stop_event`` is set or Ctrl-C; returns EngineStats."""
    from ..analysis.activation import KinematicActivation
    from ..input.capture import CameraSource, VideoFileSource
    from .control import ControlServer
    from .engine import PerformanceEngine
    from .journal import JournalWriter, new_journal_path
    from ..models import has_model
    from ..generation.music import MusicGenerator
    from ..generation.piano import ENCODER_NAME
    from ..input.pose import PoseEstimator
    from .sender import SenderProcess, SenderSpec

    with contextlib.ExitStack() as stack:
        source = CameraSource(camera) if camera is not None else VideoFileSource(video, realtime=True)
        stack.callback(source.close)
        estimator = stack.enter_context(PoseEstimator())
        generator = MusicGenerator(seed, piano=config.generation.piano and has_model(ENCODER_NAME),
                                   top_k=config.generation.top_k)
        # The note scheduler, MIDI port, MIDI clock and OSC notes run in a child process: no engine thread can
        # delay a note, and the child silences everything however this process ends.
        sender = stack.enter_context(SenderProcess(SenderSpec.from_config(config)))
        if sender.midi_port_name:
            print(f"MIDI out: {sender.midi_port_name}", file=sys.stderr)
        journal = None
        if config.journal.enabled:
            journal_path = journal_path or new_journal_path(config.journal.dir)
            journal = stack.enter_context(JournalWriter(journal_path, fsync_interval_s=config.journal.fsync_interval_s))
            print(f"recording to {journal_path}", file=sys.stderr)
        controls = config.engine_controls()
        controls.start()
        if config.control.enabled:
            stack.enter_context(ControlServer(controls, config.control.host, config.control.port).start())
        engine = PerformanceEngine(source, estimator, activation or KinematicActivation(), generator, sender,
                                   controls, journal=journal, seed=seed, latency_s=config.scheduler.latency_s,
                                   record_keypoints=config.journal.keypoints, stop_event=stop_event,
                                   send_keypoints=config.osc.enabled and config.osc.keypoints)
        _tempo_from_outside(config, controls, engine, stack)
        idle = None
        if config.preview.enabled:
            from .preview import Preview

            preview = stack.enter_context(Preview(controls, config.preview.fps))
            engine.transport.subscribe(preview.on_event)
            engine.frame_listeners.append(preview.on_frame)
            idle = preview.draw
        return engine.run(idle=idle, idle_s=1.0 / config.preview.fps)


def _tempo_from_outside(config, controls, engine, stack: contextlib.ExitStack) -> None:
    """MIDI clock in (``--clock-in``) and Ableton Link (``--link``), when asked for."""
    if config.tempo.clock_in:
        from .clock_in import ClockIn

        clock_in = stack.enter_context(ClockIn(controls, config.tempo.clock_in, config.midi.api))
        print(f"MIDI clock in: {clock_in.port_name}", file=sys.stderr)
    if config.tempo.link:
        from .link import LinkSync

        link = stack.enter_context(LinkSync(controls))
        engine.transport.subscribe(link.on_event)
        print("Ableton Link: joined", file=sys.stderr)
