"""Offline takes: a whole video -> take.mid, take.wav, take.mp4 (the video with its new soundtrack), take.png.

The analysis is non-causal (Viterbi over the whole clip, the beat model with its full lookahead), for the
best accuracy. Drums are generated bar by bar on the rhythm (beats + sudden moves on the 16th grid),
then piano over each bar of drums. Times: step 0 is the first decoded beat; the MIDI file's time 0 is
the video's first frame, so audio and picture are in sync from the first frame.

Files are written into a hidden staging folder inside OUTDIR and moved into place only when all of them
are done: a failure leaves no partial output.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .. import FPS
from ..config import Config, GenerationConfig
from ..errors import UserInputError
from ..files import writable_dir
from ..notes import STEPS_PER_BAR, Note

TAKE_FILES = ("take.mid", "take.wav", "take.mp4", "take.png", "take.json")


@dataclass
class TakeResult:
    """What a take made. notes: every note (steps from the first beat); seconds: per-stage wall time."""

    out_dir: Path
    analysis: object
    notes: list[Note]
    duration_s: float
    seconds: dict[str, float] = field(default_factory=dict)


def video_duration(path: Path) -> float:
    """Duration (s) of the video from its frame count and rate."""
    from ..input.capture import VideoFileSource

    with VideoFileSource(path) as source:
        if not source.frame_count:
            raise UserInputError(f"cannot tell the length of {path}")
        return source.frame_count / source.fps


def generate_music(analysis, options: GenerationConfig, progress: bool = True) -> list[Note]:
    """Drums on every bar of the rhythm, then piano over each bar of drums (unless ``options.piano`` is off)."""
    from ..generation.music import MusicGenerator

    generator = MusicGenerator(options.seed, piano=options.piano, top_k=options.top_k)
    bpm = 60.0 / float(np.median(np.diff(analysis.beats)))
    notes: list[Note] = []
    for bar in tqdm(range(analysis.num_bars), desc="music", unit="bar", disable=not progress, file=sys.stderr):
        bar_notes = generator.generate(analysis.bar_taps(bar), bpm, options.drum_temp, options.piano_temp)
        notes += [replace(n, step=n.step + bar * STEPS_PER_BAR) for n in bar_notes]
    return notes


def write_take_json(path: Path, video: Path, config: Config, analysis, notes: list[Note], activation_name: str) -> None:
    """take.json: what made the take (the video, the settings, the beat activation and the execution provider of
    every model) and what it holds (beat times in s, tempo in BPM, note counts)."""
    import dataclasses
    import json

    from ..models import execution_providers

    doc = {
        "video": str(video),
        "beats_s": [round(float(b), 5) for b in analysis.beats],
        "bpm_median": round(float(60.0 / np.median(np.diff(analysis.beats))), 3),
        "notes": {track: sum(n.track == track for n in notes) for track in ("drums", "piano")},
        "activation_model": activation_name,
        "execution_providers": execution_providers(),
        "config": dataclasses.asdict(config),
    }
    Path(path).write_text(json.dumps(doc, indent=1) + "\n")


def make_take(video: Path, out_dir: Path, config: Config | None = None, progress: bool = True,
              pose_workers: int = 1) -> TakeResult:
    """Analyse ``video`` and write the take files (``TAKE_FILES``) into ``out_dir``, with the tempo, analysis and generation
    settings of ``config`` (validated; the defaults when None). ``pose_workers`` processes share the pose."""
    from .beat_outputs import plot_rhythm
    from ..input.keypoints import prepare
    from .midi_file import write_take_midi
    from ..input.pose import cached_keypoints
    from .render import mux_video, render_wav
    from ..analysis.hmm import load_offline_decoder_in_background
    from ..analysis.rhythm import RhythmPipeline

    video = Path(video)
    if not video.is_file():
        raise UserInputError(f"video file not found: {video}")
    config = (config or Config()).validate()
    writable_dir(out_dir)  # before the long work, not after it
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = now - clock
        clock = now

    duration = video_duration(video)
    load_offline_decoder_in_background()  # while pose runs
    raw = cached_keypoints(video, progress=progress, workers=pose_workers, pose_fps=config.analysis.pose_fps)
    lap("pose")
    if not (raw.conf > 0).any():
        raise UserInputError(f"no body found in {video}")
    processor, activation_name, min_bpm, max_bpm = config.analysis.activation_processor(config.tempo)
    analysis = RhythmPipeline(processor, config.tempo.beat_tracker(min_bpm, max_bpm, takes=True)).process_offline(prepare(raw, FPS))
    if analysis.num_bars < 1:
        raise UserInputError(f"found too few beats in {video} for a bar of music ({len(analysis.beats)} beats)")
    lap("rhythm")
    notes = generate_music(analysis, config.generation, progress)
    lap("music")
    staging = Path(tempfile.mkdtemp(prefix=".take-", dir=out_dir))
    try:
        stages = tqdm(total=4, desc="files", unit="file", disable=not progress, file=sys.stderr)
        write_take_midi(notes, analysis.step_times[::4], staging / "take.mid")
        stages.update()

        def sound() -> None:  # FluidSynth and ffmpeg are other processes: they run beside the plot
            render_wav(staging / "take.mid", staging / "take.wav", duration)
            stages.update()
            mux_video(video, staging / "take.wav", staging / "take.mp4")
            stages.update()

        with ThreadPoolExecutor(max_workers=1) as pool:
            audio = pool.submit(sound)
            plot_rhythm(analysis, staging / "take.png", video.name, notes=notes)
            stages.update()
            audio.result()
        write_take_json(staging / "take.json", video, config, analysis, notes, activation_name)
        stages.close()
        for name in TAKE_FILES:
            (staging / name).replace(out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    lap("files")
    return TakeResult(out_dir, analysis, notes, duration, seconds)


VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm")


@dataclass(frozen=True)
class TakeOutcome:
    """One video of a batch: its take folder, and the error that stopped it (None when it worked)."""

    video: Path
    out_dir: Path
    summary: str
    error: str | None = None


def batch_videos(paths: list[Path]) -> list[Path]:
    """The videos named by ``paths``: files as given, folders by their video files (sorted)."""
    videos: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
            if not found:
                raise UserInputError(f"no video files ({', '.join(VIDEO_SUFFIXES)}) in folder {path}")
            videos += found
        else:
            videos.append(path)
    return videos


def _run_take(video: Path, out_dir: Path, config: Config, pose_workers: int, progress: bool) -> TakeOutcome:
    result = make_take(video, out_dir, config, progress=progress, pose_workers=pose_workers)
    n_drums = sum(n.track == "drums" for n in result.notes)
    return TakeOutcome(video, out_dir, f"{len(result.analysis.beats)} beats, {result.analysis.num_bars} bars, "
                                       f"{n_drums} drum notes, {len(result.notes) - n_drums} piano notes")


def _take_job(video: Path, out_dir: Path, config: Config) -> TakeOutcome:
    """One take of a batch, in a worker process: an error becomes the outcome's ``error``, never an exception."""
    try:
        return _run_take(video, out_dir, config, 1, progress=False)
    except UserInputError as err:
        return TakeOutcome(video, out_dir, "", str(err))
    except Exception as err:  # one broken video must not stop the batch: report it and go on
        return TakeOutcome(video, out_dir, "", f"{type(err).__name__}: {err}")


def make_takes(videos: list[Path], out_dir: Path, config: Config, jobs: int = 2,
               progress: bool = True) -> list[TakeOutcome]:
    """Takes of several videos, ``jobs`` at a time in worker processes, into ``out_dir/<video name>/``, with one
    progress bar for the batch; a video that fails is reported in its outcome and the others go on. One video
    goes into ``out_dir`` itself, its pose split over ``jobs`` processes, and its errors are raised."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    config = config.validate()
    if len(videos) == 1:
        return [_run_take(Path(videos[0]), Path(out_dir), config, jobs, progress)]
    writable_dir(out_dir)
    stems = [Path(v).stem for v in videos]
    targets = [Path(out_dir) / (Path(v).stem if stems.count(Path(v).stem) == 1 else Path(v).name) for v in videos]
    outcomes = []
    with ProcessPoolExecutor(max(1, jobs), mp_context=mp.get_context("spawn")) as pool, \
            tqdm(total=len(videos), desc="takes", unit="video", disable=not progress, file=sys.stderr) as bar:
        futures = [pool.submit(_take_job, Path(v), target, config) for v, target in zip(videos, targets)]
        for future in as_completed(futures):
            outcome = future.result()
            bar.write(f"{outcome.video}: " + (f"error: {outcome.error}" if outcome.error else
                                             f"{outcome.summary} -> {outcome.out_dir}/"), file=sys.stderr)
            bar.update()
            outcomes.append(outcome)
    order = {Path(v): i for i, v in enumerate(videos)}
    return sorted(outcomes, key=lambda o: order[o.video])
