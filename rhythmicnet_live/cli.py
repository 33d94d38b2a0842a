"""The ``rhythmicnet-live`` command line.

Subcommands:
    beats    find the beat in a dancer's movement (video file, camera or keypoint file): beats.json,
             rhythm.mid (a click track) and beats.png.
    take     an offline take of a video: take.mid, take.wav, take.mp4 and take.png (or MIDI from a journal).
    perform  play live from a camera (or a video in real time) to a MIDI port and OSC.

Bad input (a missing file, an unreadable video, an absent camera, a bad option) ends with one
``error: ...`` line and exit status 2, not a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path

from . import FPS, __version__
from .calibrate import add_calibrate_parser
from .config import add_config_arguments, config_from_args
from .errors import ModelManifestError, UserInputError
from .files import writable_dir


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one ``error: ...`` line (exit status 2), like every other bad input."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def _add_common(parser: argparse.ArgumentParser) -> None:
    """Options every subcommand takes: -v (also accepted after the subcommand)."""
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log what happens (to stderr)")


def _control_epilog() -> str:
    from .live import osc_protocol as proto

    lines = [f"  {address} {' '.join(re.findall(r'[?]i|[a-z]', tags))}".replace("?i", "[i]").rstrip()
             for address, tags in proto.CONTROL_TYPETAGS.items()]
    return (f"OSC control addresses (UDP {proto.DEFAULT_CONTROL_HOST}:{proto.DEFAULT_CONTROL_PORT} by default; f = float, "
            "i = int):\n" + "\n".join(lines) +
            f"\nOSC output (to {proto.DEFAULT_OSC_HOST}:{proto.DEFAULT_OSC_PORT} by default): " +
            ", ".join(proto.OUTPUT_TYPETAGS) + ".")


def _positive_int(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"must be in 1..64, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rhythmicnet-live",
        description="Watch a dancer, find the beat in the movement, and make music that follows the body.",
        epilog="Run 'rhythmicnet-live COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (to stderr)")
    parser.set_defaults(verbose=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    beats = sub.add_parser(
        "beats", help="find the beats in a video, a camera or a keypoint file",
        description="Find the musical beat in a dancer's movement. Writes OUTDIR/beats.json (beat times in s, "
                    "tempo per frame, style hits, the activation and its frame rate), OUTDIR/rhythm.mid (a click "
                    "on every beat, a clap on every sudden move) and OUTDIR/beats.png (a plot). 'take' makes music from it.",
    )
    beats.add_argument("source", nargs="?", help="a video file, or a camera index such as 0 (omit with --keypoints)")
    beats.add_argument("-o", "--out", required=True, type=Path, help="output folder (created if missing)")
    beats.add_argument("--keypoints", type=Path, help="use a COCO-17 keypoint file (.npy, (T, 17, 2 or 3), pixels "
                       "or normalised, NaN for missing) instead of running pose on a video")
    beats.add_argument("--fps", type=_positive_float, help="frame rate of the --keypoints file (frames per second, > 0)")
    beats.add_argument("--seconds", type=_positive_float, default=20.0, help="how long to record from a camera (s, > 0; default 20)")
    beats.add_argument("--no-cache", action="store_true", help="run pose again even if the video's keypoints are cached")
    add_config_arguments(beats, "beats")
    _add_common(beats)
    beats.set_defaults(func=run_beats)

    take = sub.add_parser(
        "take", help="an offline take of a video: take.mid, take.wav, take.mp4, take.png",
        description="Analyse a whole video (non-causal decoding, for the best accuracy), play drums on the dancer's "
                    "rhythm and piano over the drums, and write OUTDIR/take.mid (drums channel 10, piano channel 1, "
                    "with a tempo map), take.wav (FluidSynth, GM soundfont), take.mp4 (the video with the new "
                    "soundtrack) and take.png (activation, beats, style, drum and piano rolls). With --from-journal, "
                    "turn a live performance's journal into OUTDIR/take.mid instead.",
    )
    take.add_argument("video", nargs="*", type=Path, help="the video file; or several videos, or folders of videos "
                      "(a batch: each take goes to OUTDIR/<video name>/)")
    take.add_argument("-o", "--out", required=True, type=Path, help="output folder (created if missing)")
    take.add_argument("-j", "--jobs", type=_positive_int, default=min(2, os.cpu_count() or 1),
                      help="worker processes: videos of a batch at a time, or the pose of one video "
                           "(default %(default)s; 1..64)")
    take.add_argument("--from-journal", type=Path, metavar="JOURNAL", help="a performance journal (takes/*.jsonl) to turn into take.mid")
    add_config_arguments(take, "take")
    _add_common(take)
    take.set_defaults(func=run_take)

    perform = sub.add_parser(
        "perform", help="play live: camera (or a video in real time) -> MIDI port + OSC",
        description="Watch a dancer and play drums (and piano) on their beat, live: notes go out of a virtual MIDI "
                    "port (default 'RhythmicNet'; drums channel 10, piano channel 1) and as OSC (default "
                    "127.0.0.1:9000); OSC control is heard on 127.0.0.1:9001. Every performance is recorded to a "
                    "crash-safe journal (takes/*.jsonl) that 'take --from-journal' turns into MIDI. "
                    "Ctrl-C stops (all notes off).",
        epilog=_control_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = perform.add_mutually_exclusive_group()
    where.add_argument("--camera", type=int, metavar="N", help="camera index (e.g. 0)")
    where.add_argument("--video", type=Path, metavar="FILE", help="play a video file in real time, as if it were a camera")
    perform.add_argument("--list-ports", action="store_true", help="list the MIDI output ports of the MIDI API and exit")
    perform.add_argument("--stats", type=Path, metavar="FILE", help="write the performance's measurements as JSON")
    add_config_arguments(perform, "perform")
    _add_common(perform)
    perform.set_defaults(func=run_perform)
    add_calibrate_parser(sub)
    return parser


def load_input_keypoints(args):
    """Raw keypoints from --keypoints, a camera index or a video file (pose cached beside the video)."""
    from .input.keypoints import load_keypoint_file

    if args.keypoints is not None:
        if args.source is not None:
            raise UserInputError("give either a video/camera or --keypoints, not both")
        if args.fps is None:
            raise UserInputError("--keypoints needs --fps (the frame rate of the keypoint file)")
        return load_keypoint_file(args.keypoints, args.fps), str(args.keypoints)
    if args.source is None:
        raise UserInputError("give a video file, a camera index, or --keypoints FILE --fps N")
    from .input.capture import CameraSource
    from .input.pose import cached_keypoints, extract_keypoints

    if args.source.isdigit():
        with CameraSource(int(args.source), max_seconds=args.seconds) as camera:
            return extract_keypoints(camera), f"camera {args.source}"
    path = Path(args.source)
    if not path.is_file():
        raise UserInputError(f"video file not found: {path}")
    pose_fps = config_from_args(args).analysis.pose_fps
    if args.no_cache:
        return extract_keypoints(path, pose_fps=pose_fps), str(path)
    return cached_keypoints(path, pose_fps=pose_fps), str(path)


def run_beats(args) -> None:
    from .offline.beat_outputs import plot_rhythm, write_beats_json, write_rhythm_midi
    from .input.keypoints import prepare
    from .analysis.hmm import load_offline_decoder_in_background
    from .analysis.rhythm import RhythmPipeline

    config = config_from_args(args)
    load_offline_decoder_in_background()  # while pose runs
    raw, source_name = load_input_keypoints(args)
    if len(raw) < 2 or not (raw.conf > 0).any():
        raise UserInputError(f"no body found in {source_name}")
    kp = prepare(raw, FPS)
    processor, activation_name, min_bpm, max_bpm = config.analysis.activation_processor(config.tempo)
    analysis = RhythmPipeline(processor, config.tempo.beat_tracker(min_bpm, max_bpm, takes=True)).process_offline(kp)
    out = writable_dir(args.out)
    write_beats_json(analysis, out / "beats.json", source_name, activation_name, config.analysis.profile)
    write_rhythm_midi(analysis, out / "rhythm.mid")
    plot_rhythm(analysis, out / "beats.png", Path(source_name).name)
    bpm = f"{60.0 / (analysis.beats[-1] - analysis.beats[-2]):.1f}" if len(analysis.beats) > 1 else "-"
    print(f"{len(analysis.beats)} beats (last tempo {bpm} BPM), {len(analysis.style_hits)} style hits -> {out}/")


def run_take(args) -> None:
    from .offline.take import TAKE_FILES, batch_videos, make_takes

    if args.from_journal is not None:
        from .live.journal import journal_to_midi

        if args.video:
            raise UserInputError("give either a video or --from-journal, not both")
        writable_dir(args.out)
        journal_to_midi(args.from_journal, args.out / "take.mid")
        print(f"{args.from_journal} -> {args.out / 'take.mid'}")
        return
    if not args.video:
        raise UserInputError("give a video file (or --from-journal JOURNAL)")
    config = config_from_args(args)
    videos = batch_videos(args.video)
    outcomes = make_takes(videos, args.out, config, jobs=args.jobs)
    failed = [o for o in outcomes if o.error]
    if len(videos) == 1:
        print(f"{outcomes[0].summary} -> {args.out}/ ({', '.join(TAKE_FILES)})")
    else:
        print(f"{len(outcomes) - len(failed)} of {len(outcomes)} takes made in {args.out}/")
    if failed:
        raise UserInputError(f"{len(failed)} of {len(outcomes)} videos failed: " +
                             "; ".join(f"{o.video.name}: {o.error}" for o in failed))


def run_perform(args) -> None:
    from .live.perform import perform_from_args

    perform_from_args(args)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        args.func(args)
    except (UserInputError, ModelManifestError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
