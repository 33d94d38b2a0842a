"""Every way a performance can end leaves no note sounding, read back by a real JACK MIDI input that behaves
like a synth; and the journal holds exactly the notes that input received.

Each case runs ``rhythmicnet-live perform`` on a real clip as a subprocess in its own session (so a signal to
its process group reaches the engine and its helpers, never pytest), ``RUNS`` times.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from pythonosc.osc_message_builder import build_msg

from jack_server import JackMidiRecorder, JackServer
from live_helpers import wait_for
from rhythmicnet_live.live import osc_protocol as proto
from rhythmicnet_live.live.journal import read_journal
from rhythmicnet_live.live.midi_out import CC_ALL_NOTES_OFF, CC_ALL_SOUND_OFF

CLIP = Path(__file__).parent / "fixtures" / "jump_8s_480x270.mp4"
RUNS = 3
#: Note-ons the reader must have received before the case acts (the performance is in full swing).
NOTES_BEFORE = 4


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Synth:
    """What a synth connected to the engine's JACK port hears: a reader that (re)connects whenever the port
    (re)appears, as a patchbay does. A note-on starts a note, a note-off (or velocity 0) ends it, CC 123 or
    CC 120 ends every note of its channel; ``stuck()`` is the notes still sounding."""

    def __init__(self, port: str) -> None:
        import rtmidi

        self.port = port
        self.readers: list[JackMidiRecorder] = []
        self._probe = rtmidi.MidiIn(rtapi=rtmidi.API_UNIX_JACK, name="rhythmicnet-probe")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        present = False
        while not self._stop.wait(0.01):
            try:
                now = any(self.port in p for p in self._probe.get_ports())
            except Exception:  # a port vanished while being listed
                continue
            if now and not present:
                try:
                    self.readers.append(JackMidiRecorder(self.port, client_name=f"synth-{len(self.readers)}"))
                except Exception:  # the port vanished again between listing and connecting
                    now = False
            present = now

    def received(self) -> list:
        arrivals = sorted((a for r in list(self.readers) for a in r.arrivals()), key=lambda a: a[0])
        return [m for _, m in arrivals]

    def note_ons(self) -> list:
        return [m for m in self.received() if m.type == "note_on" and m.velocity > 0]

    def stuck(self, messages=None) -> set[tuple[int, int]]:
        sounding: set[tuple[int, int]] = set()
        for m in self.received() if messages is None else messages:
            if m.type == "note_on" and m.velocity > 0:
                sounding.add((m.channel, m.note))
            elif m.type in ("note_on", "note_off"):
                sounding.discard((m.channel, m.note))
            elif m.type == "control_change" and m.control in (CC_ALL_NOTES_OFF, CC_ALL_SOUND_OFF):
                sounding = {k for k in sounding if k[0] != m.channel}
        return sounding

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for reader in self.readers:
            reader.close()
        self._probe.delete()


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` running multiprocessing's spawn entry (the sender process)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True


class Performance:
    """``perform`` on CLIP to a JACK port named after the run, its journal in ``folder``."""

    def __init__(self, folder: Path, name: str) -> None:
        self.port = f"RN-{name}-{os.getpid()}"
        self.control = free_port()
        self.folder = folder
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rhythmicnet_live.cli", "perform", "--video", str(CLIP), "--midi-api", "jack",
             "--midi-port", self.port, "--midi-client-name", self.port, "--osc", f"127.0.0.1:{free_port()}",
             "--control-port", str(self.control), "--journal-dir", str(folder)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.sender: int | None = None

    def control_message(self, address: str) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(build_msg(address, "").dgram, ("127.0.0.1", self.control))

    def finish(self, timeout: float = 60.0) -> tuple[int, str]:
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            out, err = self.process.communicate()
            pytest.fail(f"perform did not end within {timeout} s:\n{err[-3000:]}")
        return self.process.returncode, out + err


def act(case: str, perf: Performance, synth: Synth) -> None:
    pid = perf.process.pid
    if case == "sigint_process":
        os.kill(pid, signal.SIGINT)
    elif case == "sigint_group":
        os.killpg(pid, signal.SIGINT)
    elif case == "sigterm":
        os.kill(pid, signal.SIGTERM)
    elif case == "sigkill_main":
        os.kill(pid, signal.SIGKILL)
    elif case == "sigkill_group":
        os.killpg(pid, signal.SIGKILL)
    elif case == "sigkill_sender":
        os.kill(perf.sender, signal.SIGKILL)
        # a new sender re-opens the port; the synth reconnects and hears All Notes Off, then music again
        assert wait_for(lambda: len(synth.readers) >= 2, timeout=60), "the port never came back"
        assert wait_for(lambda: any(m.type == "control_change" and m.control == CC_ALL_NOTES_OFF
                                    for m in synth.readers[1].received()), timeout=10)
    elif case == "panic":
        perf.control_message(proto.PANIC)
        assert wait_for(lambda: any(m.type == "control_change" and m.control == CC_ALL_NOTES_OFF
                                    for m in synth.received()), timeout=10)
        messages = synth.received()
        last_cc = max(i for i, m in enumerate(messages) if m.type == "control_change")
        assert not synth.stuck(messages[:last_cc + 1]), "notes sounding right after /panic"
    elif case != "natural_end":
        raise ValueError(case)


CASES = ["sigint_process", "sigint_group", "sigterm", "sigkill_main", "sigkill_group", "sigkill_sender", "panic",
         "natural_end"]
#: Exit status of perform per case (None: killed, -9).
STATUS = {"sigint_process": 130, "sigint_group": 130, "sigterm": 0, "sigkill_main": -9, "sigkill_group": -9,
          "sigkill_sender": 0, "panic": 0, "natural_end": 0}


@pytest.mark.parametrize("case", CASES)
def test_no_stuck_note_however_the_performance_ends(case, jack_server, tmp_path):
    stuck_per_run: list[int] = []
    details: list[str] = []
    for run in range(RUNS):
        perf = Performance(tmp_path / f"run{run}", f"{case}-{run}")
        synth = Synth(perf.port)
        try:
            assert wait_for(lambda: len(synth.note_ons()) >= NOTES_BEFORE, timeout=90), perf.finish(1)[1]
            perf.sender = children(perf.process.pid)[0]
            act(case, perf, synth)
            status, output = perf.finish()
            assert wait_for(lambda: gone(perf.sender), timeout=15), "the sender outlived the performance"
            time.sleep(0.5)  # the last messages reach the reader
            stuck_per_run.append(len(synth.stuck()))
            if stuck_per_run[-1]:
                details.append(f"run {run}: stuck {sorted(synth.stuck())}, last messages {synth.received()[-12:]}")
            assert status == STATUS[case], output[-3000:]
            if status >= 0:
                assert "Traceback" not in output, output[-3000:]
                assert sum(line.startswith("performance ") for line in output.splitlines()) == 1, output
        finally:
            if perf.process.poll() is None:
                os.killpg(perf.process.pid, signal.SIGKILL)
                perf.process.wait()
            synth.close()
    print(f"{case}: stuck notes per run {stuck_per_run}")
    assert stuck_per_run == [0] * RUNS, details


@pytest.mark.parametrize("case", ["natural_end", "sigterm"])
def test_journal_holds_exactly_the_notes_the_reader_received(case, sync_jack_server, tmp_path):
    perf = Performance(tmp_path, f"journal-{case}")
    synth = Synth(perf.port)
    try:
        assert wait_for(lambda: len(synth.note_ons()) >= NOTES_BEFORE, timeout=90), perf.finish(1)[1]
        if case == "sigterm":
            os.kill(perf.process.pid, signal.SIGTERM)
        status, output = perf.finish()
        assert status == 0, output[-3000:]
        time.sleep(0.5)
        heard = Counter((m.channel, m.note, m.velocity) for m in synth.note_ons())
    finally:
        synth.close()
    journal = read_journal(next(tmp_path.glob("*.jsonl")))
    written = Counter((e["channel"], e["pitch"], e["velocity"]) for e in journal.of_type("note"))
    assert sum(heard.values()) >= NOTES_BEFORE
    assert written == heard, (f"journal minus heard {written - heard}, heard minus journal {heard - written}")
    result = subprocess.run([sys.executable, "-m", "rhythmicnet_live.cli", "take", "--from-journal",
                             str(next(tmp_path.glob("*.jsonl"))), "-o", str(tmp_path / "take")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    import mido

    ons = Counter((m.channel, m.note, m.velocity) for m in mido.MidiFile(tmp_path / "take" / "take.mid")
                  if m.type == "note_on" and m.velocity > 0)
    assert ons == heard


def test_failed_start_leaves_no_journal(tmp_path):
    """The control port is taken: perform fails with one error line and writes no journal."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        result = subprocess.run(
            [sys.executable, "-m", "rhythmicnet_live.cli", "perform", "--video", str(CLIP), "--no-midi",
             "--osc", f"127.0.0.1:{free_port()}", "--control-port", str(taken.getsockname()[1]),
             "--journal-dir", str(tmp_path / "takes")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1].startswith("error: cannot listen")
    assert "Traceback" not in result.stderr
    assert not list((tmp_path / "takes").glob("*.jsonl")) if (tmp_path / "takes").exists() else True


def perform_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rhythmicnet_live.cli", "perform", *args], capture_output=True,
                          text=True, timeout=timeout)


def one_error_line(result: subprocess.CompletedProcess, text: str) -> None:
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and text in errors[0], result.stderr[-3000:]


def test_bad_outputs_are_one_error_line_before_the_performance(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    common = ["--video", str(CLIP), "--no-midi", "--osc", f"127.0.0.1:{free_port()}", "--control-port", str(free_port())]
    result = perform_cli(*common, "--journal-dir", str(a_file / "takes"))
    one_error_line(result, "cannot write the journal")
    assert "performance" not in result.stdout
    result = perform_cli(*common, "--journal-dir", str(tmp_path / "takes"), "--stats", str(a_file / "stats.json"))
    one_error_line(result, "--stats")
    assert "MIDI out" not in result.stderr and not (tmp_path / "takes").exists()  # refused before starting
    result = perform_cli(*common, "--stats", str(tmp_path))
    one_error_line(result, "is a folder")
    result = perform_cli("--video", str(CLIP), "--no-midi", "--osc", "no.such.host.invalid:9000",
                         "--journal-dir", str(tmp_path / "takes"))
    one_error_line(result, "no.such.host.invalid")
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unknown_tap_in_port_is_one_error_line(jack_server, tmp_path):
    result = perform_cli("--video", str(CLIP), "--no-midi", "--osc", f"127.0.0.1:{free_port()}", "--control-port",
                         str(free_port()), "--journal-dir", str(tmp_path / "takes"), "--midi-api", "jack",
                         "--tap-in", "no-such-pad")
    one_error_line(result, "--tap-in: MIDI port 'no-such-pad' was not found")


def test_list_ports_says_when_there_are_none(jack_server):
    result = perform_cli("--list-ports", "--midi-api", "jack")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert (result.stdout.strip() == "") == ("no MIDI output ports" in result.stderr), result


def test_a_clip_where_nobody_is_seen_says_so(tmp_path):
    import imageio_ffmpeg

    blank = tmp_path / "blank.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    "color=c=gray:s=320x240:r=30:d=3", "-pix_fmt", "yuv420p", str(blank)], check=True, timeout=60)
    result = perform_cli("--video", str(blank), "--no-midi", "--osc", f"127.0.0.1:{free_port()}",
                         "--control-port", str(free_port()), "--journal-dir", str(tmp_path / "takes"))
    one_error_line(result, "nobody was seen")
    assert result.stdout.startswith("performance over")
