"""OSC output on loopback: exact addresses and argument types, read back by a python-osc server."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from live_helpers import OscReceiver, wait_for
from rhythmicnet_live.live import osc_protocol as proto
from rhythmicnet_live.notes import Note
from rhythmicnet_live.live.osc_out import OscOutput
from rhythmicnet_live.live.scheduler import NoteScheduler, ScheduledNote


@pytest.fixture
def receiver():
    r = OscReceiver()
    yield r
    r.close()


def test_protocol_addresses_and_default_ports_are_fixed():
    # Max patches are built against these exact strings and ports.
    assert (proto.NOTE, proto.BEAT, proto.TEMPO, proto.STYLE, proto.KEYPOINTS) == (
        "/rhythmicnet/note", "/rhythmicnet/beat", "/rhythmicnet/tempo", "/rhythmicnet/style", "/rhythmicnet/keypoints")
    assert (proto.DEFAULT_OSC_HOST, proto.DEFAULT_OSC_PORT) == ("127.0.0.1", 9000)
    assert (proto.DEFAULT_CONTROL_HOST, proto.DEFAULT_CONTROL_PORT) == ("127.0.0.1", 9001)
    assert proto.PING == "/rhythmicnet/ping" and proto.PONG == "/rhythmicnet/pong"


def test_note_beat_tempo_style_keypoints_arrive_with_their_types(receiver):
    out = OscOutput("127.0.0.1", receiver.port, send_keypoints=True)
    out.note("drums", 36, 110, 0.1)
    out.note("piano", 60, 72, 0.5)
    out.beat(7, 3, 121.5, 0.8)
    out.tempo(121.5)
    out.style(0.75)
    xy = np.arange(34, dtype=np.float32).reshape(17, 2) / 10
    xy[4] = np.nan
    out.keypoints(xy)
    assert wait_for(lambda: len(receiver.received()) == 6)
    got = receiver.received()
    assert [a for a, _ in got] == [proto.NOTE, proto.NOTE, proto.BEAT, proto.TEMPO, proto.STYLE, proto.KEYPOINTS]
    track, pitch, vel, dur = got[0][1]
    assert (track, pitch, vel) == ("drums", 36, 110) and type(pitch) is int and type(vel) is int
    assert isinstance(dur, float) and dur == pytest.approx(0.1, rel=1e-6)
    assert got[1][1][0] == "piano"
    index, pos, bpm, conf = got[2][1]
    assert (index, pos) == (7, 3) and type(index) is int and type(pos) is int
    assert bpm == pytest.approx(121.5) and conf == pytest.approx(0.8)
    assert got[3][1] == pytest.approx((121.5,)) and got[4][1] == pytest.approx((0.75,))
    kp = got[5][1]
    assert len(kp) == 34 and all(isinstance(v, float) and not math.isnan(v) for v in kp)
    assert kp[8] == 0.0 and kp[9] == 0.0 and kp[10] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        out.note("bass", 40, 100, 0.1)
    with pytest.raises(ValueError):
        out.keypoints([0.0] * 33)
    out.close()


def test_keypoints_are_not_sent_unless_enabled(receiver):
    out = OscOutput("127.0.0.1", receiver.port)
    out.keypoints([0.0] * 34)
    out.tempo(100.0)
    assert wait_for(lambda: len(receiver.received()) == 1)
    assert receiver.received()[0][0] == proto.TEMPO
    out.close()


def test_scheduler_sends_notes_to_osc_with_track_and_duration(receiver):
    out = OscOutput("127.0.0.1", receiver.port)
    with NoteScheduler([out], max_late_s=10.0) as sched:
        t = time.monotonic() + 0.02
        sched.schedule(ScheduledNote(t, Note("drums", 38, 100, 4.0, 1.0), 0.05))
        sched.schedule(ScheduledNote(t + 0.01, Note("piano", 67, 64, 4.0, 2.0), 0.25))
        assert wait_for(lambda: len(receiver.received(proto.NOTE)) == 2)
    notes = [args for _, args in receiver.received(proto.NOTE)]
    assert notes[0][:3] == ("drums", 38, 100) and notes[0][3] == pytest.approx(0.05)
    assert notes[1][:3] == ("piano", 67, 64) and notes[1][3] == pytest.approx(0.25)
    out.close()
