"""Crash-safe journal: a SIGKILLed writer leaves a readable journal that converts to a MIDI file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import mido
import numpy as np
import pytest

from live_helpers import wait_for
from rhythmicnet_live.errors import UserInputError
from rhythmicnet_live.live.journal import JournalWriter, journal_to_midi, new_journal_path, read_journal
from rhythmicnet_live.notes import Note
from rhythmicnet_live.live.scheduler import ScheduledNote

WRITER = textwrap.dedent("""
    import sys, time
    from rhythmicnet_live.live.journal import JournalWriter
    w = JournalWriter(sys.argv[1], origin=0.0, fsync_interval_s=0.5, meta={"source": "test"})
    w.tempo(100.0, t=0.0)
    i = 0
    while True:  # runs until killed
        t = i * 0.15
        w.note("drums", (36, 38, 42)[i % 3], 100, 0.05, t=t)
        if i % 4 == 0:
            w.note("piano", 60 + i % 12, 70, 0.3, t=t)
            w.beat(i // 4, (i // 4) % 4, 100.0, 0.9, t=t)
        if i == 40:
            w.tempo(150.0, t=t)
        w.keypoints([0.5] * 34, [1.0] * 17, t=t)
        i += 1
        time.sleep(0.0005)
""")


def _note_times(midi: mido.MidiFile) -> list[tuple[float, int, int]]:
    """(seconds, channel, pitch) of every note-on, playing the file through its tempo map."""
    out, t = [], 0.0
    for msg in midi:  # merged tracks, msg.time in seconds
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            out.append((t, msg.channel, msg.note))
    return out


def test_sigkilled_writer_leaves_a_readable_journal_that_converts_to_midi(tmp_path):
    path = tmp_path / "take.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
    try:
        assert wait_for(lambda: path.exists() and path.read_bytes().count(b"\n") > 400, timeout=60)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    journal = read_journal(path)
    assert journal.header["source"] == "test" and journal.skipped == 0
    notes = journal.of_type("note")
    drums = [n for n in notes if n["track"] == "drums"]
    piano = [n for n in notes if n["track"] == "piano"]
    assert len(drums) > 100 and piano and journal.of_type("beat") and journal.of_type("keypoints")
    assert len(journal.of_type("tempo")) == 2  # 100 BPM, then 150 BPM from note 40 on

    out = tmp_path / "take.mid"
    journal_to_midi(journal, out)
    back = mido.MidiFile(out)
    assert back.ticks_per_beat == 480 and [tr.name for tr in back.tracks[1:]] == ["drums", "piano"]
    got = _note_times(back)
    assert sorted((c, p) for _, c, p in got) == sorted(
        [(9, n["pitch"]) for n in drums] + [(0, n["pitch"]) for n in piano])
    want = sorted([(n["t"], 9, n["pitch"]) for n in drums] + [(n["t"], 0, n["pitch"]) for n in piano])
    got.sort()
    # seconds survive the tempo map to within a tick (at 150 BPM one tick is 0.83 ms)
    np.testing.assert_allclose([g[0] for g in got], [w[0] for w in want], atol=1e-3)
    tempos = [m.tempo for tr in back.tracks for m in tr if m.type == "set_tempo"]
    assert tempos == [mido.bpm2tempo(100.0)]  # the tempo map follows the performance's beats, 0.6 s apart


def test_truncated_last_line_is_skipped(tmp_path):
    path = tmp_path / "j.jsonl"
    with JournalWriter(path, origin=0.0) as w:
        w.note("drums", 36, 100, 0.1, t=0.5)
        w.style(0.8, t=0.6)
    with open(path, "ab") as f:
        f.write(b'{"type":"note","t":0.7,"track":"dru')  # the line being written when the process died
    journal = read_journal(path)
    assert journal.truncated and [e["type"] for e in journal.events] == ["note", "style"]
    assert journal.events[0] == {"type": "note", "t": 0.5, "track": "drums", "channel": 9, "pitch": 36,
                                 "velocity": 100, "duration": 0.1}


def test_records_units_and_errors(tmp_path):
    path = tmp_path / "sub" / "j.jsonl"
    w = JournalWriter(path, origin=10.0, fsync_interval_s=0.0)
    w.note_on(ScheduledNote(12.5, Note("piano", 64, 90, 0.0, 2.0), 0.4))  # as the sender reports it
    xy = np.zeros((17, 2))
    xy[3] = np.nan
    w.keypoints(xy, np.ones(17), t=12.6)
    w.beat(1, 1, 120.0, 0.5, t=13.0)
    w.close()
    w.close()
    with pytest.raises(ValueError):
        w.tempo(120.0)
    with pytest.raises(UserInputError):
        JournalWriter(path)  # never overwrite a take
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert lines[1] == {"type": "note", "t": 2.5, "track": "piano", "channel": 0, "pitch": 64, "velocity": 90,
                        "duration": 0.4}
    assert lines[2]["xy"][6] is None and lines[2]["xy"][0] == 0.0 and len(lines[2]["conf"]) == 17
    assert not read_journal(path).truncated
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "note", "t": 1}\n')
    with pytest.raises(UserInputError):
        read_journal(bad)


def test_retriggered_pitch_is_cut_at_the_next_note_on(tmp_path):
    path = tmp_path / "j.jsonl"
    with JournalWriter(path, origin=0.0) as w:
        w.note("piano", 60, 80, 1.0, t=0.0)
        w.note("piano", 60, 80, 1.0, t=0.5)  # same pitch while the first still sounds
    midi = journal_to_midi(path)
    (piano,) = [tr for tr in midi.tracks if tr.name == "piano"]
    seq = [(m.type, m.time) for m in piano if m.type in ("note_on", "note_off")]
    assert [s[0] for s in seq] == ["note_on", "note_off", "note_on", "note_off"]
    assert os.path.getsize(path) > 0


def test_new_journal_path_never_reuses_a_name(tmp_path):
    first = new_journal_path(tmp_path / "takes")
    JournalWriter(first).close()
    second = new_journal_path(tmp_path / "takes")
    assert first.suffix == ".jsonl" and first.name.startswith("take-") and second != first and not second.exists()
