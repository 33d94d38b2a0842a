"""The transport's outputs while ``perform --video`` plays a real clip in real time: the MIDI clock read back
through a real JACK port follows the tempo the OSC stream reports, and OSC beats, tempo and keypoints go out when
due."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from live_helpers import JackMidiIn, OscReceiver
from rhythmicnet_live.errors import UserInputError
from rhythmicnet_live.live.journal import read_journal
from rhythmicnet_live.live import osc_protocol as proto
from rhythmicnet_live.live.transport import tap_grid
from test_engine import CLIP, free_port

#: Beats left out at the start while the decoder and the clock settle.
SETTLE_BEATS = 4


def start_perform(tmp_path, osc_port: int, *flags: str, control_port: int | None = None,
                  clip: Path = CLIP) -> subprocess.Popen:
    """``rhythmicnet-live perform --video clip`` to ``osc_port``, journal in ``tmp_path/takes``."""
    cmd = [sys.executable, "-m", "rhythmicnet_live.cli", "-v", "perform", "--video", str(clip), "--osc",
           f"127.0.0.1:{osc_port}", "--control-port", str(control_port or free_port()),
           "--journal-dir", str(tmp_path / "takes"), "--midi-api", "jack", *flags]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> str:
    """Wait for the performance to end; its stderr."""
    try:
        _, err = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err[-2000:]
    return err


def perform_cli(tmp_path, osc_port: int, *flags: str, clip: Path = CLIP) -> str:
    """``rhythmicnet-live perform --video clip`` to ``osc_port`` until the clip ends; its stderr."""
    return finish(start_perform(tmp_path, osc_port, *flags, clip=clip))


def looped(tmp_path, times: int) -> Path:
    """The fixture clip played ``times`` times in a row (stream copy): more beats to measure."""
    import imageio_ffmpeg

    out = tmp_path / f"loop{times}.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-stream_loop", str(times - 1), "-i", str(CLIP),
                    "-c", "copy", str(out)], check=True, timeout=60)
    return out


def journal_of(tmp_path) -> tuple[float, object]:
    """(origin on the monotonic clock, journal) of the performance."""
    journal = read_journal(next((tmp_path / "takes").glob("*.jsonl")))
    return journal.header["origin_monotonic"], journal


def send(port: int, address: str, *args) -> None:
    """One OSC control message, and return once the engine's control server has handled it (ping/pong)."""
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.2)
        sock.sendto(builder.build().dgram, ("127.0.0.1", port))
        for _ in range(300):  # the server may still be starting (models loading): ping until it answers
            sock.sendto(OscMessageBuilder(proto.PING).build().dgram, ("127.0.0.1", port))
            try:
                if OscMessage(sock.recv(4096)).address == proto.PONG:
                    return
            except (TimeoutError, ConnectionRefusedError):
                pass
    raise AssertionError("the control server never answered")


def quarter_ticks(arrivals) -> np.ndarray:
    """Arrival times (s) of every 24th MIDI clock from the last Start: the clock's quarter notes."""
    start = max(i for i, (_, m) in enumerate(arrivals) if m.type == "start")
    ticks = [t for t, m in arrivals[start:] if m.type == "clock"]
    return np.asarray(ticks[::24])


@pytest.mark.realtime
def test_midi_clock_follows_the_beats_and_the_bars(sync_jack_server, tmp_path):
    """One quarter note per beat of the grid, on the beat, Start on a downbeat and every downbeat a bar line.

    The quarters are found by counting 24 Clock messages from Start, so one message lost in transit moves every
    later quarter by a tick (20-40 ms): the JACK server is synchronous, which delivers every message."""
    osc = OscReceiver()
    midi_in = JackMidiIn(f"clock-in-{os.getpid()}", client_name="daw", virtual=True)
    try:
        perform_cli(tmp_path, osc.port, "--midi-clock", "--no-midi-virtual", "--midi-port", midi_in.port_name,
                    "--no-journal-keypoints", clip=looped(tmp_path, 2))
    finally:
        midi_in.close()
        osc.close()
    arrivals = midi_in.arrivals()
    origin, journal = journal_of(tmp_path)
    dues = np.array([origin + b["t"] for b in journal.of_type("beat")])
    indices = np.array([b["index"] for b in journal.of_type("beat")])  # a beat the grid skipped counts too
    tempo = [(t, args[0]) for t, (_, args) in osc.timed(proto.TEMPO)]
    quarters = quarter_ticks(arrivals)
    steady = tempo[SETTLE_BEATS:]
    assert len(steady) >= 5, f"too few beats to measure: {len(tempo)}"
    steady_beats = dues[SETTLE_BEATS:] <= quarters[-1]  # beats due before the clock stopped
    playing, counted = dues[SETTLE_BEATS:][steady_beats], indices[SETTLE_BEATS:][steady_beats]
    offsets = [1e3 * (quarters[int(np.argmin(np.abs(quarters - t)))] - t) for t in playing]
    print(f"\nclock quarter minus the beat's due time (ms): {np.round(offsets, 1).tolist()}")
    print("OSC tempo arrival minus due (ms):", np.round(1e3 * (np.array([t for t, _ in tempo]) - dues[:len(tempo)]), 1).tolist())
    # Each quarter goes out with its beat: after it by no more than the JACK server's delivery delay (0-8 ms quiet;
    # a synchronous server delays every client when one is late, tens of ms on a loaded machine), never before it.
    assert all(-10.0 <= o <= 60.0 for o in offsets), "the clock's quarter notes are not on the beats"
    # Start came on a downbeat, so a DAW's bars begin with the dancer's: every downbeat is a 4th quarter from Start.
    downbeats = [origin + b["t"] for b in journal.of_type("beat") if b["position_in_bar"] == 0]
    played = [t for t in downbeats if quarters[0] - 0.1 <= t <= quarters[-1]]
    bar_quarters = [int(np.argmin(np.abs(quarters - t))) for t in played]
    print(f"quarters from Start at the downbeats: {bar_quarters}")
    assert len(played) >= 3 and all(q % 4 == 0 for q in bar_quarters)
    # The clock's quarter notes that went out with the first and last steady beats, and the tempo between.
    first = int(np.argmin(np.abs(quarters - playing[0])))
    last = int(np.argmin(np.abs(quarters - playing[-1])))
    beats = int(counted[-1] - counted[0])
    clock_bpm = 60.0 * (last - first) / (quarters[last] - quarters[first])
    beat_bpm = 60.0 * beats / (playing[-1] - playing[0])
    reported = float(np.median([bpm for _, bpm in steady]))
    error = clock_bpm / beat_bpm - 1
    print(f"MIDI clock {clock_bpm:.2f} BPM vs the beats {beat_bpm:.2f} BPM over {beats} beats: {100 * error:+.3f} % "
          f"(/rhythmicnet/tempo median {reported:.2f} BPM)")
    assert last - first == beats  # one quarter per beat of the grid
    assert abs(error) < 0.005


@pytest.mark.realtime
def test_osc_beats_tempo_and_style_go_out_when_due_and_keypoints_are_sent(tmp_path):
    osc = OscReceiver()
    try:
        perform_cli(tmp_path, osc.port, "--no-midi", "--osc-keypoints")
    finally:
        osc.close()
    origin, journal = journal_of(tmp_path)
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
    assert np.percentile(beats, 95) < 30.0  # generous (a loaded 2-core machine reached 21 ms); p95 is 1-5 ms normally
    keypoints = osc.received(proto.KEYPOINTS)
    assert len(keypoints) > 100 and all(len(args) == 34 for _, args in keypoints)
    assert np.isfinite(np.array([args for _, args in keypoints])).all()
    assert np.abs(np.array([args for _, args in keypoints])).max() > 0.1  # a body moved


def wait_for_beats(osc: OscReceiver, count: int, process: subprocess.Popen) -> None:
    while len(osc.received(proto.BEAT)) < count and process.poll() is None:
        time.sleep(0.01)


def test_known_tempo_from_the_flag_and_changed_live_over_osc(tmp_path):
    osc, control = OscReceiver(), free_port()
    process = start_perform(tmp_path, osc.port, "--no-midi", "--bpm", "100", control_port=control)
    try:
        wait_for_beats(osc, 4, process)
        before = [args[0] for _, args in osc.received(proto.TEMPO)]
        send(control, proto.BPM, 120.0)
        changed = len(osc.received(proto.TEMPO))
        finish(process)
    finally:
        osc.close()
    after = [args[0] for _, args in osc.received(proto.TEMPO)][changed + 1:]
    print(f"\n--bpm 100: {np.round(before, 1).tolist()}; /rhythmicnet/bpm 120: {np.round(after, 1).tolist()}")
    assert len(before) >= 4 and all(96 <= bpm <= 104.5 for bpm in before)  # the dancer is at about 106
    assert len(after) >= 3 and all(115 <= bpm <= 125.5 for bpm in after)


@pytest.mark.realtime
def test_tap_tempo_and_downbeat_over_osc(tmp_path):
    osc, control = OscReceiver(), free_port()
    process = start_perform(tmp_path, osc.port, "--no-midi", control_port=control)
    try:
        check_taps_and_downbeat(tmp_path, osc, process, tap=lambda: send(control, proto.TAP),
                                downbeat=lambda: send(control, proto.DOWNBEAT))
    finally:
        osc.close()


@pytest.mark.realtime
def test_tap_tempo_and_downbeat_from_a_midi_pad(sync_jack_server, tmp_path):
    """``perform --tap-in PORT``: a drum pad's note-ons tap the beat, ``--downbeat-note`` says "this beat is one",
    exactly as the OSC messages do (through a synchronous JACK server, which loses no message)."""
    import rtmidi

    osc = OscReceiver()
    pad = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name="pad")
    pad.open_virtual_port(f"pads-{os.getpid()}")
    try:
        process = start_perform(tmp_path, osc.port, "--no-midi", "--tap-in", f"pads-{os.getpid()}",
                                "--downbeat-note", "37")
        err = check_taps_and_downbeat(tmp_path, osc, process, tap=lambda: pad.send_message([0x99, 36, 100]),
                                      downbeat=lambda: pad.send_message([0x99, 37, 100]))
    finally:
        pad.close_port()
        pad.delete()
        osc.close()
    assert f"MIDI tap in: pad:pads-{os.getpid()}" in err


def check_taps_and_downbeat(tmp_path, osc: OscReceiver, process: subprocess.Popen, tap, downbeat) -> str:
    """Tap 3 times at 96 BPM (``tap()`` sends one), then say "one" (``downbeat()``) while ``process`` performs;
    check that the taps gave the tempo and the phase and that the bar follows the downbeat. Returns its stderr."""
    wait_for_beats(osc, 3, process)
    taps = []
    for _ in range(3):
        taps.append(time.monotonic())
        tap()
        time.sleep(0.625)  # 96 BPM
    tapped = len(osc.received(proto.TEMPO))
    wait_for_beats(osc, len(osc.received(proto.BEAT)) + 2, process)
    downbeat()
    said_one = time.monotonic()
    err = finish(process)
    after_taps = [args[0] for _, args in osc.received(proto.TEMPO)][tapped + 1:]
    print(f"\ntapped 96 BPM: tempo then {np.round(after_taps, 1).tolist()}")
    # held within the known-tempo tolerance (4%) of 96, plus one step of the decoder's tempo grid
    assert len(after_taps) >= 2 and all(96 * 0.95 <= bpm <= 96 * 1.05 for bpm in after_taps)
    origin, journal = journal_of(tmp_path)
    beats = journal.of_type("beat")
    tapped_beat, period = tap_grid(taps)
    after = [origin + b["t"] for b in beats if origin + b["t"] > taps[-1]][:3]
    off_grid = [1e3 * (abs((t - tapped_beat + period / 2) % period - period / 2)) for t in after]
    print(f"beats after the taps, ms off the taps' grid: {np.round(off_grid, 1).tolist()}")
    assert min(off_grid) < 20.0  # the taps gave the phase (a tap's trip over loopback or JACK: about 1 ms)
    one = min(beats, key=lambda b: abs(origin + b["t"] - said_one))  # "this beat is one"
    later = [b for b in beats if b["index"] > one["index"] + 1]  # announced after the downbeat message
    assert later and all(b["position_in_bar"] == (b["index"] - one["index"]) % 4 for b in later)
    return err


def test_tap_reader_reads_notes_and_a_foot_switch_at_their_arrival():
    """``TapReader`` (what ``--tap-in`` does with each message): a note-on taps, the downbeat note says "one", a
    sustain pedal taps once per press; note-offs, velocity 0 and other controllers do nothing. Each event is dated
    by the MIDI timestamps, whatever delay the reading thread added."""
    from rhythmicnet_live.live.midi_in import TapReader

    class Controls:
        def __init__(self):
            self.events = []

        def tap(self, t):
            self.events.append(("tap", round(t, 6)))

        def downbeat(self, t):
            self.events.append(("downbeat", round(t, 6)))

    controls = Controls()
    reader = TapReader(controls, downbeat_note=60)
    midi_time, read_delay = 0.0, [0.030, 0.002, 0.050, 0.001, 0.0, 0.020, 0.004, 0.001, 0.080]
    for (message, delta), delay in zip([([0x90, 40, 90], 0.0), ([0x80, 40, 0], 0.1), ([0x90, 41, 0], 0.1),
                                        ([0xB0, 64, 127], 0.1), ([0xB0, 64, 100], 0.1), ([0xB0, 64, 0], 0.1),
                                        ([0xB0, 1, 127], 0.1), ([0xB0, 64, 127], 0.1), ([0x9F, 60, 1], 0.1)],
                                       read_delay):
        midi_time += delta
        reader.read(message, delta, 100.0 + midi_time + delay)  # arrived at 100 s + MIDI time, read later
    assert [kind for kind, _ in controls.events] == ["tap", "tap", "tap", "downbeat"]
    arrived = [100.0, 100.3, 100.7, 100.8]
    # the first tap is as late as its read (nothing better known yet); once a message is read within 1 ms, the
    # later ones are dated to within 1 ms of their arrival however late they were read
    assert [t for _, t in controls.events][1:] == pytest.approx(arrived[1:], abs=1.5e-3)
    with pytest.raises(UserInputError, match="0-127"):
        TapReader(controls, downbeat_note=128)


class DawClock:
    """A JACK MIDI output named ``port`` sending MIDI clock at ``bpm`` (24 per quarter note) on a thread, like a
    DAW with MIDI clock sync out; ``send(status)`` sends Start, Stop... in between."""

    def __init__(self, port: str, bpm: float) -> None:
        import rtmidi
        import threading

        self._rt = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name="daw")
        self._rt.open_virtual_port(port)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._tick = 60.0 / (bpm * 24)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from rhythmicnet_live.live.timing import try_realtime, wait_until

        try_realtime()  # a DAW's clock thread is real-time: on a loaded machine a normal thread falls behind
        next_tick = time.monotonic()
        while not self._stop.is_set():
            wait_until(next_tick)
            self.send(0xF8)
            next_tick += self._tick

    def send(self, status: int) -> None:
        with self._lock:
            self._rt.send_message([status])

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._rt.close_port()
        self._rt.delete()


def test_clock_in_follows_a_daw_tempo_and_its_stop_and_start(sync_jack_server, tmp_path):
    """Through a synchronous JACK server: the asynchronous one loses Clock messages on a loaded machine, and the
    tempo from the Clocks that arrive is then slower (85.5 BPM for this 90 BPM clock in one CI run)."""
    osc = OscReceiver()
    daw = DawClock(f"clock-out-{os.getpid()}", bpm=90.0)
    try:
        daw.send(0xFA)  # Start
        process = start_perform(tmp_path, osc.port, "--no-midi", "--clock-in", f"clock-out-{os.getpid()}")
        wait_for_beats(osc, 4, process)
        while len(osc.received(proto.NOTE)) < 3 and process.poll() is None:
            time.sleep(0.01)
        daw.send(0xFC)  # Stop
        time.sleep(0.3)
        notes_at_stop, beats_at_stop = len(osc.received(proto.NOTE)), len(osc.received(proto.BEAT))
        time.sleep(1.5)
        notes_stopped = len(osc.received(proto.NOTE))
        daw.send(0xFA)  # Start again
        err = finish(process)
    finally:
        daw.close()
        osc.close()
    assert "MIDI clock in: daw:clock-out" in err
    tempos = [args[0] for _, args in osc.received(proto.TEMPO)]
    print(f"\nDAW at 90 BPM: tempo {np.round(tempos, 1).tolist()}")
    # Held within 4 % of the clock (the grid follows the body within that); the dancer alone is at about 106.
    # The median, since this test's own clock thread falls behind when the machine is overloaded.
    assert len(tempos) >= 4 and 85.5 <= np.median(tempos) <= 94.5
    assert notes_stopped == notes_at_stop  # Stop silences the engine
    assert len(osc.received(proto.BEAT)) > beats_at_stop  # while the beat goes on
    assert len(osc.received(proto.NOTE)) > notes_stopped  # Start brings the notes back
