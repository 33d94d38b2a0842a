"""OSC control server: messages change EngineControls and notify listeners; malformed input is survived."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import build_msg

from rhythmicnet_live.live import osc_protocol as proto
from rhythmicnet_live.live import control
from rhythmicnet_live.live.control import ControlError, ControlServer, EngineControls, MalformedPacket, check_packet


class Client:
    """A UDP socket that sends OSC to the server and receives its pongs."""

    def __init__(self, server_port: int) -> None:
        self.target = ("127.0.0.1", server_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(10)

    def send(self, address: str, *args) -> None:
        self.sock.sendto(build_msg(address, list(args) if args else "").dgram, self.target)

    def raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.target)

    def ping(self) -> str:
        """Ping and wait for the pong; the server handles datagrams in order, so everything sent before
        has been handled when the pong arrives."""
        self.send(proto.PING)
        return OscMessage(self.sock.recv(4096)).address

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def served():
    controls = EngineControls()
    events = []
    controls.subscribe(lambda event, value: events.append((event, value)))
    server = ControlServer(controls, "127.0.0.1", 0).start()
    client = Client(server.address[1])
    yield controls, server, client, events
    client.close()
    server.close()


def test_control_messages_change_engine_controls_and_notify(served):
    controls, server, client, events = served
    client.send(proto.START)
    client.send(proto.TEMPERATURE, 1.3)
    client.send(proto.DENSITY, 0.25)
    client.send(proto.DRUMS, 0)
    client.send(proto.PIANO, 0)
    client.send(proto.PIANO, 1)
    client.send(proto.TEMPO_LOCK, 1)
    client.send(proto.TEMPO_RANGE, 80.0, 140.0)
    client.send(proto.TEMPERATURE, 2)  # an int is a fine number
    client.send(proto.PANIC)
    client.send(proto.STOP)
    assert client.ping() == proto.PONG
    snap = controls.snapshot()
    assert snap == {"running": False, "temperature": 2.0, "density": 0.25, "drums": False, "piano": True,
                    "tempo_lock": True, "tempo_min": 80.0, "tempo_max": 140.0, "bpm": None}
    assert [e for e, _ in events] == ["start", "temperature", "density", "drums", "piano", "piano", "tempo_lock",
                                      "tempo_range", "temperature", "panic", "stop"]
    assert ("tempo_range", (80.0, 140.0)) in events and ("density", 0.25) in events
    assert server.rejected == 0 and server.handled == 12


def test_known_tempo_tap_and_downbeat_messages(served):
    controls, server, client, events = served
    before = time.monotonic()
    client.send(proto.BPM, 96.0)
    client.send(proto.TAP)
    client.send(proto.DOWNBEAT)
    client.send(proto.BPM, 500.0)  # outside the tempo limits: rejected
    assert client.ping() == proto.PONG
    assert controls.bpm == 96.0 and server.rejected == 1
    client.send(proto.BPM, 0.0)  # follow the dancer again
    assert client.ping() == proto.PONG
    assert controls.bpm is None
    assert [e for e, _ in events] == ["bpm", "tap", "downbeat", "bpm"]
    assert events[0] == ("bpm", 96.0) and events[-1] == ("bpm", None)
    assert all(before <= value <= time.monotonic() for event, value in events if event in ("tap", "downbeat"))


def test_malformed_messages_are_logged_ignored_and_the_server_still_answers(served, caplog):
    controls, server, client, events = served
    before = controls.snapshot()
    client.raw(b"\x00\xff garbage \x13\x37" * 5)  # not OSC at all
    client.raw(b"/rhythmicnet/density\x00\x00\x00\x00,i\x00\x00\x00\x01")  # truncated int argument
    client.raw(b"#bundle\x00" + b"\x01" * 5)  # broken bundle
    client.send(proto.DENSITY, "abc")  # wrong type
    client.send(proto.DENSITY, 2.5)  # out of range
    client.send(proto.DENSITY)  # missing argument
    client.send(proto.TEMPERATURE, 0.5, 0.7)  # too many arguments
    client.send(proto.DRUMS, 3)  # not 0/1
    client.send(proto.DRUMS, "on")
    client.send(proto.TEMPO_RANGE, 150.0, 90.0)  # min > max
    client.send(proto.TEMPERATURE, float("nan"))
    client.send("/rhythmicnet/volume", 1.0)  # unknown address
    client.send("/something/else")
    client.send(proto.PING, "not a port")
    bundle = OscBundleBuilder(IMMEDIATELY)
    bundle.add_content(build_msg(proto.DENSITY, [0.5]))
    bundle.add_content(build_msg(proto.DENSITY, ["x"]))
    client.raw(bundle.build().dgram)  # a bundle: the good message applies, the bad one is rejected
    assert client.ping() == proto.PONG
    assert server.rejected == 15
    assert controls.snapshot() == {**before, "density": 0.5}
    assert events == [("density", 0.5)]
    warnings = [r.getMessage() for r in caplog.records if r.name == "rhythmicnet_live.live.control"]
    assert 1 <= len(warnings) <= 2 and "garbage" not in warnings[0]  # rate-limited: one line, no dump
    assert all("Traceback" not in (r.exc_text or "") and r.exc_info is None for r in caplog.records)
    client.send("/rhythmicnet/volume", 1.0)
    time.sleep(control.LOG_INTERVAL_S)
    client.send("/rhythmicnet/volume", 1.0)
    assert client.ping() == proto.PONG
    last = [r.getMessage() for r in caplog.records if r.name == "rhythmicnet_live.live.control"][-1]
    assert "unknown address '/rhythmicnet/volume'" in last and "more rejected" in last


def test_ping_replies_to_a_given_port(served):
    _, _, client, _ = served
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(10)
    try:
        client.send(proto.PING, listener.getsockname()[1])
        assert OscMessage(listener.recv(4096)).address == proto.PONG
    finally:
        listener.close()


def test_engine_controls_validate_directly():
    controls = EngineControls()
    with pytest.raises(ControlError):
        controls.set_density(-0.1)
    with pytest.raises(ControlError):
        controls.set_temperature(True)
    with pytest.raises(ControlError):
        controls.set_tempo_range(10, 500)
    with pytest.raises(ControlError):
        EngineControls(density=3.0)
    calls = []
    controls.subscribe(lambda e, v: 1 / 0)  # a broken listener does not stop the others
    controls.subscribe(lambda e, v: calls.append(e))
    controls.set_drums(False)
    assert calls == ["drums"] and controls.drums is False


#: python-osc 1.10.2 alone loops forever on this bundle (an element of size -4).
NEGATIVE_ELEMENT = b"#bundle\0" + b"\0" * 8 + struct.pack(">i", -4)


def nested_bundles(depth: int) -> bytes:
    packet = build_msg(proto.DENSITY, [0.5]).dgram
    for _ in range(depth):
        packet = b"#bundle\0" + b"\0" * 7 + b"\1" + struct.pack(">i", len(packet)) + packet
    return packet


@pytest.mark.parametrize("packet, reason", [
    (b"", "empty"),
    (b"/a\0\0" * 3000, "more than"),
    (b"/ab\0\0", "multiple of 4"),
    (NEGATIVE_ELEMENT, "element size -4"),
    (b"#bundle\0" + b"\0" * 8 + struct.pack(">i", 0), "element size 0"),
    (b"#bundle\0" + b"\0" * 8 + struct.pack(">i", 6) + b"/a\0\0\0\0\0\0", "element size 6"),
    (b"#bundle\0" + b"\0" * 8 + struct.pack(">i", 64) + b"/a\0\0", "element size 64"),
    (b"#bundle\0" + b"\0" * 4, "shorter than"),
    (nested_bundles(control.MAX_DEPTH + 1), "nested deeper"),
    (b"/abc", "NUL"),
    (b"/a\0\0x\0\0\0", "do not start with"),
    (b"/a\0\0,i\0\0", "past the packet"),
    (b"/a\0\0,b\0\0" + struct.pack(">i", -8), "negative blob"),
    (b"/a\0\0,b\0\0" + struct.pack(">i", 400), "past the packet"),
    (b"/a\0\0,s\0\0abcd", "NUL"),
    (b"/a\0\0,x\0\0", "unsupported type tag"),
    (b"/a\0\0,[[[[[]]]]]\0", "arrays nested"),
    (b"/a\0\0,]\0\0", "unbalanced"),
    (b"\0\0\0\0", "neither a message"),
])
def test_check_packet_rejects_what_breaks_the_format_or_the_bounds(packet, reason):
    with pytest.raises(MalformedPacket, match=reason):
        check_packet(packet)


def test_check_packet_accepts_valid_messages_and_bundles():
    check_packet(build_msg(proto.START, "").dgram)
    check_packet(b"/rhythmicnet/start\0\0")  # no type tags at all
    check_packet(build_msg("/x", ["text", 1, 2.5, b"blob", True, None]).dgram)
    check_packet(b"/a\0\0,[i]\0\0\0\0" + struct.pack(">i", 1))
    check_packet(nested_bundles(control.MAX_DEPTH))
    bundle = OscBundleBuilder(IMMEDIATELY)
    bundle.add_content(build_msg(proto.DENSITY, [0.5]))
    bundle.add_content(build_msg(proto.PING, ""))
    check_packet(bundle.build().dgram)


def test_hostile_packets_are_dropped_the_server_answers_and_stops_at_once(served, caplog):
    controls, server, client, _ = served
    for packet in (NEGATIVE_ELEMENT, nested_bundles(2000), b"#bundle\0" * 1000, b"/a\0\0,b\0\0" + b"\x7f" * 4):
        client.raw(packet)
    client.send(proto.DENSITY, 0.25)
    assert client.ping() == proto.PONG
    assert controls.density == 0.25 and server.rejected == 4
    assert all(r.exc_info is None for r in caplog.records) and len(caplog.records) <= 3
    t0 = time.monotonic()
    server.close()
    assert time.monotonic() - t0 < 2.0 and not any(t.name == "osc-control" for t in threading.enumerate())
