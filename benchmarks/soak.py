"""Soak test of ``perform``: play a looped clip for ``--minutes`` and sample both processes every minute.

Runs ``rhythmicnet-live perform`` on tests/fixtures/jump_8s_480x270.mp4 looped to the length asked (stream copy,
no re-encoding) with MIDI on a private JACK server (read back by ``jack_midi_dump``, a separate JACK client
process, and counted) and OSC notes to
a local counter, and prints one row per ``--interval-s``: RSS of the engine and of the sender process (MB),
their threads and open file descriptors, frames analysed in the interval (keypoint records in the journal),
MIDI note-ons and OSC notes received in the interval. At the end: the engine's dropped-frame count (from
``--stats``) and the growth of each RSS after the first interval.

    python benchmarks/soak.py --minutes 60            # the table of docs/soak.md
    python benchmarks/soak.py --minutes 2 --interval-s 20
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
CLIP = ROOT / "tests" / "fixtures" / "jump_8s_480x270.mp4"
CLIP_S = 8.0


def proc_status(pid: int) -> dict[str, float]:
    """RSS (MB), threads and open file descriptors of ``pid``."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return {"rss_mb": int(fields["VmRSS"].split()[0]) / 1024, "threads": int(fields["Threads"]),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def sender_pid(parent: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                if int(stat.rpartition(")")[2].split()[1]) == parent and b"spawn_main" in (entry / "cmdline").read_bytes():
                    return int(entry.name)
            except OSError:
                continue
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OscCounter:
    """Counts /rhythmicnet/note datagrams arriving on a free loopback port (no parsing, nothing kept)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.notes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except OSError:
                continue
            self.notes += data.startswith(b"/rhythmicnet/note")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


class MidiDumpCounter:
    """Note-ons arriving at a ``jack_midi_dump`` process connected to the JACK output port whose name contains
    ``port``. A reader in a process of its own: an hour of polling rtmidi's JACK input from this process once
    crashed it (a segfault inside rtmidi), and took the soak down with it."""

    def __init__(self, port: str, folder: Path, alive, client_name: str = "soak-reader", timeout_s: float = 120.0) -> None:
        """``alive()``: whether the port's owner still runs (waiting for its port stops when it does not)."""
        self.path = folder / "midi_dump.txt"
        self._file = open(self.path, "w")
        self._dump = subprocess.Popen(["jack_midi_dump", client_name], stdout=self._file, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
        self._offset, self.note_ons = 0, 0
        deadline = time.monotonic() + timeout_s
        while True:
            ports = subprocess.run(["jack_lsp"], capture_output=True, text=True).stdout.split()
            sources = [p for p in ports if port in p and not p.startswith(client_name)]
            if len(sources) == 1 and f"{client_name}:input" in ports:
                subprocess.run(["jack_connect", sources[0], f"{client_name}:input"], check=True)
                return
            if time.monotonic() > deadline or not alive():
                self.close()
                raise RuntimeError(f"JACK MIDI port {port!r} not found exactly once in {ports}")
            time.sleep(0.5)

    def count(self) -> int:
        """All note-ons (velocity > 0) received so far; lines look like ``0: 99 24 64 note on (channel 9): ...``."""
        with open(self.path) as f:
            f.seek(self._offset)
            text = f.read()
        complete = text.rpartition("\n")[0]
        self._offset += len(complete.encode()) + (1 if complete else 0)
        for line in complete.splitlines():
            fields = line.partition(":")[2].split()
            if len(fields) >= 3 and fields[0][0] == "9" and int(fields[2], 16) > 0:
                self.note_ons += 1
        return self.note_ons

    def close(self) -> None:
        self._dump.terminate()
        self._dump.wait(timeout=10)
        self._file.close()


class JournalCounter:
    """Counts keypoint records appended to the journal since the last call (reads only the new bytes)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.offset, self.path = folder, 0, None

    def new_frames(self) -> int:
        if self.path is None:
            found = sorted(self.folder.glob("*.jsonl"))
            if not found:
                return 0
            self.path = found[0]
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        complete = data[:data.rfind(b"\n") + 1]
        self.offset += len(complete)
        return complete.count(b'"type":"keypoints"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="how long to play (minutes, default 60)")
    parser.add_argument("--interval-s", type=float, default=60.0, help="seconds between rows (default 60)")
    args = parser.parse_args()

    import imageio_ffmpeg

    from jack_server import JackServer

    with tempfile.TemporaryDirectory() as tmp, JackServer(name=f"rhythmicnet-soak-{os.getpid()}"):
        tmp = Path(tmp)
        clip = tmp / "loop.mp4"
        loops = math.ceil(args.minutes * 60 / CLIP_S) + 1
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-stream_loop", str(loops), "-i", str(CLIP),
                        "-c", "copy", str(clip)], check=True)
        osc = OscCounter()
        port = f"RhythmicNet-soak-{os.getpid()}"
        stats_path = tmp / "stats.json"
        engine = subprocess.Popen(
            [sys.executable, "-m", "rhythmicnet_live.cli", "perform", "--video", str(clip), "--midi-api", "jack",
             "--midi-port", port, "--midi-client-name", port, "--osc", f"127.0.0.1:{osc.port}", "--control-port", str(free_port()),
             "--journal-dir", str(tmp / "takes"), "--stats", str(stats_path)],
            stdout=open(tmp / "out.txt", "w"), stderr=open(tmp / "err.txt", "w"), cwd=ROOT)  # files: never a full pipe
        try:
            reader = MidiDumpCounter(port, tmp, alive=lambda: engine.poll() is None)
        except RuntimeError as exc:
            engine.kill()
            raise SystemExit(f"perform did not open its port ({exc}): {(tmp / 'err.txt').read_text()[-2000:]}")
        journal = JournalCounter(tmp / "takes")
        sender = sender_pid(engine.pid)
        print(f"soak: {args.minutes:g} min, a row every {args.interval_s:g} s; engine pid {engine.pid}, sender pid {sender}")
        header = ("min", "engine RSS MB", "sender RSS MB", "engine thr", "sender thr", "engine fds", "sender fds",
                  "frames", "MIDI note-ons", "OSC notes")
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        rows, midi_seen, osc_seen = [], 0, 0
        start = time.monotonic()
        end = start + args.minutes * 60
        try:
            while time.monotonic() < end and engine.poll() is None:
                time.sleep(min(args.interval_s, max(0.0, end - time.monotonic())))
                if engine.poll() is not None:
                    break
                e, s = proc_status(engine.pid), proc_status(sender)
                ons = reader.count()
                row = ((time.monotonic() - start) / 60, e["rss_mb"], s["rss_mb"], e["threads"], s["threads"],
                       e["fds"], s["fds"], journal.new_frames(), ons - midi_seen, osc.notes - osc_seen)
                midi_seen, osc_seen = ons, osc.notes
                rows.append(row)
                print(f"| {row[0]:.1f} | {row[1]:.1f} | {row[2]:.1f} | " + " | ".join(str(v) for v in row[3:]) + " |",
                      flush=True)
        finally:
            if engine.poll() is None:
                engine.send_signal(signal.SIGTERM)
            engine.wait(timeout=60)
            reader.close()
            osc.close()
        out, err = (tmp / "out.txt").read_text(), (tmp / "err.txt").read_text()
        print(out.strip())
        if stats_path.exists():
            stats = json.loads(stats_path.read_text())
            print(f"frames {stats['frames']}, dropped {stats['dropped']}, beats {stats['beats']}, "
                  f"bars late {stats['bars_late']}")
        if len(rows) >= 2:
            print(f"RSS growth after the first row: engine {rows[-1][1] - rows[0][1]:+.1f} MB "
                  f"(max {max(r[1] for r in rows) - rows[0][1]:+.1f}), sender {rows[-1][2] - rows[0][2]:+.1f} MB "
                  f"(max {max(r[2] for r in rows) - rows[0][2]:+.1f})")
        if "Traceback" in err:
            print(err[-3000:])


if __name__ == "__main__":
    main()
