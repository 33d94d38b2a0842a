"""Helpers for the live-engine transport tests: waiting for asynchronous results, a JACK MIDI input, an OSC
receiver on a free loopback port."""

from __future__ import annotations

import threading
import time
from typing import Callable

from jack_server import JackMidiRecorder

#: A JACK MIDI input connected to the output port whose name contains the given text: ``received()`` lists the
#: mido messages that arrived (polled, no Python callback in JACK's thread; see JackMidiRecorder).
JackMidiIn = JackMidiRecorder


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until it is true (True) or ``timeout`` seconds pass (False). Not a timing check:
    the timeout only keeps a broken test from hanging."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


class OscReceiver:
    """A python-osc server on 127.0.0.1 at a free port; ``messages`` collects (address, args) in order."""

    def __init__(self) -> None:
        from pythonosc.dispatcher import Dispatcher
        from pythonosc.osc_server import BlockingOSCUDPServer

        self.messages: list[tuple[str, tuple]] = []
        self.times: list[float] = []  # arrival time (monotonic s) of each message
        self._lock = threading.Lock()
        dispatcher = Dispatcher()
        dispatcher.set_default_handler(self._on_message)
        self._server = BlockingOSCUDPServer(("127.0.0.1", 0), dispatcher)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def _on_message(self, address: str, *args) -> None:
        with self._lock:
            self.messages.append((address, args))
            self.times.append(time.monotonic())

    def received(self, address: str | None = None) -> list[tuple[str, tuple]]:
        with self._lock:
            return [m for m in self.messages if address is None or m[0] == address]

    def timed(self, address: str) -> list[tuple[float, tuple[str, tuple]]]:
        """(arrival time, message) of the messages to ``address``."""
        with self._lock:
            return [(t, m) for t, m in zip(self.times, self.messages) if m[0] == address]

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
