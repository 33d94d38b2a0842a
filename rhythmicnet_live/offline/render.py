"""Audio and video for a take: MIDI -> WAV with FluidSynth, then WAV muxed under the video with ffmpeg.

FluidSynth is the system program (``apt-get install fluidsynth``, ``brew install fluid-synth``); the General
MIDI soundfont is pretty_midi's bundled TimGM6mb.sf2 unless another is given. ffmpeg is the binary inside
the imageio-ffmpeg wheel (or ``RHYTHMICNET_FFMPEG``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pretty_midi

from ..errors import UserInputError

DEFAULT_SOUNDFONT = Path(pretty_midi.__file__).resolve().parent / "TimGM6mb.sf2"
SAMPLE_RATE = 44100


def ffmpeg_exe() -> str:
    if os.environ.get("RHYTHMICNET_FFMPEG"):
        return os.environ["RHYTHMICNET_FFMPEG"]
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def render_wav(midi_path: Path, wav_path: Path, duration_s: float, soundfont: Path = DEFAULT_SOUNDFONT) -> None:
    """Render ``midi_path`` to a 44.1 kHz stereo WAV exactly ``duration_s`` seconds long (padded or cut)."""
    fluidsynth = shutil.which("fluidsynth")
    if fluidsynth is None:
        raise UserInputError("FluidSynth is not installed: apt-get install fluidsynth (Linux) or brew install fluid-synth (macOS)")
    if not Path(soundfont).is_file():
        raise UserInputError(f"soundfont not found: {soundfont}")
    raw = wav_path.with_suffix(".raw.wav")
    try:
        subprocess.run([fluidsynth, "-ni", "-q", "-g", "0.8", "-r", str(SAMPLE_RATE), "-F", str(raw), str(soundfont), str(midi_path)],
                       check=True, capture_output=True, timeout=600)
        # Pad with silence or cut so the audio is as long as the video.
        subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(raw), "-af", "apad", "-t", f"{duration_s:.3f}",
                        "-ar", str(SAMPLE_RATE), "-f", "wav", str(wav_path)], check=True, capture_output=True, timeout=600)
    except subprocess.CalledProcessError as exc:
        raise UserInputError(f"rendering audio failed: {exc.stderr.decode(errors='replace').strip()[-300:]}") from None
    finally:
        raw.unlink(missing_ok=True)


def mux_video(video_path: Path, wav_path: Path, out_path: Path) -> None:
    """The video's picture (copied, not re-encoded) with ``wav_path`` as its only soundtrack (AAC), from frame 0."""
    try:
        subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(video_path), "-i", str(wav_path),
                        "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", "-b:a", "192k",
                        "-f", "mp4", str(out_path)], check=True, capture_output=True, timeout=600)
    except subprocess.CalledProcessError as exc:
        raise UserInputError(f"muxing the video failed: {exc.stderr.decode(errors='replace').strip()[-300:]}") from None
