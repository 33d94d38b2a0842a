"""A private JACK server for machines without a MIDI system (no ALSA sequencer, no running JACK): the tests,
the benchmarks, or a headless box whose DAW connects through JACK.

``JackServer`` starts ``jackd --no-realtime -n <name> -d dummy -r 48000 -p 256`` (the dummy driver needs no
sound card), points this process's JACK clients at it through ``JACK_DEFAULT_SERVER`` (so it never touches a
user's own server), waits until it accepts clients, and stops it on exit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

from .errors import UserInputError

_ENV = ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")


def jack_client_ok() -> bool:
    """True if a JACK MIDI client can connect to the current server (``JACK_DEFAULT_SERVER``)."""
    import rtmidi

    try:
        rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name="rhythmicnet-probe").delete()
        return True
    except rtmidi.RtMidiError:
        return False


class JackServer:
    """Context manager: a private dummy-driver JACK server named ``name``.

    rate: sample rate (Hz); period: frames per period (256 at 48 kHz = 5.3 ms, JACK's MIDI delivery step).
    Raises UserInputError if jackd is not installed or does not start within ``timeout_s`` seconds.
    """

    def __init__(self, name: str | None = None, rate: int = 48000, period: int = 256, timeout_s: float = 15.0):
        self.name = name or f"rhythmicnet-{os.getpid()}"
        self.rate, self.period, self.timeout_s = rate, period, timeout_s
        self._proc: subprocess.Popen | None = None
        self._previous: dict[str, str | None] = {}

    @staticmethod
    def available() -> bool:
        """jackd is installed and python-rtmidi has the JACK API."""
        import rtmidi

        return shutil.which("jackd") is not None and rtmidi.API_UNIX_JACK in rtmidi.get_compiled_api()

    def start(self) -> "JackServer":
        jackd = shutil.which("jackd")
        if jackd is None:
            raise UserInputError("jackd is not installed (e.g. apt-get install jackd2)")
        self._previous = {k: os.environ.get(k) for k in _ENV}
        os.environ["JACK_DEFAULT_SERVER"] = self.name
        os.environ["JACK_NO_START_SERVER"] = "1"  # clients must never auto-start some other server
        self._proc = subprocess.Popen(
            [jackd, "--no-realtime", "-n", self.name, "-d", "dummy", "-r", str(self.rate), "-p", str(self.period)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + self.timeout_s
        while not jack_client_ok():
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace")[-2000:]
                self.stop()
                raise UserInputError(f"jackd exited at start: {err}")
            if time.monotonic() > deadline:
                self.stop()
                raise UserInputError(f"jackd did not accept clients within {self.timeout_s} s")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc.stderr.close()
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
