"""``rhythmicnet-live calibrate``: learn a dancer's profile from a rehearsal against a click.

Live (``--camera N``): a click at each ``--bpm`` (default 90, 110, 130) for ``--seconds`` (default 40) after a
count-in, on the MIDI port (side stick, channel 10) and as ``/rhythmicnet/click`` over OSC, while the camera
records. From a recording (``--video FILE`` or ``--keypoints FILE --fps F``) of someone dancing to one known
tempo ``--bpm N``: the clicks are ``--first-beat S + k x 60 / N`` (s from the recording's start).

The profile (see ``analysis.profile``) is saved under ``--name`` in the user's data folder; ``beats``, ``take`` and
``perform`` use it with ``--profile NAME``. A session nobody could learn from is refused with one ``error:`` line
(exit 2) and nothing is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .errors import UserInputError

DEFAULT_BPMS = (90.0, 110.0, 130.0)


def add_calibrate_parser(subparsers) -> None:
    """Register the ``calibrate`` subcommand on the CLI's subparsers."""
    parser = subparsers.add_parser(
        "calibrate", help="learn a dancer's timing from a rehearsal against a click (a profile for --profile)",
        description="Dance to a click and let the tool learn your timing: your offset against the beat, the movement "
                    "that marks your beat (and whether at half or double time), your tempo range and a small "
                    "calibration head over the beat model. Live with --camera (the click plays on the MIDI port, "
                    "side stick on channel 10, and as /rhythmicnet/click over OSC), or from a recording of dancing to "
                    "a known tempo (--video or --keypoints with --bpm). Saved as profile NAME in the user's data "
                    "folder; use it with 'beats/take/perform --profile NAME'.",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--camera", type=int, metavar="N", help="camera index: a live session with a click")
    where.add_argument("--video", type=Path, metavar="FILE", help="a video of dancing to a known tempo (--bpm N)")
    where.add_argument("--keypoints", type=Path, metavar="FILE",
                       help="a COCO-17 keypoint file (.npy, (T, 17, 2 or 3)) of dancing to a known tempo (--bpm N --fps F)")
    parser.add_argument("--name", required=True, help="profile name (letters, digits, '.', '_', '-')")
    parser.add_argument("--fps", type=float, help="frame rate of the --keypoints file (frames per second)")
    parser.add_argument("--bpm", type=float, nargs="+", metavar="BPM",
                        help="live: click tempi (default 90 110 130); recording: its one tempo")
    parser.add_argument("--seconds", type=float, default=40.0, help="live: seconds of click per tempo (default 40)")
    parser.add_argument("--count-in", type=int, default=4, help="live: clicks before each tempo to listen to (default 4)")
    parser.add_argument("--first-beat", type=float, default=0.0, metavar="S",
                        help="recording: time of its first beat (s from its start, default 0)")
    parser.add_argument("--activation", choices=("auto", "model", "kinematic"), default="auto",
                        help="the beat activation the profile adapts (see 'beats --help')")
    parser.add_argument("--osc", metavar="HOST:PORT", help="live: where /rhythmicnet/click goes (default 127.0.0.1:9000)")
    parser.add_argument("--no-osc", action="store_true", help="live: no OSC click")
    parser.add_argument("--no-midi", action="store_true", help="live: no MIDI click (OSC only)")
    parser.set_defaults(func=run_calibrate)


def add_profile_argument(parser: argparse.ArgumentParser) -> None:
    """``--profile NAME`` for beats, take and perform."""
    parser.add_argument("--profile", metavar="NAME", help="use the calibration profile NAME (see 'calibrate')")


def recording_session(args):
    """The session of a recording danced to one known tempo: keypoints and clicks every 60/bpm s from --first-beat."""
    from .analysis.profile import Session
    from .input.keypoints import load_keypoint_file

    if not args.bpm or len(args.bpm) != 1:
        raise UserInputError("a recording needs its one tempo: --bpm N")
    if args.keypoints is not None:
        if args.fps is None:
            raise UserInputError("--keypoints needs --fps (the frame rate of the keypoint file)")
        raw = load_keypoint_file(args.keypoints, args.fps)
    else:
        from .input.pose import cached_keypoints

        if not args.video.is_file():
            raise UserInputError(f"video file not found: {args.video}")
        raw = cached_keypoints(args.video)
    if len(raw) < 2:
        raise UserInputError("calibration refused: the recording is too short")
    bpm = args.bpm[0]
    start, end = float(raw.times[0]), float(raw.times[-1])
    clicks = start + args.first_beat + 60.0 / bpm * np.arange(int(np.floor((end - start - args.first_beat) * bpm / 60.0)) + 1)
    return Session(raw, clicks[(clicks >= start) & (clicks <= end)], [(start, end + 1e-6, bpm)])


def live_session(args):
    """Play the click and record the camera (see ``live.calibrate``)."""
    from .live.calibrate import record_click_session
    from .live.perform import parse_host_port

    midi = osc = None
    bpms = list(args.bpm or DEFAULT_BPMS)
    try:
        if not args.no_midi:
            from .live.midi_out import open_midi_output

            midi = open_midi_output()
            print(f"click on MIDI port {midi.name} (side stick, channel 10)")
        if not args.no_osc:
            from pythonosc.udp_client import SimpleUDPClient

            host, port = parse_host_port(args.osc or "127.0.0.1:9000")
            osc = SimpleUDPClient(host, port)
        print(f"dance to the click: {', '.join(f'{b:g}' for b in bpms)} BPM, {args.seconds:g} s each after "
              f"{args.count_in} clicks of count-in")
        return record_click_session(args.camera, bpms, args.seconds, args.count_in, midi, osc)
    finally:
        if midi is not None:
            midi.close()


def run_calibrate(args) -> None:
    from .analysis.beat_model import MODEL_NAME, activation_by_name
    from .analysis.profile import fit_profile, profile_dir, save_profile
    from .models import MODELS_DIR, read_manifest

    profile_dir(args.name)  # checks the name before anyone dances
    if args.bpm and not all(b > 0 for b in args.bpm):
        raise UserInputError("--bpm must be > 0")
    if args.seconds <= 0 or args.count_in < 0:
        raise UserInputError("need --seconds > 0 and --count-in >= 0")
    base, base_name = activation_by_name(args.activation)
    session = live_session(args) if args.camera is not None else recording_session(args)
    sha = read_manifest(MODELS_DIR)["models"][MODEL_NAME]["sha256"] if base_name == MODEL_NAME else None
    profile = fit_profile(args.name, session, base, base_name, sha)
    folder = save_profile(profile, session)
    s = profile.session
    print(f"profile {profile.name} -> {folder}")
    print(f"  offset {1e3 * profile.offset_s:+.0f} ms (the general model put your beats {s['general_offset_ms']:+.0f} ms "
          f"off), moves on the beat with the {profile.marker} at level {profile.level:g}, "
          f"tempo prior {profile.min_bpm:g}-{profile.max_bpm:g} BPM")
    print(f"  on this session (online, cross-fitted): F {s['general_f']:.2f} general -> {s['profile_f']:.2f} with the profile")
