"""10,000 hostile OSC packets (Hypothesis-generated, plus the ones known to hang or crash python-osc) against a
running ``perform``: the music goes on, pings are answered, valid controls still apply, SIGTERM still ends it
within 2 s, and the log stays small. Some generated packets are valid controls (/stop, /drums 0 ...): every
500 packets the test sends the default settings back."""

from __future__ import annotations

import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import build_msg

from live_helpers import OscReceiver, wait_for
from rhythmicnet_live.live import osc_protocol as proto

CLIP = Path(__file__).parent / "fixtures" / "jump_8s_480x270.mp4"
PACKETS = 10_000
#: Packets drawn per Hypothesis example (drawing them in batches costs half the time of one by one).
BATCH = 20
#: Largest log (stderr) a fuzzed performance may write (bytes): rejects are rate-limited to one line a second.
LOG_BOUND = 32_000

NEGATIVE_ELEMENT = b"#bundle\0" + b"\0" * 8 + struct.pack(">i", -4)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _message(address: str, args: list) -> bytes:
    try:
        return build_msg(address, args).dgram
    except Exception:  # python-osc refuses some values: send the address alone
        return address.encode("utf-8", "replace")


def _bundle(elements: list[bytes], timetag: bytes, sizes: list[int | None]) -> bytes:
    body = b"".join(struct.pack(">i", len(e) if s is None else s) + e for e, s in zip(elements, sizes))
    return b"#bundle\0" + timetag + body


def _nested(depth: int) -> bytes:
    packet = build_msg(proto.PING, "").dgram
    for _ in range(depth):
        packet = b"#bundle\0" + b"\0" * 8 + struct.pack(">i", len(packet)) + packet
    return packet


def _mutate(packet: bytes, position: int, value: int, how: str) -> bytes:
    if not packet:
        return bytes([value])
    i = position % len(packet)
    if how == "flip":
        return packet[:i] + bytes([value]) + packet[i + 1:]
    if how == "truncate":
        return packet[:i]
    return packet + bytes([value]) * (position % 9)


addresses = st.sampled_from([*proto.CONTROL_TYPETAGS, "/", "/rhythmicnet", "/rhythmicnet/volume"]) | st.text(
    max_size=24).map(lambda s: "/" + s)
arguments = st.lists(st.one_of(st.integers(-2**31, 2**31 - 1), st.floats(width=32), st.text(max_size=12),
                               st.binary(max_size=24), st.booleans(), st.none()), max_size=5)
messages = st.builds(_message, addresses, arguments)
bundles = st.recursive(
    messages,
    lambda inner: st.lists(inner, min_size=1, max_size=3).flatmap(lambda elements: st.builds(
        _bundle, st.just(elements), st.binary(min_size=8, max_size=8),
        st.lists(st.none() | st.integers(-64, 96), min_size=len(elements), max_size=len(elements)))),
    max_leaves=8)
packets = st.one_of(
    st.binary(max_size=96),
    messages,
    bundles,
    st.builds(_mutate, messages | bundles, st.integers(0, 400), st.integers(0, 255),
              st.sampled_from(["flip", "truncate", "extend"])),
    st.just(NEGATIVE_ELEMENT),
    st.integers(5, 3000).map(_nested),
)


@pytest.fixture
def looped_clip(tmp_path) -> Path:
    """The jump clip played 30 times in a row (240 s): longer than the fuzz run even on a loaded machine (the test
    ends the performance itself)."""
    import imageio_ffmpeg

    out = tmp_path / "jump_loop.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-stream_loop", "29", "-i", str(CLIP), "-c",
                    "copy", str(out)], check=True, timeout=60)
    return out


class Control:
    """A UDP socket to the control port that also receives the pongs."""

    def __init__(self, port: int) -> None:
        self.target = ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, self.target)

    def restore(self) -> None:
        """Back to playing with the default settings."""
        for address, args in ((proto.START, ""), (proto.DRUMS, [1]), (proto.PIANO, [1]), (proto.DENSITY, [1.0]),
                              (proto.TEMPERATURE, [1.0]), (proto.TEMPO_LOCK, [0]), (proto.TEMPO_RANGE, [60.0, 180.0])):
            self.send(build_msg(address, args).dgram)

    def ping(self, timeout: float = 10.0) -> bool:
        """Ping; True when the pong arrives (everything sent before has been handled by then)."""
        self.sock.settimeout(timeout)
        while True:  # drain pongs of earlier fuzzed pings first
            self.send(build_msg(proto.PING, [self.sock.getsockname()[1]]).dgram)
            try:
                while True:
                    if OscMessage(self.sock.recv(4096)).address == proto.PONG:
                        self.sock.settimeout(0.05)
                        try:
                            while self.sock.recv(4096):
                                pass
                        except OSError:
                            return True
            except OSError:
                return False


def test_ten_thousand_hostile_packets_do_not_stop_the_music_or_the_control(looped_clip, tmp_path):
    notes = OscReceiver()
    control_port = free_port()
    log_path = tmp_path / "perform.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "rhythmicnet_live.cli", "perform", "--video", str(looped_clip), "--no-midi",
             "--osc", f"127.0.0.1:{notes.port}", "--control-port", str(control_port), "--journal-dir",
             str(tmp_path / "takes")], stdout=log, stderr=subprocess.STDOUT)
    control = Control(control_port)
    try:
        assert wait_for(lambda: len(notes.received(proto.NOTE)) >= 3, timeout=120), log_path.read_text()[-3000:]
        sent = {"packets": 0, "pings": 0, "pongs": 0}
        started = time.monotonic()
        notes_at = [len(notes.received(proto.NOTE))]

        @settings(max_examples=PACKETS // BATCH + 20, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck), phases=[Phase.generate])
        @given(st.lists(packets, min_size=BATCH, max_size=BATCH))
        def fuzz(batch: list[bytes]) -> None:
            for packet in batch:
                control.send(packet)
            sent["packets"] += len(batch)
            if sent["packets"] % 500 < BATCH:
                time.sleep(0.05)  # let the server keep up instead of filling the socket buffer
                control.restore()  # fuzzed valid messages (/stop, /drums 0...) may have silenced it
                sent["pings"] += 1
                sent["pongs"] += control.ping()
                notes_at.append(len(notes.received(proto.NOTE)))

        fuzz()
        for packet in (NEGATIVE_ELEMENT, _nested(3000)):  # 60 KB: near the largest UDP datagram
            control.send(packet)
        control.restore()
        fuzz_s = time.monotonic() - started
        assert process.poll() is None, log_path.read_text()[-3000:]
        assert sent["packets"] >= PACKETS and sent["pongs"] == sent["pings"], sent
        assert control.ping()
        # the notes kept coming during the fuzz, and still do
        assert notes_at[-1] > notes_at[0]
        before = len(notes.received(proto.NOTE))
        assert wait_for(lambda: len(notes.received(proto.NOTE)) > before, timeout=20)
        # valid controls still apply: stop silences the notes (beats go on), start brings them back
        control.send(build_msg(proto.STOP, "").dgram)
        assert control.ping()
        time.sleep(1.0)  # notes already handed to the sender may still play
        stopped = len(notes.received(proto.NOTE))
        beats = len(notes.received(proto.BEAT))
        assert wait_for(lambda: len(notes.received(proto.BEAT)) >= beats + 2, timeout=20)
        assert len(notes.received(proto.NOTE)) == stopped
        control.send(build_msg(proto.START, "").dgram)
        assert wait_for(lambda: len(notes.received(proto.NOTE)) > stopped, timeout=20)
        # SIGTERM still ends it, quickly
        t0 = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        stop_s = time.monotonic() - t0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        control.sock.close()
        notes.close()
    log_text = log_path.read_text()
    print(f"fuzz: {sent['packets']} packets in {fuzz_s:.1f} s, {sent['pongs']}/{sent['pings']} pings answered, "
          f"{len(notes.received(proto.NOTE))} notes, SIGTERM -> exit in {stop_s:.2f} s, log {len(log_text)} bytes")
    assert process.returncode == 0, log_text[-3000:]
    assert stop_s < 2.0
    assert len(log_text) < LOG_BOUND and "Traceback" not in log_text, log_text[-3000:]
