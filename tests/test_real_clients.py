"""Programs nobody here wrote as clients: Pure Data receives the OSC stream through the shipped patch, and
FluidSynth, a JACK MIDI synth, plays the drums from the RhythmicNet port while its audio is recorded."""

import os
import shutil
import socket
import subprocess
import time
import wave
from collections import Counter
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
from pythonosc.osc_message_builder import OscMessageBuilder

from test_engine import free_port
from test_transport_live import finish, journal_of, start_perform

ROOT = Path(__file__).resolve().parent.parent
PD_PATCH = ROOT / "max_patches" / "rhythmicnet_receive.pd"
SOUNDFONT = Path(pretty_midi.__file__).resolve().parent / "TimGM6mb.sf2"


def need(program: str, package: str) -> None:
    if shutil.which(program) is None:
        pytest.skip(f"{program} is not installed (apt-get install {package})")


def wait_for_text(path: Path, text: str, timeout: float, poke=None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text(errors="replace"):
            return True
        if poke:
            poke()
        time.sleep(0.1)
    return False


@pytest.mark.realtime
def test_pure_data_receives_the_notes_beats_and_tempo_of_the_journal(tmp_path):
    need("pd", "puredata-core")
    port = free_port()
    log = tmp_path / "pd.log"
    with open(log, "w") as out:
        pd = subprocess.Popen(["pd", "-nogui", "-noaudio", "-nomidi", "-stderr", "-send", f"rhythmicnet-port {port}",
                               "-open", str(PD_PATCH)], stdout=out, stderr=subprocess.STDOUT)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            probe = OscMessageBuilder("/rhythmicnet/probe").build().dgram
            assert wait_for_text(log, "OSC: rhythmicnet probe", 30, lambda: sock.sendto(probe, ("127.0.0.1", port)))
        finish(start_perform(tmp_path, port, "--no-midi"))
        time.sleep(0.5)
    finally:
        pd.terminate()
        pd.wait(timeout=10)
    seen = [line.split()[2:] for line in log.read_text().splitlines() if line.startswith("OSC: rhythmicnet ")]
    _, journal = journal_of(tmp_path)
    pd_notes = Counter((w[1], int(w[2]), int(w[3])) for w in seen if w[0] == "note")
    notes = Counter((r["track"], r["pitch"], r["velocity"]) for r in journal.of_type("note"))
    pd_beats = [(int(w[1]), int(w[2])) for w in seen if w[0] == "beat"]
    beats = [(r["index"], r["position_in_bar"]) for r in journal.of_type("beat")]
    pd_tempo = [float(w[1]) for w in seen if w[0] == "tempo"]
    tempo = [r["bpm"] for r in journal.of_type("tempo")]
    print(f"\nPd saw {sum(pd_notes.values())} of {sum(notes.values())} notes, {len(pd_beats)} of {len(beats)} beats, "
          f"{len(pd_tempo)} tempo messages")
    # A note the scheduler found too late to play (more than 50 ms, on an overloaded machine) is journalled but not
    # sent; the last beat may be due after the end.
    assert not pd_notes - notes and sum(pd_notes.values()) >= 0.8 * sum(notes.values()) > 0
    assert len(beats) >= 6 and pd_beats == beats[:len(pd_beats)] and len(pd_beats) >= len(beats) - 1
    assert np.allclose(pd_tempo, tempo[:len(pd_tempo)], rtol=1e-5) and len(pd_tempo) >= len(tempo) - 1


def onsets(path: Path, hop_s: float = 0.0025) -> np.ndarray:
    """Onset times (s from the start of the file) of a WAV: peaks of the rise in log energy (5 ms frames)."""
    with wave.open(str(path)) as w:
        rate, channels = w.getframerate(), w.getnchannels()
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).reshape(-1, channels).mean(1)
    hop, frame = int(rate * hop_s), int(rate * 0.005)
    n = (len(audio) - frame) // hop
    energy = np.array([np.sum(audio[i * hop:i * hop + frame] ** 2) for i in range(n)])
    rise = np.maximum(np.diff(np.log10(energy + 1e3)), 0)  # energy x1.26 within 2.5 ms: a hit, even on a tail
    peaks = [i for i in range(1, len(rise) - 1) if rise[i] >= 0.1 and rise[i] == rise[max(0, i - 12):i + 12].max()]
    return (np.array(peaks) + 1) * hop_s


@pytest.mark.realtime
def test_fluidsynth_plays_the_drums_within_30_ms_of_the_journal(jack_server, tmp_path):
    need("fluidsynth", "fluidsynth")
    need("jack_capture", "jack-capture")
    with socket.socket() as tcp:  # a free TCP port for FluidSynth's command server, which keeps it running
        tcp.bind(("127.0.0.1", 0))
        shell_port = tcp.getsockname()[1]
    synth = subprocess.Popen(["fluidsynth", "-a", "jack", "-m", "jack", "-i", "-s", "-o", f"shell.port={shell_port}",
                              "-o", "midi.autoconnect=0", "-o", "audio.jack.autoconnect=0", "-g", "1.0", str(SOUNDFONT)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    capture = None
    wav = tmp_path / "synth.wav"
    try:
        deadline = time.monotonic() + 30
        while "fluidsynth-midi:midi_00" not in subprocess.run(["jack_lsp"], capture_output=True, text=True).stdout:
            assert time.monotonic() < deadline, "FluidSynth's JACK ports never appeared"
            time.sleep(0.2)
        capture = subprocess.Popen(["jack_capture", "-d", "40", "-f", "wav", "-b", "16", "-dc", "-s", "-p", "fluidsynth-midi:left",
                                    "-p", "fluidsynth-midi:right", str(wav)],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = time.monotonic()
        # The RhythmicNet client connects its output port to the synth's MIDI input, as a DAW track would listen.
        finish(start_perform(tmp_path, free_port(), "--no-midi-virtual", "--midi-port", "fluidsynth-midi:midi_00",
                             "--no-piano"))
        time.sleep(0.5)
    finally:
        if capture is not None:
            capture.terminate()  # jack_capture writes the file out on SIGTERM
            capture.wait(timeout=20)
        synth.terminate()
        synth.wait(timeout=10)
    origin, journal = journal_of(tmp_path)
    notes = np.unique(np.round([origin + r["t"] - started for r in journal.of_type("note") if r["track"] == "drums"], 3))
    heard = onsets(wav)
    assert len(notes) >= 8 and len(heard) >= 8, (len(notes), len(heard))
    # The file starts once jack_capture has connected, a little after `started`: one offset (0..300 ms) for the
    # whole take, the one that puts most notes on an onset.
    def errors(offset: float) -> np.ndarray:
        return np.array([np.min(np.abs(heard - (t - offset))) for t in notes])

    offset = max(np.arange(0.0, 0.3, 0.001), key=lambda o: np.mean(errors(o) < 0.030))
    error = errors(offset)
    print(f"\n{len(notes)} drum note times, {len(heard)} audio onsets; file offset {1e3 * offset:.1f} ms; "
          f"|onset - note| p50 {1e3 * np.median(error):.1f} ms, p90 {1e3 * np.percentile(error, 90):.1f} ms, "
          f"max {1e3 * error.max():.1f} ms")
    # most notes within 30 ms (onset picking and the dummy JACK driver's periods jitter the rest by a few ms more)
    assert np.median(error) < 0.020 and np.mean(error < 0.030) >= 0.8
