"""Shared pytest fixtures.

JACK: the MIDI tests run against a real JACK server. ``jack_server`` starts a private one
(``jackd --no-realtime -n <unique name> -d dummy -r 48000 -p 256``, selected for this process through
``JACK_DEFAULT_SERVER`` so it never touches a user's own server or another test run), and stops it at the end
of the session. Without jackd (``apt-get install jackd2``) the JACK tests are skipped with that reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest


def _jack_client_ok() -> bool:
    import rtmidi

    try:
        rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name="rhythmicnet-probe").delete()
        return True
    except rtmidi.RtMidiError:
        return False


@pytest.fixture(scope="session")
def jack_server():
    """The name of a running private JACK server (skips the test if jackd is not installed)."""
    import rtmidi

    jackd = shutil.which("jackd")
    if jackd is None:
        pytest.skip("jackd is not installed (apt-get install jackd2): JACK MIDI tests need a JACK server")
    if rtmidi.API_UNIX_JACK not in rtmidi.get_compiled_api():
        pytest.skip("python-rtmidi was built without JACK support")
    name = f"rhythmicnet-test-{os.getpid()}"
    previous = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ["JACK_DEFAULT_SERVER"] = name
    os.environ["JACK_NO_START_SERVER"] = "1"  # a client must never auto-start some other server
    proc = subprocess.Popen([jackd, "--no-realtime", "-n", name, "-d", "dummy", "-r", "48000", "-p", "256"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while not _jack_client_ok():
            if proc.poll() is not None:
                pytest.fail(f"jackd exited at start: {proc.stderr.read().decode(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("jackd did not accept clients within 15 s")
            time.sleep(0.1)
        yield name
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
