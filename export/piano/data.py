"""Drum2Music training data: drum + piano MIDI pairs as bar-aligned REMI token sequences (miditok).

One time base: every song is quantised once to 16th steps (ticks_per_quarter = 4) before tokenisation, so drums
and piano share the same grid (the reference mixed 220 and 480 PPQ). Drums are mapped to the 9 drum classes with
a fixed one-step duration; piano is every non-drum track with a GM program 0-7 (merged). Only songs in 4/4 are
kept, and only songs whose drums sit on their own 16th grid (MAX_GRID_OFFSET). Each bar becomes (drum tokens, piano tokens); drum bars carry the tempo in effect as a Tempo token.

Usage (builds the cache under runs/piano/):
    python -m export.piano.data [--midi-dir DIR ...]
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import symusic
from miditok import REMI, TokenizerConfig

from rhythmicnet_live.generation.piano import DRUM_DURATION_STEPS, GM_TO_DRUM_CLASS, Vocab
from export import RUNS

DATA_ROOT = Path("/work/shared/data/multitrack_midi")
CACHE_DIR = RUNS / "piano"

#: Default training sets and their licences (each a folder of DATA_ROOT); the manifest lists all of them.
DEFAULT_SETS = [
    {"dir": "Tegridy-MIDI-Dataset-Original", "name": "Tegridy MIDI Dataset (Original subset)",
     "license": "CC BY-NC-SA (non-commercial)", "source": "github.com/asigalov61/Tegridy-MIDI-Dataset @298c393"},
    {"dir": "Tiny-Karaoke-MIDI-Dataset-CC-BY-NC-SA", "name": "Tiny Karaoke MIDI Dataset",
     "license": "CC BY-NC-SA (non-commercial)", "source": "github.com/asigalov61/Tegridy-MIDI-Dataset @298c393"},
    {"dir": "Tegridy-Select-CC-BY-NC-SA", "name": "Tegridy Select MIDI",
     "license": "CC BY-NC-SA (non-commercial)", "source": "github.com/asigalov61/Tegridy-MIDI-Dataset @298c393"},
    {"dir": "more/midi_debian_games/freedoom", "name": "Freedoom music (Debian freedoom 0.12.1)",
     "license": "BSD-3-Clause", "source": "github.com/freedoom/freedoom"},
    {"dir": "more/midi_debian_games/openttd_openmsx", "name": "OpenMSX (Debian openttd-openmsx 0.4.2)",
     "license": "GPL-2.0", "source": "github.com/OpenTTD/OpenMSX"},
    {"dir": "more/midi_debian_games/planetblupi", "name": "Planet Blupi music (cropped loops)",
     "license": "GPL-3.0-or-later", "source": "github.com/blupi-games/planetblupi"},
    {"dir": "more/midi_mma_examples", "name": "MMA example songs (Debian mma 21.09)",
     "license": "GPL-2.0-or-later", "source": "mellowood.ca/mma"},
    {"dir": "more/midi_library_testfiles", "name": "MidiTok and microsoft/muzic test MIDI files",
     "license": "research only (MIT code repos; song arrangements under their own copyright)",
     "source": "github.com/Natooz/MidiTok, github.com/microsoft/muzic"},
]

MIN_NOTES = 20  # a song needs this many drum notes and piano notes
#: Songs whose drum onsets lie on average further than this (in 16th steps) from the file's own 16th grid are
#: skipped: their tempo map does not follow the music (e.g. performances saved at a default 120 BPM), so any
#: quantisation scrambles the rhythm (a uniform scatter gives 0.25; most Tegridy Original/Select files do that).
MAX_GRID_OFFSET = 0.15
MAX_BARS = 96  # songs are cropped to this many bars (long loops repeat themselves)
MAX_BAR_TOKENS = 160  # piano tokens per bar, Bar included; longer bars are cut at a note boundary
MAX_DRUM_TOKENS = 128
MEM_ENC = 64
MEM_DEC = 128


def make_tokenizer() -> REMI:
    """miditok REMI: 16 positions per 4/4 bar, durations up to 8 beats, 16 velocities, chords and tempos."""
    config = TokenizerConfig(
        pitch_range=(21, 109), beat_res={(0, 4): 4, (4, 8): 2}, num_velocities=16, use_chords=True,
        use_tempos=True, num_tempos=16, tempo_range=(60, 200), use_programs=False, use_time_signatures=False,
        special_tokens=["PAD", "BOS", "EOS", "MASK"],
    )
    return REMI(config)


def make_vocab(tokenizer: REMI) -> Vocab:
    tokens = [None] * len(tokenizer.vocab)
    for t, i in tokenizer.vocab.items():
        tokens[i] = t
    return Vocab(
        tokens=tuple(tokens), mem_enc=MEM_ENC, mem_dec=MEM_DEC, max_bar_tokens=MAX_BAR_TOKENS,
        max_drum_tokens=MAX_DRUM_TOKENS,
        velocities=tuple(int(v) for v in tokenizer.velocities),
        tempos=tuple(float(t) for t in tokenizer.tempos),
    )


@dataclass
class Song:
    """One song: bar-aligned token ids. drums[i], piano[i]: bar i (each starts with Bar_None)."""

    path: str
    license: str
    drums: list[list[int]]
    piano: list[list[int]]


def quantised_tracks(path: Path) -> tuple[symusic.Score, symusic.Score, list[float]] | None:
    """Drum and piano Scores on the 16th grid (tpq 4) and the tempo (BPM) at each bar start, or None if unusable."""
    try:
        score = symusic.Score(str(path))
    except Exception:  # noqa: BLE001 - corrupt files are skipped
        return None
    if any((ts.numerator, ts.denominator) != (4, 4) for ts in score.time_signatures):
        return None
    tpq = score.ticks_per_quarter
    step_ticks = tpq / 4
    onsets = np.array([n.time for t in score.tracks if t.is_drum for n in t.notes]) / step_ticks
    if len(onsets) == 0 or np.abs(onsets - np.round(onsets)).mean() > MAX_GRID_OFFSET:
        return None
    drums, piano = {}, {}
    for track in score.tracks:
        if track.is_drum:
            for n in track.notes:
                cls = GM_TO_DRUM_CLASS.get(n.pitch)
                if cls is not None:
                    key = (int(round(n.time / step_ticks)), cls)
                    drums[key] = max(drums.get(key, 0), n.velocity)
        elif 0 <= track.program <= 7:
            for n in track.notes:
                if 21 <= n.pitch <= 108:
                    start = int(round(n.time / step_ticks))
                    dur = max(1, int(round(n.duration / step_ticks)))
                    key = (start, n.pitch)
                    piano[key] = max(piano.get(key, (0, 0)), (dur, n.velocity))
    if len(drums) < MIN_NOTES or len(piano) < MIN_NOTES:
        return None
    first = min(min(k[0] for k in drums), min(k[0] for k in piano)) // 16 * 16
    last = first + 16 * MAX_BARS
    d_score, p_score = symusic.Score(4), symusic.Score(4)
    d_track, p_track = symusic.Track("drums", 0, False), symusic.Track("piano", 0, False)
    for (s, pitch), vel in sorted(drums.items()):
        if first <= s < last:
            d_track.notes.append(symusic.Note(s - first, DRUM_DURATION_STEPS, pitch, vel))
    for (s, pitch), (dur, vel) in sorted(piano.items()):
        if first <= s < last:
            p_track.notes.append(symusic.Note(s - first, dur, pitch, vel))
    if len(d_track.notes) < MIN_NOTES or len(p_track.notes) < MIN_NOTES:
        return None
    d_score.tracks.append(d_track)
    p_score.tracks.append(p_track)
    tempos = sorted((t.time / step_ticks, t.qpm) for t in score.tempos) or [(0.0, 120.0)]
    n_bars = (max(n.end for n in list(d_track.notes) + list(p_track.notes)) + 15) // 16
    bpm = []
    for bar in range(n_bars):
        at = first + 16 * bar
        current = tempos[0][1]
        for time, qpm in tempos:
            if time <= at:
                current = qpm
        bpm.append(float(current))
    return d_score, p_score, bpm


def split_bars(tokens: list[str], n_bars: int, vocab: Vocab, drop: tuple[str, ...]) -> list[list[int]]:
    """REMI token strings -> n_bars lists of ids (each starting with Bar_None), without tokens of type ``drop``."""
    bars: list[list[int]] = []
    for t in tokens:
        if t == "Bar_None":
            bars.append([vocab.bar])
        elif bars and not t.startswith(drop):
            bars[-1].append(vocab.ids[t])
    # a Position whose only event was a dropped token (e.g. Position_0 Tempo_x) is dropped too
    bars = [[t for i, t in enumerate(b) if vocab.kind(t) != "Position"
             or (i + 1 < len(b) and vocab.kind(b[i + 1]) in ("Pitch", "Chord"))] for b in bars[:n_bars]]
    return bars + [[vocab.bar] for _ in range(n_bars - len(bars))]


def cut_bar(ids: list[int], limit: int, vocab: Vocab) -> list[int]:
    """Cut a bar to at most ``limit`` tokens, ending on a complete note (Duration) or the Bar token."""
    if len(ids) <= limit:
        return ids
    ids = ids[:limit]
    while vocab.kind(ids[-1]) not in ("Duration", "Bar"):
        ids.pop()
    return ids


def tokenize_song(path: Path, tokenizer: REMI, vocab: Vocab, license_: str = "") -> Song | None:
    tracks = quantised_tracks(path)
    if tracks is None:
        return None
    d_score, p_score, bpm = tracks
    n_bars = len(bpm)
    d_bars = split_bars(tokenizer(d_score)[0].tokens, n_bars, vocab, ("Tempo", "Chord"))
    p_bars = split_bars(tokenizer(p_score)[0].tokens, n_bars, vocab, ("Tempo",))
    drums = [cut_bar([b[0], vocab.tempo_token(t)] + b[1:], MAX_DRUM_TOKENS, vocab) for b, t in zip(d_bars, bpm)]
    piano = [cut_bar(b, MAX_BAR_TOKENS, vocab) for b in p_bars]
    return Song(str(path), license_, drums, piano)


def midi_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in (".mid", ".midi") and p.is_file())


def build_dataset(midi_dirs: list[Path] | None = None, cache: bool = True) -> tuple[list[Song], Vocab]:
    """All usable songs of the default sets (or of ``midi_dirs``), cached under runs/piano/."""
    if midi_dirs:
        sources = [(Path(d), "user-given (see the files' own licences)") for d in midi_dirs]
    else:
        sources = [(DATA_ROOT / s["dir"], s["license"]) for s in DEFAULT_SETS]
    tokenizer = make_tokenizer()
    vocab = make_vocab(tokenizer)
    key = hashlib.sha1(repr([str(s[0]) for s in sources] + [MAX_BARS, MAX_BAR_TOKENS, MAX_GRID_OFFSET, 4]).encode()).hexdigest()[:10]
    path = CACHE_DIR / f"songs_{key}.pkl"
    if cache and path.exists():
        return [Song(**d) for d in pickle.loads(path.read_bytes())], vocab
    songs = []
    for folder, license_ in sources:
        for f in midi_files(folder):
            song = tokenize_song(f, tokenizer, vocab, license_)
            if song is not None:
                songs.append(song)
    if cache:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps([asdict(s) for s in songs]))  # plain dicts: loadable from any module
    return songs, vocab


def split_songs(songs: list[Song], held_out: float = 0.1, seed: int = 0) -> tuple[list[Song], list[Song]]:
    """(train, held-out) split by song, deterministic."""
    order = sorted(songs, key=lambda s: s.path)
    random.Random(seed).shuffle(order)
    n = max(1, int(round(len(order) * held_out)))
    return order[n:], order[:n]


def transpose_bar(ids: list[int], shift: int, vocab: Vocab, low: int = 21, high: int = 108) -> list[int] | None:
    """The bar with every Pitch token moved by ``shift`` semitones, or None if a pitch leaves [low, high]."""
    out = []
    for t in ids:
        name = vocab.tokens[t]
        if name.startswith("Pitch_"):
            pitch = int(name[6:]) + shift
            if not low <= pitch <= high:
                return None
            out.append(vocab.ids[f"Pitch_{pitch}"])
        else:
            out.append(t)
    return out


def segments(song: Song, n_bars: int) -> list[tuple[int, int]]:
    """(start, end) bar ranges of non-overlapping segments; segments with piano in under half the bars are skipped."""
    out = []
    for start in range(0, max(1, len(song.piano) - n_bars + 1), n_bars):
        end = min(start + n_bars, len(song.piano))
        playing = sum(len(b) > 1 for b in song.piano[start:end])
        if playing * 2 >= end - start:
            out.append((start, end))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--midi-dir", action="append", type=Path, help="folder of MIDI files (repeatable)")
    args = parser.parse_args()
    songs, vocab = build_dataset(args.midi_dir)
    train, held = split_songs(songs)
    bars = sum(len(s.piano) for s in songs)
    lengths = np.array([len(b) for s in songs for b in s.piano])
    d_lengths = np.array([len(b) for s in songs for b in s.drums])
    print(f"songs {len(songs)} (train {len(train)}, held-out {len(held)}), bars {bars}, vocab {len(vocab.tokens)}")
    print(f"piano tokens/bar mean {lengths.mean():.1f} p95 {np.percentile(lengths, 95):.0f} max {lengths.max()}")
    print(f"drum tokens/bar mean {d_lengths.mean():.1f} p95 {np.percentile(d_lengths, 95):.0f} max {d_lengths.max()}")


if __name__ == "__main__":
    main()
