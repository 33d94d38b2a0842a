"""The transport on a fake clock, without threads: beat grid, tempo, lock, downbeat, tap, style placement."""

import numpy as np
import pytest

from rhythmicnet_live.live.transport import BarEvent, BeatEvent, StyleEvent, TempoEvent, Transport


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def dance(transport: Transport, clock: FakeClock, times, period: float, lag: float = 0.1) -> list:
    """Observe a beat at each time (seen ``lag`` s later, predicting the next one a ``period`` after)."""
    events = []
    transport.subscribe(events.append)
    for t in times:
        clock.now = t + lag
        transport.observe_beat(t, period, 0.9)
    return events


def test_beats_are_announced_ahead_with_index_position_and_the_grid_tempo():
    clock = FakeClock()
    transport = Transport(clock)
    events = dance(transport, clock, [0.5 * k for k in range(11)], 0.5)
    beats = [e for e in events if isinstance(e, BeatEvent)]  # from the second observation, which confirms the first
    assert [b.index for b in beats] == list(range(10))
    assert [b.position for b in beats] == [k % 4 for k in range(10)]
    assert [b.due_s for b in beats] == pytest.approx([0.5 * (k + 2) for k in range(10)])
    assert all(b.due_s >= 0.5 * (b.index + 1) + 0.1 + 0.4 for b in beats)  # announced 0.4 s before they are due
    assert [b.bpm for b in beats] == pytest.approx([120.0] * 10)
    assert [e.bar for e in events if isinstance(e, BarEvent)] == [0, 1, 2]
    tempos = [e for e in events if isinstance(e, TempoEvent)]
    assert [t.due_s for t in tempos] == [b.due_s for b in beats] and not any(t.held for t in tempos)
    assert transport.predicted_beats(3) == pytest.approx([5.5, 6.0, 6.5])


def test_the_grid_moves_half_way_to_the_body_and_a_second_look_at_a_beat_is_not_a_new_beat():
    clock = FakeClock()
    transport = Transport(clock)
    events = dance(transport, clock, [0.0, 0.5, 1.0], 0.5)
    clock.now = 1.1
    assert transport.observe_beat(1.04, 0.5, 0.9) is None  # the same beat seen again
    clock.now = 1.6
    beat = transport.observe_beat(1.56, 0.5, 0.9)  # the dancer is 60 ms late
    period = (0.5 + 0.5 + 0.52) / 3  # the settled tempo now includes the late beat's interval
    grid = 1.5 + period
    assert beat.index == 2 and beat.due_s == pytest.approx(grid + 0.5 * (2.06 - grid))
    assert beat.bpm == pytest.approx(60.0 / (beat.due_s - 1.5))
    assert len([e for e in events if isinstance(e, BeatEvent)]) == 3


def test_missed_beats_keep_counting_and_a_past_beat_is_never_announced():
    clock = FakeClock()
    transport = Transport(clock)
    dance(transport, clock, [0.0, 0.5, 1.0], 0.5)
    clock.now = 2.1
    beat = transport.observe_beat(2.0, 0.5, 0.9)  # the beat at 1.5 was not observed
    assert beat.index == 3 and beat.due_s == pytest.approx(2.5)
    clock.now = 10.0
    beat = transport.observe_beat(5.0, 0.5, 0.9)  # long gone: the next due beat is after now
    assert beat.due_s >= 10.0 and beat.index == 3 + round((beat.due_s - 2.5) / 0.5)


def test_lock_holds_the_settled_tempo_not_the_last_estimate():
    clock = FakeClock()
    transport = Transport(clock)
    times = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    dance(transport, clock, times, 0.5)
    clock.now = 3.1
    transport.observe_beat(3.0, 0.7, 0.9)  # a wild estimate on the last beat
    transport.lock(True)
    assert transport.settled_period == pytest.approx(0.5)
    clock.now = 3.6
    beat = transport.observe_beat(3.5, 0.7, 0.9)
    assert beat.bpm == pytest.approx(120.0, rel=0.05)  # held: the phase moves at most 4 %
    assert transport.held


def test_outside_tempo_tap_and_downbeat():
    clock = FakeClock()
    transport = Transport(clock)
    for t in (0.0, 0.6, 1.2, 1.8):
        bpm = transport.tap(t)
    assert bpm == pytest.approx(100.0)
    transport.set_tempo(bpm)
    events = dance(transport, clock, [2.4, 3.0, 3.6], 0.6)  # the dancer on the tapped beats
    beats = [e for e in events if isinstance(e, BeatEvent)]
    assert [b.due_s for b in beats] == pytest.approx([3.6, 4.2])
    assert beats[-1].bpm == pytest.approx(100.0) and transport.held
    assert [b.position for b in beats] == [0, 1]
    clock.now = 4.2  # beat 1 is due now: "this beat is one"
    assert transport.downbeat() == 1
    clock.now = 4.3
    beat = transport.observe_beat(4.2, 0.6, 0.9)
    assert beat.index == 2 and beat.position == 1
    assert transport.tap(10.0) is None  # taps more than 2 s apart start again


def test_a_style_hit_falls_on_the_bar_grid():
    clock = FakeClock()
    transport = Transport(clock)
    events = dance(transport, clock, [0.0, 0.5], 0.5)
    hit = transport.style(0.8, 1.0 + 0.125 * 2)  # beat 0 (due at 1.0) plus two 16ths
    assert isinstance(hit, StyleEvent) and hit.step == 2 and hit in events and hit.due_s == clock.now
    assert Transport(clock).style(0.5).step is None


def test_a_beat_the_decoder_misses_is_announced_on_the_grid_in_time():
    clock = FakeClock()
    transport = Transport(clock)
    dance(transport, clock, [0.0, 0.5, 1.0], 0.5)  # beat 1 due at 1.5
    clock.now = 1.7
    assert transport.coast() is None  # beat 2 (due 2.0) is not close yet
    clock.now = 1.86
    beat = transport.coast()
    assert beat.index == 2 and beat.due_s == pytest.approx(2.0) and beat.confidence == 0.0
    clock.now = 2.1
    assert transport.observe_beat(2.0, 0.5, 0.9).index == 3  # the late observation continues the grid
    for k in range(4):  # no more than a bar without the body's word
        clock.now = 3.0 + 0.5 * k - 0.1
        assert (transport.coast() is not None) == (k < 3)
    clock.now = 20.0
    assert transport.coast() is None  # nor a beat already past


def test_taps_give_the_phase_too():
    clock = FakeClock()
    transport = Transport(clock)
    dance(transport, clock, [2.0, 2.6, 3.2, 3.8], 0.6)  # the body says beats at 2.0 + 0.6 k
    for t in (4.31, 4.89, 5.5):  # taps at 4.3 + 0.6 k (jitter 10 ms)
        bpm = transport.tap(t)
    assert bpm == pytest.approx(60 / 0.595) and transport.tapped_beat == pytest.approx(5.5, abs=0.01)
    assert transport.until_tapped_beat(5.6) == pytest.approx(transport.tapped_beat + 0.595 - 5.6)
    transport.set_tempo(bpm)
    events = dance(transport, clock, [5.45], 0.6)  # the (seeded) decoder sees the tapped beat, a little early
    beat = next(e for e in events if isinstance(e, BeatEvent))
    assert beat.due_s == pytest.approx(5.5 + 0.595, abs=0.01)  # on the taps' grid, not the body's prediction
    assert transport.tapped_beat is None  # the grid is used once; then the body moves the phase as usual
    assert transport.until_tapped_beat(7.0) is None
    assert transport.tap(20.0) is None and transport.tap(20.1, bpm_range=(40.0, 300.0)) is None  # 600 BPM: ignored
    assert transport.tapped_beat is None


def test_tap_grid_fits_the_taps_and_allows_a_skipped_beat():
    from rhythmicnet_live.live.transport import tap_grid

    assert tap_grid([1.0, 1.52, 1.98, 2.5]) == pytest.approx((2.5, 0.5), abs=0.01)
    assert tap_grid([1.0, 1.5, 2.5, 3.0]) == pytest.approx((3.0, 0.5))  # the beat at 2.0 was not tapped
    assert tap_grid([1.0, 1.6]) == pytest.approx((1.6, 0.6))
    # 4 taps with a person's jitter (15 ms): the fitted period is steadier than the median interval
    rng = np.random.default_rng(0)
    fitted, median = [], []
    for _ in range(500):
        taps = list(np.arange(4) * 0.5 + rng.normal(0.0, 0.015, 4))
        fitted.append(tap_grid(taps)[1] - 0.5)
        median.append(np.median(np.diff(taps)) - 0.5)
    assert np.std(fitted) < 0.7 * np.std(median)  # 6.6 and 11.6 ms
