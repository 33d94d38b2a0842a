"""The beat-pointer HMM: offline/online agreement, dropped frames, tempo changes, predictions."""

import numpy as np
import pytest

from rhythmicnet_live.analysis.hmm import BeatTracker

FPS = 30.0


def pulse_activation(beat_times: np.ndarray, n_frames: int, floor: float = 0.05, peak: float = 0.9) -> np.ndarray:
    """A synthetic activation: ``peak`` on the frame nearest each beat, ``floor`` elsewhere."""
    act = np.full(n_frames, floor)
    frames = np.round(np.asarray(beat_times) * FPS).astype(int)
    act[frames[(frames >= 0) & (frames < n_frames)]] = peak
    return act


def grid(bpm: float, start: float, end: float) -> np.ndarray:
    return np.arange(start, end, 60.0 / bpm)


def match(reference: np.ndarray, estimated: np.ndarray, tolerance: float = 0.07) -> float:
    """Share of reference beats with an estimated beat within ``tolerance`` seconds."""
    if len(reference) == 0:
        return 1.0
    return float(np.mean([np.min(np.abs(estimated - r)) <= tolerance if len(estimated) else False for r in reference]))


@pytest.mark.parametrize("bpm", [72.0, 110.0, 150.0])
def test_online_agrees_with_offline_on_steady_material(bpm):
    n = int(20 * FPS)
    truth = grid(bpm, 0.3, n / FPS)
    act = pulse_activation(truth, n)
    tracker = BeatTracker()
    offline = tracker.process_offline(act)
    online, reports = tracker.process_sequence_online(act)
    assert match(truth, offline) == 1.0
    settled = truth[truth > 3.0]  # the online filter needs a few beats to lock on
    assert match(settled, online) == 1.0
    assert match(online[online > 3.0], offline) == 1.0  # and no extra beats
    assert reports[-1].bpm == pytest.approx(bpm, rel=0.04)


def test_no_beats_without_a_body_tempo_held_and_resumes_on_the_beat():
    n = int(24 * FPS)
    truth = grid(100.0, 0.2, n / FPS)
    act = pulse_activation(truth, n)
    gap = (np.arange(n) >= 10 * FPS) & (np.arange(n) < 13 * FPS)  # 3 s with no body in view
    act[gap] = np.nan
    tracker = BeatTracker()
    online, reports = tracker.process_sequence_online(act)
    assert not ((online >= 10.0) & (online < 13.0)).any()  # nobody there: no beats
    assert all(r.suspended and not r.is_beat for r in reports[int(10 * FPS):int(13 * FPS)])
    assert not any(r.suspended for r in reports[int(13 * FPS):])
    assert all(abs(r.bpm / 100.0 - 1) < 0.03 for r in reports[int(10 * FPS):int(13 * FPS)])  # tempo held
    after = online[online >= 13.0]
    assert match(truth[truth >= 13.0], after) == 1.0  # resumes on the beat, no extra beats
    assert len(after) == int(np.sum(truth >= 13.0))
    offline = tracker.process_offline(act)
    assert match(truth[(truth < 10.0) | (truth >= 13.0)], offline) == 1.0
    assert not ((offline >= 10.0) & (offline < 13.0)).any()


@pytest.mark.parametrize("bpm", [80.0, 103.0, 141.0])
def test_tempi_between_integer_frame_intervals(bpm):
    """80 BPM is 22.5 frames at 30 fps: the decoder must hold it (not jump between 78.3 and 81.8 BPM)."""
    n = int(20 * FPS)
    truth = grid(bpm, 0.1, n / FPS)
    act = pulse_activation(truth, n)
    tracker = BeatTracker(online_offset_s=0.0)  # the synthetic peaks are on the beat
    offline, tempo = tracker.decode_offline(act)
    online, reports = tracker.process_sequence_online(act)
    assert 60.0 / np.median(np.diff(offline)) == pytest.approx(bpm, rel=0.02)
    assert 60.0 / np.median(np.diff(online[online > 3.0])) == pytest.approx(bpm, rel=0.02)
    assert reports[-1].bpm == pytest.approx(bpm, rel=0.02)
    assert np.median(tempo) == pytest.approx(bpm, rel=0.02)
    assert match(truth[truth > 3.0], online, tolerance=1.5 / FPS) == 1.0


def test_known_tempo_and_online_offset():
    n = int(12 * FPS)
    truth = grid(80.0, 0.3, n / FPS)
    act = pulse_activation(truth - 0.1, n)  # an activation that peaks 100 ms before the beat
    tracker = BeatTracker.known_tempo(80.0, online_offset_s=0.0, offline_offset_s=0.0)
    assert tracker.min_bpm == pytest.approx(76.8) and tracker.max_bpm == pytest.approx(83.2)
    online, _ = tracker.process_sequence_online(act)
    early = online[online > 3.0]
    assert np.median(early - truth[np.searchsorted(truth, early)]) == pytest.approx(-0.1, abs=0.02)
    shifted = BeatTracker.known_tempo(80.0, online_offset_s=0.1, offline_offset_s=0.0)
    online, _ = shifted.process_sequence_online(act)
    assert match(truth[truth > 3.0], online, tolerance=1.0 / FPS) == 1.0
    np.testing.assert_array_equal(shifted.process_offline(act), tracker.process_offline(act))  # offline: no shift
    later = BeatTracker.known_tempo(80.0, offline_offset_s=0.1).process_offline(act)
    assert match(truth[truth > 1.0], later, tolerance=1.0 / FPS) == 1.0
    np.testing.assert_allclose(later, tracker.process_offline(act)[:len(later)] + 0.1)
    assert later[-1] < n / FPS  # shifted beats stay inside the clip
    with pytest.raises(ValueError):
        BeatTracker.known_tempo(0.0)


def test_follows_a_tempo_change():
    n = int(30 * FPS)
    first = grid(96.0, 0.2, 15.0)
    second = first[-1] + np.arange(1, 60) * 60.0 / 124.0
    truth = np.concatenate([first, second[second < n / FPS]])
    act = pulse_activation(truth, n)
    tracker = BeatTracker()
    online, reports = tracker.process_sequence_online(act)
    assert reports[int(14 * FPS)].bpm == pytest.approx(96.0, rel=0.05)
    assert reports[-1].bpm == pytest.approx(124.0, rel=0.05)
    assert match(truth[truth > 19.0], online) == 1.0  # locked on the new tempo within a few beats
    assert match(truth, tracker.process_offline(act)) >= 0.95


def test_predicts_the_next_beats():
    n = int(12 * FPS)
    truth = grid(120.0, 0.1, 20.0)
    act = pulse_activation(truth, n)
    tracker = BeatTracker(num_predictions=3)
    _, reports = tracker.process_sequence_online(act)
    last = reports[-1]
    now = last.frame / FPS
    expected = truth[truth > now + 1e-9][:3] - now
    assert np.allclose(last.next_beats, expected, atol=1.5 / FPS)
    assert last.confidence > 0.8
    assert 0.0 <= last.phase < 1.0


def test_the_decoder_is_made_of_separate_pieces():
    """State space, transition model and observation model are separate objects the decoder puts together."""
    from rhythmicnet_live.analysis.hmm import BeatObservationModel, BeatStateSpace, TempoTransitionModel

    tracker = BeatTracker(90.0, 130.0)
    assert isinstance(tracker.space, BeatStateSpace) and isinstance(tracker.transition, TempoTransitionModel)
    assert isinstance(tracker.observation, BeatObservationModel)
    alpha = tracker.transition.predict(np.full(tracker.space.num_states, 1.0 / tracker.space.num_states))
    assert np.isclose(alpha.sum(), 1.0)  # a stochastic transition keeps the mass
    np.testing.assert_array_equal(tracker.observation.observe(alpha, float("nan")), alpha)  # no body: no evidence
    assert not tracker.observation.log_likelihood(float("nan")).any()


def test_reset_starts_afresh_and_narrow_tempo_range():
    n = int(10 * FPS)
    act = pulse_activation(grid(90.0, 0.1, 10.0), n)
    tracker = BeatTracker(min_bpm=85.0, max_bpm=95.0)
    tracker.process_sequence_online(act)
    first = tracker.process_online(0.5, reset=True)
    assert first.frame == 0
    assert 85.0 * 0.95 <= first.bpm <= 95.0 * 1.05
    with pytest.raises(ValueError):
        BeatTracker(min_bpm=120.0, max_bpm=100.0)


def test_tempo_prior_picks_the_metrical_level():
    """Pulses on every 8th note at 80 BPM (stronger on the beat) fit 80 and 160 BPM; the model's tempo
    distribution decides."""
    n = int(16 * FPS)
    beats = grid(80.0, 0.2, n / FPS)
    act = np.maximum(pulse_activation(beats, n), pulse_activation(beats + 0.375, n, peak=0.6))
    bins = np.geomspace(60.0, 180.0, 25)
    for bpm, truth in ((80.0, beats), (160.0, np.sort(np.concatenate([beats, beats + 0.375])))):
        probs = np.exp(-0.5 * ((np.log(bins) - np.log(bpm)) / 0.05) ** 2)
        tempo = np.tile(probs / probs.sum(), (n, 1))
        tracker = BeatTracker(tempo_bins=bins, tempo_weight=0.3, online_offset_s=0.0)
        offline, _ = tracker.decode_offline(act, tempo)
        online, reports = tracker.process_sequence_online(act, tempo)
        assert 60.0 / np.median(np.diff(offline)) == pytest.approx(bpm, rel=0.03)
        assert 60.0 / np.median(np.diff(online[online > 4.0])) == pytest.approx(bpm, rel=0.03)
        assert reports[-1].bpm == pytest.approx(bpm, rel=0.03)
        assert match(truth[(truth > 4.0) & (truth < n / FPS)], online, tolerance=1.5 / FPS) == 1.0
    missing = np.full((n, 25), np.nan)  # a frame without a body carries no tempo evidence either
    assert BeatTracker(tempo_bins=bins).process_sequence_online(act, missing)[1][-1].bpm > 0


def test_static_tempo_prior_picks_the_metrical_level():
    """The same 80 / 160 BPM ambiguity, decided by a log-normal tempo prior (``prior_bpm``) offline and online."""
    n = int(16 * FPS)
    beats = grid(80.0, 0.2, n / FPS)
    act = np.maximum(pulse_activation(beats, n), pulse_activation(beats + 0.375, n, peak=0.6))
    for bpm in (80.0, 160.0):
        tracker = BeatTracker(prior_bpm=bpm, prior_width=0.2, online_offset_s=0.0)
        offline, _ = tracker.decode_offline(act)
        online, reports = tracker.process_sequence_online(act)
        assert 60.0 / np.median(np.diff(offline)) == pytest.approx(bpm, rel=0.03)
        assert reports[-1].bpm == pytest.approx(bpm, rel=0.03)


def test_flat_activation_favours_no_tempo():
    """A flat activation (a body that moves without accents) carries no tempo evidence: one beat of it has the
    same likelihood at every tempo, so the decoder is not pulled to the top of the range."""
    for tracker in (BeatTracker(), BeatTracker(80.0, 170.0, observation_lambda=8.0)):
        for a in (0.2, 0.45, 0.8):
            per_beat = np.bincount(tracker.space.tempo_index, weights=tracker.observation.log_likelihood(a))
            np.testing.assert_allclose(per_beat / tracker.space.intervals, per_beat[0] / tracker.space.intervals[0],
                                       rtol=1e-9)
        _, tempo = tracker.decode_offline(np.full(int(12 * FPS), 0.45))
        assert np.median(tempo) < 0.9 * tracker.max_bpm


def stepwise_viterbi(tracker: BeatTracker, steps: np.ndarray, tempo: np.ndarray | None = None) -> np.ndarray:
    """Textbook Viterbi over every state and step, from the tracker's own pieces (the reference for the fast one)."""
    space, log_transition = tracker.space, np.log(tracker.transition.tempo_transition)
    delta = np.log(tracker._initial())
    back = np.zeros((len(steps), len(space.intervals)), np.int64)
    for t, value in enumerate(steps):
        if t > 0:
            moved = np.empty_like(delta)
            moved[1:] = delta[:-1]
            scores = delta[space.last][:, None] + log_transition
            back[t] = scores.argmax(axis=0)
            moved[space.first] = scores.max(axis=0)
            delta = moved
        delta = delta + tracker.observation.log_likelihood(value)
        if tempo is not None and t % tracker.upsample == 0:
            delta = delta + tracker._tempo_log_weight(tempo[t // tracker.upsample])[space.tempo_index]
    path = np.empty(len(steps), np.int64)
    path[-1] = delta.argmax()
    for t in range(len(steps) - 1, 0, -1):
        state = path[t]
        path[t - 1] = state - 1 if space.position[state] > 0 else space.last[back[t][space.tempo_index[state]]]
    return path


@pytest.mark.parametrize("frames", [1, 7, 64, 400])
@pytest.mark.parametrize("with_tempo", [False, True])
@pytest.mark.parametrize("prior_bpm", [None, 100.0])
def test_fast_viterbi_equals_the_textbook_one(frames, with_tempo, prior_bpm):
    """The compiled beat-by-beat Viterbi (distance transform over tempi) finds the same path as a plain Viterbi
    over every state: noisy pulses, a tempo change, a gap without a body, a model's tempo distributions, a static
    tempo prior."""
    rng = np.random.default_rng(frames)
    act = 0.2 * rng.random(frames) + pulse_activation(np.concatenate([grid(84.0, 0.1, 6.0), grid(131.0, 6.3, 14.0)]), frames)
    act[frames // 3:frames // 3 + frames // 8] = np.nan
    bins = np.geomspace(60.0, 180.0, 25)
    tracker = BeatTracker(tempo_bins=bins, tempo_weight=0.3, prior_bpm=prior_bpm, prior_width=0.3)
    tempo = rng.dirichlet(np.ones(len(bins)), size=frames) if with_tempo else None
    steps = tracker.internal_activation(act)
    np.testing.assert_array_equal(tracker.viterbi(steps, tempo), stepwise_viterbi(tracker, steps, tempo))


def test_take_tracker_has_the_cross_validated_prior_inside_its_range():
    """Takes decode with ``TAKE_SETTINGS``' tempo prior; a range that excludes its centre gets the prior centred on
    the range, so the prior never pulls towards a tempo the user ruled out."""
    from rhythmicnet_live.analysis.hmm import TAKE_SETTINGS
    from rhythmicnet_live.config import Config

    def prior_centre(tracker: BeatTracker) -> float:
        return float(60.0 * tracker.rate / tracker.space.intervals[np.argmax(tracker.transition.log_arrival)])

    assert prior_centre(BeatTracker.for_takes()) == pytest.approx(TAKE_SETTINGS["prior_bpm"], rel=0.02)
    assert prior_centre(BeatTracker.for_takes(60.0, 100.0)) == pytest.approx(np.sqrt(60.0 * 100.0), rel=0.02)
    assert not BeatTracker().transition.log_arrival.any()  # online: no prior
    tempo = Config().tempo
    assert tempo.beat_tracker(60.0, 180.0, takes=True).transition.log_arrival.any()
    assert not tempo.beat_tracker(60.0, 180.0).transition.log_arrival.any()


def test_viterbi_compiles_in_memory_without_a_cache_folder(monkeypatch):
    """Where numba finds no writable cache folder (``njit(cache=True)`` raises RuntimeError), the decoder still
    loads, compiled in memory, and decodes the same path."""
    import importlib

    import numba

    from rhythmicnet_live.analysis import viterbi

    real_njit = numba.njit

    def njit_without_cache(*args, **kwargs):
        if kwargs.get("cache"):
            raise RuntimeError("cannot cache function: no locator available")
        return real_njit(*args, **kwargs)

    act = 0.2 * np.random.default_rng(3).random(200) + pulse_activation(grid(97.0, 0.1, 7.0), 200)
    tracker = BeatTracker()
    expected = tracker.process_offline(act)
    monkeypatch.setattr(numba, "njit", njit_without_cache)
    try:
        importlib.reload(viterbi)
        assert type(viterbi.beat_viterbi._cache).__name__ == "NullCache"  # the fallback, compiled in memory
        np.testing.assert_array_equal(tracker.process_offline(act), expected)
    finally:
        monkeypatch.undo()
        importlib.reload(viterbi)


def online_beats(tracker: BeatTracker, act: np.ndarray, start: int = 0) -> np.ndarray:
    """Beat times (s) ``process_online`` reports for frames ``start`` .. of ``act`` (the tracker keeps its state)."""
    reports = [tracker.process_online(a) for a in act[start:]]
    return np.array([r.frame / FPS - r.beat_lag for r in reports if r.is_beat])


def test_seed_phase_puts_the_beats_on_the_tapped_grid():
    n = int(12 * FPS)
    eighths = pulse_activation(grid(200.0, 0.05, n / FPS), n)  # a body marking every 8th note: beat or off-beat?
    for tapped in (1.25, 1.55):  # on either of them
        tracker = BeatTracker.known_tempo(100.0, online_offset_s=0.0)  # the synthetic peaks are on the beat
        online_beats(tracker, eighths[:31])  # frames 0 .. 30 filtered: the tracker is at 1.0 s
        tracker.seed_phase(tapped - 1.0)
        beats = online_beats(tracker, eighths, start=31)
        taps = grid(100.0, tapped, n / FPS - 0.2)
        assert len(beats) >= len(taps) - 1 and match(taps, beats, tolerance=1.0 / FPS) == 1.0
        fresh = BeatTracker.known_tempo(100.0, online_offset_s=0.0)
        fresh.seed_phase(tapped % 0.6)  # before any frame: from frame 0 on
        taps = grid(100.0, tapped % 0.6, n / FPS - 0.2)
        assert match(taps[1:], online_beats(fresh, eighths), tolerance=1.0 / FPS) == 1.0
    with pytest.raises(ValueError):
        fresh.seed_phase(0.1, width_s=0.0)


def test_the_body_moves_a_seeded_phase():
    n = int(16 * FPS)
    truth = grid(100.0, 0.55, n / FPS)
    tracker = BeatTracker.known_tempo(100.0, online_offset_s=0.0)
    tracker.seed_phase(0.25)  # a quarter beat off the body's beats
    beats = online_beats(tracker, pulse_activation(truth, n))
    late = truth[truth > 8.0]
    assert match(late[:-1], beats, tolerance=1.0 / FPS) == 1.0


def test_a_tapped_tracker_weighs_the_body_less_from_the_tapped_phase():
    from rhythmicnet_live.analysis.hmm import TAP_SETTINGS, BeatObservationModel

    tracker = BeatTracker.tapped(100.0, 0.35)
    full = BeatObservationModel(tracker.space, tracker.observation.observation_lambda)
    assert tracker.observation.weight == TAP_SETTINGS["observation_weight"] < 1.0
    for a in (0.05, 0.5, 0.95):  # the likelihood of one activation, raised to the weight
        np.testing.assert_allclose(tracker.observation.log_likelihood(a), tracker.observation.weight * full.log_likelihood(a))
    np.testing.assert_allclose(tracker.observation.log_ratio(np.array([0.2, 0.8])),
                               tracker.observation.weight * full.log_ratio(np.array([0.2, 0.8])))
    n = int(8 * FPS)
    eighths = pulse_activation(grid(200.0, 0.05, n / FPS), n)  # on- or off-beat: the taps decide
    assert match(grid(100.0, 0.35, n / FPS - 0.2), online_beats(tracker, eighths), tolerance=1.0 / FPS) == 1.0
    with pytest.raises(ValueError):
        BeatTracker(observation_weight=0.0)


def test_a_known_tempo_holds_when_the_body_gives_no_accents():
    """The tempo the tracker reports stays on the given one. (A flat activation gives every phase the same
    likelihood, so which frames get a beat there is a tie broken by rounding: only the tempo is asserted.)"""
    rng = np.random.default_rng(0)
    flat, moving = np.full(int(20 * FPS), 0.3), rng.uniform(0.05, 0.6, int(20 * FPS))  # moving, but no accents
    for act in (flat, moving):
        _, reports = BeatTracker.known_tempo(100.0).process_sequence_online(act)
        assert max(abs(r.bpm - 100.0) for r in reports) < 0.5
    beats, _ = BeatTracker.known_tempo(100.0).process_sequence_online(moving)
    assert 60.0 / np.median(np.diff(beats)) == pytest.approx(100.0, rel=0.02)
    before = BeatTracker.known_tempo(100.0, prior_width=None, observation_lambda=8.0)  # the decoder before the prior
    _, reports = before.process_sequence_online(flat)
    assert max(abs(r.bpm - 100.0) for r in reports) > 1.0  # without the prior the tempo wandered within its range


def test_set_prior_moves_the_tempo_prior_and_keeps_the_state():
    tracker = BeatTracker.known_tempo(100.0)
    online_beats(tracker, pulse_activation(grid(100.0, 0.3, 4.0), int(4 * FPS)))
    alpha = tracker.alpha.copy()
    tracker.set_prior(102.0, 0.01)
    assert tracker.prior_bpm == 102.0 and tracker.prior_width == 0.01
    np.testing.assert_array_equal(tracker.alpha, alpha)
    favoured = tracker.space.intervals[tracker.transition.log_arrival.argmax()]
    assert 60.0 * tracker.rate / favoured == pytest.approx(102.0, rel=0.01)
    with pytest.raises(ValueError):
        tracker.set_prior(0.0)
