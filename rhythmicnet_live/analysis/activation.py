"""Beat activations: per-frame beat likelihood in [0, 1] (NaN = no body seen), at ``FPS`` frames/s.

``KinematicActivation`` is the no-learning baseline: the kinematic-offset envelope (see style.py),
smoothed over ``smooth`` frames and divided by a running percentile of its last ``norm_s`` seconds.
It is causal, so ``process_online`` frame by frame equals ``process_offline`` on the whole sequence.
The trained beat model (``ModelActivation``, ONNX) is the default once shipped.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from .. import FPS
from .style import KinematicOffsets


class KinematicActivation:
    """No-learning beat activation from keypoints xy (T, 17, 2), normalised coordinates. Causal: no delay."""

    #: Seconds between a frame and its activation (none: it is causal).
    delay_s = 0.0

    def __init__(self, smooth: int = 3, norm_s: float = 4.0, percentile: float = 95.0, fps: float = FPS):
        self.smooth, self.percentile = smooth, percentile
        self.norm_frames = int(norm_s * fps)
        self.offsets = KinematicOffsets()
        self.reset()

    def reset(self) -> None:
        self.offsets.reset()
        self.recent: deque[float] = deque(maxlen=self.smooth)
        self.history: deque[float] = deque(maxlen=self.norm_frames)

    def _step(self, offset: float) -> float:
        self.recent.append(offset)
        finite = [v for v in self.recent if np.isfinite(v)]
        if not np.isfinite(offset) or not finite:
            return float("nan")
        envelope = float(np.mean(finite))
        self.history.append(envelope)
        scale = float(np.percentile(self.history, self.percentile))
        return float(np.clip(envelope / scale, 0.0, 1.0)) if scale > 1e-9 else 0.0

    def process_online(self, xy: np.ndarray, reset: bool = False) -> float:
        """Activation for one frame of keypoints (17, 2)."""
        if reset:
            self.reset()
        return self._step(self.offsets.process_online(xy))

    def process_offline(self, xy: np.ndarray) -> np.ndarray:
        """Activations (T,) for a whole sequence (T, 17, 2)."""
        self.reset()
        out = np.array([self._step(o) for o in self.offsets.process_offline(xy)])
        self.reset()
        return out
