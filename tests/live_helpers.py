"""Helpers for the live-engine transport tests: waiting for asynchronous results, JACK MIDI input, an OSC
receiver on a free loopback port."""

from __future__ import annotations

import threading
import time
from typing import Callable

import mido


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until it is true (True) or ``timeout`` seconds pass (False). Not a timing check:
    the timeout only keeps a broken test from hanging."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


class JackMidiIn:
    """A JACK MIDI input (python-rtmidi) connected to the output port whose name contains ``port``;
    ``messages`` collects what arrives as mido messages (clock and sysex included)."""

    def __init__(self, port: str, client_name: str = "rhythmicnet-test-in") -> None:
        import rtmidi

        self.messages: list[mido.Message] = []
        self._lock = threading.Lock()
        self._rt = rtmidi.MidiIn(rtapi=rtmidi.API_UNIX_JACK, name=client_name)
        ports = self._rt.get_ports()
        matches = [i for i, p in enumerate(ports) if port in p]
        assert len(matches) == 1, f"port {port!r} not found once in {ports}"
        self.port_name = ports[matches[0]]
        self._rt.ignore_types(sysex=False, timing=False, active_sense=True)
        self._rt.set_callback(self._on_message)
        self._rt.open_port(matches[0])

    def _on_message(self, event, _data) -> None:
        message, _delta = event
        with self._lock:
            self.messages.append(mido.Message.from_bytes(message))

    def received(self) -> list[mido.Message]:
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self._rt.cancel_callback()
        self._rt.close_port()
        self._rt.delete()


class OscReceiver:
    """A python-osc server on 127.0.0.1 at a free port; ``messages`` collects (address, args) in order."""

    def __init__(self) -> None:
        from pythonosc.dispatcher import Dispatcher
        from pythonosc.osc_server import BlockingOSCUDPServer

        self.messages: list[tuple[str, tuple]] = []
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

    def received(self, address: str | None = None) -> list[tuple[str, tuple]]:
        with self._lock:
            return [m for m in self.messages if address is None or m[0] == address]

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
