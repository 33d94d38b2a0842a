"""MotionTempo: the motion's periodicity as a tempo distribution, online == offline, and the tracker that takes it."""

import numpy as np
import pytest

from rhythmicnet_live.analysis.activation import KinematicActivation
from rhythmicnet_live.analysis.hmm import BeatTracker
from rhythmicnet_live.analysis.rhythm import RhythmPipeline
from rhythmicnet_live.analysis.tempo import TEMPO_BINS, MotionTempo

FPS = 30.0


def dancing(bpm: float, seconds: float, seed: int = 0) -> np.ndarray:
    """Normalised keypoints (T, 17, 2) of a body bouncing once per beat with arms swinging at the 8th notes, plus
    noise, starting at a random phase."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FPS)) / FPS
    phase = 2 * np.pi * (t * bpm / 60.0 + rng.uniform())
    pose = rng.normal(0, 0.5, (17, 2))
    xy = np.repeat(pose[None], len(t), axis=0)
    xy[:, :, 1] += 0.08 * np.sin(phase)[:, None]  # the whole body, once per beat
    xy[:, 7:11, 0] += 0.1 * np.sin(2 * phase + 1.0)[:, None]  # elbows and wrists, twice per beat
    return (xy + rng.normal(0, 0.01, xy.shape)).astype(np.float32)


def most_likely(p: np.ndarray) -> float:
    return float(TEMPO_BINS[int(np.argmax(p))])


@pytest.mark.parametrize("bpm", [72.0, 100.0, 131.0])
def test_the_tempo_of_a_periodic_dance(bpm):
    tempo = MotionTempo().process_offline(dancing(bpm, 12.0))
    assert np.isnan(tempo[:59]).all()  # under 2 s of motion: no evidence yet
    assert np.allclose(np.nansum(tempo[60:], axis=1), 1.0)
    assert most_likely(tempo[-1]) == pytest.approx(bpm, rel=0.03)


def test_online_equals_offline_and_nobody_gives_no_tempo():
    xy = dancing(110.0, 8.0)
    xy[150:170] = np.nan  # nobody in frame for 0.67 s
    xy[100:110, 3] = np.nan  # one joint missing for a while
    offline = MotionTempo().process_offline(xy)
    motion = MotionTempo()
    online = np.stack([motion.process_online(frame) for frame in xy])
    assert np.allclose(online, offline, equal_nan=True)
    assert np.isnan(offline[150:170]).all() and np.isfinite(offline[170:]).all()
    assert np.isfinite(offline[100:110]).all()


def test_the_tracker_takes_the_motion_tempo():
    """A flat activation says nothing about the tempo; with the motion's, the tracker's tempo is the dance's."""
    bpm = 96.0
    xy = dancing(bpm, 20.0, seed=3)
    flat = np.full(len(xy), 0.5)
    tempo = MotionTempo().process_offline(xy)
    searching = BeatTracker.searching(60.0, 180.0)
    reports = searching.process_sequence_online(flat, tempo)[1]
    assert reports[-1].bpm == pytest.approx(bpm, rel=0.04)
    blind = BeatTracker.searching(60.0, 180.0, motion_tempo=False)
    assert blind.tempo_map is None and searching.tempo_map is not None
    assert abs(blind.process_sequence_online(flat)[1][-1].bpm - bpm) > 0.04 * bpm


def recording(seen: list) -> type[BeatTracker]:
    """A BeatTracker class whose instances append every tempo distribution they are given to ``seen``."""
    class Recording(BeatTracker):
        def process_online(self, activation, reset=False, tempo=None):
            seen.append(tempo)
            return super().process_online(activation, reset=reset, tempo=tempo)

    return Recording


def test_the_pipeline_passes_the_tempo_of_the_activation_frame():
    """Online, the pipeline gives the tracker the motion tempo of the frame whose activation it decodes."""
    class Delayed(KinematicActivation):
        delay = 3

    seen = []
    Recording = recording(seen)
    xy = dancing(120.0, 4.0)
    pipeline = RhythmPipeline(Delayed(), Recording.searching(), tempo=MotionTempo())
    for i, frame in enumerate(xy):
        pipeline.process_online(frame, reset=(i == 0))
    expected = MotionTempo().process_offline(xy)
    assert np.allclose(np.stack(seen[3:]), expected[:-3], equal_nan=True)


def test_a_tracker_that_ignores_the_tempo_costs_no_scoring_and_a_later_search_gets_it_at_once():
    """With a known tempo the motion is only buffered (no autocorrelation per frame); retuned to a search, the
    tracker gets the same distribution as if the motion tempo had been scored all along."""
    scored = []

    class Counting(MotionTempo):
        def scores(self, velocities):
            scored.append(len(velocities))
            return super().scores(velocities)

    seen = []
    Recording = recording(seen)
    xy = dancing(100.0, 6.0)
    half = len(xy) // 2
    pipeline = RhythmPipeline(KinematicActivation(), Recording.known_tempo(100.0), tempo=Counting())
    for i, frame in enumerate(xy[:half]):
        pipeline.process_online(frame, reset=(i == 0))
    assert not scored and all(t is None for t in seen)
    pipeline.retune(Recording.searching())
    for frame in xy[half:]:
        pipeline.process_online(frame)
    assert len(scored) == len(xy) - half
    assert np.allclose(np.stack(seen[half:]), MotionTempo().process_offline(xy)[half:])
