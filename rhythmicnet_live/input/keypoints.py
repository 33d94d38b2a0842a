"""COCO-17 body keypoints: the one format that training data (AIST++) and live input (MediaPipe) share.

Arrays:
    xy:    (T, 17, 2) float32, x/y in any consistent unit (pixels or normalised image coords); NaN = missing.
    conf:  (T, 17) float32 in [0, 1] (visibility / detector confidence); 0 where missing.
    times: (T,) float64 seconds (capture timestamps).

``prepare`` turns raw keypoints into model input: resampled by timestamps to one rate (``FPS``),
short gaps interpolated, long gaps left missing (NaN, never zeros), centred on the hip midpoint and
scaled by a running median of the torso length.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import FPS
from ..errors import UserInputError

COCO17 = (
    "nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder", "l_elbow", "r_elbow",
    "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle",
)
#: Bones of the COCO-17 skeleton (for the ST-GCN graph and for drawing).
COCO17_EDGES = (
    (0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10),
    (5, 11), (6, 12), (11, 12), (11, 13), (13, 15), (12, 14), (14, 16),
)
#: Index pairs swapped by a left/right mirror.
COCO17_FLIP = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)

L_SHOULDER, R_SHOULDER, L_HIP, R_HIP = 5, 6, 11, 12


@dataclass
class Keypoints:
    """A keypoint sequence; see the module docstring for shapes and units."""

    xy: np.ndarray
    conf: np.ndarray
    times: np.ndarray

    def __len__(self) -> int:
        return len(self.times)

    @property
    def fps(self) -> float:
        """Mean frame rate from the timestamps (frames per second)."""
        if len(self.times) < 2:
            return FPS
        return float((len(self.times) - 1) / (self.times[-1] - self.times[0]))

    def save(self, path: Path) -> None:
        np.savez_compressed(path, xy=self.xy, conf=self.conf, times=self.times)

    @classmethod
    def load(cls, path: Path) -> "Keypoints":
        with np.load(path) as data:
            return cls(data["xy"].astype(np.float32), data["conf"].astype(np.float32), data["times"].astype(np.float64))

    @classmethod
    def from_array(cls, array: np.ndarray, fps: float) -> "Keypoints":
        """From a COCO-17 array (T, 17, 2 or 3) at ``fps``: the 3rd channel is a confidence if present.

        NaN marks a missing joint; OpenPose-style (0, 0) points and zero confidence count as missing too.
        """
        array = np.asarray(array, dtype=np.float32)
        if array.ndim != 3 or array.shape[1] != 17 or array.shape[2] not in (2, 3):
            raise UserInputError(f"keypoints must have shape (T, 17, 2 or 3) in COCO-17 order, got {array.shape}")
        if fps <= 0:
            raise UserInputError(f"--fps must be positive, got {fps}")
        xy = array[..., :2].copy()
        conf = array[..., 2].copy() if array.shape[2] == 3 else np.ones(array.shape[:2], np.float32)
        missing = ~np.isfinite(xy).all(-1) | (np.abs(xy).sum(-1) == 0) | ~(conf > 0)
        xy[missing] = np.nan
        conf = np.where(missing, 0.0, np.clip(np.nan_to_num(conf), 0.0, 1.0)).astype(np.float32)
        times = np.arange(len(xy), dtype=np.float64) / fps
        return cls(xy, conf, times)


def load_keypoint_file(path: Path, fps: float) -> Keypoints:
    """Keypoints from a user's ``.npy`` file (COCO-17, (T, 17, 2 or 3)) at frame rate ``fps``."""
    path = Path(path)
    if not path.exists():
        raise UserInputError(f"keypoint file not found: {path}")
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises several types for a corrupt file
        raise UserInputError(f"cannot read keypoint file {path}: {exc}") from None
    return Keypoints.from_array(array, fps)


def resample(kp: Keypoints, fps: float = FPS, max_gap_s: float = 0.25) -> Keypoints:
    """Resample to a uniform ``fps`` by timestamps (linear per joint).

    Gaps of missing data (or between timestamps) up to ``max_gap_s`` seconds are interpolated;
    longer gaps stay NaN.
    """
    t0, t1 = kp.times[0], kp.times[-1]
    n = int(np.floor((t1 - t0) * fps + 1e-6)) + 1
    grid = t0 + np.arange(n) / fps
    xy = np.full((n, 17, 2), np.nan, np.float32)
    conf = np.zeros((n, 17), np.float32)
    for j in range(17):
        ok = np.isfinite(kp.xy[:, j]).all(-1)
        if ok.sum() < 2:
            continue
        t_ok = kp.times[ok]
        idx = np.searchsorted(t_ok, grid)
        left = t_ok[np.clip(idx - 1, 0, len(t_ok) - 1)]
        right = t_ok[np.clip(idx, 0, len(t_ok) - 1)]
        exact = np.isclose(left, grid) | np.isclose(right, grid)
        bridged = (idx > 0) & (idx < len(t_ok)) & (right - left <= max_gap_s + 1e-9)
        usable = exact | bridged
        for c in range(2):
            xy[usable, j, c] = np.interp(grid[usable], t_ok, kp.xy[ok, j, c])
        conf[usable, j] = np.interp(grid[usable], t_ok, kp.conf[ok, j])
    return Keypoints(xy, conf, grid)


class TorsoNormaliser:
    """Per frame: centre on the hip midpoint, divide by the running median of the last ``window`` torso lengths.

    Call with one frame xy (17, 2); returns (17, 2) float32 in torso lengths (NaN where the hips are missing).
    """

    def __init__(self, window: int = int(5 * FPS)):
        self.window = window
        self.torso: deque[float] = deque(maxlen=window)

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        hip = 0.5 * (xy[L_HIP] + xy[R_HIP])
        torso = float(np.linalg.norm(0.5 * (xy[L_SHOULDER] + xy[R_SHOULDER]) - hip))
        if np.isfinite(torso):
            self.torso.append(torso)
        scale = float(np.median(self.torso)) if self.torso else np.nan
        return ((xy - hip) / scale).astype(np.float32)


def normalise(xy: np.ndarray, scale_window: int = int(5 * FPS)) -> np.ndarray:
    """``TorsoNormaliser`` over a whole sequence xy (T, 17, 2) -> (T, 17, 2) float32 in torso lengths."""
    normaliser = TorsoNormaliser(scale_window)
    return np.stack([normaliser(frame) for frame in xy]) if len(xy) else np.zeros((0, 17, 2), np.float32)


def prepare(kp: Keypoints, fps: float = FPS) -> Keypoints:
    """Model-ready keypoints: uniform ``fps``, short gaps filled, normalised (see module docstring)."""
    uniform = resample(kp, fps)
    return Keypoints(normalise(uniform.xy), uniform.conf, uniform.times)


class OnlineKeypoints:
    """The causal counterpart of ``prepare`` for live input, one captured frame at a time.

    ``process_online(xy, conf, t)`` takes a raw frame (17, 2) pixels, (17,) confidence and its capture
    time t (s), and returns the internal frames whose grid times (multiples of 1/fps after the first
    frame) have passed: a list of (time s, normalised xy (17, 2)), interpolated between the last two
    captured frames. Gaps cannot be bridged without looking ahead, so missing joints stay NaN. On input
    without gaps at exactly ``fps`` it equals ``prepare`` frame for frame.
    """

    def __init__(self, fps: float = FPS, scale_window: int = int(5 * FPS)):
        self.fps = fps
        self.scale_window = scale_window
        self.reset()

    def reset(self) -> None:
        self.prev: tuple[float, np.ndarray] | None = None
        self.next_time: float | None = None
        self._normalise = TorsoNormaliser(self.scale_window)

    def process_online(self, xy: np.ndarray, conf: np.ndarray, t: float,
                       reset: bool = False) -> list[tuple[float, np.ndarray]]:
        if reset:
            self.reset()
        xy = np.where(conf[:, None] > 0, xy, np.nan).astype(np.float32)
        if self.prev is None:
            self.prev, self.next_time = (t, xy), t
        out = []
        t_prev, xy_prev = self.prev
        while self.next_time <= t + 1e-9:
            if np.isclose(self.next_time, t):
                frame = xy
            else:
                w = (self.next_time - t_prev) / (t - t_prev)
                frame = xy_prev + w * (xy - xy_prev)
            out.append((self.next_time, self._normalise(frame)))
            self.next_time += 1.0 / self.fps
        self.prev = (t, xy)
        return out
