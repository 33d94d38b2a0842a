"""Drums and piano together, one bar at a time: the shared generation step of live performances and takes."""

from __future__ import annotations

import numpy as np

from .drums import DrumGenerator
from ..notes import Note
from .piano import PianoGenerator


class MusicGenerator:
    """Drums on a bar's rhythm, then piano over those drums, with context and memory carried across bars.

    seed: the drums' seed (the piano uses seed + 1); piano: load the piano model; top_k: sampling.
    """

    def __init__(self, seed: int = 0, piano: bool = True, top_k: int = 5):
        self.drums = DrumGenerator(seed=seed)
        self.piano = PianoGenerator(seed=seed + 1) if piano else None
        self.top_k = top_k

    def generate(self, taps: np.ndarray, bpm: float, drum_temperature: float = 1.0, piano_temperature: float = 1.0,
                 drums: bool = True, piano: bool = True) -> list[Note]:
        """The bar's notes, steps relative to the bar start. taps: (16,) 0/1 rhythm; bpm: the tempo in effect.

        drums=False still generates the drums (the piano listens to them) but does not return them.
        """
        drum_notes = self.drums.generate_bar(taps, drum_temperature, self.top_k, bar_start_step=0)
        notes = list(drum_notes) if drums else []
        if self.piano is not None and piano:
            notes += self.piano.generate_bar(drum_notes, piano_temperature, self.top_k, bpm=bpm)
        return notes
