"""The trained Video2Rhythm beat model at run time (onnxruntime, no torch): keypoints -> beat activation.

``beat_features`` turns prepared keypoints (T, 17, 2) (normalised, NaN = missing, see keypoints.py) into the
model input (T, 17, 5): position x, y (a missing joint keeps its last seen position, 0 before any),
velocity x, y in torso lengths per frame x ``VELOCITY_SCALE`` (0 unless the joint was seen in this frame
and the previous one: a gap never makes a fake velocity) and an observed mask (1 seen, 0 missing).

``ModelActivation`` has the interface of ``KinematicActivation``:

* ``process_offline(xy)`` runs the model over a whole clip in chunks of ``chunk`` frames, carrying the
  model's streaming state (convolution caches and the feature history of the attention band) from
  chunk to chunk, so chunk borders change nothing;
* ``process_online(xy_frame)`` feeds one frame and returns the activation of the frame ``delay``
  (= the model's lookahead L) frames back: the value for frame t arrives at frame t + L, i.e.
  ``L / FPS`` seconds late (NaN for the first L frames). The state is a ring buffer of the last H
  frame features (H = layers x (W - 1) + L, W = attention window) plus the convolution caches, so one call
  costs one step of the model, not a re-run over the window.

A model with a tempo head (manifest ``tempo_bins_bpm``) also gives, per frame, a tempo distribution over
those bins, the decoder's tempo prior (``BeatTracker(tempo_bins=...)``): ``process_offline(xy, with_tempo=True)``
returns it beside the activation, and after ``process_online`` it is in ``tempo`` (same frame as the returned
activation; NaN while that is NaN). ``tempo_bins`` is None for a model without a tempo head.

``default_activation()`` returns ``ModelActivation`` when the model is shipped, else ``KinematicActivation``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import FPS
from .activation import KinematicActivation
from ..models import MODELS_DIR, has_model, load_session, read_manifest

MODEL_NAME = "beat_model"
VELOCITY_SCALE = 10.0


class FeatureState:
    """Per-joint memory for ``beat_features``: last seen position and whether the joint was seen last frame."""

    def __init__(self) -> None:
        self.last = np.zeros((17, 2), np.float32)
        self.seen_prev = np.zeros(17, bool)
        self.prev = np.zeros((17, 2), np.float32)

    def step(self, xy: np.ndarray) -> np.ndarray:
        """Features (17, 5) of one frame xy (17, 2) (NaN = missing)."""
        seen = np.isfinite(xy).all(-1)
        out = np.zeros((17, 5), np.float32)
        self.last[seen] = xy[seen]
        out[:, :2] = self.last
        both = seen & self.seen_prev
        out[both, 2:4] = (xy[both] - self.prev[both]) * VELOCITY_SCALE
        out[:, 4] = seen
        self.prev = np.where(seen[:, None], xy, self.prev).astype(np.float32)
        self.seen_prev = seen
        return out


def beat_features(xy: np.ndarray, state: FeatureState | None = None) -> np.ndarray:
    """Model input (T, 17, 5) float32 for prepared keypoints xy (T, 17, 2); see the module docstring."""
    state = state or FeatureState()
    xy = np.asarray(xy, np.float32)
    return np.stack([state.step(frame) for frame in xy]) if len(xy) else np.zeros((0, 17, 5), np.float32)


class ModelActivation:
    """Beat activation from the shipped ONNX beat model; same interface as ``KinematicActivation``.

    Output: activation in [0, 1] per frame at ``FPS``; NaN where no body was seen in that frame.
    """

    def __init__(self, chunk: int = 256, threads: int = 1, models_dir: Path = MODELS_DIR):
        self.session = load_session(MODEL_NAME, models_dir, threads=threads, arena=True)  # one input shape per step or chunk
        entry = read_manifest(models_dir)["models"][MODEL_NAME]
        shapes = {i["name"]: i["shape"] for i in entry["inputs"]}
        self.delay = int(entry["lookahead_frames"])
        self.history = int(shapes["hist"][1])
        self.cache_shape = tuple(int(d) for d in shapes["cache"][1:])
        self.width = int(shapes["hist"][2])
        self.has_tempo = any(o["name"] == "tempo" for o in entry["outputs"])
        self.tempo_bins = np.asarray(entry["tempo_bins_bpm"], float) if self.has_tempo else None
        self.chunk = chunk
        self.reset()

    @property
    def delay_s(self) -> float:
        """Seconds between a frame and the moment its activation is known (lookahead L / FPS)."""
        return self.delay / FPS

    def reset(self) -> None:
        self.features = FeatureState()
        self.cache = np.zeros((1,) + self.cache_shape, np.float32)
        self.hist = np.zeros((1, self.history, self.width), np.float32)
        self.hist_valid = np.zeros((1, self.history), np.float32)
        self.seen: list[bool] = []  # per frame: was a body there (for the NaN output), last H + 1 frames
        self.tempo = None if self.tempo_bins is None else np.full(len(self.tempo_bins), np.nan)

    def _run(self, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Feed features (n, 17, 5); returns (activations (H + n,), tempo distributions (H + n, K) or None) for
        the history frames and the new ones."""
        out = self.session.run(None, {"feats": feats[None].astype(np.float32), "cache": self.cache,
                                      "hist": self.hist, "hist_valid": self.hist_valid})
        self.cache, self.hist, self.hist_valid = out[-3:]
        return out[0][0], (out[1][0] if self.has_tempo else None)

    def process_online(self, xy: np.ndarray, reset: bool = False) -> float:
        """Feed one frame (17, 2); returns the activation of the frame ``delay`` frames back (NaN at first)."""
        if reset:
            self.reset()
        xy = np.asarray(xy, np.float32)
        self.seen.append(bool(np.isfinite(xy).all(-1).any()))
        del self.seen[:-(self.delay + 1)]
        act, tempo = self._run(self.features.step(xy)[None])
        if len(self.seen) <= self.delay or not self.seen[0]:
            if tempo is not None:
                self.tempo = np.full(len(self.tempo_bins), np.nan)
            return float("nan")
        if tempo is not None:
            self.tempo = tempo[-1 - self.delay].astype(np.float64)
        return float(act[-1 - self.delay])

    def process_offline(self, xy: np.ndarray, with_tempo: bool = False):
        """Activations (T,) for a whole clip (T, 17, 2), each with the full lookahead except the last L frames;
        with ``with_tempo``, (activations, tempo distributions (T, K) or None)."""
        self.reset()
        feats = beat_features(xy)
        out = np.full(len(feats), np.nan, np.float32)
        tempo_out = np.full((len(feats), len(self.tempo_bins)), np.nan, np.float32) if self.has_tempo else None
        for start in range(0, len(feats), self.chunk):
            stop = min(start + self.chunk, len(feats))
            act, tempo = self._run(feats[start:stop])
            lo = max(0, start - self.delay)  # frames still within the lookahead get their final value now
            out[lo:stop] = act[len(act) - (stop - lo):]
            if tempo is not None:
                tempo_out[lo:stop] = tempo[len(act) - (stop - lo):]
        missing = feats[:, :, 4].sum(-1) == 0
        out[missing] = np.nan
        if tempo_out is not None:
            tempo_out[missing] = np.nan
        self.reset()
        return (out, tempo_out) if with_tempo else out


def default_activation(models_dir: Path = MODELS_DIR) -> ModelActivation | KinematicActivation:
    """The trained beat model when ``models_dir`` ships it, else the no-learning kinematic activation."""
    return ModelActivation(models_dir=models_dir) if has_model(MODEL_NAME, models_dir) else KinematicActivation()


def activation_by_name(kind: str) -> tuple[ModelActivation | KinematicActivation, str]:
    """(activation processor, its name) for a user's choice: "model", "kinematic" or "auto" (the model when shipped)."""
    from ..errors import ModelManifestError

    if kind == "kinematic":
        return KinematicActivation(), "kinematic"
    if kind == "model" and not has_model(MODEL_NAME):
        raise ModelManifestError("no trained beat model is shipped in models_onnx/; use --activation kinematic")
    processor = default_activation()
    return processor, (MODEL_NAME if isinstance(processor, ModelActivation) else "kinematic")
