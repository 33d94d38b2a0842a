"""The beat evaluation's protocol: sequences seen from a random moment, and the chance row as an expectation."""

import numpy as np
import pytest

pytest.importorskip("mir_eval")

from export.beats.aistpp import Sequence  # noqa: E402
from export.beats.evaluate import EvalItem, chance_row, start_at_random  # noqa: E402
from rhythmicnet_live import FPS  # noqa: E402
from rhythmicnet_live.input.keypoints import Keypoints  # noqa: E402


def _sequence(bpm: float = 120.0, seconds: float = 12.0, fps: float = 60.0) -> Sequence:
    frames = int(seconds * fps)
    period = 60.0 / bpm
    return Sequence(name="s", dancer="d01", genre="gBR", music_id="m", bpm=bpm, fps=fps,
                    joints=np.zeros((frames, 17, 3), np.float32), beats=0.05 + period * np.arange(int(seconds / period)),
                    onset=None)


def _view(seq: Sequence) -> Keypoints:
    frames = len(seq.joints)
    xy = np.random.default_rng(0).normal(size=(frames, 17, 2)).astype(np.float32)
    return Keypoints(xy, np.ones((frames, 17), np.float32), np.arange(frames) / seq.fps)


def test_start_at_random_shifts_frames_and_beats_together():
    seq = _sequence()
    view = _view(seq)
    starts = []
    for i in range(20):
        cut, beats = start_at_random(view, seq, np.random.default_rng(i))
        dropped = len(view.times) - len(cut.times)
        start = view.times[dropped] - cut.times[0]  # where the cut begins on the original clock
        starts.append(start)
        assert cut.times[0] >= 0.0 and cut.times[0] < 1.0 / seq.fps
        # the frame kept first is the original frame at that moment, and the beats moved by the same amount
        np.testing.assert_array_equal(cut.xy[0], view.xy[dropped])
        np.testing.assert_allclose(beats, (seq.beats - start)[seq.beats - start >= 0.0], atol=1e-9)
        assert len(beats) in (len(seq.beats) - 1, len(seq.beats) - 2)
    # somewhere in the first beat after the first labelled one, not always in the same place
    period = 60.0 / seq.bpm
    assert all(seq.beats[0] - 1.0 / seq.fps <= s <= seq.beats[0] + period + 1.0 / seq.fps for s in starts)
    assert np.ptp(starts) > period / 2


def test_chance_row_is_the_expectation_over_phases():
    seq = _sequence(bpm=100.0, seconds=20.0)
    xy = np.zeros((int(20.0 * FPS), 17, 2), np.float32)
    items = [EvalItem(seq, xy, seq.beats)]
    rows = [chance_row(items, 1.0, seed) for seed in range(3)]
    f = [row.mean()["F"] for row in rows]
    # F of a grid at the true tempo is about 2 x 70 ms / period at a random phase; averaged over phases the seed
    # hardly matters (one draw per item would move it between 0 and 1)
    assert max(f) - min(f) < 0.03
    assert f[0] == pytest.approx(0.14 / 0.6, abs=0.06)
    assert rows[0].scores[0]["tempo_acc"] == 1.0
