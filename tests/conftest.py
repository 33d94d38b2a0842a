"""Shared pytest fixtures.

``jack_server``: the MIDI tests run against a real JACK server. It starts a private one for the session
(:class:`jack_server.JackServer`: dummy driver, a unique server name selected through
``JACK_DEFAULT_SERVER``, so it never touches a user's own server or another test run) and stops it at the end.
Without jackd (``apt-get install jackd2``) the JACK tests are skipped with that reason.
"""

from __future__ import annotations

import os

import pytest

from jack_server import JackServer


@pytest.fixture(scope="session")
def jack_server():
    """The name of a running private JACK server (skips the test if jackd is not installed)."""
    if not JackServer.available():
        pytest.skip("jackd is not installed (apt-get install jackd2) or python-rtmidi lacks JACK: "
                    "JACK MIDI tests need a JACK server")
    with JackServer(name=f"rhythmicnet-test-{os.getpid()}") as server:
        yield server.name
