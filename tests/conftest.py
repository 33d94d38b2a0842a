"""Shared pytest fixtures.

``jack_server``: the MIDI tests run against a real JACK server. It starts a private one for the session
(:class:`jack_server.JackServer`: dummy driver, a unique server name selected through
``JACK_DEFAULT_SERVER``, so it never touches a user's own server or another test run) and stops it at the end.
Without jackd (``apt-get install jackd2``) the JACK tests are skipped with that reason.

``private_user_folders`` (automatic): the platformdirs cache and data folders point into a temporary folder.
"""

from __future__ import annotations

import os

import pytest

from jack_server import JackServer


@pytest.fixture(scope="session", autouse=True)
def private_user_folders(tmp_path_factory):
    """Caches and user data of this run (and of the programs it starts) go to a temporary folder, not ~."""
    root = tmp_path_factory.mktemp("user")
    saved = {k: os.environ.get(k) for k in ("XDG_CACHE_HOME", "XDG_DATA_HOME")}
    os.environ["XDG_CACHE_HOME"], os.environ["XDG_DATA_HOME"] = str(root / "cache"), str(root / "data")
    yield root
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def jack_server():
    """The name of a running private JACK server (skips the test if jackd is not installed)."""
    if not JackServer.available():
        pytest.skip("jackd is not installed (apt-get install jackd2) or python-rtmidi lacks JACK: "
                    "JACK MIDI tests need a JACK server")
    with JackServer(name=f"rhythmicnet-test-{os.getpid()}") as server:
        yield server.name


@pytest.fixture
def sync_jack_server():
    """A private JACK server in synchronous mode: a late client delays MIDI instead of losing that cycle's
    messages (the asynchronous default loses about 1-2 % on a loaded machine, benchmarks/bench_midi_loss.py),
    so what the reader receives is exactly what the sender sent."""
    if not JackServer.available():
        pytest.skip("jackd is not installed (apt-get install jackd2)")
    with JackServer(name=f"rhythmicnet-sync-{os.getpid()}", sync=True) as server:
        yield server.name


def pytest_collection_modifyitems(items):
    """Tests marked ``realtime`` (timing through JACK, X or a synth, on a machine that may be shared) are retried
    twice before they count as failed: one late JACK cycle or a slow X start is not a defect of the code."""
    for item in items:
        if item.get_closest_marker("realtime") is not None:
            item.add_marker(pytest.mark.flaky(reruns=2, reruns_delay=1))
