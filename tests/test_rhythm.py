"""One rhythm pipeline for takes and live playing: the same keypoints through ``process_offline`` (takes, Viterbi)
and ``process_online`` frame by frame (the engine, forward filtering) give the same activation and the same beats.

"The same beat" allows for the online decoder's known lag (``OnlineBeat.beat_lag`` and the activation's delay) and
its lock-on time; it is checked on a steady synthetic dance, where the beat is not in doubt: on the real fixture
clip the offline decoder (which sees the whole clip) and the online one still differ in metrical level at times
(see docs/beat_model.md)."""

import numpy as np
import pytest

from rhythmicnet_live import FPS
from rhythmicnet_live.analysis.activation import KinematicActivation
from rhythmicnet_live.analysis.beat_model import activation_by_name
from rhythmicnet_live.analysis.rhythm import RhythmPipeline
from rhythmicnet_live.input.keypoints import Keypoints, prepare
from rhythmicnet_live.input.pose import cached_keypoints
from test_engine import CLIP

#: Beats closer than this count as the same (mir_eval's F-measure window).
TOLERANCE_S = 0.07


@pytest.fixture(scope="module")
def keypoints(tmp_path_factory):
    return prepare(cached_keypoints(CLIP, cache_dir=tmp_path_factory.mktemp("kp"), progress=False), FPS)


def run_both_ways(keypoints, activation: str):
    """(offline analysis, online pipeline, its frames) for the same keypoints."""
    offline = RhythmPipeline(activation_by_name(activation)[0]).process_offline(keypoints)
    pipeline = RhythmPipeline(activation_by_name(activation)[0])
    frames = [pipeline.process_online(xy, reset=i == 0) for i, xy in enumerate(keypoints.xy)]
    return offline, pipeline, frames


@pytest.mark.parametrize("activation", ["model", "kinematic"])
def test_takes_and_live_playing_compute_the_same_activation(keypoints, activation):
    offline, pipeline, frames = run_both_ways(keypoints, activation)
    lag = round(pipeline.delay_s * FPS)  # frame i reports the activation of frame i - lag
    online_activation = np.array([f.activation for f in frames])[lag:]
    np.testing.assert_allclose(online_activation, offline.activation[:len(online_activation)], atol=1e-5)


def steady_dance(bpm: float, seconds: float = 16.0) -> Keypoints:
    """Raw keypoints of a dancer nodding and swinging the arms down on every beat at ``bpm``: the fixture's best
    seen pose, the head moved half, the elbows once and the wrists twice a 25-pixel |sine| (plus 1 px of noise)."""
    raw = cached_keypoints(CLIP, progress=False)
    base = raw.xy[int(np.argmax((raw.conf > 0.5).sum(1)))]
    t = np.arange(int(seconds * FPS)) / FPS
    bounce = 25.0 * np.abs(np.sin(np.pi * bpm / 60.0 * t))
    move = np.zeros((len(t), 17, 2))
    move[:, [0, 1, 2, 3, 4, 7, 8, 9, 10], 1] = bounce[:, None] * np.array([0.5] * 5 + [1, 1, 2, 2])
    xy = base[None] + move + np.random.default_rng(0).normal(0.0, 1.0, move.shape)
    return Keypoints(xy.astype(np.float32), np.ones((len(t), 17), np.float32), t)


@pytest.mark.parametrize("bpm", [100.0, 125.0])
def test_takes_and_live_playing_find_the_same_beats(bpm):
    """On a steady dance, every online beat (placed at its frame minus the activation's delay and the decoder's
    ``beat_lag``) is an offline beat, after the 3 s the online decoder takes to lock on."""
    keypoints = prepare(steady_dance(bpm), FPS)
    offline, pipeline, frames = run_both_ways(keypoints, "model")
    online = np.array([keypoints.times[i] - pipeline.delay_s - f.beat.beat_lag
                       for i, f in enumerate(frames) if f.beat.is_beat])
    online = online[online > 3.0]
    error = np.array([np.min(np.abs(offline.beats - t)) for t in online])
    print(f"\n{bpm:g} BPM: {len(online)} online beats after 3 s, {len(offline.beats)} offline; |online - offline| "
          f"median {1e3 * np.median(error):.0f} ms, max {1e3 * error.max():.0f} ms")
    assert abs(60.0 / np.median(np.diff(offline.beats)) - bpm) < 0.04 * bpm
    assert len(online) >= 0.8 * np.sum(offline.beats > 3.0) and np.all(error <= TOLERANCE_S)


def test_the_activation_declares_its_delay():
    assert KinematicActivation.delay_s == 0.0
    model = activation_by_name("model")[0]
    assert RhythmPipeline(model).delay_s == model.delay_s > 0
