"""The note format every generator and output shares.

Time is counted in 16th-note steps from the start of the take (one bar of 4/4 = 16 steps), so the
musical clock (beats from the HMM) decides when a step sounds. A fractional step carries the
micro-timing offset of a drum hit (offset in [-0.5, 0.5] of a step).
"""

from __future__ import annotations

from dataclasses import dataclass

STEPS_PER_BEAT = 4
STEPS_PER_BAR = 16

DRUM_CHANNEL = 9  # 0-based: MIDI channel 10
PIANO_CHANNEL = 0  # 0-based: MIDI channel 1

#: The 9 drum classes (paper / GrooVAE) and their GM pitches.
DRUM_CLASSES = ("kick", "snare", "closed_hat", "open_hat", "low_tom", "mid_tom", "high_tom", "crash", "ride")
DRUM_PITCHES = (36, 38, 42, 46, 43, 47, 50, 49, 51)


@dataclass(frozen=True)
class Note:
    """One note.

    track: "drums" or "piano".
    pitch: MIDI pitch (GM drum pitch for drums).
    velocity: MIDI velocity 1..127.
    step: onset in 16th-note steps from the take start (float: includes the micro-timing offset).
    duration: length in 16th-note steps (drums use a short fixed length).
    """

    track: str
    pitch: int
    velocity: int
    step: float
    duration: float

    @property
    def channel(self) -> int:
        return DRUM_CHANNEL if self.track == "drums" else PIANO_CHANNEL
