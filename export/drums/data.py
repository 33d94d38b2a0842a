"""Groove MIDI Dataset (GMD) -> bars of hits / velocities / offsets on the 16th grid, taps and hit tokens.

GMD (Gillick et al. 2019, CC BY 4.0): ``info.csv`` gives each MIDI file and its official split
(train / validation / test). Every file has one tempo and 480 ticks per beat; only 4/4 files are used (as
GrooVAE does). The Roland TD-11 pitches are reduced to the 9 classes of GrooVAE
(``ROLAND_DRUM_PITCH_CLASSES`` in magenta/models/music_vae/data.py).

Per performance (T = 16 * bars steps, steps are 16th notes):
- hits (T, 9) uint8; velocities (T, 9) float32 = MIDI velocity / 127 where hit, else 0;
- offsets (T, 9) float32 in [-0.5, 0.5): (onset - nearest grid step) in steps where hit, else 0
  (several onsets of one class snapping to one step keep the loudest);
- taps (T,) uint8: the rhythm a video can produce, see ``taps_from_drums``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from rhythmicnet_live.generation.drums import HitVocabulary
from rhythmicnet_live.notes import STEPS_PER_BAR, STEPS_PER_BEAT
from export import RUNS

DEFAULT_ROOT = Path("/work/shared/data/groove_midi/groove")
DEFAULT_CACHE = RUNS / "drums" / "gmd_bars.npz"
SPLITS = ("train", "validation", "test")

#: GrooVAE's reduction of the Roland TD-11 pitches to 9 classes (same order as notes.DRUM_CLASSES).
ROLAND_DRUM_PITCH_CLASSES = (
    (36,),  # kick
    (38, 37, 40),  # snare (head, x-stick, rim)
    (42, 22, 44),  # closed hi-hat (bow, edge, pedal)
    (46, 26),  # open hi-hat
    (43, 58),  # low (floor) tom
    (47, 45),  # mid tom
    (50, 48),  # high tom
    (49, 52, 55, 57),  # crash
    (51, 53, 59),  # ride (bow, edge, bell)
)
PITCH_TO_CLASS = {p: i for i, group in enumerate(ROLAND_DRUM_PITCH_CLASSES) for p in group}

#: Kick, snare and crash onsets at least this loud (velocity / 127) become off-beat taps.
ACCENT_VELOCITY = 0.4
ACCENT_CLASSES = (0, 1, 7)


@dataclass
class Performance:
    """One GMD file on the 16th grid. Arrays: see module docstring; ``name`` is info.csv's id."""

    name: str
    split: str
    style: str
    bpm: float
    hits: np.ndarray
    velocities: np.ndarray
    offsets: np.ndarray

    @property
    def taps(self) -> np.ndarray:
        return taps_from_drums(self.hits, self.velocities)


def taps_from_drums(hits: np.ndarray, velocities: np.ndarray) -> np.ndarray:
    """(T, 9) hits and velocities -> (T,) uint8 taps.

    A tap on every quarter-note step (what a beat tracker gives) plus every other step with a loud kick,
    snare or crash onset (what a sudden move gives). This is what Video2Rhythm produces at run time:
    beats OR style hits on the 16th grid.
    """
    steps = np.arange(len(hits))
    accents = (hits[:, ACCENT_CLASSES].astype(bool) & (velocities[:, ACCENT_CLASSES] >= ACCENT_VELOCITY)).any(1)
    return ((steps % STEPS_PER_BEAT == 0) | accents).astype(np.uint8)


def load_midi(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A GMD MIDI file -> (hits, velocities, offsets), each (T, 9), T a whole number of bars.

    Silent bars before the first and after the last hit are dropped (bar boundaries stay on the grid).
    """
    mid = mido.MidiFile(str(path))
    ticks_per_step = mid.ticks_per_beat / STEPS_PER_BEAT
    onsets = []  # (step position as float, class, velocity)
    tick = 0
    for msg in mido.merge_tracks(mid.tracks):
        tick += msg.time
        if msg.type == "note_on" and msg.velocity > 0 and msg.note in PITCH_TO_CLASS:
            onsets.append((tick / ticks_per_step, PITCH_TO_CLASS[msg.note], msg.velocity / 127.0))
    if not onsets:
        return (np.zeros((0, 9), np.uint8), np.zeros((0, 9), np.float32), np.zeros((0, 9), np.float32))
    last = max(int(np.floor(pos + 0.5)) for pos, _, _ in onsets)
    n_steps = (last // STEPS_PER_BAR + 1) * STEPS_PER_BAR
    hits = np.zeros((n_steps, 9), np.uint8)
    velocities = np.zeros((n_steps, 9), np.float32)
    offsets = np.zeros((n_steps, 9), np.float32)
    for pos, cls, vel in onsets:
        step = int(np.floor(pos + 0.5))
        if vel > velocities[step, cls]:
            hits[step, cls] = 1
            velocities[step, cls] = vel
            offsets[step, cls] = pos - step
    bar_has_hits = hits.reshape(-1, STEPS_PER_BAR * 9).any(1)
    first, stop = int(np.argmax(bar_has_hits)), len(bar_has_hits) - int(np.argmax(bar_has_hits[::-1]))
    keep = slice(first * STEPS_PER_BAR, stop * STEPS_PER_BAR)
    return hits[keep], velocities[keep], offsets[keep]


def load_gmd(root: Path = DEFAULT_ROOT) -> list[Performance]:
    """All 4/4 performances of a GMD folder (the one holding info.csv), in info.csv order."""
    root = Path(root)
    out = []
    with open(root / "info.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["time_signature"] != "4-4":
                continue
            hits, vel, off = load_midi(root / row["midi_filename"])
            if len(hits) == 0:
                continue
            out.append(Performance(row["id"], row["split"], row["style"], float(row["bpm"]), hits, vel, off))
    return out


def save_cache(performances: list[Performance], path: Path = DEFAULT_CACHE) -> None:
    """Concatenate performances into one npz (arrays plus per-performance start indices)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lengths = np.array([len(p.hits) for p in performances])
    np.savez_compressed(
        path,
        names=np.array([p.name for p in performances]),
        splits=np.array([p.split for p in performances]),
        styles=np.array([p.style for p in performances]),
        bpms=np.array([p.bpm for p in performances]),
        starts=np.concatenate([[0], np.cumsum(lengths)]),
        hits=np.concatenate([p.hits for p in performances]),
        velocities=np.concatenate([p.velocities for p in performances]),
        offsets=np.concatenate([p.offsets for p in performances]),
    )


def load_cached(root: Path = DEFAULT_ROOT, cache: Path = DEFAULT_CACHE) -> list[Performance]:
    """``load_gmd`` through an npz cache (built on first use)."""
    cache = Path(cache)
    if not cache.exists():
        save_cache(load_gmd(root), cache)
    with np.load(cache) as npz:
        d = {key: npz[key] for key in npz.files}
    s = d["starts"]
    return [
        Performance(str(d["names"][i]), str(d["splits"][i]), str(d["styles"][i]), float(d["bpms"][i]),
                    d["hits"][s[i]:s[i + 1]], d["velocities"][s[i]:s[i + 1]], d["offsets"][s[i]:s[i + 1]])
        for i in range(len(s) - 1)
    ]


def by_split(performances: list[Performance]) -> dict[str, list[Performance]]:
    return {split: [p for p in performances if p.split == split] for split in SPLITS}


def build_vocabulary(train: list[Performance], min_count: int = 2) -> HitVocabulary:
    """Hit-combination vocabulary of the training split (combinations seen fewer than min_count times are
    folded into their nearest frequent neighbour by ``HitVocabulary.encode``)."""
    return HitVocabulary.from_hits(np.concatenate([p.hits for p in train]), min_count=min_count)


if __name__ == "__main__":
    perfs = load_cached()
    splits = by_split(perfs)
    vocab = build_vocabulary(splits["train"])
    for split, items in splits.items():
        steps = sum(len(p.hits) for p in items)
        hits = np.concatenate([p.hits for p in items])
        taps = np.concatenate([p.taps for p in items])
        known = np.isin(np.array([int(m) for m in (hits * (1 << np.arange(9))).sum(1)]), vocab.masks).mean()
        print(f"{split:10s} files {len(items):4d} bars {steps // 16:6d} hit density {hits.mean():.3f} "
              f"tap density {taps.mean():.3f} steps in vocab {known:.4f}")
    print("vocabulary size (with BOS):", vocab.size)
