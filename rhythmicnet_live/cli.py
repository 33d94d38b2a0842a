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
import sys
from pathlib import Path

from . import FPS, __version__
from .errors import ModelManifestError, UserInputError


def _add_tempo_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--min-bpm", type=float, default=60.0, help="slowest tempo to consider (BPM, default 60)")
    parser.add_argument("--max-bpm", type=float, default=180.0, help="fastest tempo to consider (BPM, default 180)")
    parser.add_argument("--activation", choices=("auto", "model", "kinematic"), default="auto",
                        help="beat activation: the trained model ('model'), the no-learning kinematic baseline "
                             "('kinematic'), or the model when shipped ('auto', default)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rhythmicnet-live",
        description="Watch a dancer, find the beat in the movement, and make music that follows the body.",
        epilog="Run 'rhythmicnet-live COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (to stderr)")
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
    beats.add_argument("--fps", type=float, help="frame rate of the --keypoints file (frames per second)")
    beats.add_argument("--seconds", type=float, default=20.0, help="how long to record from a camera (s, default 20)")
    beats.add_argument("--no-cache", action="store_true", help="run pose again even if the video's keypoints are cached")
    _add_tempo_options(beats)
    beats.set_defaults(func=run_beats)

    take = sub.add_parser(
        "take", help="an offline take of a video: take.mid, take.wav, take.mp4, take.png",
        description="Analyse a whole video (non-causal decoding, for the best accuracy), play drums on the dancer's "
                    "rhythm and piano over the drums, and write OUTDIR/take.mid (drums channel 10, piano channel 1, "
                    "with a tempo map), take.wav (FluidSynth, GM soundfont), take.mp4 (the video with the new "
                    "soundtrack) and take.png (activation, beats, style, drum and piano rolls). With --from-journal, "
                    "turn a live performance's journal into OUTDIR/take.mid instead.",
    )
    take.add_argument("video", nargs="?", type=Path, help="the video file")
    take.add_argument("-o", "--out", required=True, type=Path, help="output folder (created if missing)")
    take.add_argument("--from-journal", type=Path, metavar="JOURNAL", help="a performance journal (takes/*.jsonl) to turn into take.mid")
    take.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same take (default 0)")
    take.add_argument("--drums-only", action="store_true", help="drums without piano")
    take.add_argument("--drum-temperature", type=float, default=1.0, help="drum sampling temperature (default 1.0)")
    take.add_argument("--piano-temperature", type=float, default=1.0, help="piano sampling temperature (default 1.0)")
    take.add_argument("--top-k", type=int, default=5, help="sample among the k most likely tokens (default 5)")
    _add_tempo_options(take)
    take.set_defaults(func=run_take)

    perform = sub.add_parser(
        "perform", help="play live: camera (or a video in real time) -> MIDI port + OSC",
        description="Watch a dancer and play drums (and piano) on their beat, live: notes go out of a virtual MIDI "
                    "port (default 'RhythmicNet'; drums channel 10, piano channel 1) and as OSC (default "
                    "127.0.0.1:9000); OSC control is heard on 127.0.0.1:9001. Every performance is recorded to a "
                    "crash-safe journal (takes/*.jsonl) that 'take --from-journal' turns into MIDI. "
                    "Ctrl-C stops (all notes off).",
    )
    where = perform.add_mutually_exclusive_group()
    where.add_argument("--camera", type=int, metavar="N", help="camera index (e.g. 0)")
    where.add_argument("--video", type=Path, metavar="FILE", help="play a video file in real time, as if it were a camera")
    perform.add_argument("--list-ports", action="store_true", help="list the MIDI output ports of the MIDI API and exit")
    perform.add_argument("--osc", metavar="HOST:PORT", help="where the OSC stream goes (default 127.0.0.1:9000)")
    perform.add_argument("--no-midi", action="store_true", help="no MIDI output (OSC and the journal only)")
    perform.add_argument("--seed", type=int, default=0, help="random seed of the generators (default 0)")
    perform.add_argument("--activation", choices=("auto", "model", "kinematic"), default="auto",
                         help="beat activation (see 'beats --help')")
    perform.add_argument("--stats", type=Path, metavar="FILE", help="write the performance's measurements as JSON")
    from .config import add_config_arguments

    add_config_arguments(perform)
    perform.set_defaults(func=run_perform)
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
    if args.no_cache:
        return extract_keypoints(path), str(path)
    return cached_keypoints(path), str(path)


def run_beats(args) -> None:
    from .analysis.beat_model import activation_by_name
    from .offline.beat_outputs import plot_rhythm, write_beats_json, write_rhythm_midi
    from .analysis.hmm import BeatTracker
    from .input.keypoints import prepare
    from .analysis.rhythm import RhythmPipeline

    if not 0 < args.min_bpm < args.max_bpm:
        raise UserInputError(f"need 0 < --min-bpm < --max-bpm, got {args.min_bpm:g} and {args.max_bpm:g}")
    raw, source_name = load_input_keypoints(args)
    if len(raw) < 2 or not (raw.conf > 0).any():
        raise UserInputError(f"no body found in {source_name}")
    kp = prepare(raw, FPS)
    processor, activation_name = activation_by_name(args.activation)
    analysis = RhythmPipeline(processor, BeatTracker(min_bpm=args.min_bpm, max_bpm=args.max_bpm, fps=FPS)).process_offline(kp)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_beats_json(analysis, out / "beats.json", source_name, activation_name)
    write_rhythm_midi(analysis, out / "rhythm.mid")
    plot_rhythm(analysis, out / "beats.png", Path(source_name).name)
    bpm = f"{60.0 / (analysis.beats[-1] - analysis.beats[-2]):.1f}" if len(analysis.beats) > 1 else "-"
    print(f"{len(analysis.beats)} beats (last tempo {bpm} BPM), {len(analysis.style_hits)} style hits -> {out}/")


def run_take(args) -> None:
    from .offline.take import TakeOptions, make_take

    if args.from_journal is not None:
        from .live.journal import journal_to_midi

        if args.video is not None:
            raise UserInputError("give either a video or --from-journal, not both")
        args.out.mkdir(parents=True, exist_ok=True)
        journal_to_midi(args.from_journal, args.out / "take.mid")
        print(f"{args.from_journal} -> {args.out / 'take.mid'}")
        return
    if args.video is None:
        raise UserInputError("give a video file (or --from-journal JOURNAL)")
    for name in ("drum_temperature", "piano_temperature"):
        if not getattr(args, name) > 0:
            raise UserInputError(f"--{name.replace('_', '-')} must be > 0")
    options = TakeOptions(seed=args.seed, drums_only=args.drums_only, drum_temperature=args.drum_temperature,
                          piano_temperature=args.piano_temperature, top_k=args.top_k, min_bpm=args.min_bpm,
                          max_bpm=args.max_bpm, activation=args.activation)
    result = make_take(args.video, args.out, options)
    n_drums = sum(n.track == "drums" for n in result.notes)
    print(f"{len(result.analysis.beats)} beats, {result.analysis.num_bars} bars, {n_drums} drum notes, "
          f"{len(result.notes) - n_drums} piano notes -> {args.out}/ (take.mid, take.wav, take.mp4, take.png)")


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
