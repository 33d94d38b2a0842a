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
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .. import FPS
from ..errors import UserInputError
from ..notes import STEPS_PER_BAR, Note

TAKE_FILES = ("take.mid", "take.wav", "take.mp4", "take.png")


@dataclass
class TakeOptions:
    """seed: generators' seed; drums_only: no piano; *_temperature / top_k: sampling;
    min_bpm / max_bpm: tempo range (BPM); activation: 'auto', 'model' or 'kinematic'."""

    seed: int = 0
    drums_only: bool = False
    drum_temperature: float = 1.0
    piano_temperature: float = 1.0
    top_k: int = 5
    min_bpm: float = 60.0
    max_bpm: float = 180.0
    activation: str = "auto"


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


def generate_music(analysis, options: TakeOptions, progress: bool = True) -> list[Note]:
    """Drums on every bar of the rhythm, then piano over each bar of drums (unless drums_only)."""
    from ..generation.music import MusicGenerator

    generator = MusicGenerator(options.seed, piano=not options.drums_only, top_k=options.top_k)
    bpm = 60.0 / float(np.median(np.diff(analysis.beats)))
    notes: list[Note] = []
    for bar in tqdm(range(analysis.num_bars), desc="music", unit="bar", disable=not progress, file=sys.stderr):
        bar_notes = generator.generate(analysis.bar_taps(bar), bpm, options.drum_temperature, options.piano_temperature)
        notes += [replace(n, step=n.step + bar * STEPS_PER_BAR) for n in bar_notes]
    return notes


def make_take(video: Path, out_dir: Path, options: TakeOptions, progress: bool = True) -> TakeResult:
    """Analyse ``video`` and write the four take files into ``out_dir``."""
    from .beat_outputs import plot_rhythm
    from ..analysis.beat_model import activation_by_name
    from ..analysis.hmm import BeatTracker
    from ..input.keypoints import prepare
    from .midi_file import write_take_midi
    from ..input.pose import cached_keypoints
    from .render import mux_video, render_wav
    from ..analysis.rhythm import RhythmPipeline

    video = Path(video)
    if not video.is_file():
        raise UserInputError(f"video file not found: {video}")
    if not 0 < options.min_bpm < options.max_bpm:
        raise UserInputError(f"need 0 < --min-bpm < --max-bpm, got {options.min_bpm:g} and {options.max_bpm:g}")
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = now - clock
        clock = now

    duration = video_duration(video)
    raw = cached_keypoints(video, progress=progress)
    lap("pose")
    if not (raw.conf > 0).any():
        raise UserInputError(f"no body found in {video}")
    processor, _ = activation_by_name(options.activation)
    analysis = RhythmPipeline(processor, BeatTracker(options.min_bpm, options.max_bpm, FPS)).process_offline(prepare(raw, FPS))
    if analysis.num_bars < 1:
        raise UserInputError(f"found too few beats in {video} for a bar of music ({len(analysis.beats)} beats)")
    lap("rhythm")
    notes = generate_music(analysis, options, progress)
    lap("music")
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".take-", dir=out_dir))
    try:
        stages = tqdm(total=4, desc="files", unit="file", disable=not progress, file=sys.stderr)
        write_take_midi(notes, analysis.step_times[::4], staging / "take.mid")
        stages.update()
        render_wav(staging / "take.mid", staging / "take.wav", duration)
        stages.update()
        mux_video(video, staging / "take.wav", staging / "take.mp4")
        stages.update()
        plot_rhythm(analysis, staging / "take.png", video.name, notes=notes)
        stages.update()
        stages.close()
        for name in TAKE_FILES:
            (staging / name).replace(out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    lap("files")
    return TakeResult(out_dir, analysis, notes, duration, seconds)
