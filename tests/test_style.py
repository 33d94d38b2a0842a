"""The style stream and the no-learning activation: causal (online) versions match the offline ones."""

import numpy as np

from rhythmicnet_live.analysis.activation import KinematicActivation
from rhythmicnet_live.analysis.style import KinematicOffsets, StyleProcessor, directogram


def moving_body(n: int = 240, seed: int = 0) -> np.ndarray:
    """Normalised keypoints (n, 17, 2): smooth sway plus a few sudden jerks and a missing stretch."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 30.0
    base = rng.normal(0, 1, (17, 2))
    xy = base[None] + 0.2 * np.sin(2 * np.pi * 1.5 * t)[:, None, None] * rng.normal(0, 1, (1, 17, 2))
    for jerk in (60, 130, 200):
        xy[jerk:jerk + 3, 9:11] += np.array([1.5, -1.0])
    xy[90:95] = np.nan
    return xy.astype(np.float32)


def test_directogram_bins_motion_by_angle():
    prev = np.zeros((17, 2))
    xy = prev.copy()
    xy[9] = [1.0, 0.0]  # one joint moves right by 1
    row = directogram(np.stack([prev, xy]))[1]
    assert row.sum() == 1.0
    assert np.count_nonzero(row) == 1


def test_offsets_online_equal_offline():
    xy = moving_body()
    proc = KinematicOffsets()
    offline = proc.process_offline(xy)
    online = np.array([proc.process_online(f, reset=i == 0) for i, f in enumerate(xy)])
    assert np.allclose(offline, online, equal_nan=True)
    assert np.isnan(offline[90:96]).all()  # missing frames stay missing, never a fake velocity


def test_style_online_matches_offline_with_the_same_threshold():
    xy = moving_body()
    proc = StyleProcessor(threshold=0.5)
    offline = proc.process_offline(xy)
    energies, hits = [], []
    for i, frame in enumerate(xy):
        energy, hit = proc.process_online(frame, reset=i == 0)
        energies.append(energy)
        if hit is not None:
            hits.append(hit)
    assert np.allclose(offline.energy, energies)
    assert hits == list(offline.hits)
    assert len(hits) >= 3  # the jerks are found
    for jerk in (60, 130, 200):
        assert any(abs(h - jerk) <= proc.window for h in hits)


def test_kinematic_activation_online_equals_offline():
    xy = moving_body()
    act = KinematicActivation()
    offline = act.process_offline(xy)
    online = np.array([act.process_online(f, reset=i == 0) for i, f in enumerate(xy)])
    assert np.allclose(offline, online, equal_nan=True)
    finite = offline[np.isfinite(offline)]
    assert finite.min() >= 0.0 and finite.max() <= 1.0
