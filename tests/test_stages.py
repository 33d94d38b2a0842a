"""The concrete stages satisfy the stage contracts of rhythmicnet_live.stages."""

import numpy as np
import pytest

from rhythmicnet_live import FPS
from rhythmicnet_live.analysis.activation import KinematicActivation
from rhythmicnet_live.analysis.beat_model import ModelActivation
from rhythmicnet_live.analysis.hmm import BeatTracker
from rhythmicnet_live.input.capture import Frame, VideoFileSource
from rhythmicnet_live.input.pose import PoseEstimator
from rhythmicnet_live.live.scheduler import NoteScheduler
from rhythmicnet_live.models import has_model
from rhythmicnet_live.stages import ActivationProcessor, BeatDecoder, BodyPose, FrameSource, NoteSender
from rhythmicnet_live.stages import PoseEstimator as PoseEstimatorContract
from test_capture import CLIP


def test_sources_decoders_senders_and_activations_fit_their_contracts():
    with VideoFileSource(CLIP) as source:
        assert isinstance(source, FrameSource)
    assert isinstance(BeatTracker(60, 180, FPS), BeatDecoder)
    assert isinstance(NoteScheduler([]), NoteSender)
    activations = [KinematicActivation()] + ([ModelActivation()] if has_model("beat_model") else [])
    for activation in activations:
        assert isinstance(activation, ActivationProcessor)
        assert activation.delay_s >= 0.0


def test_pose_gives_a_typed_body():
    with PoseEstimator() as estimator:
        assert isinstance(estimator, PoseEstimatorContract)
        body = estimator.estimate(Frame(np.zeros((120, 160, 3), np.uint8), t_capture=0.0, index=0))
    assert isinstance(body, BodyPose) and body.xy.shape == (17, 2) and body.conf.shape == (17,)


@pytest.mark.parametrize("make", [KinematicActivation] + ([ModelActivation] if has_model("beat_model") else []))
def test_activation_online_equals_offline_after_its_delay(make):
    rng = np.random.default_rng(0)
    t = np.arange(150) / FPS
    xy = (rng.normal(0, 0.05, (150, 17, 2)) + 0.2 * np.sin(2 * np.pi * 2 * t)[:, None, None]).astype(np.float32)
    processor = make()
    offline = processor.process_offline(xy)
    online = np.array([processor.process_online(f, reset=(i == 0)) for i, f in enumerate(xy)])
    lag = int(round(processor.delay_s * FPS))
    np.testing.assert_allclose(online[lag:], offline[:len(offline) - lag], atol=1e-4)
