"""The live engine end to end on a real clip played in real time: real JACK MIDI, real OSC over loopback,
real control messages, and a journal that survives SIGKILL."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import mido
import numpy as np
import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from live_helpers import JackMidiIn, OscReceiver, wait_for
from rhythmicnet_live.live import osc_protocol as proto
from rhythmicnet_live.analysis.beat_model import default_activation
from rhythmicnet_live.config import Config
from rhythmicnet_live.live.journal import journal_to_midi, read_journal
from rhythmicnet_live.notes import DRUM_CHANNEL, DRUM_PITCHES, PIANO_CHANNEL
from rhythmicnet_live.live.perform import perform

CLIP = Path(__file__).parent / "fixtures" / "jump_8s_480x270.mp4"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def engine_config(tmp_path, osc_port: int, midi: bool) -> Config:
    config = Config()
    config.midi.enabled = midi
    config.midi.api = "jack"
    config.midi.port = f"RhythmicNet-test-{os.getpid()}"
    config.osc.port = osc_port
    config.control.port = free_port()
    config.journal.dir = str(tmp_path)
    return config.validate()


def run_in_thread(config, **kwargs) -> tuple[threading.Thread, dict]:
    """``perform`` on the clip in a thread, with the activation ``perform`` uses by default (the beat model)."""
    result: dict = {}
    kwargs.setdefault("activation", default_activation())

    def target():
        try:
            result["stats"] = perform(config, video=CLIP, **kwargs)
        except BaseException as exc:  # surfaced by the test
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, result


@pytest.mark.realtime
def test_perform_streams_drums_to_a_midi_port_and_osc(jack_server, tmp_path):
    osc = OscReceiver()
    config = engine_config(tmp_path, osc.port, midi=True)
    thread, result = run_in_thread(config)
    import rtmidi

    probe = rtmidi.MidiIn(rtapi=rtmidi.API_UNIX_JACK, name="rhythmicnet-test-probe")
    assert wait_for(lambda: any(config.midi.port in p for p in probe.get_ports()), timeout=60), "virtual port never appeared"
    probe.delete()
    midi_in = JackMidiIn(config.midi.port)
    thread.join(timeout=120)
    assert not thread.is_alive() and "error" not in result, result.get("error")
    assert wait_for(lambda: any(m.type == "control_change" and m.control == 123 for m in midi_in.received()), timeout=5)
    messages = midi_in.received()
    midi_in.close()
    osc.close()

    ons = [m for m in messages if m.type == "note_on" and m.velocity > 0]
    offs = [m for m in messages if m.type == "note_off" or (m.type == "note_on" and m.velocity == 0)]
    assert len(ons) >= 8, "the engine played too little on 8 s of steady jumping"
    channels = {m.channel for m in ons}
    assert DRUM_CHANNEL in channels and channels <= {DRUM_CHANNEL, PIANO_CHANNEL}  # drums channel 10, piano channel 1
    assert {m.note for m in ons if m.channel == DRUM_CHANNEL} <= set(DRUM_PITCHES)
    # every note ends: by its note-off (re-sent ones may repeat) or at the latest by the final All Notes Off
    assert {(m.channel, m.note) for m in ons} == {(m.channel, m.note) for m in offs}
    sounding = set()
    for m in messages:
        if m.type == "note_on" and m.velocity > 0:
            sounding.add((m.channel, m.note))
        elif m.type in ("note_on", "note_off"):
            sounding.discard((m.channel, m.note))
        elif m.type == "control_change" and m.control == 123:
            sounding = {k for k in sounding if k[0] != m.channel}
    assert not sounding
    assert any(m.type == "control_change" and m.control == 123 and m.channel == DRUM_CHANNEL for m in messages)  # at stop

    notes = osc.received(proto.NOTE)
    beats = osc.received(proto.BEAT)
    assert len(notes) >= len(ons) * 0.9 and {args[0] for _, args in notes} <= {"drums", "piano"}
    assert len(beats) >= 6
    indices = [args[0] for _, args in beats]  # a beat whose time passed before it was known is skipped, not late
    assert indices == sorted(set(indices)) and indices[-1] - indices[0] <= len(indices) + 2
    assert [args[1] for _, args in beats] == [i % 4 for i in indices]
    assert all(60.0 <= args[2] <= 180.0 and 0.0 <= args[3] <= 1.0 for _, args in beats)
    stats = result["stats"]
    # every beat announced went out, but the last one may have been due after the clip ended
    assert stats.frames > 150 and len(beats) <= stats.beats <= len(beats) + 1 and stats.bars_generated >= 2


def send_and_wait_for_pong(port: int, address: str) -> None:
    """Send ``address`` then a ping to the control server from one socket; return once the pong arrives
    (the server handles messages in order, so the first one has been applied)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10)
        sock.sendto(OscMessageBuilder(address).build().dgram, ("127.0.0.1", port))
        sock.sendto(OscMessageBuilder(proto.PING).build().dgram, ("127.0.0.1", port))
        assert OscMessage(sock.recv(4096)).address == proto.PONG


def test_control_stop_silences_the_engine_and_start_brings_it_back(tmp_path):
    osc = OscReceiver()
    config = engine_config(tmp_path, osc.port, midi=False)
    thread, result = run_in_thread(config)
    assert wait_for(lambda: len(osc.received(proto.NOTE)) >= 3, timeout=60), "no notes before stop"
    send_and_wait_for_pong(config.control.port, proto.STOP)
    time.sleep(0.3)  # the pong leaves when the stop is handed to the sender process: a note it sent meanwhile may land
    notes_at_stop = len(osc.received(proto.NOTE))
    beats_at_stop = len(osc.received(proto.BEAT))
    assert wait_for(lambda: len(osc.received(proto.BEAT)) >= beats_at_stop + 2, timeout=30)
    assert len(osc.received(proto.NOTE)) == notes_at_stop  # beats go on, notes do not
    send_and_wait_for_pong(config.control.port, proto.START)
    assert wait_for(lambda: len(osc.received(proto.NOTE)) > notes_at_stop, timeout=30) or not thread.is_alive()
    thread.join(timeout=120)
    osc.close()
    assert "error" not in result, result.get("error")


def test_sigkill_mid_performance_leaves_a_readable_journal(tmp_path):
    journal_dir = tmp_path / "takes"
    process = subprocess.Popen(
        [sys.executable, "-m", "rhythmicnet_live.cli", "perform", "--video", str(CLIP), "--no-midi",
         "--osc", f"127.0.0.1:{free_port()}", "--control-port", str(free_port()), "--journal-dir", str(journal_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def journal_has_notes() -> bool:
            files = list(journal_dir.glob("*.jsonl"))
            text = files[0].read_text() if files else ""
            return '"type":"note"' in text and '"type":"beat"' in text

        assert wait_for(journal_has_notes, timeout=60), "no notes journalled"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    path = next(journal_dir.glob("*.jsonl"))
    journal = read_journal(path)
    assert journal.of_type("note") and journal.of_type("beat") and journal.of_type("keypoints")
    out = tmp_path / "take.mid"
    journal_to_midi(journal, out)
    ons = [m for m in mido.MidiFile(out) if m.type == "note_on" and m.velocity > 0]
    assert len(ons) == len(journal.of_type("note")) and {m.channel for m in ons} <= {PIANO_CHANNEL, DRUM_CHANNEL}
    result = subprocess.run([sys.executable, "-m", "rhythmicnet_live.cli", "take", "--from-journal", str(path), "-o",
                             str(tmp_path / "cli")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cli" / "take.mid").exists()


def test_start_up_line_names_the_execution_provider_of_each_model():
    result = subprocess.run(
        [sys.executable, "-m", "rhythmicnet_live.cli", "perform", "--video", str(CLIP), "--no-midi", "--no-journal-enabled",
         "--osc", f"127.0.0.1:{free_port()}", "--control-port", str(free_port())],
        capture_output=True, text=True, timeout=180, env={**os.environ, "RHYTHMICNET_PROVIDER": "cpu"})
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stderr.splitlines() if line.startswith("models on "))
    assert "models on CPU: " in line and "beat_model" in line and "drums_encoder" in line, line


def test_stats_rings_keep_the_latest_samples_in_memory_allocated_up_front():
    import copy
    import json

    from rhythmicnet_live.live.engine import SampleRing

    ring, pairs = SampleRing(size=4), SampleRing(size=3, width=2)
    assert len(ring) == 0 and ring.tolist() == [] and not ring
    ring.extend([1.0, 2.0, 3.0])
    assert list(ring) == [1.0, 2.0, 3.0]
    ring.extend([4.0, 5.0, 6.0])
    assert list(ring) == [3.0, 4.0, 5.0, 6.0] and len(ring) == 4 and float(np.median(ring)) == 4.5
    for k in range(5):
        pairs.append((k, 10 * k))
    assert list(pairs) == [(2.0, 20.0), (3.0, 30.0), (4.0, 40.0)]
    clone = copy.deepcopy(ring)
    ring.append(7.0)
    assert clone.tolist() == [3.0, 4.0, 5.0, 6.0] and json.loads(json.dumps(pairs.tolist()))[0] == [2.0, 20.0]
    assert ring._data.nbytes == 4 * 8  # the same memory, full or empty
