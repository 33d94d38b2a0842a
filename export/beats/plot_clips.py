"""Plot beat activations and decoded beats for real clips (no ground truth: a visual check).

For each clip: keypoints (MediaPipe via ``rhythmicnet_live.input.pose.cached_keypoints`` for videos, or an
OpenPose skeleton ``.npy`` converted to COCO-17), the runtime's ``prepare``, the shipped beat model's
activation and the no-learning kinematic activation, this project's HMM offline (Viterbi) and online
(forward filtering) beats (with the model's tempo prior when it has a tempo head), the decoded tempo over
time (offline path and online posterior mean; grey where no body is seen, when the online tracker reports
no beats), and the vertical motion of wrists and ankles for reference. One PNG per clip.

    python -m export.beats.plot_clips [--videos ../shared/data/videos] [--out docs/beat_plots] [--models-dir models_onnx]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rhythmicnet_live import FPS  # noqa: E402
from rhythmicnet_live.analysis.activation import KinematicActivation  # noqa: E402
from rhythmicnet_live.analysis.beat_model import ModelActivation  # noqa: E402
from rhythmicnet_live.analysis.hmm import BeatTracker  # noqa: E402
from rhythmicnet_live.analysis.tempo import MotionTempo  # noqa: E402
from rhythmicnet_live.input.keypoints import Keypoints, prepare  # noqa: E402
from rhythmicnet_live.models import MODELS_DIR  # noqa: E402
from export import SHARED_DATA

SHARED_VIDEOS = SHARED_DATA / "videos"

#: COCO-17 joint <- index in the RhythmicNet OpenPose layout (BODY_25 joints 0-14, 19, 22: nose, neck,
#: r_shoulder, r_elbow, r_wrist, l_shoulder, l_elbow, l_wrist, mid_hip, r_hip, r_knee, r_ankle, l_hip,
#: l_knee, l_ankle, l_big_toe, r_big_toe). That layout has no eyes or ears: they take the nose's position.
OPENPOSE_TO_COCO17 = (0, 0, 0, 0, 0, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11)
OPENPOSE_FPS = {"24_manskate_0": 24.0, "30_volleyball_0": 29.97}


def openpose_to_coco17(array: np.ndarray, fps: float) -> Keypoints:
    """Keypoints from an OpenPose skeleton (T, 17, 3) in the layout above; (0, 0, 0) = missing."""
    return Keypoints.from_array(np.asarray(array, np.float32)[:, list(OPENPOSE_TO_COCO17)], fps)


def load_frames(npy: Path) -> np.ndarray:
    """An (T, 17, 3) ``.npy``; a truncated file (30_volleyball_0.npy is) gives its complete frames."""
    with open(npy, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(fh)
        data = np.frombuffer(fh.read(), dtype=dtype)
    frame = int(np.prod(shape[1:]))
    whole = len(data) // frame
    if whole < shape[0]:
        print(f"{npy.name}: truncated file, {whole} of {shape[0]} frames")
    return data[: whole * frame].reshape((whole,) + tuple(shape[1:]))


def clips(videos: Path) -> list[tuple[str, Keypoints]]:
    out = []
    for npy in sorted((videos / "openpose_skeletons").glob("*.npy")):
        out.append((f"{npy.stem} (OpenPose)", openpose_to_coco17(load_frames(npy), OPENPOSE_FPS.get(npy.stem, 30.0))))
    try:
        from rhythmicnet_live.input.pose import cached_keypoints
    except ImportError as exc:  # pose extraction needs mediapipe
        print(f"skipping the videos: {exc}")
        return out
    for mp4 in sorted(videos.glob("*.mp4")):
        out.append((f"{mp4.stem} (MediaPipe)", cached_keypoints(mp4, progress=False)))
    return out


def plot_clip(name: str, kp: Keypoints, path: Path, models_dir: Path = MODELS_DIR) -> dict:
    prepared = prepare(kp)
    xy = prepared.xy
    t = np.arange(len(xy)) / FPS
    model = ModelActivation(models_dir=models_dir)
    act, tempo = model.process_offline(xy, with_tempo=True)
    kin = KinematicActivation().process_offline(xy)
    offline, tempo_path = BeatTracker.for_takes(tempo_bins=model.tempo_bins).decode_offline(act, tempo)  # as take
    motion = MotionTempo().process_offline(xy)  # perform's tempo observation while it searches
    online, reports = BeatTracker.searching().process_sequence_online(act, motion)  # as perform
    bpm_off = 60.0 / np.median(np.diff(offline)) if len(offline) > 2 else float("nan")
    bpm_on = 60.0 / np.median(np.diff(online)) if len(online) > 2 else float("nan")

    fig, axes = plt.subplots(3, 1, figsize=(12, 8), sharex=True, gridspec_kw={"height_ratios": [2, 1, 1]})
    for ax in axes:
        for start, stop in missing_spans(act):
            ax.axvspan(start / FPS, stop / FPS, color="0.85", lw=0)
    ax = axes[0]
    ax.plot(t, act, color="tab:blue", lw=1.5, label=f"beat model (L = {model.delay} frames)")
    ax.plot(t, kin, color="tab:gray", lw=1, alpha=0.7, label="no-learning kinematic")
    for i, b in enumerate(offline):
        ax.axvline(b, color="tab:red", lw=1.2, alpha=0.8, label="HMM offline beats" if i == 0 else None)
    ax.plot(online, np.full(len(online), 1.05), "v", color="tab:green", label="HMM online beats")
    ax.set_ylim(-0.02, 1.12)
    ax.set_ylabel("activation")
    ax.legend(loc="upper right", fontsize=8, ncol=2)
    ax.set_title(f"{name}: offline {len(offline)} beats, {bpm_off:.0f} BPM; online {len(online)} beats, {bpm_on:.0f} BPM")
    ax = axes[1]
    ax.plot(t, tempo_path, color="tab:red", lw=1.2, label="offline (Viterbi path)")
    ax.plot(t, [r.bpm for r in reports], color="tab:green", lw=1.2, label="online (posterior mean)")
    ax.set_ylim(55, 185)
    ax.set_ylabel("tempo (BPM)")
    ax.legend(loc="upper right", fontsize=8, ncol=2)
    ax = axes[2]
    for j, label in ((9, "l wrist"), (10, "r wrist"), (15, "l ankle"), (16, "r ankle")):
        ax.plot(t, -xy[:, j, 1], lw=1, label=label)
    for b in offline:
        ax.axvline(b, color="tab:red", lw=0.8, alpha=0.5)
    ax.set_ylabel("height (torso lengths)")
    ax.set_xlabel("time (s)")
    ax.legend(loc="upper right", fontsize=8, ncol=4)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return {"clip": name, "seconds": len(xy) / FPS, "offline_beats": len(offline), "offline_bpm": bpm_off,
            "online_beats": len(online), "online_bpm": bpm_on, "png": str(path),
            "tempo_range": (float(np.nanmin(tempo_path)), float(np.nanmax(tempo_path))) if len(tempo_path) else (np.nan,) * 2}


def missing_spans(act: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) frame ranges where the activation is NaN (no body seen)."""
    gap = np.concatenate([[False], np.isnan(act), [False]]).astype(int)
    edges = np.flatnonzero(np.diff(gap))
    return list(zip(edges[::2], edges[1::2]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=Path, default=SHARED_VIDEOS)
    parser.add_argument("--out", type=Path, default=Path("docs/beat_plots"))
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR, help="folder with the beat model's manifest")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, kp in clips(args.videos):
        stem = name.split(" ")[0]
        info = plot_clip(name, kp, args.out / f"{stem}_{'openpose' if 'OpenPose' in name else 'mediapipe'}.png",
                         args.models_dir)
        low, high = info["tempo_range"]
        print(f"{info['clip']:<34} {info['seconds']:5.1f} s  offline {info['offline_beats']:3d} beats "
              f"{info['offline_bpm']:5.1f} BPM (path {low:.0f}-{high:.0f})  online {info['online_beats']:3d} beats "
              f"{info['online_bpm']:5.1f} BPM  -> {info['png']}")


if __name__ == "__main__":
    main()
