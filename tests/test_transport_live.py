"""The transport's outputs while ``perform --video`` plays a real clip in real time: the MIDI clock read back
through a real JACK port follows the tempo the OSC stream reports, and OSC beats, tempo and keypoints go out when
due."""

import os
import subprocess
import sys

import numpy as np

from live_helpers import JackMidiIn, OscReceiver
from rhythmicnet_live.live.journal import read_journal
from rhythmicnet_live.live import osc_protocol as proto
from test_engine import CLIP, free_port

#: Beats left out at the start while the decoder and the clock settle.
SETTLE_BEATS = 4


def perform_cli(tmp_path, osc_port: int, *flags: str) -> subprocess.CompletedProcess:
    """``rhythmicnet-live perform --video CLIP`` to ``osc_port`` until the clip ends."""
    cmd = [sys.executable, "-m", "rhythmicnet_live.cli", "perform", "--video", str(CLIP), "--osc",
           f"127.0.0.1:{osc_port}", "--control-port", str(free_port()), "--journal-dir", str(tmp_path / "takes"),
           "--midi-api", "jack", *flags]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def quarter_ticks(arrivals) -> np.ndarray:
    """Arrival times (s) of every 24th MIDI clock from the last Start: the clock's quarter notes."""
    start = max(i for i, (_, m) in enumerate(arrivals) if m.type == "start")
    ticks = [t for t, m in arrivals[start:] if m.type == "clock"]
    return np.asarray(ticks[::24])


def test_midi_clock_runs_at_the_reported_tempo(jack_server, tmp_path):
    osc = OscReceiver()
    midi_in = JackMidiIn(f"clock-in-{os.getpid()}", client_name="daw", virtual=True)
    try:
        perform_cli(tmp_path, osc.port, "--midi-clock", "--no-midi-virtual", "--midi-port", midi_in.port_name,
                    "--no-journal-keypoints")
    finally:
        midi_in.close()
        osc.close()
    arrivals = midi_in.arrivals()
    journal = read_journal(next((tmp_path / "takes").glob("*.jsonl")))
    origin = journal.header["origin_monotonic"]
    dues = np.array([origin + b["t"] for b in journal.of_type("beat")])
    tempo = [(t, args[0]) for t, (_, args) in osc.timed(proto.TEMPO)]
    quarters = quarter_ticks(arrivals)
    steady = tempo[SETTLE_BEATS:]
    assert len(steady) >= 5, f"too few beats to measure: {len(tempo)}"
    # The clock's quarter note that went out with each steady beat (both leave at the beat's due time).
    first = int(np.argmin(np.abs(quarters - steady[0][0])))
    last = int(np.argmin(np.abs(quarters - steady[-1][0])))
    offsets = [1e3 * (quarters[int(np.argmin(np.abs(quarters - t)))] - t) for t in dues[SETTLE_BEATS:]]
    print(f"\nclock quarter minus the beat's due time (ms): {np.round(offsets, 1).tolist()}")
    print("OSC tempo arrival minus due (ms):", np.round(1e3 * (np.array([t for t, _ in tempo]) - dues[:len(tempo)]), 1).tolist())
    assert max(map(abs, offsets)) < 30, "the clock's quarter notes are not on the beats"
    beats = last - first
    clock_bpm = 60.0 * beats / (quarters[last] - quarters[first])
    # Each tempo message is the grid's tempo into its beat: the time the reported tempo takes for those beats.
    tempo_bpm = 60.0 * beats / sum(60.0 / bpm for _, bpm in steady[1:])
    error = clock_bpm / tempo_bpm - 1
    print(f"MIDI clock {clock_bpm:.2f} BPM vs /rhythmicnet/tempo {tempo_bpm:.2f} BPM over {beats} beats: "
          f"{100 * error:+.3f} %")
    assert beats == len(steady) - 1
    assert abs(error) < 0.005


def test_osc_beats_tempo_and_style_go_out_when_due_and_keypoints_are_sent(tmp_path):
    osc = OscReceiver()
    try:
        perform_cli(tmp_path, osc.port, "--no-midi", "--osc-keypoints")
    finally:
        osc.close()
    journal = read_journal(next((tmp_path / "takes").glob("*.jsonl")))
    origin = journal.header["origin_monotonic"]
    lateness = {}
    for address, kind in ((proto.BEAT, "beat"), (proto.TEMPO, "tempo"), (proto.STYLE, "style")):
        arrived = [t for t, _ in osc.timed(address)]
        due = [origin + r["t"] for r in journal.of_type(kind)]
        assert len(arrived) == len(due) or len(arrived) == len(due) - 1  # the last may be due after the end
        lateness[kind] = 1e3 * (np.array(arrived) - np.array(due[:len(arrived)]))
    beats = lateness["beat"]
    print(f"\nOSC arrival minus due time on loopback (ms): beat p50 {np.percentile(beats, 50):.2f}, "
          f"p95 {np.percentile(beats, 95):.2f}, max {beats.max():.2f} over {len(beats)} beats; "
          + ", ".join(f"{k} p95 {np.percentile(v, 95):.2f}" for k, v in lateness.items() if len(v)))
    assert len(beats) >= 6 and beats.min() > -1.0  # never early
    assert np.percentile(beats, 95) < 20.0  # generous here; the benchmark reports the figure (about 1 ms)
    keypoints = osc.received(proto.KEYPOINTS)
    assert len(keypoints) > 100 and all(len(args) == 34 for _, args in keypoints)
    assert np.isfinite(np.array([args for _, args in keypoints])).all()
    assert np.abs(np.array([args for _, args in keypoints])).max() > 0.1  # a body moved
