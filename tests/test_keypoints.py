"""Keypoint preparation: resampling, gaps, normalisation, online == offline, user files."""

import numpy as np
import pytest

from rhythmicnet_live.errors import UserInputError
from rhythmicnet_live.input.keypoints import Keypoints, OnlineKeypoints, load_keypoint_file, prepare, resample


def body(n: int, fps: float, seed: int = 0) -> Keypoints:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fps
    base = rng.uniform(100, 500, (17, 2))
    base[[5, 6], 1] = 200.0  # shoulders above the hips
    base[[11, 12], 1] = 400.0
    xy = base[None] + 20 * np.sin(2 * np.pi * 1.7 * t)[:, None, None] * rng.normal(0, 1, (1, 17, 2))
    return Keypoints(xy.astype(np.float32), np.ones((n, 17), np.float32), t)


def test_resample_to_30_fps_by_timestamps():
    kp = body(121, 60.0)
    out = resample(kp, 30.0)
    assert len(out) == 61
    assert np.allclose(out.times, np.arange(61) / 30.0)
    assert np.allclose(out.xy, kp.xy[::2], atol=1e-3)


def test_short_gaps_filled_long_gaps_missing():
    kp = body(150, 30.0)
    kp.xy[40:44] = np.nan  # 4 frames = 0.13 s: interpolated
    kp.xy[80:100] = np.nan  # 0.67 s: stays missing
    out = resample(kp, 30.0)
    assert np.isfinite(out.xy[40:44]).all()
    assert np.isnan(out.xy[82:98]).all()
    assert (out.conf[82:98] == 0).all()


def test_normalised_body_is_centred_and_scaled():
    out = prepare(body(90, 30.0))
    hip = 0.5 * (out.xy[:, 11] + out.xy[:, 12])
    assert np.allclose(hip, 0.0, atol=1e-5)
    torso = np.linalg.norm(0.5 * (out.xy[:, 5] + out.xy[:, 6]) - hip, axis=-1)
    assert np.median(torso) == pytest.approx(1.0, rel=0.2)


def test_online_equals_offline_on_uniform_input():
    kp = body(120, 30.0)
    offline = prepare(kp)
    online = OnlineKeypoints()
    frames = [f for i in range(len(kp)) for f in online.process_online(kp.xy[i], kp.conf[i], kp.times[i], reset=i == 0)]
    assert np.allclose([t for t, _ in frames], offline.times)
    assert np.allclose(np.stack([xy for _, xy in frames]), offline.xy, atol=1e-5)


def test_online_resamples_a_jittery_60_fps_camera():
    kp = body(240, 60.0)
    kp.times = kp.times + np.random.default_rng(1).uniform(-0.003, 0.003, len(kp))
    kp.times.sort()
    online = OnlineKeypoints()
    frames = [f for i in range(len(kp)) for f in online.process_online(kp.xy[i], kp.conf[i], kp.times[i])]
    times = np.array([t for t, _ in frames])
    assert np.allclose(np.diff(times), 1 / 30.0)
    assert len(frames) == pytest.approx((kp.times[-1] - kp.times[0]) * 30, abs=1)


def test_user_keypoint_files(tmp_path):
    array = np.random.default_rng(0).uniform(0, 1, (50, 17, 3)).astype(np.float32)
    array[10, 3] = 0.0  # OpenPose-style missing joint
    path = tmp_path / "kp.npy"
    np.save(path, array)
    kp = load_keypoint_file(path, 25.0)
    assert np.isnan(kp.xy[10, 3]).all() and kp.conf[10, 3] == 0
    assert kp.fps == pytest.approx(25.0)
    with pytest.raises(UserInputError, match="not found"):
        load_keypoint_file(tmp_path / "missing.npy", 30.0)
    np.save(tmp_path / "bad.npy", np.zeros((10, 18, 2)))
    with pytest.raises(UserInputError, match="COCO-17"):
        load_keypoint_file(tmp_path / "bad.npy", 30.0)
    (tmp_path / "garbage.npy").write_bytes(b"not numpy")
    with pytest.raises(UserInputError, match="cannot read"):
        load_keypoint_file(tmp_path / "garbage.npy", 30.0)
