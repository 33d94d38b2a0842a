"""Render one generated Drum2Music take to MIDI and WAV (FluidSynth) and analyse the audio numerically.

Takes the drums of a held-out song (``--bars`` bars), generates the piano bar by bar with the shipped ONNX model,
writes take.mid (drums channel 10, piano channel 1, one tempo map) and renders take.wav plus a piano-only stem
with the ``fluidsynth`` command line and pretty_midi's TimGM6mb.sf2. The analysis finds onsets in the piano stem
(spectral flux) and reports how far they fall from the 16th-note grid and from the drum hits.

    python -m export.piano.render_take [--song 0 --bars 16 --out out/piano_take]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pretty_midi
from scipy.io import wavfile
from scipy.signal import find_peaks, stft

from export.piano.evaluate import bar_notes
from export.piano.data import build_dataset, segments, split_songs
from rhythmicnet_live.offline.midi_file import steps_to_seconds, write_take_midi
from rhythmicnet_live.notes import STEPS_PER_BAR, Note
from rhythmicnet_live.generation.piano import PianoGenerator

SOUNDFONT = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
RATE = 44100


def render(midi: Path, wav: Path) -> np.ndarray:
    """MIDI -> WAV with FluidSynth; returns the mono signal (float, -1..1)."""
    if shutil.which("fluidsynth") is None:
        raise SystemExit("fluidsynth is not installed (apt-get install -y fluidsynth)")
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.6", "-F", str(wav), "-r", str(RATE), str(SOUNDFONT), str(midi)],
                   check=True, capture_output=True)
    rate, data = wavfile.read(wav)
    assert rate == RATE
    x = data.astype(np.float64) / 32768.0
    return x.mean(axis=1) if x.ndim == 2 else x


def onsets(x: np.ndarray, hop: int = 256) -> np.ndarray:
    """Onset times (s) by half-wave-rectified log spectral flux with adaptive peak picking."""
    _, _, z = stft(x, fs=RATE, nperseg=2048, noverlap=2048 - hop)
    mag = np.log1p(100 * np.abs(z))
    flux = np.maximum(np.diff(mag, axis=1), 0).sum(axis=0)
    flux = flux / (flux.max() + 1e-9)
    local = np.convolve(flux, np.ones(16) / 16, mode="same")
    peaks, _ = find_peaks(flux, height=local + 0.05, distance=int(0.05 * RATE / hop))
    return (peaks + 1) * hop / RATE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--song", type=int, default=0, help="index of the held-out song")
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out/piano_take"))
    args = parser.parse_args()

    songs, vocab = build_dataset()
    _, held = split_songs(songs)
    song = held[args.song]
    start = segments(song, args.bars)[0][0]
    drum_bars = [bar_notes(d, vocab, "drums") for d in song.drums[start : start + args.bars]]
    bpm = float(vocab.tokens[song.drums[start][1]][6:])
    gen = PianoGenerator(seed=args.seed)
    notes: list[Note] = []
    for i, drums in enumerate(drum_bars):
        piano = gen.generate_bar(drums, temperature=args.temperature, top_k=args.top_k, bpm=bpm)
        for n in drums + piano:
            notes.append(Note(n.track, n.pitch, n.velocity, n.step + STEPS_PER_BAR * i, n.duration))
    n_beats = args.bars * 4 + 8
    beats = np.arange(n_beats) * 60.0 / bpm
    args.out.mkdir(parents=True, exist_ok=True)
    take = write_take_midi(notes, beats, args.out / "take.mid")
    stem = write_take_midi([n for n in notes if n.track == "piano"], beats, args.out / "piano.mid")
    mix = render(take, args.out / "take.wav")
    piano = render(stem, args.out / "piano.wav")

    grid = steps_to_seconds(np.arange(args.bars * STEPS_PER_BAR + 1), beats)
    drum_times = np.unique(steps_to_seconds(np.array([n.step for n in notes if n.track == "drums"]), beats))
    note_times = np.unique(steps_to_seconds(np.array([n.step for n in notes if n.track == "piano"]), beats))
    found = onsets(piano)
    found = found[found < grid[-1]]

    def dist_ms(t: np.ndarray, ref: np.ndarray) -> np.ndarray:
        return np.abs(t[:, None] - ref[None, :]).min(axis=1) * 1000 if len(t) and len(ref) else np.array([])

    to_grid, to_drums, to_notes = dist_ms(found, grid), dist_ms(found, drum_times), dist_ms(note_times, found)
    report = {
        "song": Path(song.path).name, "bpm": bpm, "bars": args.bars, "seconds": round(len(mix) / RATE, 2),
        "piano_notes": sum(n.track == "piano" for n in notes), "drum_hits": sum(n.track == "drums" for n in notes),
        "piano_note_onsets": int(len(note_times)),
        "piano_onsets_on_drum_hit_steps": round(float(np.isin(note_times, drum_times).mean()), 3) if len(note_times) else 0.0,
        "detected_piano_onsets": int(len(found)),
        "detected_onsets_within_30ms_of_16th_grid": round(float((to_grid < 30).mean()), 3) if len(found) else 0.0,
        "detected_onsets_median_ms_to_grid": round(float(np.median(to_grid)), 1) if len(found) else None,
        "detected_onsets_within_30ms_of_a_drum_hit": round(float((to_drums < 30).mean()), 3) if len(found) else 0.0,
        "note_onsets_recovered_within_50ms": round(float((to_notes < 50).mean()), 3) if len(note_times) else 0.0,
        "mix_rms_dbfs": round(float(20 * np.log10(np.sqrt(np.mean(mix**2)) + 1e-12)), 1),
        "mix_peak_dbfs": round(float(20 * np.log10(np.abs(mix).max() + 1e-12)), 1),
        "piano_rms_dbfs": round(float(20 * np.log10(np.sqrt(np.mean(piano**2)) + 1e-12)), 1),
        "piano_pitch_range": [min((n.pitch for n in notes if n.track == "piano"), default=0),
                              max((n.pitch for n in notes if n.track == "piano"), default=0)],
        "piano_pitch_classes": np.bincount([n.pitch % 12 for n in notes if n.track == "piano"], minlength=12).tolist(),
    }
    (args.out / "analysis.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    print(f"wrote {take}, {args.out / 'take.wav'}, {args.out / 'piano.wav'}")


if __name__ == "__main__":
    main()
