"""Live-engine latency on real clips played in real time (as a camera would deliver them), up to the synth.

Runs ``perform`` on each clip, MIDI to a JACK virtual port (a private JACK server; no MIDI if jackd is
missing) and OSC to loopback, with the trained beat model (when shipped) and with the no-learning activation
(the baseline), and prints per-stage latency p50/p95/p99 (ms), scheduler jitter (sent minus intended),
dropped frames and the generation time per bar against the bar's duration (the "sent" figures); then how late
the notes reach a synth: a JACK MIDI reader on the perform's port and, when ``fluidsynth`` is on PATH and the
``jack`` module (``pip install JACK-Client``) is installed, FluidSynth's audio. Not a test: nothing is asserted.

    python benchmarks/bench_live.py [VIDEO ...]

Definitions (times are ``time.monotonic()`` seconds; the scheduler's output latency is 0, the default):

- predicted note: a note of a beat the transport predicted, scheduled ahead for the beat's due time (the time
  the scheduler was asked for); latency = arrival - due. The capture-to-decision time shows in it only when
  the analysis decided after the due time (the note then leaves at once, or not at all when more than the
  scheduler's ``max_late_s`` late: "notes not sent (late)").
- accent: the drum hit a sudden move triggers at once; latency = arrival - capture time of the frame that
  confirmed the move (``EngineStats.accent_times_s``); "handed to sender" = arrival - the time the engine
  handed it to the sender process.
- MIDI arrival: the JACK process cycle in which a reader on the perform's port (``JackMidiRecorder``, as a
  synth would listen) got the note-on, timed by rtmidi in JACK's process thread (``JackMidiRecorder.stamped``,
  no GIL wait). Reader note-ons are matched to the notes the sender sent (the journal: due time, channel,
  pitch, velocity) per (channel, pitch, velocity) in due order, from 10 ms before due until the next note of
  that key is due (at most 250 ms).
- audio arrival: FluidSynth (MIDI from the perform's port; the piano channel muted so that drum onsets stand
  alone) renders a note in the cycle its MIDI arrives in; a JACK audio client in another process records its
  output with the monotonic time of each cycle's process callback. A drum note's onset (``onsets``) is placed
  on the timeline callback time + sample offset in the cycle; notes due within 1 ms share one onset, matched
  like the MIDI. A sound card adds its playback buffer (``jack_lsp -l``); the dummy driver has none.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, nullcontext
from pathlib import Path

import numpy as np
import pretty_midi
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the test suite's JACK helpers
from jack_server import JackMidiRecorder, JackServer  # noqa: E402
from rhythmicnet_live.analysis.activation import KinematicActivation
from rhythmicnet_live.analysis.beat_model import MODEL_NAME, ModelActivation
from rhythmicnet_live.config import Config
from rhythmicnet_live.errors import UserInputError
from rhythmicnet_live.live.journal import read_journal
from rhythmicnet_live.live.perform import perform
from rhythmicnet_live.models import has_model
from rhythmicnet_live.notes import DRUM_CHANNEL, PIANO_CHANNEL

ROOT = Path(__file__).resolve().parent.parent
CLIPS = [ROOT / "examples" / "tiktokgestdance.mp4", ROOT / "tests" / "fixtures" / "jump_8s_480x270.mp4"]
SOUNDFONT = Path(pretty_midi.__file__).resolve().parent / "TimGM6mb.sf2"
PORT, READER = "RhythmicNet-bench", "rhythmicnet-bench-reader"
#: Goal p95 (ms): capture to a predicted beat's note, and to an accent (issue 14).
GOAL_PREDICTED_MS, GOAL_ACCENT_MS = 30.0, 35.0


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values) -> str:
    if len(values) == 0:
        return f"{'-':>8}{'-':>8}{'-':>8}{0:>6}"
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return f"{p50:8.2f}{p95:8.2f}{p99:8.2f}{len(values):>6}"


def record_audio(sources: list[str], path: str, ready, stop) -> None:
    """Child process: a JACK client summing the audio ports ``sources`` into one input, until ``stop``; saves
    ``path`` (npz): t (monotonic s of each cycle's process callback), audio (cycles, frames), rate (Hz)."""
    import jack

    client = jack.Client("rhythmicnet-bench-audio", no_start_server=True)
    ports = [client.inports.register(f"in_{i}") for i in range(len(sources))]
    blocks: list[tuple[float, np.ndarray]] = []

    @client.set_process_callback
    def process(frames: int) -> None:
        blocks.append((time.monotonic(), np.sum([p.get_array() for p in ports], axis=0)))

    rate, frames = client.samplerate, client.blocksize
    with client:
        for source, port in zip(sources, ports):
            client.connect(source, port)
        ready.set()
        stop.wait()
    t, audio = zip(*blocks) if blocks else ((), np.zeros((0, frames)))
    np.savez(path, t=np.array(t), audio=np.array(audio), rate=rate)


def onsets(t: np.ndarray, audio: np.ndarray, rate: int, hop_s: float = 0.001,
           refractory_s: float = 0.050) -> np.ndarray:
    """Onset times (monotonic s) in recorded cycles ``audio`` (cycles, frames) whose callbacks ran at ``t``: a
    2 ms frame (every ``hop_s``) with 4 times the energy of every frame of the 20 ms before it (a drum sample's
    own ripples never do that), at least ``refractory_s`` after the previous onset; then the first sample
    reaching 10 % of the peak of the next 10 ms."""
    x = audio.ravel()
    times = (t[:, None] + np.arange(audio.shape[1]) / rate).ravel()
    hop, ahead, refractory, past = int(rate * hop_s), int(rate * 0.010), int(refractory_s / hop_s), int(0.020 / hop_s)
    n = len(x) // hop
    if n < 3:
        return np.zeros(0)
    energy = np.convolve((x[:n * hop] ** 2).reshape(n, hop).sum(1), np.ones(2), "valid")  # frame i: hops i, i+1
    before = sliding_window_view(np.concatenate([np.zeros(past - 1), energy]), past).max(1)  # frames i-past+1..i
    found: list[int] = []
    for i in np.flatnonzero(energy[1:] >= 4.0 * before[:-1] + 1e-4):
        if not found or i - found[-1] >= refractory:
            found.append(i)
    starts = [i * hop for i in found]
    return np.array([times[s + int(np.argmax(np.abs(x[s:s + ahead]) >= 0.1 * np.abs(x[s:s + ahead]).max()))]
                     for s in starts])


def first_in_windows(dues: list[float], times: list[float] | np.ndarray) -> list[float | None]:
    """For due times in order, the first unused time from 10 ms before each until the next is due (at most 250
    ms after): a note's arrival, never one that may be the next note's."""
    times = np.sort(np.asarray(times, dtype=float))
    out: list[float | None] = []
    j = 0
    for k, due in enumerate(dues):
        end = min(due + 0.250, dues[k + 1]) if k + 1 < len(dues) else due + 0.250
        while j < len(times) and times[j] < due - 0.010:
            j += 1
        if j < len(times) and times[j] < end:
            out.append(float(times[j]))
            j += 1
        else:
            out.append(None)
    return out


def match_midi(sent: list[dict], stamped: list) -> dict[int, float]:
    """Index in ``sent`` (journal notes, ``due`` in monotonic s) -> arrival (s) of its note-on at the reader,
    per (channel, pitch, velocity) (see ``first_in_windows``)."""
    arrivals: dict[tuple, list[float]] = {}
    for t, m in stamped:
        if m.type == "note_on" and m.velocity > 0:
            arrivals.setdefault((m.channel, m.note, m.velocity), []).append(t)
    keys: dict[tuple, list[int]] = {}
    for i in sorted(range(len(sent)), key=lambda i: sent[i]["due"]):
        keys.setdefault((sent[i]["channel"], sent[i]["pitch"], sent[i]["velocity"]), []).append(i)
    matched = {}
    for key, notes in keys.items():
        for i, t in zip(notes, first_in_windows([sent[i]["due"] for i in notes], arrivals.get(key, []))):
            if t is not None:
                matched[i] = t
    return matched


def match_audio(sent: list[dict], heard: np.ndarray) -> dict[int, float]:
    """Index in ``sent`` (drum notes) -> audio onset (s): notes due within 1 ms of each other share one onset
    (see ``first_in_windows``)."""
    groups: list[list[int]] = []
    for i in sorted(range(len(sent)), key=lambda i: sent[i]["due"]):
        if groups and sent[i]["due"] - sent[groups[-1][0]]["due"] < 0.001:
            groups[-1].append(i)
        else:
            groups.append([i])
    found = first_in_windows([sent[g[0]]["due"] for g in groups], heard)
    return {i: t for group, t in zip(groups, found) if t is not None for i in group}


class Synth:
    """FluidSynth as a JACK client (piano channel muted), or None from ``start`` when it cannot run here."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc

    @classmethod
    def start(cls, tmp: Path) -> "Synth | None":
        try:
            import jack  # noqa: F401  (the audio recorder's)
        except (ImportError, OSError):
            print("no audio measurement: the jack module is missing (pip install JACK-Client)")
            return None
        if shutil.which("fluidsynth") is None or shutil.which("jack_connect") is None:
            print("no audio measurement: fluidsynth or jack_connect is not installed")
            return None
        commands = tmp / "fluidsynth.cmd"
        commands.write_text(f"cc {PIANO_CHANNEL} 7 0\n")
        # -s with a shell port keeps it running without a terminal; no autoconnect: the benchmark wires it
        proc = subprocess.Popen(["fluidsynth", "-a", "jack", "-m", "jack", "-i", "-s",
                                 "-o", f"shell.port={free_port(socket.SOCK_STREAM)}", "-o", "midi.autoconnect=0",
                                 "-o", "audio.jack.autoconnect=0", "-g", "1.0", "-f", str(commands), str(SOUNDFONT)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while "fluidsynth-midi:midi_00" not in subprocess.run(["jack_lsp"], capture_output=True, text=True).stdout:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                print("no audio measurement: FluidSynth's JACK ports did not appear")
                return None
            time.sleep(0.2)
        return cls(proc)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class Listeners:
    """For one performance: once the perform's port exists, a JackMidiRecorder on it and (with ``synth``) the
    synth's MIDI input; with ``synth``, the audio recorder child from the start."""

    def __init__(self, synth: Synth | None, tmp: Path) -> None:
        self.synth, self.recorder = synth, None
        self.audio_path = tmp / "audio.npz"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._connect, daemon=True)
        self._audio = None
        if synth is not None:
            ctx = mp.get_context("spawn")
            ready, self._audio_stop = ctx.Event(), ctx.Event()
            self._audio = ctx.Process(target=record_audio, args=(["fluidsynth-midi:left", "fluidsynth-midi:right"],
                                                                 str(self.audio_path), ready, self._audio_stop))
            self._audio.start()
            if not ready.wait(60):
                raise UserInputError("the audio recorder did not start")
        self._thread.start()

    def _connect(self) -> None:
        """Connect the reader (and the synth) to the perform's port; again while the reader hears nothing for 3 s
        (the sender's All Notes Off at 0, 0.5, 1 and 2 s after the port opens: a reader that got none is on a
        port that is gone, e.g. the last run's)."""
        while not self._stop.is_set():
            try:
                recorder = JackMidiRecorder(PORT, client_name=READER)
            except UserInputError:
                self._stop.wait(0.2)
                continue
            if self.synth is not None:
                subprocess.run(["jack_connect", recorder.port_name, "fluidsynth-midi:midi_00"], capture_output=True)
            self.recorder = recorder
            if self._stop.wait(3.0) or recorder.arrivals():
                return
            self.recorder = None
            recorder.close()

    def close(self) -> tuple[list, tuple | None]:
        """Stop listening: (reader note-ons stamped, (t, audio, rate) recorded or None)."""
        self._stop.set()
        self._thread.join()
        stamped = []
        if self.recorder is not None:
            stamped = self.recorder.stamped()
            self.recorder.close()
        audio = None
        if self._audio is not None:
            self._audio_stop.set()
            self._audio.join(30)
            if self.audio_path.exists():
                with np.load(self.audio_path) as z:
                    audio = (z["t"], z["audio"], int(z["rate"]))
        return stamped, audio


def accent_capture(accents, due: float) -> float | None:
    """Capture time (s) of the accent due at ``due`` (the journal keeps microseconds), None if it is no accent."""
    return next((capture for capture, at in accents if abs(at - due) < 2e-6), None)


def synth_rows(stats, journal_dir: Path, stamped: list, audio: tuple | None) -> list[tuple[str, list[float]]]:
    """Latency rows (ms) at the MIDI reader and at the synth's audio; see the module docstring."""
    journal = read_journal(next(journal_dir.glob("*.jsonl")))
    origin = journal.header["origin_monotonic"]
    sent = [{**r, "due": origin + r["t"]} for r in journal.of_type("note")]
    capture = [accent_capture(stats.accent_times_s, n["due"]) if n["channel"] == DRUM_CHANNEL else None for n in sent]

    def ms(arrivals: dict[int, float], accents: bool, since: str = "due") -> list[float]:
        """arrival minus due (or capture) per predicted note, or per accent."""
        return [1e3 * (a - (capture[i] if since == "capture" else sent[i]["due"]))
                for i, a in arrivals.items() if (capture[i] is not None) == accents]

    midi = match_midi(sent, stamped)
    rows = [("predicted note: MIDI arrival - due", ms(midi, False)),
            ("accent: MIDI arrival - capture", ms(midi, True, "capture")),
            ("accent: MIDI arrival - handed to sender", ms(midi, True))]
    if audio is not None:
        drums = [i for i, n in enumerate(sent) if n["channel"] == DRUM_CHANNEL]
        heard = onsets(*audio)
        sound = {drums[j]: t for j, t in match_audio([sent[i] for i in drums], heard).items()}
        rows += [("predicted drum: audio onset - due", ms(sound, False)),
                 ("accent: audio onset - capture", ms(sound, True, "capture")),
                 ("drum: audio onset - MIDI arrival", [1e3 * (a - midi[i]) for i, a in sound.items() if i in midi])]
        print(f"drum notes sent {len(drums)}, with an audio onset {len(sound)}; onsets found {len(heard)}")
    print(f"notes sent {len(sent)} (accents {sum(c is not None for c in capture)}), matched at the MIDI reader "
          f"{len(midi)} (messages read {len(stamped)})")
    return rows


def late_jack_cycles(jack) -> int:
    """Cycles jackd reported as not finished in time so far (0 without a JackServer)."""
    return jack.log_text().count("not finished") if isinstance(jack, JackServer) else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", nargs="*", type=Path, default=CLIPS)
    args = parser.parse_args()
    jack = JackServer() if JackServer.available() else nullcontext()
    with jack, tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        synth = None
        if not isinstance(jack, nullcontext):
            synth = Synth.start(Path(tmp))
            if synth is not None:
                stack.callback(synth.close)
        for n, video in enumerate(args.videos):
            activations = [("kinematic (baseline)", KinematicActivation())]
            if has_model(MODEL_NAME):
                activations.insert(0, ("beat model", ModelActivation()))
            for m, (name, activation) in enumerate(activations):
                run_dir = Path(tmp) / f"run{n}-{m}"
                run_dir.mkdir()
                config = Config()
                config.midi.enabled = not isinstance(jack, nullcontext)
                config.midi.api = "jack"
                config.midi.port = PORT
                config.osc.port = free_port()
                config.control.port = free_port()
                config.journal.dir = str(run_dir)
                listeners = Listeners(synth, run_dir) if config.midi.enabled else None
                load, late_cycles = os.getloadavg()[0], late_jack_cycles(jack)
                stats = perform(config.validate(), video=video, activation=activation)
                stamped, audio = listeners.close() if listeners is not None else ([], None)
                late_cycles = late_jack_cycles(jack) - late_cycles
                midi = f"JACK virtual port ({late_cycles} late cycles in jackd's log)" if config.midi.enabled else "off"
                print(f"\n{video.name}, activation: {name}, MIDI: {midi}, load average (1 min) {load:.2f} at the "
                      f"start, {os.getloadavg()[0]:.2f} at the end")
                print(f"frames {stats.frames}, dropped {stats.dropped}, beats {stats.beats}, bars generated "
                      f"{stats.bars_generated}, bars not ready in time {stats.bars_late}, notes not sent (late) "
                      f"{stats.notes_late}")
                rows = [
                    ("pose", stats.pose_ms),
                    ("rhythm (keypoints+activation+HMM+style)", stats.rhythm_ms),
                    ("capture -> decision (frame analysed)", stats.capture_to_decision_ms),
                    ("capture -> accent sent", stats.accent_capture_to_send_ms),
                    ("generation per bar", stats.generation_ms),
                    ("scheduler jitter (sent - intended)", stats.jitter_ms),
                    ("OSC beat/tempo/style sent - due", stats.osc_event_ms),
                ]
                if config.midi.enabled:
                    rows += synth_rows(stats, run_dir, stamped, audio)
                print(f"{'stage (ms)':<42}{'p50':>8}{'p95':>8}{'p99':>8}{'n':>6}")
                for label, values in rows:
                    print(f"{label:<42}{pct(values)}")
                if stats.bar_s:
                    print(f"{'bar duration':<42}{1e3 * float(np.median(stats.bar_s)):8.0f}  (median, ms)")
                print(f"goal p95: predicted note < {GOAL_PREDICTED_MS:.0f} ms, accent < {GOAL_ACCENT_MS:.0f} ms")


if __name__ == "__main__":
    main()
