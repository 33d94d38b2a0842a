"""A private JACK server for machines without a MIDI system (no ALSA sequencer, no running JACK): the tests,
the benchmarks, or a headless box whose DAW connects through JACK.

``JackServer`` starts ``jackd --no-realtime -t 5000 -n <name> -d dummy -r 48000 -p 256`` (the dummy driver needs
no sound card; the long client timeout keeps a busy machine from dropping slow clients), points this process's JACK clients at it through ``JACK_DEFAULT_SERVER`` (so it never touches a
user's own server), waits until it accepts clients, and stops it on exit. ``JackMidiRecorder`` reads back
what a port sends (tests, benchmarks, monitoring), through python-rtmidi in a child process.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from rhythmicnet_live.errors import UserInputError

_ENV = ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")


def _die_with_parent() -> None:
    """In the child before exec: on Linux, SIGTERM it when the process that started it dies (even by SIGKILL), so a
    killed test run leaves no orphan jackd behind (JACK allows only a few servers at once). The "parent" is the
    thread that started the child: the signal comes when that thread ends."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def jack_client_ok() -> bool:
    """True if a JACK MIDI client can connect to the current server (``JACK_DEFAULT_SERVER``)."""
    import rtmidi

    try:
        rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name="rhythmicnet-probe").delete()
        return True
    except rtmidi.RtMidiError:
        return False


def reclaim_dead_servers(registry: str = "/dev/shm/jack-shm-registry") -> int:
    """Free the registry slots of JACK servers that died without unregistering; returns how many.

    jackd has 8 server slots and frees a dead server's slot only when a server of the same name starts; every
    test server has its own name and dies with its test run (SIGKILL, no unregistering), so aborted runs fill
    the slots until every jackd fails with "Too many servers already active". Starting and stopping a server
    under each dead name (a process that no longer exists) frees its slot.
    """
    import re
    import struct

    try:
        data = Path(registry).read_bytes()
    except OSError:
        return 0
    dead = []
    for match in re.finditer(rb"jack-\d+:([\w.-]+):?\0", data):  # "jack-UID:NAME:" after the pid
        (pid,) = struct.unpack_from("<i", data, match.start() - 4)
        if pid > 0 and not Path(f"/proc/{pid}").exists():
            dead.append(match.group(1).decode())
    for name in dead:
        proc = subprocess.Popen([shutil.which("jackd"), "--no-realtime", "-n", name, "-d", "dummy"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        proc.terminate()
        proc.wait(10)
    return len(dead)


class JackServer:
    """Context manager: a private dummy-driver JACK server named ``name``.

    rate: sample rate (Hz); period: frames per period (256 at 48 kHz = 5.3 ms, JACK's MIDI delivery step).
    client_timeout_ms: how long jackd waits for a client's process callback before dropping the client.
    sync: jackd's synchronous mode (each cycle waits for every client; a late client delays MIDI instead of
    losing that cycle's messages; see benchmarks/bench_midi_loss.py).
    Raises UserInputError if jackd is not installed or does not start within ``timeout_s`` seconds.
    """

    def __init__(self, name: str | None = None, rate: int = 48000, period: int = 256, timeout_s: float = 15.0,
                 client_timeout_ms: int = 5000, sync: bool = False):
        self.name = name or f"rhythmicnet-{os.getpid()}"
        self.rate, self.period, self.timeout_s = rate, period, timeout_s
        self.client_timeout_ms = client_timeout_ms
        self.sync = sync
        self._proc: subprocess.Popen | None = None
        self._previous: dict[str, str | None] = {}

    @staticmethod
    def available() -> bool:
        """jackd is installed and python-rtmidi has the JACK API."""
        import rtmidi

        return shutil.which("jackd") is not None and rtmidi.API_UNIX_JACK in rtmidi.get_compiled_api()

    def start(self) -> "JackServer":
        try:
            return self._start()
        except UserInputError as err:
            if "Too many servers" not in str(err) or not reclaim_dead_servers():
                raise
            return self._start()

    def _start(self) -> "JackServer":
        jackd = shutil.which("jackd")
        if jackd is None:
            raise UserInputError("jackd is not installed (e.g. apt-get install jackd2)")
        self._previous = {k: os.environ.get(k) for k in _ENV}
        os.environ["JACK_DEFAULT_SERVER"] = self.name
        os.environ["JACK_NO_START_SERVER"] = "1"  # clients must never auto-start some other server
        # jackd's messages go to a file, never to a pipe: on a loaded machine it reports every late cycle, and
        # once an unread pipe is full jackd blocks in write() and every JACK client with it.
        self._log = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            [jackd, "--no-realtime", *(["--sync"] if self.sync else []), "-t", str(self.client_timeout_ms), "-n", self.name,
             "-d", "dummy", "-r", str(self.rate), "-p", str(self.period)],
            stdout=subprocess.DEVNULL, stderr=self._log, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + self.timeout_s
        while not jack_client_ok():
            if self._proc.poll() is not None:
                err = self.log_text()[-2000:]
                self.stop()
                raise UserInputError(f"jackd exited at start: {err}")
            if time.monotonic() > deadline:
                self.stop()
                raise UserInputError(f"jackd did not accept clients within {self.timeout_s} s")
            time.sleep(0.1)
        return self

    def log_text(self) -> str:
        """What jackd has printed so far (late clients, xruns...)."""
        fd = self._log.fileno()  # pread: jackd shares this file's offset, which must not move
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._log.close()
            self._proc = None
        for key, value in self._previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._previous = {}

    def __enter__(self) -> "JackServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


_READER = Path(__file__).with_name("jack_midi_reader.py")


class JackMidiRecorder:
    """A JACK MIDI input connected to the output port whose name contains ``port`` (or, ``virtual``, its own input
    port named ``port``, for an output to open) that records what arrives:
    ``received()`` gives the mido messages, ``arrivals()`` (monotonic seconds, message) pairs, ``stamped()`` the
    same with JACK's arrival times.

    python-rtmidi runs in a child process (``jack_midi_reader.py``), not in this one: its extension once crashed
    (SIGSEGV) in this reader, which ended the whole test run. A crash now ends only the child: a line on stderr
    says so when it happens, the accessors keep what was read before, and ``close()`` raises with the signal.
    The child polls rtmidi's queue every ``poll_s`` seconds (``arrivals()`` times, taken there with
    ``time.monotonic()``, the system-wide clock, are late by up to that) instead of using an rtmidi callback: a
    callback runs Python, and so waits for the GIL, inside JACK's process thread, and on a loaded machine without
    a real-time JACK that loses messages. The child ends when ``close()`` closes its stdin, or when this process
    dies.
    """

    START_S = 30.0  # how long the child may take to open its port
    STOP_S = 10.0  # how long it may take to read what is queued, close its port and exit

    def __init__(self, port: str, client_name: str = "rhythmicnet-recorder", poll_s: float = 0.0005,
                 virtual: bool = False) -> None:
        import mido

        self._mido = mido
        self.port_name = port
        self._arrivals: list = []
        self._lock = threading.Lock()
        self._problem: str | None = None  # a line of the child's that could not be read
        self._first = ""
        self._ready = threading.Event()
        self._closed = False
        # PR_SET_PDEATHSIG fires when the thread that started the child ends, so only a child of the main thread
        # gets it; any child also ends when its stdin closes, which happens when this process dies.
        in_main = threading.current_thread() is threading.main_thread()
        self._proc = subprocess.Popen(
            [sys.executable, str(_READER), port, client_name, repr(poll_s), "1" if virtual else "0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, encoding="utf-8", errors="replace",
            preexec_fn=_die_with_parent if in_main else None)
        self._thread = threading.Thread(target=self._read, name="jack-midi-recorder", daemon=True)
        self._thread.start()
        if not self._ready.wait(self.START_S):
            self._stop()
            raise RuntimeError(f"the JACK MIDI reader for {port!r} did not open its port within {self.START_S} s")
        kind, _, text = self._first.rstrip("\n").partition(" ")
        if kind == "ready":
            self.port_name = text
            return
        status, _ = self._stop()
        if kind == "error":  # the port is not there exactly once
            raise UserInputError(text)
        if kind == "failed":
            raise RuntimeError(f"the JACK MIDI reader for {port!r} failed: {text}")
        raise RuntimeError(f"the JACK MIDI reader for {port!r} {_exit_text(status)} before it opened its port "
                           "(its stderr says more)")

    def _read(self) -> None:
        """In a thread: the child's first line, then its messages until it closes its stdout."""
        stdout = self._proc.stdout
        self._first = stdout.readline()
        self._ready.set()
        for line in stdout:
            try:
                polled, delta, data = line.split()
                arrival = (float(polled), float(delta), self._mido.Message.from_bytes(bytes.fromhex(data)))
            except Exception as err:  # noqa: BLE001 - reported by close()
                with self._lock:
                    self._problem = self._problem or f"the JACK MIDI reader sent {line!r}, unreadable: {err}"
                continue
            with self._lock:
                self._arrivals.append(arrival)
        if self._first.startswith("ready") and not self._closed:  # the child ended before close()
            try:
                status = self._proc.wait(self.STOP_S)
            except subprocess.TimeoutExpired:
                return
            if status != 0:
                print(f"JACK MIDI reader on {self.port_name!r} {_exit_text(status)} after {len(self._arrivals)} "
                      "messages; nothing more is recorded", file=sys.stderr, flush=True)

    def arrivals(self) -> list:
        with self._lock:
            return [(t, m) for t, _, m in self._arrivals]

    def stamped(self) -> list:
        """(monotonic seconds, message) pairs timed in JACK's process thread: rtmidi stamps each message with the
        time since the previous one when JACK's process callback hands it over (no Python, no GIL), so the chain of
        stamps is exact up to one anchor on the monotonic clock; a message is never polled before it arrived, so
        the anchor is the latest one no poll contradicts (the message polled soonest after its arrival)."""
        with self._lock:
            polled, deltas, messages = zip(*self._arrivals) if self._arrivals else ((), (), ())
        chain = np.cumsum(deltas)
        anchor = np.min(np.asarray(polled) - chain) if messages else 0.0
        return list(zip((anchor + chain).tolist(), messages))

    def received(self) -> list:
        return [m for _, m in self.arrivals()]

    def _stop(self) -> tuple[int | None, bool]:
        """Close the child's stdin (it reads what is queued, closes its port and exits), wait for it, killing it
        after ``STOP_S``, and for the last of its lines: (its exit status, whether it had to be killed)."""
        self._closed = True
        self._proc.stdin.close()
        killed = False
        try:
            status = self._proc.wait(self.STOP_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            killed = True
            status = self._proc.wait(self.STOP_S)
        self._thread.join(self.STOP_S)
        if not self._thread.is_alive():
            self._proc.stdout.close()
        return status, killed

    def close(self) -> None:
        """Stop the reader and keep everything it read; raises RuntimeError if the child crashed (or exited with an
        error, or had to be killed), after all is closed: the accessors still give what it read."""
        if self._closed:
            return
        status, killed = self._stop()
        with self._lock:
            count, problem = len(self._arrivals), self._problem
        if killed:
            raise RuntimeError(f"the JACK MIDI reader on {self.port_name!r} did not stop within {self.STOP_S} s and "
                               f"was killed, after {count} messages")
        if status != 0:
            raise RuntimeError(f"the JACK MIDI reader on {self.port_name!r} {_exit_text(status)} after {count} "
                               "messages (its stderr says more)")
        if problem is not None:
            raise RuntimeError(problem)


def _exit_text(status: int | None) -> str:
    """How a child process ended, for an error message: "exited with signal 11 (SIGSEGV)"."""
    if status is None:
        return "is still running"
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = "unknown"
        return f"exited with signal {-status} ({name})"
    return f"exited with status {status}"
