"""One rhythm pipeline for takes and live playing: the same keypoints through ``process_offline`` (takes, Viterbi)
and ``process_online`` frame by frame (the engine, forward filtering) give the same activation and the same beats.

"The same beat" allows for the online decoder's lag: it cannot see the dancer slow down until the beats come late,
so after a tempo change its beats run up to a few frames ahead of Viterbi's (which sees the whole clip) until it
adapts. Every online beat must be within a quarter of a beat of an offline one (never an off-beat or an extra
beat), and most within mir_eval's 70 ms window."""

import numpy as np
import pytest

from rhythmicnet_live import FPS
from rhythmicnet_live.analysis.activation import KinematicActivation
from rhythmicnet_live.analysis.beat_model import activation_by_name
from rhythmicnet_live.analysis.rhythm import RhythmPipeline
from rhythmicnet_live.input.keypoints import prepare
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


def test_takes_and_live_playing_find_the_same_beats(keypoints):
    offline, pipeline, frames = run_both_ways(keypoints, "model")
    # A beat reported at frame i belongs to frame i - lag; the decoder needs a couple of seconds to lock on.
    online = np.array([keypoints.times[i] - pipeline.delay_s for i, f in enumerate(frames) if f.beat.is_beat])
    online = online[online > 2.0]
    error = np.array([np.min(np.abs(offline.beats - t)) for t in online])
    print(f"\n{len(online)} online beats after 2 s, {len(offline.beats)} offline; |online - offline| median "
          f"{1e3 * np.median(error):.0f} ms, max {1e3 * error.max():.0f} ms; within {1e3 * TOLERANCE_S:.0f} ms: "
          f"{np.mean(error <= TOLERANCE_S):.0%}")
    quarter_beat = 0.25 * np.median(np.diff(offline.beats))
    assert len(online) >= 6 and error.max() < quarter_beat and np.mean(error <= TOLERANCE_S) >= 0.6


def test_the_activation_declares_its_delay():
    assert KinematicActivation.delay_s == 0.0
    model = activation_by_name("model")[0]
    assert RhythmPipeline(model).delay_s == model.delay_s > 0
