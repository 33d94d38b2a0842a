"""MediaPipe pose on a real dance clip, COCO-17 mapping, no-person frames, and the keypoint cache."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rhythmicnet_live.input import pose
from rhythmicnet_live.input.capture import Frame
from rhythmicnet_live.input.keypoints import COCO17, Keypoints

CLIP = Path(__file__).parent / "fixtures" / "dance_3s_640x360.mp4"
NOSE, L_SH, R_SH, L_HIP, R_HIP = 0, 5, 6, 11, 12


@pytest.fixture(scope="module")
def keypoints() -> Keypoints:
    return pose.extract_keypoints(CLIP, progress=False)


def test_mapping_matches_mediapipe_landmark_names():
    pose.import_mediapipe()
    from mediapipe.tasks.python.vision.pose_landmarker import PoseLandmark

    mp_names = [PoseLandmark(i).name.lower() for i in pose.MEDIAPIPE_TO_COCO17]
    expected = [n.replace("l_", "left_").replace("r_", "right_") for n in COCO17]
    assert mp_names == expected


def test_bundle_is_what_provenance_says():
    provenance = (pose.POSE_TASK.parent / "PROVENANCE.md").read_text()
    assert pose.pose_model_version().split("-")[0] in provenance
    assert (pose.POSE_TASK.parent / "LICENSE_mediapipe_models.txt").read_text().count("Apache License") >= 1


def test_person_found_with_plausible_anatomy(keypoints):
    kp = keypoints
    assert kp.xy.shape == (90, 17, 2) and kp.conf.shape == (90, 17) and kp.xy.dtype == np.float32
    np.testing.assert_allclose(kp.times, np.arange(90) * 1001 / 30000, atol=1e-3)
    found = np.isfinite(kp.xy).all(axis=(1, 2))
    assert found.mean() >= 0.9
    xy = kp.xy[found]
    y = xy[..., 1]
    hips_y = y[:, [L_HIP, R_HIP]].mean(1)
    assert (y[:, [L_SH, R_SH]].mean(1) < hips_y).mean() >= 0.9  # image y grows downwards
    assert (y[:, NOSE] < hips_y).mean() >= 0.9
    # she faces the camera: her left shoulder is on the image's right
    assert (xy[:, L_SH, 0] > xy[:, R_SH, 0]).mean() >= 0.8
    # shoulders inside the 640x360 frame throughout; hips too except when she crouches out of the frame at the end
    def inside(j):
        return (xy[:, j, 0] > 0) & (xy[:, j, 0] < 640) & (xy[:, j, 1] > 0) & (xy[:, j, 1] < 360)
    assert inside(L_SH).all() and inside(R_SH).all()
    assert (inside(L_HIP) & inside(R_HIP)).mean() >= 0.7
    assert np.median(kp.conf[found][:, [L_SH, R_SH, L_HIP, R_HIP]]) > 0.8
    assert np.all((kp.conf >= 0) & (kp.conf <= 1))


def test_black_frame_is_missing_not_zero():
    with pose.PoseEstimator() as estimator:
        for i in range(3):
            xy, conf = estimator.estimate(Frame(np.zeros((360, 640, 3), np.uint8), t_capture=i / 30, index=i))
            assert xy.shape == (17, 2) and np.isnan(xy).all()
            assert conf.shape == (17,) and np.all(conf == 0)


def test_repeated_timestamps_are_accepted():
    image = np.zeros((120, 160, 3), np.uint8)
    with pose.PoseEstimator() as estimator:
        for t in (5.0, 5.0, 4.9):  # MediaPipe itself rejects non-increasing timestamps
            estimator.estimate(Frame(image, t_capture=t, index=0))


@pytest.fixture
def counted_extraction(monkeypatch, keypoints):
    """Replace the pose run by the already computed keypoints, counting calls."""
    calls = []

    def fake(source, progress=True, pose_fps=None):
        calls.append(Path(source))
        return keypoints

    monkeypatch.setattr(pose, "extract_keypoints", fake)
    return calls


def test_cache_is_reused_and_invalidated(tmp_path, counted_extraction, keypoints, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    video = tmp_path / "dance.mp4"
    video.write_bytes(CLIP.read_bytes())
    first = pose.cached_keypoints(video)
    cache = pose.cache_path(video)
    assert cache.is_file() and len(counted_extraction) == 1
    assert cache.is_relative_to(tmp_path / "user-cache")  # the user cache folder (platformdirs), not the video's
    assert sorted(p.name for p in video.parent.iterdir()) == ["dance.mp4", "user-cache"]
    second = pose.cached_keypoints(video)
    assert len(counted_extraction) == 1  # read from the cache, no pose run
    for a, b in ((first.xy, second.xy), (first.conf, second.conf), (first.times, second.times)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(Keypoints.load(cache).xy, keypoints.xy)  # plain Keypoints file too
    stat = video.stat()
    os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # edited video: recompute
    pose.cached_keypoints(video)
    assert len(counted_extraction) == 2


def test_cache_dir_and_model_version_key(tmp_path, counted_extraction, monkeypatch):
    video = tmp_path / "videos" / "dance.mp4"
    video.parent.mkdir()
    video.write_bytes(CLIP.read_bytes())
    cache_dir = tmp_path / "cache"
    pose.cached_keypoints(video, cache_dir=cache_dir)
    assert pose.cache_path(video, cache_dir).parent == cache_dir and pose.cache_path(video, cache_dir).is_file()
    assert sorted(p.name for p in video.parent.iterdir()) == ["dance.mp4"]  # nothing written beside the video
    pose.cached_keypoints(video, cache_dir=cache_dir)
    assert len(counted_extraction) == 1
    monkeypatch.setattr(pose, "pose_model_version", lambda: "another-model")
    pose.cached_keypoints(video, cache_dir=cache_dir)
    assert len(counted_extraction) == 2
    pose.cached_keypoints(video, cache_dir=cache_dir, pose_fps=15.0)  # another pose rate: pose runs again
    assert len(counted_extraction) == 3


def test_cache_of_missing_video(tmp_path):
    from rhythmicnet_live.errors import UserInputError

    with pytest.raises(UserInputError, match="video file not found"):
        pose.cached_keypoints(tmp_path / "gone.mp4")


def test_parallel_pose_equals_one_process_outside_the_overlap(tmp_path, monkeypatch):
    """Two worker processes, each posing half of the clip (the second starting OVERLAP_S early), give the
    keypoints of one process: the same frames and times, the same joints within pose noise."""
    clip = Path(__file__).parent / "fixtures" / "jump_8s_480x270.mp4"
    monkeypatch.setattr(pose, "PARALLEL_MIN_S", 1.0)  # the fixture is short: split it anyway
    one = pose.extract_keypoints(clip, progress=False)
    two = pose.extract_keypoints_parallel(clip, workers=2, progress=False)
    np.testing.assert_allclose(two.times, one.times, atol=1e-9)
    seen = ((one.conf > 0.5) & (two.conf > 0.5))[1:-1]
    assert seen.mean() > 0.8
    # pose noise: how far a joint sits from the mean of its neighbouring frames in the one-process run (pixels)
    jitter = np.abs(one.xy[1:-1] - 0.5 * (one.xy[:-2] + one.xy[2:])).max(-1)[seen]
    error = np.abs(two.xy - one.xy).max(-1)[1:-1][seen]
    assert np.percentile(error, 95) < np.median(jitter), (np.percentile(error, 95), np.median(jitter))
    assert error.max() < np.percentile(jitter, 99), (error.max(), np.percentile(jitter, 99))


def test_pose_opens_no_audio_client():
    """MediaPipe's optional sounddevice (PortAudio) stays unloaded: it would join the performer's JACK graph and
    abort the process at exit when JACK stops first."""
    code = ("import numpy as np; from rhythmicnet_live.input import pose; from rhythmicnet_live.input.capture import Frame; "
            "e = pose.PoseEstimator(); e.estimate(Frame(np.zeros((90, 120, 3), np.uint8), 0.0, 0)); import sys; "
            "print('sounddevice' in sys.modules and sys.modules['sounddevice'] is not None, "
            "'portaudio' in open('/proc/self/maps').read())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_half_rate_pose_interpolated_follows_the_full_rate_keypoints(tmp_path, monkeypatch):
    """``pose_fps`` 15 on a 30 fps clip poses every other frame (in one process and split over two); prepared at
    30 fps, they follow the full-rate keypoints about as closely as a joint moves in one frame (pose noise included:
    the tracker starts each frame from another previous one)."""
    from rhythmicnet_live import FPS
    from rhythmicnet_live.input.keypoints import prepare

    clip = Path(__file__).parent / "fixtures" / "jump_8s_480x270.mp4"
    monkeypatch.setattr(pose, "PARALLEL_MIN_S", 1.0)
    full = pose.extract_keypoints(clip, progress=False)
    half = pose.extract_keypoints(clip, progress=False, pose_fps=15.0)
    split = pose.extract_keypoints_parallel(clip, workers=2, progress=False, pose_fps=15.0)
    np.testing.assert_allclose(half.times, full.times[::2], atol=1e-9)
    np.testing.assert_allclose(split.times, half.times, atol=1e-9)
    a, b = prepare(full, FPS), prepare(half, FPS)
    n = min(len(a), len(b))
    seen = np.isfinite(a.xy[:n]).all(-1) & np.isfinite(b.xy[:n]).all(-1)
    assert seen.mean() > 0.8
    error = np.linalg.norm(a.xy[:n] - b.xy[:n], axis=-1)[seen]  # torso lengths
    step = np.linalg.norm(np.diff(a.xy[:n], axis=0), axis=-1)[seen[1:] & seen[:-1]]  # motion in one frame
    print(f"\nhalf-rate error: median {np.median(error):.4f}, p95 {np.percentile(error, 95):.4f} torso lengths; "
          f"motion per frame: median {np.median(step):.4f}, p95 {np.percentile(step, 95):.4f}")
    assert np.median(error) < 1.5 * np.median(step) and np.percentile(error, 95) < np.percentile(step, 95)


def test_pose_leaves_out_mediapipe_drawing_helpers_and_matplotlib():
    """MediaPipe's drawing helpers (which import matplotlib.pyplot, about 1 s) stay unloaded in a process that runs
    pose; using them says why, in one line."""
    code = ("import sys, numpy as np; from rhythmicnet_live.input import pose; from rhythmicnet_live.input.capture import Frame\n"
            "with pose.PoseEstimator() as e: e.estimate(Frame(np.zeros((90, 120, 3), np.uint8), 0.0, 0))\n"
            "from mediapipe.tasks.python import vision\n"
            "try:\n    vision.drawing_utils.draw_landmarks\nexcept ImportError as err:\n    print(err)\n"
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.splitlines() == [
        "mediapipe.tasks.python.vision.drawing_utils is not loaded by rhythmicnet_live (import it before the pose "
        "module imports mediapipe to use it)", "False"]
