"""``rhythmicnet-live perform``: build the live engine from the config and flags, run it, clean up.

Whatever happens (end of the video, Ctrl-C, SIGTERM, an error, even SIGKILL), the sender process sends every
pending note-off and All Notes Off on every used channel before the MIDI port closes; the journal is closed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import threading
from dataclasses import asdict
from pathlib import Path

from ..errors import UserInputError

log = logging.getLogger(__name__)


def check_writable_file(path: Path, what: str) -> None:
    """Raise UserInputError unless ``path`` can be written (an existing writable file, or a new name in a
    writable folder); checked before a performance so its results are not lost at the end."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UserInputError(f"{what} {path} is a folder, not a file")
    if path.exists() and not os.access(path, os.W_OK):
        raise UserInputError(f"{what} {path} is not writable")
    if not path.exists() and not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
        raise UserInputError(f"{what} {path}: folder {folder} does not exist or is not writable")


def perform_from_args(args) -> None:
    """``perform``: SIGTERM and a first Ctrl-C (SIGINT) end the performance cleanly (all notes off, summary,
    ``--stats``); after Ctrl-C the exit status is 130. A second Ctrl-C interrupts at once."""
    from ..config import config_from_args
    from .midi_out import list_ports

    config = config_from_args(args)
    if args.list_ports:
        api = None if config.midi.api == "auto" else config.midi.api
        ports = list_ports(api)
        for name in ports:
            print(name)
        if not ports:
            print(f"no MIDI output ports on the {config.midi.api} MIDI API", file=sys.stderr)
        return
    if args.camera is None and args.video is None:
        raise UserInputError("give --camera N or --video FILE (see perform --help)")
    if args.stats:
        check_writable_file(args.stats, "--stats")
    activation, activation_name, config.tempo.min_bpm, config.tempo.max_bpm = \
        config.analysis.activation_processor(config.tempo)
    # The range now holds the profile's prior; a known tempo (--bpm) stays set: the transport holds it.
    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum, _frame) -> None:
        if signum == signal.SIGINT and stop.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C: stop waiting for the clean end
        received.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        stats = perform(config, camera=args.camera, video=args.video, activation=activation, seed=config.generation.seed,
                        stop_event=stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    from .engine import SampleRing

    fields = {k: (v.tolist() if isinstance(v, SampleRing) else v) for k, v in asdict(stats).items()}
    summary = ", ".join(f"{k} {v}" for k, v in fields.items() if not isinstance(v, list))
    how = "interrupted" if signal.SIGINT in received else "over"
    print(f"performance {how} ({activation_name} activation): {summary}")
    if args.stats:
        try:
            args.stats.write_text(json.dumps(fields) + "\n")
        except OSError as err:
            raise UserInputError(f"cannot write --stats {args.stats}: {err}") from err
    if stats.frames and not stats.seen_frames:
        raise UserInputError(f"nobody was seen in the {stats.frames} frames: no beat, no music "
                             "(is the dancer in the picture, whole and lit?)")
    if signal.SIGINT in received:
        raise SystemExit(130)


def perform(config, camera: int | None = None, video: Path | None = None, activation=None, seed: int = 0,
            journal_path: Path | None = None, stop_event: threading.Event | None = None):
    """Run one performance with ``config`` until the source ends, ``stop_event`` is set or Ctrl-C; returns EngineStats."""
    from ..analysis.activation import KinematicActivation
    from ..input.capture import CameraSource, VideoFileSource
    from .control import ControlServer
    from .engine import PerformanceEngine
    from .journal import JournalWriter, new_journal_path
    from ..models import has_model, providers_line
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
        print(providers_line(), file=sys.stderr)
        if sender.midi_port_name:
            print(f"MIDI out: {sender.midi_port_name}", file=sys.stderr)
        journal = None
        controls = config.engine_controls()
        if config.control.enabled:
            stack.enter_context(ControlServer(controls, config.control.host, config.control.port).start())
        if config.journal.enabled:  # last: a failed start leaves no journal behind
            journal_path = journal_path or new_journal_path(config.journal.dir)
            journal = stack.enter_context(JournalWriter(journal_path, fsync_interval_s=config.journal.fsync_interval_s))
            sender.on_sent = journal.note_on  # the notes actually sent, when they were sent
            stack.callback(sender.close)  # before the journal closes: its last sent notes reach the journal
            print(f"recording to {journal_path}", file=sys.stderr)
        controls.start()
        engine = PerformanceEngine(source, estimator, activation or KinematicActivation(), generator, sender,
                                   controls, journal=journal, seed=seed, latency_s=config.scheduler.latency_s,
                                   record_keypoints=config.journal.keypoints, stop_event=stop_event,
                                   send_keypoints=config.osc.enabled and config.osc.keypoints,
                                   motion_tempo=config.tempo.motion and config.analysis.profile is None)
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
    """MIDI clock in (``--clock-in``), taps from a MIDI controller (``--tap-in``) and Ableton Link (``--link``), when
    asked for."""
    if config.tempo.clock_in:
        from .clock_in import ClockIn

        clock_in = stack.enter_context(ClockIn(controls, config.tempo.clock_in, config.midi.api))
        print(f"MIDI clock in: {clock_in.port_name}", file=sys.stderr)
    if config.tempo.tap_in:
        from .midi_in import TapIn

        tap_in = stack.enter_context(TapIn(controls, config.tempo.tap_in, config.midi.api, config.tempo.downbeat_note))
        print(f"MIDI tap in: {tap_in.port_name}", file=sys.stderr)
    if config.tempo.link:
        from .link import LinkSync

        link = stack.enter_context(LinkSync(controls))
        engine.transport.subscribe(link.on_event)
        print("Ableton Link: joined", file=sys.stderr)
