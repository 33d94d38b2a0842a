"""Note scheduler: order, note-on/note-off pairing (retriggers, stop), bounded queue, late notes, latency."""

from __future__ import annotations

import random
import time

import pytest

from live_helpers import wait_for
from rhythmicnet_live.live.midi_out import CC_ALL_NOTES_OFF, MemoryMidiOutput
from rhythmicnet_live.notes import Note
from rhythmicnet_live.live.scheduler import NoteScheduler, ScheduledNote


def _pairs_ok(messages) -> bool:
    """Per (channel, pitch): note_on and note_off strictly alternate, starting with an on and ending with an off."""
    seqs: dict[tuple[int, int], list[str]] = {}
    for m in messages:
        if m.type in ("note_on", "note_off"):
            seqs.setdefault((m.channel, m.note), []).append(m.type)
    return all(s[0] == "note_on" and s[-1] == "note_off" and all(a != b for a, b in zip(s, s[1:]))
               for s in seqs.values())


def test_notes_go_out_in_time_order_with_paired_offs_even_when_retriggered():
    port = MemoryMidiOutput()
    rng = random.Random(0)
    t0 = time.monotonic() + 0.05
    notes = []
    for i in range(60):  # few pitches, long overlapping durations: many retriggers
        track = rng.choice(["drums", "piano"])
        pitch = rng.choice([36, 38, 42] if track == "drums" else [60, 64])
        notes.append(ScheduledNote(t0 + rng.uniform(0, 0.3), Note(track, pitch, rng.randint(1, 127), 0.0, 1.0),
                                   rng.uniform(0.01, 0.2)))
    with NoteScheduler([port], max_late_s=10.0) as sched:  # a loaded CI machine must not skip notes here
        for n in reversed(notes):
            assert sched.schedule(n)
        assert wait_for(lambda: sched.pending() == 0 and sched.sounding() == 0)
        records = sched.records()
    ons = [m for m in port.messages if m.type == "note_on"]
    assert len(ons) == len(notes)  # nothing late, nothing dropped
    expected = sorted(notes, key=lambda n: n.time_s)
    assert [(m.channel, m.note, m.velocity) for m in ons] == [
        (n.note.channel, n.note.pitch, n.note.velocity) for n in expected]
    assert _pairs_ok(port.messages)
    assert sum(r.kind == "on" for r in records) == len(notes)
    assert sum(r.kind == "off" for r in records) == len(notes)
    assert all(r.sent_s >= r.due_s for r in records)


def test_stop_ends_sounding_notes_drops_pending_and_sends_all_notes_off():
    port = MemoryMidiOutput()
    sched = NoteScheduler([port]).start()
    now = time.monotonic()
    sched.schedule(ScheduledNote(now, Note("piano", 60, 80, 0.0, 4.0), 30.0))
    sched.schedule(ScheduledNote(now, Note("drums", 36, 100, 0.0, 1.0), 30.0))
    sched.schedule(ScheduledNote(now + 60, Note("drums", 38, 100, 0.0, 1.0), 0.1))  # far future
    assert wait_for(lambda: sched.sounding() == 2)
    sched.stop()
    assert sched.pending() == 0 and sched.sounding() == 0
    assert _pairs_ok(port.messages)
    assert not any(m.type == "note_on" and m.note == 38 for m in port.messages)
    assert sorted(m.channel for m in port.messages if m.type == "control_change"
                  and m.control == CC_ALL_NOTES_OFF) == [0, 9]
    # the scheduler keeps running after a stop
    sched.schedule(ScheduledNote(time.monotonic(), Note("drums", 42, 90, 0.0, 1.0), 0.01))
    assert wait_for(lambda: sched.pending() == 0 and sched.sounding() == 0)
    sched.close()
    assert _pairs_ok(port.messages)
    assert port.messages[-1].type == "control_change"


def test_queue_is_bounded_and_never_blocks():
    sched = NoteScheduler([MemoryMidiOutput()], max_pending=3)  # not started: nothing drains
    far = time.monotonic() + 100
    assert all(sched.schedule(ScheduledNote(far, Note("drums", 36, 100, 0.0, 1.0), 0.1)) for _ in range(3))
    assert not sched.schedule(ScheduledNote(far, Note("drums", 36, 100, 0.0, 1.0), 0.1))
    assert sched.dropped == 1 and sched.pending() == 3
    with pytest.raises(ValueError):
        sched.schedule(ScheduledNote(far, Note("drums", 36, 100, 0.0, 1.0), 0.0))
    with pytest.raises(ValueError):
        sched.schedule(ScheduledNote(far, Note("drums", 36, 0, 0.0, 1.0), 0.1))  # velocity 0 is a note-off
    with pytest.raises(ValueError):
        sched.schedule(ScheduledNote(far, Note("piano", 128, 100, 0.0, 1.0), 0.1))
    sched.close()
    with pytest.raises(RuntimeError):
        sched.schedule(ScheduledNote(far, Note("drums", 36, 100, 0.0, 1.0), 0.1))


def test_late_notes_are_skipped_not_played_late():
    port = MemoryMidiOutput()
    with NoteScheduler([port], max_late_s=0.05) as sched:
        sched.schedule(ScheduledNote(time.monotonic() - 1.0, Note("drums", 36, 100, 0.0, 1.0), 0.1))
        assert wait_for(lambda: sched.late == 1)
    assert not any(m.type == "note_on" for m in port.messages)


def test_latency_offset_sends_early_and_records_due_times():
    port = MemoryMidiOutput()
    latency = 0.25
    with NoteScheduler([port], latency_s=latency) as sched:
        t = time.monotonic() + 0.3
        sched.schedule(ScheduledNote(t, Note("piano", 64, 90, 0.0, 1.0), 0.05))
        assert wait_for(lambda: len(sched.records()) == 2)
        on, off = sched.records()
    assert (on.kind, off.kind) == ("on", "off")
    assert on.due_s == pytest.approx(t - latency, abs=1e-9)
    assert off.due_s == pytest.approx(t - latency + 0.05, abs=1e-9)
    assert port.times[0] >= t - latency


def test_a_failing_sink_does_not_stop_the_others():
    class Broken:
        def note_on(self, event):
            raise OSError("gone")

        note_off = note_on

        def all_notes_off(self):
            raise OSError("gone")

    port = MemoryMidiOutput()
    with NoteScheduler([Broken(), port]) as sched:
        sched.schedule(ScheduledNote(time.monotonic(), Note("drums", 36, 100, 0.0, 1.0), 0.02))
        assert wait_for(lambda: sched.pending() == 0 and sched.sounding() == 0)
    assert sched.sink_errors >= 3
    assert _pairs_ok(port.messages) and any(m.type == "note_on" for m in port.messages)
