"""The child process of ``jack_server.JackMidiRecorder``: reads one JACK MIDI input through python-rtmidi and
prints what arrives, so that a crash of rtmidi's extension ends this process and not the test run.

    python jack_midi_reader.py PORT CLIENT_NAME POLL_S VIRTUAL

VIRTUAL is 1 for an input port of its own named PORT, 0 to connect to the one output port whose name contains
PORT. The JACK server is the one ``JACK_DEFAULT_SERVER`` names. The first line on stdout is ``ready <full port
name>``, ``error <message>`` (the port is not there exactly once) or ``failed <message>`` (rtmidi failed); then
one line per message, ``<time.monotonic() at the poll> <rtmidi's delta stamp> <bytes in hex>``. It polls every
POLL_S seconds and stops, after reading what is queued and closing the port, when its stdin closes (the parent
closed it, or died) or on SIGTERM.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading
import time

STUCK_EXIT_S = 30.0  # after being told to stop, how long the reader may take before it ends itself anyway


def open_input(port: str, client_name: str, virtual: bool):
    """(rtmidi input, full port name), or raises LookupError with the message for the parent's UserInputError."""
    import rtmidi

    midi_in = rtmidi.MidiIn(rtapi=rtmidi.API_UNIX_JACK, name=client_name, queue_size_limit=65536)
    midi_in.ignore_types(sysex=False, timing=False, active_sense=True)
    if virtual:  # an input port of its own, named ``port``, that an output can open before it sends anything
        midi_in.open_virtual_port(port)
        return midi_in, f"{client_name}:{port}"
    ports = midi_in.get_ports()
    matches = [i for i, p in enumerate(ports) if port in p]
    if len(matches) != 1:
        midi_in.delete()
        raise LookupError(f"JACK MIDI port {port!r} not found exactly once in {ports}")
    midi_in.open_port(matches[0])
    return midi_in, ports[matches[0]]


def main(argv: list[str]) -> int:
    port, client_name, poll_s, virtual = argv[0], argv[1], float(argv[2]), argv[3] == "1"
    faulthandler.enable()  # a crash in rtmidi prints where Python was on stderr
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C of the test run reaches this group: the parent stops us
    out = sys.stdout
    out.reconfigure(encoding="utf-8", errors="replace")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def watch_stdin() -> None:
        while os.read(sys.stdin.fileno(), 4096):  # b"" at EOF: the parent closed the pipe, or it died. Not
            pass  # sys.stdin: a thread blocked in its read holds a lock that Python's exit would wait for, and abort
        stop.set()
        time.sleep(STUCK_EXIT_S)  # a daemon thread: this process normally ends long before
        os._exit(3)

    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        midi_in, name = open_input(port, client_name, virtual)
    except LookupError as err:
        print(f"error {err}", file=out, flush=True)
        return 1
    except Exception as err:  # rtmidi's errors (no JACK server...)
        print(f"failed {type(err).__name__}: {err}", file=out, flush=True)
        return 1
    print(f"ready {name}", file=out, flush=True)
    try:
        while True:
            stopping = stop.is_set()
            lines = []
            while (event := midi_in.get_message()) is not None:
                lines.append(f"{time.monotonic()!r} {event[1]!r} {bytes(event[0]).hex()}\n")
            if lines:
                out.write("".join(lines))
                out.flush()
            if stopping:
                return 0
            stop.wait(poll_s)
    except BrokenPipeError:  # the parent is gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())  # no second error when Python flushes at exit
        return 1
    finally:
        midi_in.close_port()
        midi_in.delete()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
