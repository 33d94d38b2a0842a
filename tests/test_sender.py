"""The scheduler in a child process: notes and all-notes-off over JACK, and silence when the engine dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from live_helpers import wait_for
from rhythmicnet_live.errors import UserInputError
from jack_server import JackMidiRecorder
from rhythmicnet_live.live.midi_out import CC_ALL_NOTES_OFF
from rhythmicnet_live.notes import Note
from rhythmicnet_live.live.scheduler import ScheduledNote
from rhythmicnet_live.live.sender import SenderProcess, SenderSpec
from rhythmicnet_live.live.transport import BeatEvent


def _paired(msgs) -> bool:
    """Every note-on is ended by a note-off before the next one (re-sent note-offs may repeat)."""
    seqs: dict = {}
    for m in msgs:
        if m.type in ("note_on", "note_off"):
            seq = seqs.setdefault((m.channel, m.note), [])
            if not (m.type == "note_off" and seq and seq[-1] == "note_off"):
                seq.append(m.type)
    return all(s[0] == "note_on" and s[-1] == "note_off" and all(a != b for a, b in zip(s, s[1:]))
               for s in seqs.values())


def test_sender_process_plays_notes_clock_and_all_notes_off(jack_server):
    spec = SenderSpec(midi_port="RhythmicNet", midi_api="jack", midi_client_name="RNSender", midi_clock=True,
                      max_late_s=10.0)
    with SenderProcess(spec) as sender:
        assert sender.midi_port_name == "RhythmicNet"
        reader = JackMidiRecorder("RNSender:RhythmicNet")
        try:
            sender.clock_start()  # the clock waits for a downbeat
            t = time.monotonic() + 0.05
            sender.send_event(BeatEvent(due_s=t + 0.1, index=0, position=0, bpm=120.0, confidence=1.0))
            for i, pitch in enumerate((36, 42, 38, 42)):
                assert sender.schedule(ScheduledNote(t + 0.02 * i, Note("drums", pitch, 100, float(i), 1.0), 0.03))
            sender.schedule(ScheduledNote(t, Note("piano", 60, 80, 0.0, 4.0), 30.0))  # sounding at stop
            assert wait_for(lambda: sum(m.type == "note_on" for m in reader.received()) == 5)
            assert wait_for(lambda: sum(m.type == "clock" for m in reader.received()) >= 24)
            sender.stop()
            sender.clock_stop()
            assert wait_for(lambda: any(m.type == "stop" for m in reader.received()))
            sender.set_bpm(-5.0)  # invalid in the child: logged there, the sender keeps serving
            records, counters = sender.stats()
            assert sender.alive
            got = reader.received()
        finally:
            reader.close()
    assert _paired(got)
    assert any(m.type == "control_change" and m.control == CC_ALL_NOTES_OFF and m.channel == 9 for m in got)
    assert [m.type for m in got if m.type in ("start", "clock")][:2] == ["start", "clock"]
    assert sum(r.kind == "on" for r in records) == 5 and counters["late"] == 0
    with pytest.raises(RuntimeError):
        sender.schedule(ScheduledNote(time.monotonic(), Note("drums", 36, 100, 0.0, 1.0), 0.1))
    with pytest.raises(ValueError):
        SenderProcess.schedule(sender, ScheduledNote(0.0, Note("drums", 36, 0, 0.0, 1.0), 0.1))


def test_unknown_port_in_the_child_is_a_user_error(jack_server):
    with pytest.raises(UserInputError, match="NoSuchPort"):
        SenderProcess(SenderSpec(midi_port="NoSuchPort", midi_api="jack", midi_virtual=False))


ENGINE = textwrap.dedent("""
    import sys, time
    from rhythmicnet_live.notes import Note
    from rhythmicnet_live.live.scheduler import ScheduledNote
    from rhythmicnet_live.live.sender import SenderProcess, SenderSpec
    sender = SenderProcess(SenderSpec(midi_port="RhythmicNet", midi_api="jack", midi_client_name="Doomed"))
    print(sender.pid, flush=True)
    sys.stdin.readline()  # the test connects its reader
    sender.schedule(ScheduledNote(time.monotonic(), Note("piano", 64, 90, 0.0, 4.0), 60.0))
    print("playing", flush=True)
    time.sleep(120)
""")


def test_killed_engine_leaves_no_stuck_note(jack_server):
    engine = subprocess.Popen([sys.executable, "-c", ENGINE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    reader = None
    try:
        child_pid = int(engine.stdout.readline())
        reader = JackMidiRecorder("Doomed:RhythmicNet")
        engine.stdin.write("go\n")
        engine.stdin.flush()
        assert engine.stdout.readline().strip() == "playing"
        assert wait_for(lambda: any(m.type == "note_on" for m in reader.received()))
        engine.send_signal(signal.SIGKILL)  # the engine dies without any cleanup of its own
        engine.wait()
        assert wait_for(lambda: any(m.type == "note_off" and m.note == 64 for m in reader.received()))
        assert wait_for(lambda: any(m.type == "control_change" and m.control == CC_ALL_NOTES_OFF
                                    for m in reader.received()))
        assert _paired(reader.received())
    finally:
        if reader is not None:
            reader.close()
        if engine.poll() is None:
            engine.kill()
            engine.wait()
    # the orphaned sender process ends by itself after silencing
    def gone() -> bool:
        try:
            os.kill(child_pid, 0)
            with open(f"/proc/{child_pid}/stat") as f:
                return f.read().split()[2] == "Z"
        except (ProcessLookupError, FileNotFoundError):
            return True

    assert wait_for(gone)
