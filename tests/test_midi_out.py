"""MIDI output: validation, sounding-note tracking, all notes off, clock; a real JACK virtual port read back."""

from __future__ import annotations

import time

import mido
import numpy as np
import pytest

from live_helpers import wait_for
from rhythmicnet_live.errors import UserInputError
from jack_server import JackMidiRecorder
from rhythmicnet_live.live.midi_out import (
    CC_ALL_NOTES_OFF, CC_ALL_SOUND_OFF, MemoryMidiOutput, MidiClock, list_ports, open_midi_output,
)
from rhythmicnet_live.notes import DRUM_CHANNEL, PIANO_CHANNEL, Note
from rhythmicnet_live.live.scheduler import NoteScheduler, ScheduledNote


def _cc(msgs, control):
    return sorted(m.channel for m in msgs if m.type == "control_change" and m.control == control)


def test_send_validates_and_tracks_sounding_notes():
    port = MemoryMidiOutput()
    with pytest.raises(TypeError):
        port.send(b"\x90\x3c\x40")
    port.send(mido.Message("note_on", channel=9, note=36, velocity=100))
    port.send(mido.Message("note_on", channel=0, note=60, velocity=80))
    port.send(mido.Message("note_on", channel=0, note=64, velocity=80))
    port.send(mido.Message("note_on", channel=0, note=64, velocity=0))  # velocity 0 = note-off
    assert port.sounding() == {9: frozenset({36}), 0: frozenset({60})}
    port.send(mido.Message("note_off", channel=9, note=36))
    assert port.sounding() == {0: frozenset({60})}
    port.close()
    with pytest.raises(ValueError):
        port.send(mido.Message("note_on", note=60))


def test_all_notes_off_ends_every_note_and_sends_cc_123_and_120_on_used_channels():
    port = MemoryMidiOutput()
    port.send(mido.Message("note_on", channel=9, note=36, velocity=100))
    port.send(mido.Message("note_on", channel=9, note=42, velocity=100))
    port.send(mido.Message("note_on", channel=0, note=60, velocity=80))
    port.send(mido.Message("control_change", channel=3, control=7, value=100))
    start = len(port.messages)
    port.all_notes_off()
    tail = port.messages[start:]
    offs = {(m.channel, m.note) for m in tail if m.type == "note_off"}
    assert offs == {(9, 36), (9, 42), (0, 60)}
    assert _cc(tail, CC_ALL_NOTES_OFF) == [0, 3, 9]
    assert _cc(tail, CC_ALL_SOUND_OFF) == [0, 3, 9]
    assert port.sounding() == {}


def test_context_manager_silences_on_error_and_close_is_idempotent():
    port = MemoryMidiOutput()
    with pytest.raises(RuntimeError):
        with port:
            port.send(mido.Message("note_on", channel=9, note=38, velocity=90))
            raise RuntimeError("engine failure")
    assert port.closed
    assert port.messages[-3].type == "note_off" and port.messages[-3].note == 38
    assert _cc(port.messages, CC_ALL_NOTES_OFF) == [9]
    n = len(port.messages)
    port.close()
    port.all_notes_off()
    assert len(port.messages) == n


def test_windows_virtual_port_is_a_clear_error():
    with pytest.raises(UserInputError, match="loopMIDI"):
        open_midi_output("RhythmicNet", api="windows", virtual=True)


def test_unknown_api_is_a_user_error():
    with pytest.raises(UserInputError, match="unknown MIDI API"):
        open_midi_output("RhythmicNet", api="beos")


def test_clock_set_bpm_validation():
    clock = MidiClock(MemoryMidiOutput(), bpm=120)
    with pytest.raises(ValueError):
        clock.set_bpm(0)
    clock.set_bpm(97.5)
    assert clock.bpm == 97.5


def test_clock_start_ticks_stop_on_memory_port():
    port = MemoryMidiOutput()
    clock = MidiClock(port, bpm=300)  # 120 clocks per second
    clock.start()
    assert wait_for(lambda: clock.ticks >= 30)
    clock.set_bpm(240)
    assert wait_for(lambda: clock.ticks >= 40)
    clock.stop()
    types = [m.type for m in port.messages]
    assert types[0] == "start" and types[-1] == "stop"
    assert set(types[1:-1]) == {"clock"} and len(types) - 2 == clock.ticks


def test_clock_keeps_a_daws_bars_on_the_dancers():
    """Quarter q from Start is place q % 4 of the bar: the next place announced two quarters on (the grid says one
    beat, the clock's tempo two) stretches one quarter instead of adding one; a beat whose place disagrees with the
    count pulls the grid."""
    nominal = 60 / (120 * 24)
    quarter = 24 * nominal
    clock = MidiClock(MemoryMidiOutput(), bpm=120)
    clock._ticks, clock._last_tick = 121, 100.0  # quarter 5 (clock 120) went out at t = 100 s
    clock.set_bpm(120, beat_at=100.0, position=1)
    clock.set_bpm(120, beat_at=100.0 + 2 * quarter, position=2)  # the next beat, two quarters on
    with clock._cond:
        assert clock._period() == pytest.approx(2 * nominal)  # quarter 6 (place 2) stretched onto it
    clock._beats.clear()
    clock.set_bpm(120, beat_at=100.0, position=0)  # quarter 5 went out on a downbeat: count one short
    with clock._cond:  # quarter 6 belongs on place 2: the grid of that downbeat, two quarters on (clamped x2)
        assert clock._period() == pytest.approx(2 * nominal)


def test_clock_armed_starts_on_the_next_downbeat_announced_ahead():
    """A DAW starts its bar 1 at Start: the clock waits for a downbeat (not a plain beat, not one already past)
    and sends Start with its first Clock at that downbeat's time; stopping an armed clock sends nothing."""
    port = MemoryMidiOutput()
    clock = MidiClock(port, bpm=120)
    clock.start_on_downbeat()
    clock.stop()
    assert port.messages == [] and not clock.armed
    clock.start_on_downbeat()
    now = time.monotonic()
    clock.set_bpm(120, beat_at=now + 0.05)  # a beat, not a downbeat
    clock.set_bpm(120, beat_at=now - 0.05, position=0)  # a downbeat already past
    time.sleep(0.15)
    assert port.messages == [] and clock.armed and not clock.running
    downbeat = time.monotonic() + 0.1
    clock.set_bpm(100, beat_at=downbeat, position=0)
    assert wait_for(lambda: clock.ticks >= 26)  # past the second quarter (0.6 s at 100 BPM)
    clock.stop()
    types = [m.type for m in port.messages]
    assert types[:2] == ["start", "clock"] and types[-1] == "stop" and not clock.armed
    assert port.times[0] >= downbeat  # never before the downbeat
    clocks = [t for t, m in zip(port.times, port.messages) if m.type == "clock"]
    assert clocks[24] == pytest.approx(downbeat + 0.6, abs=0.05)  # the next quarter on the downbeat's grid


# -- real JACK transport ------------------------------------------------------------------------------

def test_jack_virtual_port_plays_drums_on_channel_10_with_paired_note_offs(jack_server):
    out = open_midi_output("RhythmicNet", api="jack", virtual=True, client_name="RhythmicNet")
    reader = JackMidiRecorder("RhythmicNet:RhythmicNet")
    try:
        assert reader.port_name == "RhythmicNet:RhythmicNet"
        sched = NoteScheduler([out], max_late_s=10.0).start()
        t0 = time.monotonic() + 0.05
        pattern = [(36, 0), (42, 0), (38, 2), (42, 2), (36, 4), (46, 4), (38, 6), (49, 6)]
        for pitch, step in pattern:
            sched.schedule(ScheduledNote(t0 + step * 0.02, Note("drums", pitch, 100, float(step), 1.0), 0.03))
        sched.schedule(ScheduledNote(t0, Note("piano", 60, 70, 0.0, 4.0), 0.5))  # still sounding at stop
        assert wait_for(lambda: sum(m.type == "note_on" for m in reader.received()) == len(pattern) + 1)
        assert wait_for(lambda: sum(m.type == "note_off" for m in reader.received()) >= len(pattern))
        sched.close()  # stop: the sounding piano note is ended, then all notes off
        assert wait_for(lambda: any(m.type == "control_change" and m.control == CC_ALL_NOTES_OFF
                                    for m in reader.received()))
        got = reader.received()
        drums = [m for m in got if m.type in ("note_on", "note_off") and m.channel == DRUM_CHANNEL]
        assert DRUM_CHANNEL == 9  # MIDI channel 10
        assert sorted(m.note for m in drums if m.type == "note_on") == sorted(p for p, _ in pattern)
        # every note-on has its note-off, on the same channel and pitch
        for channel in (DRUM_CHANNEL, PIANO_CHANNEL):
            for pitch in {m.note for m in got if m.type == "note_on" and m.channel == channel}:
                seq = [m.type for m in got if m.type in ("note_on", "note_off")
                       and m.channel == channel and m.note == pitch]
                assert seq.count("note_on") == seq.count("note_off")
                assert all(a != b for a, b in zip(seq, seq[1:])), seq
        assert _cc(got, CC_ALL_NOTES_OFF) == [PIANO_CHANNEL, DRUM_CHANNEL]
        assert _cc(got, CC_ALL_SOUND_OFF) == [PIANO_CHANNEL, DRUM_CHANNEL]
    finally:
        reader.close()
        out.close()


def test_jack_midi_clock_start_ticks_stop(sync_jack_server):
    """Counts every Clock message: through a synchronous JACK server, which loses none under load."""
    out = open_midi_output("RhythmicNetClock", api="jack", virtual=True, client_name="RhythmicNetC")
    reader = JackMidiRecorder("RhythmicNetC:RhythmicNetClock")
    clock = MidiClock(out, bpm=240)
    try:
        clock.start()
        assert wait_for(lambda: sum(m.type == "clock" for m in reader.received()) >= 48)
        clock.set_bpm(180)
        assert wait_for(lambda: sum(m.type == "clock" for m in reader.received()) >= 60)
        clock.stop()
        assert wait_for(lambda: reader.received()[-1].type == "stop")
        types = [m.type for m in reader.received()]
        assert types[0] == "start"
        assert types.count("clock") == clock.ticks
    finally:
        clock.stop()
        reader.close()
        out.close()


def test_jack_unknown_port_lists_available_ports(jack_server):
    out = open_midi_output("RhythmicNetX", api="jack", virtual=True, client_name="Lister")
    try:
        # the virtual port above is an output; a JACK MIDI input is what an output port can open
        reader = JackMidiRecorder("Lister:RhythmicNetX", client_name="SomeSynth")
        try:
            ports = list_ports("jack")
            assert any("SomeSynth" in p for p in ports)
            with pytest.raises(UserInputError) as err:
                open_midi_output("NoSuchPort", api="jack", virtual=False)
            assert "NoSuchPort" in str(err.value) and "SomeSynth" in str(err.value)
            opened = open_midi_output("SomeSynth", api="jack", virtual=False, client_name="Opener")
            assert "SomeSynth" in opened.name
            opened.close()
        finally:
            reader.close()
    finally:
        out.close()


def test_clock_beat_stretches_ticks_to_land_the_quarter_on_the_beat():
    clock = MidiClock(MemoryMidiOutput(), bpm=120)  # nominal 1/48 s per clock
    nominal = 60 / (120 * 24)
    clock._ticks, clock._last_tick = 13, 100.0  # clock 12 went out at t = 100 s; clock 24 is the next quarter
    clock.set_bpm(120, beat_at=100.0 + 12 * nominal * 1.1)  # the beat is 10 % later than the grid
    with clock._cond:
        assert clock._period() == pytest.approx(nominal * 1.1)
    clock._ticks, clock._last_tick = 24, 200.0  # the next clock is the quarter itself
    clock.set_bpm(120, beat_at=200.0 + 10 * nominal)  # far off: clamped to twice the period
    with clock._cond:
        assert clock._period() == pytest.approx(nominal * 2.0)
    clock._ticks, clock._last_tick = 25, 200.0 + 2.0 * nominal  # that quarter went out, still 8 clocks early:
    with clock._cond:  # the next quarter is pulled toward the beat's grid, one beat on
        assert clock._period() == pytest.approx((34 - 2.0) / 24 * nominal)


def test_clock_lands_a_late_announced_slower_beat():
    """Seen live: the tempo fell from 94 to 64 BPM and the beat was announced 8 clocks before its quarter, 0.53 s
    away (1.7 periods of the new tempo per clock): the quarter still lands on the beat."""
    clock = MidiClock(MemoryMidiOutput(), bpm=94)
    clock._ticks, clock._last_tick = 449, 100.0  # clock 448 went out at t = 100 s; the quarter (clock 456) is 8 on
    clock.set_bpm(64, beat_at=100.53)
    t = 100.0
    for _ in range(8):
        with clock._cond:
            t += clock._period()
        clock._ticks += 1
        clock._last_tick = t
    assert t == pytest.approx(100.53)


def test_clock_follows_the_grid_of_beats_announced_a_beat_ahead_or_late():
    """The transport announces a beat up to a beat ahead and may announce it late: either way each quarter lands on
    the grid's nearest beat, never on the next or previous one."""
    nominal = 60 / (120 * 24)
    quarter = 24 * nominal
    clock = MidiClock(MemoryMidiOutput(), bpm=120)
    clock._ticks, clock._last_tick = 20, 100.0  # clock 19 went out at t = 100 s; clock 24 (next quarter) due at +5
    clock.set_bpm(120, beat_at=100.0 + 5 * nominal)  # beat n: on the grid
    clock.set_bpm(120, beat_at=100.0 + 5 * nominal + quarter)  # beat n + 1, announced before beat n is due
    with clock._cond:
        assert clock._period() == pytest.approx(nominal)  # beat n keeps its quarter
    clock.set_bpm(120, beat_at=100.0 + 7 * nominal + quarter)  # beat n + 1 re-announced 2 clocks later
    with clock._cond:
        assert clock._period() == pytest.approx(nominal)  # beat n still keeps its quarter
        assert len(clock._beats) == 2  # the re-announced beat replaced its older time
    clock.set_bpm(120, beat_at=100.0 - 3 * nominal)  # beat n announced again, late (already past): the quarter
    with clock._cond:  # due 8 clocks after it is late for it: squeezed as far as allowed
        assert clock._period() == pytest.approx(0.5 * nominal)
    clock._beats.clear()
    clock.set_bpm(120, beat_at=100.0 + 5 * nominal - 2 * quarter)  # only a beat two beats back is known: its grid
    with clock._cond:
        assert clock._period() == pytest.approx(nominal)


def clock_quarters(beats: np.ndarray, announced_at: np.ndarray, until: float) -> list[float]:
    """Simulated MIDI clock at 120 BPM started 150 ms out of phase, told each beat at its announcement time:
    the times its quarter notes go out."""
    clock = MidiClock(MemoryMidiOutput(), bpm=120)
    announcements = sorted(zip(announced_at, beats))
    t, quarters, told = 0.15, [], 0
    clock._last_tick, clock._ticks = t, 1  # clock 0 (a quarter) went out at 0.15 s
    while t < until:
        while told < len(announcements) and announcements[told][0] <= t:
            clock.set_bpm(120, beat_at=announcements[told][1])
            told += 1
        with clock._cond:
            t += clock._period()
        if clock._ticks % 24 == 0:
            quarters.append(t)
        clock._ticks += 1
        clock._last_tick = t
    return quarters


def test_clock_phase_locks_to_beats_announced_ahead_or_late():
    """Beats about every 0.5 s, moved up to 30 ms each by the grid's phase corrections and announced 0.2-0.7 s
    ahead (up to more than a beat): after a few beats every quarter note lands on its own beat. Beats on a steady
    grid announced between 0.1 s late and 0.7 s ahead: every quarter on a beat too."""
    rng = np.random.default_rng(0)
    beats = 0.5 * np.arange(1, 60) + rng.uniform(-0.03, 0.03, 59)
    quarters = clock_quarters(beats, beats - rng.uniform(0.2, 0.7, 59), 28.0)
    assert max(np.min(np.abs(beats - q)) for q in quarters[8:]) < 1e-6
    beats = 0.5 * np.arange(1, 60)
    quarters = clock_quarters(beats, beats - rng.uniform(-0.1, 0.7, 59), 28.0)
    assert max(np.min(np.abs(beats - q)) for q in quarters[8:]) < 1e-6
