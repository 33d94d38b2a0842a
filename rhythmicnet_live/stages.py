"""The contracts between the stages (in the spirit of madmom's processors): what each stage takes and gives.

    FrameSource -> Frame -> PoseEstimator -> BodyPose -> (keypoints: 30 fps, normalised) -> ActivationProcessor
    -> activation per frame -> BeatDecoder -> OnlineBeat / beat times -> (rhythm, generation) -> NoteSender

Every online stage has ``process_online(x, reset=False)`` for one frame and ``process_offline(xs)`` for a whole
sequence, and a test checks that frame-by-frame output equals whole-sequence output (within the stage's
declared delay). The concrete stages are structural: they satisfy these protocols without inheriting them.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple, Protocol, runtime_checkable

import numpy as np

from .analysis.hmm import OnlineBeat
from .input.capture import Frame
from .live.scheduler import ScheduledNote


class BodyPose(NamedTuple):
    """One frame's body: COCO-17 ``xy`` (17, 2) in pixels (NaN where unseen) and ``conf`` (17,) in [0, 1]."""

    xy: np.ndarray
    conf: np.ndarray


@runtime_checkable
class FrameSource(Protocol):
    """Frames with their capture timestamps (``time.monotonic()`` seconds for cameras, media time for files).
    ``fps``: nominal frame rate; ``dropped``: frames it skipped (late or unreadable)."""

    fps: float
    dropped: int

    def __iter__(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


@runtime_checkable
class PoseEstimator(Protocol):
    """One frame -> one body (NaN / zero confidence when nobody is there)."""

    def estimate(self, frame: Frame) -> BodyPose: ...


@runtime_checkable
class ActivationProcessor(Protocol):
    """Normalised keypoints -> beat activation in [0, 1] (NaN where the body is missing).

    ``delay_s``: how late (s) ``process_online``'s value is: the value returned for a frame belongs to the frame
    ``delay_s`` earlier (the model's lookahead)."""

    @property
    def delay_s(self) -> float: ...

    def process_online(self, xy: np.ndarray, reset: bool = False) -> float:
        """One frame (17, 2) -> the activation of the frame ``delay_s`` back."""

    def process_offline(self, xy: np.ndarray) -> np.ndarray:
        """A sequence (T, 17, 2) -> activations (T,)."""


@runtime_checkable
class BeatDecoder(Protocol):
    """Activation -> beats: offline beat times (s from frame 0), online one report per frame."""

    def process_offline(self, activation: np.ndarray) -> np.ndarray: ...

    def process_online(self, activation: float, reset: bool = False) -> OnlineBeat: ...


@runtime_checkable
class NoteSender(Protocol):
    """Sends each note at its time (the scheduler): ``schedule`` is False when the note was refused (late, full);
    ``stop`` silences everything now (All Notes Off); ``close`` stops and releases the outputs."""

    def schedule(self, event: ScheduledNote) -> bool: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...
