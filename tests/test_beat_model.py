"""Beat model: input features, ONNX export parity and streaming (need torch), the runtime ModelActivation."""

from __future__ import annotations

import numpy as np
import pytest

from rhythmicnet_live.analysis.activation import KinematicActivation
from rhythmicnet_live.analysis.beat_model import VELOCITY_SCALE, ModelActivation, beat_features, default_activation

LOOKAHEAD = 2


def dance(frames: int = 150, seed: int = 0) -> np.ndarray:
    """Synthetic normalised keypoints (T, 17, 2): every joint sways at 2 Hz around a fixed pose."""
    rng = np.random.default_rng(seed)
    pose = rng.normal(0.0, 1.0, (17, 2)).astype(np.float32)
    t = np.arange(frames) / 30.0
    sway = 0.2 * np.sin(2 * np.pi * 2.0 * t)[:, None, None] * rng.normal(1.0, 0.3, (1, 17, 2))
    return (pose + sway).astype(np.float32)


def test_features_fill_gaps_without_fake_velocity():
    xy = dance(20)
    xy[5:9] = np.nan  # a whole-body gap
    xy[12, 3] = np.nan  # one joint
    feats = beat_features(xy)
    assert feats.shape == (20, 17, 5) and np.isfinite(feats).all()
    np.testing.assert_array_equal(feats[5:9, :, 4], 0.0)
    np.testing.assert_array_equal(feats[5:10, :, 2:4], 0.0)  # no velocity in the gap nor on the frame after
    np.testing.assert_allclose(feats[5:9, :, :2], np.repeat(xy[4:5], 4, axis=0))  # last seen pose held
    np.testing.assert_allclose(feats[11, :, 2:4], (xy[11] - xy[10]) * VELOCITY_SCALE, rtol=1e-5)
    assert feats[12, 3, 4] == 0 and (feats[12:14, 3, 2:4] == 0).all()
    assert feats[0, :, 2:4].sum() == 0  # the first frame has no previous frame


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A small random BeatNet exported and registered in a temporary models folder: (model, folder)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxscript")
    from export.beats.model import BeatNet, BeatNetConfig
    from export.beats.export_onnx import export_onnx
    from export.manifest import register_model

    torch.manual_seed(0)
    model = BeatNet(BeatNetConfig(channels=(8, 8, 16), width=16, window=12, lookahead=LOOKAHEAD,
                                  max_lookahead=LOOKAHEAD)).eval()
    folder = tmp_path_factory.mktemp("models")
    path = export_onnx(model, folder / "beat_model.onnx")
    register_model("beat_model", path, version="test", training_data=[], metrics={}, description="test",
                   extra={"lookahead_frames": LOOKAHEAD}, models_dir=folder)
    return model, folder


def test_onnx_export_matches_pytorch_and_streams(exported):
    import torch

    from export.beats.export_onnx import parity

    model, folder = exported
    assert parity(model, folder / "beat_model.onnx", lengths=(1, 57)) < 1e-4
    # Frame by frame through the state equals the whole clip at once (L frames later).
    feats = torch.randn(1, 40, 17, 5)
    with torch.no_grad():
        whole = model(feats)[0]
        cache, hist, valid = model.empty_state(1)
        streamed = []
        for t in range(40):
            act, cache, hist, valid = model.step(feats[:, t:t + 1], cache, hist, valid)
            streamed.append(float(act[0, -1 - LOOKAHEAD]))
    np.testing.assert_allclose(streamed[LOOKAHEAD:], whole[:40 - LOOKAHEAD].numpy(), atol=1e-5)


def test_model_activation_online_equals_offline_with_gaps(exported):
    _, folder = exported
    xy = dance(300)
    xy[100:110] = np.nan
    act = ModelActivation(chunk=64, models_dir=folder)
    assert act.delay == LOOKAHEAD
    offline = act.process_offline(xy)
    online = np.array([act.process_online(frame, reset=(i == 0)) for i, frame in enumerate(xy)])
    assert offline.shape == (300,) and np.isnan(offline[100:110]).all() and np.isfinite(offline[110:]).all()
    ok = np.isfinite(offline)
    assert ((offline[ok] >= 0) & (offline[ok] <= 1)).all()
    # the online value at frame t is the activation of frame t - L
    assert np.isnan(online[:LOOKAHEAD]).all()
    np.testing.assert_allclose(online[LOOKAHEAD:], offline[:-LOOKAHEAD], atol=1e-5)


def test_default_activation_follows_the_manifest(exported, tmp_path):
    _, folder = exported
    assert isinstance(default_activation(folder), ModelActivation)
    assert isinstance(default_activation(tmp_path), KinematicActivation)


@pytest.fixture(scope="module")
def exported_tempo(tmp_path_factory):
    """A small random BeatNet with a tempo head, exported and registered: (model, folder)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxscript")
    from export.beats.model import BeatNet, BeatNetConfig, tempo_bins
    from export.beats.export_onnx import export_onnx
    from export.manifest import register_model

    torch.manual_seed(1)
    model = BeatNet(BeatNetConfig(channels=(8, 16), width=16, window=12, lookahead=LOOKAHEAD,
                                  max_lookahead=LOOKAHEAD, tempo_classes=7)).eval()
    folder = tmp_path_factory.mktemp("models_tempo")
    path = export_onnx(model, folder / "beat_model.onnx")
    register_model("beat_model", path, version="test", training_data=[], metrics={}, description="test",
                   extra={"lookahead_frames": LOOKAHEAD, "tempo_bins_bpm": tempo_bins(7).tolist()}, models_dir=folder)
    return model, folder


def test_tempo_head_exports_and_streams(exported_tempo):
    from export.beats.export_onnx import parity

    model, folder = exported_tempo
    assert parity(model, folder / "beat_model.onnx", lengths=(1, 45)) < 1e-4
    xy = dance(200, seed=3)
    xy[60:70] = np.nan
    act = ModelActivation(chunk=50, models_dir=folder)
    assert act.tempo_bins is not None and len(act.tempo_bins) == 7
    offline, tempo = act.process_offline(xy, with_tempo=True)
    assert tempo.shape == (200, 7) and np.isnan(tempo[60:70]).all()
    ok = np.isfinite(offline)
    np.testing.assert_allclose(tempo[ok].sum(-1), 1.0, atol=1e-5)
    online, online_tempo = [], []
    for i, frame in enumerate(xy):
        online.append(act.process_online(frame, reset=(i == 0)))
        online_tempo.append(act.tempo.copy())
    np.testing.assert_allclose(np.array(online)[LOOKAHEAD:], offline[:-LOOKAHEAD], atol=1e-5)
    np.testing.assert_allclose(np.array(online_tempo)[LOOKAHEAD:], tempo[:-LOOKAHEAD], atol=1e-5)
