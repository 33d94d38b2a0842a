"""AIST++ keypoints and music beats for training and evaluating beat tracking from motion.

Two layouts are read:

* the subset in ``../shared/data/aistpp`` (``keypoints3d/sample_NNN/{pose.npy,metadata.txt}`` at 60 fps in cm,
  ``keypoints2d_sFM/*.npy`` at 30 fps in pixels, ``meta/``);
* the official AIST++ release (``keypoints3d/<sequence>.pkl`` with ``keypoints3d_optim`` (T, 17, 3) at 60 fps),
  given by path; its beats come from the music id's tempo and the beat table in this repository's
  ``meta`` files when present, else from the nominal tempo starting at 0.05 s.

Ground truth: the beat times of the sequence's music id, continued at the nominal tempo past the end
of the listed beats (AIST music keeps one tempo). 3D sequences are seen through random virtual cameras
(``project``), like a webcam would see them.
"""

from __future__ import annotations

import csv
import json
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rhythmicnet_live.input.keypoints import Keypoints
from export import SHARED_DATA

SHARED_AISTPP = SHARED_DATA / "aistpp"
ONSET_FPS = 60.0
NAME_RE = re.compile(r"g(?P<genre>[A-Z]{2})_s(?P<situation>[A-Z]{2})_c\w+?_d(?P<dancer>\d+)_(?P<music>m[A-Z]{2}\d)_ch(?P<ch>\d+)")


@dataclass
class Sequence:
    """One dance.

    joints: (T, 17, 3) centimetres (3D, y up) or (T, 17, 2) pixels (2D), COCO-17 order, at ``fps``.
    beats: ground-truth beat times in seconds from the first frame, within the sequence.
    onset: the music's onset envelope at ``ONSET_FPS`` from the first frame (log-compressed, about 0..1),
    or None when the music features are not there.
    """

    name: str
    dancer: str
    genre: str
    music_id: str
    bpm: float
    fps: float
    joints: np.ndarray
    beats: np.ndarray
    onset: np.ndarray | None = None

    @property
    def duration(self) -> float:
        return len(self.joints) / self.fps

    @property
    def is_3d(self) -> bool:
        return self.joints.shape[-1] == 3


def read_music_beats(meta_dir: Path) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """(music id -> nominal BPM, music id -> beat times in seconds from the beat table)."""
    tempo = {k: float(v) for k, v in json.loads((meta_dir / "music_id_tempo.json").read_text()).items()}
    beats = {}
    table = meta_dir / "aist_music_beats_librosa_60fps.csv"
    if table.exists():
        with open(table) as fh:
            for row in csv.DictReader(fh):
                beats[row["music_id"]] = np.array(row["beat_frames_60fps"].split(), dtype=float) / 60.0
    return tempo, beats


def ground_truth_beats(music_id: str, duration: float, tempo: dict, table: dict) -> np.ndarray:
    """Beat times (s) of ``music_id`` within [0, duration], continued at the nominal tempo.

    Where the tracked tempo disagrees with the nominal one (mHO5 was tracked at 180 instead of 135 BPM),
    the nominal tempo is used with the first tracked beat's phase.
    """
    period = 60.0 / tempo[music_id]
    listed = table.get(music_id, np.array([0.05]))
    if len(listed) > 1 and abs(np.median(np.diff(listed)) / period - 1) > 0.04:
        listed = listed[:1]
    extra = listed[-1] + period * np.arange(1, int(np.ceil((duration - listed[-1]) / period)) + 2)
    beats = np.concatenate([listed, extra])
    return beats[beats <= duration - 1e-9]


def music_onset(features_dir: Path, music_id: str) -> np.ndarray | None:
    """Onset envelope (column 0 of ``music_features_mint60fps/<id>.npy``) at ``ONSET_FPS``, log1p-compressed and
    divided by that of its 99th percentile; None if the file is missing."""
    path = features_dir / f"{music_id}.npy"
    if not path.exists():
        return None
    env = np.log1p(np.maximum(np.load(path)[:, 0], 0.0))
    return (env / max(float(np.percentile(env, 99)), 1e-6)).astype(np.float32)


def parse_name(name: str) -> dict:
    match = NAME_RE.search(name)
    if not match:
        raise ValueError(f"not an AIST++ sequence name: {name}")
    return match.groupdict()


def load_aistpp(root: Path = SHARED_AISTPP, meta_dir: Path | None = None) -> list[Sequence]:
    """All sequences under ``root`` (the shared subset or the official AIST++ layout)."""
    root = Path(root)
    meta_dir = Path(meta_dir) if meta_dir else (root / "meta" if (root / "meta").exists() else SHARED_AISTPP / "meta")
    tempo, table = read_music_beats(meta_dir)
    features_dir = meta_dir.parent / "music_features_mint60fps"
    seqs: list[Sequence] = []

    def add(name: str, joints: np.ndarray, fps: float) -> None:
        info = parse_name(name)
        duration = len(joints) / fps
        seqs.append(Sequence(
            name=name, dancer="d" + info["dancer"], genre=info["genre"], music_id=info["music"],
            bpm=tempo[info["music"]], fps=fps, joints=joints.astype(np.float32),
            beats=ground_truth_beats(info["music"], duration, tempo, table),
            onset=music_onset(features_dir, info["music"]),
        ))

    for sample in sorted((root / "keypoints3d").glob("sample_*")):
        meta = dict(line.split(": ", 1) for line in (sample / "metadata.txt").read_text().splitlines() if ": " in line)
        add(meta["original_file"].removesuffix(".pkl"), np.load(sample / "pose.npy"), 60.0)
    for pkl in sorted((root / "keypoints3d").glob("*.pkl")):
        with open(pkl, "rb") as fh:
            data = pickle.load(fh)
        add(pkl.stem, np.asarray(data.get("keypoints3d_optim", data.get("keypoints3d"))), 60.0)
    for npy in sorted((root / "keypoints2d_sFM").glob("*.npy")):
        add(npy.stem, np.load(npy), 30.0)
    return seqs


@dataclass(frozen=True)
class VirtualCamera:
    """A pinhole camera looking at the dancer.

    yaw_deg: rotation about the vertical axis; pitch_deg: looking down (+) or up (-);
    distance_m: camera to the dancer's hip centre; focal_px: focal length in pixels;
    image: (width, height) in pixels.
    """

    yaw_deg: float = 0.0
    pitch_deg: float = 5.0
    distance_m: float = 4.0
    focal_px: float = 1000.0
    image: tuple[int, int] = (1280, 720)

    @classmethod
    def random(cls, rng: np.random.Generator) -> "VirtualCamera":
        return cls(
            yaw_deg=float(rng.uniform(-180, 180)),
            pitch_deg=float(rng.uniform(-5, 25)),
            distance_m=float(rng.uniform(2.5, 7.0)),
            focal_px=float(rng.uniform(700, 1600)),
        )


def project(joints_cm: np.ndarray, camera: VirtualCamera) -> np.ndarray:
    """Pixels (T, 17, 2) of 3D joints (T, 17, 3) in cm (y up) seen by ``camera``."""
    centre = np.nanmean(joints_cm[:, [11, 12]], axis=(0, 1))
    p = (joints_cm - centre) / 100.0
    yaw, pitch = np.radians(camera.yaw_deg), np.radians(camera.pitch_deg)
    ry = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    rx = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
    cam = p @ ry.T @ rx.T
    depth = camera.distance_m - cam[..., 2]
    width, height = camera.image
    u = width / 2 + camera.focal_px * cam[..., 0] / depth
    v = height / 2 - camera.focal_px * cam[..., 1] / depth
    return np.stack([u, v], axis=-1).astype(np.float32)


def webcam_noise(xy: np.ndarray, rng: np.random.Generator, noise_px: float = 2.0, drop_prob: float = 0.02,
                 frame_drop_prob: float = 0.01) -> np.ndarray:
    """Pixel jitter, dropped joints and dropped frames (NaN), like a pose estimator on a webcam."""
    out = xy + rng.normal(0.0, noise_px, xy.shape).astype(np.float32)
    out[rng.random(xy.shape[:2]) < drop_prob] = np.nan
    out[rng.random(len(xy)) < frame_drop_prob] = np.nan
    return out


def camera_view(seq: Sequence, rng: np.random.Generator, noise: bool = True) -> Keypoints:
    """Raw pixel keypoints of ``seq`` as a camera would see them (2D sequences pass through, plus noise)."""
    xy = project(seq.joints, VirtualCamera.random(rng)) if seq.is_3d else seq.joints.copy()
    if noise:
        xy = webcam_noise(xy, rng)
    conf = np.isfinite(xy).all(-1).astype(np.float32)
    return Keypoints(xy, conf, np.arange(len(xy)) / seq.fps)


def dancer_folds(seqs: list[Sequence], k: int = 5, seed: int = 0) -> list[list[str]]:
    """Split dancers into ``k`` folds of similar sequence counts (dancer ids per fold)."""
    counts: dict[str, int] = {}
    for s in seqs:
        counts[s.dancer] = counts.get(s.dancer, 0) + 1
    rng = np.random.default_rng(seed)
    dancers = sorted(counts)
    rng.shuffle(dancers)
    dancers.sort(key=lambda d: -counts[d])
    folds: list[list[str]] = [[] for _ in range(k)]
    sizes = [0] * k
    for d in dancers:
        i = int(np.argmin(sizes))
        folds[i].append(d)
        sizes[i] += counts[d]
    return folds
