"""OSC control server: Max, a DAW or a phone sends start/stop/panic and live settings to the engine.

:class:`EngineControls` holds the live settings (thread-safe: every change is validated and made under a
lock, then listeners are told). :class:`ControlServer` receives the control messages of
:mod:`rhythmicnet_live.live.osc_protocol` on UDP (default 127.0.0.1:9001, loopback only unless another host is
configured) on its own thread and applies them to an ``EngineControls``.

A malformed message (garbage bytes, wrong argument types or count, a value out of range, an unknown address)
is counted in ``ControlServer.rejected``, logged in one line (at most one line per ``LOG_INTERVAL_S``, with the
count of those not logged) and ignored: it never stops the server. Every packet is checked by
:func:`check_packet` before python-osc parses it: at most ``MAX_PACKET_BYTES``, bundles nested at most
``MAX_DEPTH`` deep, every length positive, a multiple of 4 and inside the packet, known type tags only. (python-osc
1.10.2 alone loops forever on a bundle element of negative size and recurses without bound on nested bundles.)
The server thread polls its socket, so :meth:`ControlServer.close` returns within about ``POLL_S`` whatever
was received.

Usage::

    controls = EngineControls(temperature=1.2)
    controls.subscribe(lambda event, value: print(event, value))   # "start", "stop", "panic", "density", ...
    with ControlServer(controls) as server:                        # serves until the block ends
        ...
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from pythonosc import osc_packet
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_message_builder import build_msg

from . import osc_protocol as proto
from ..errors import UserInputError

log = logging.getLogger(__name__)

#: listener(event, value): event is "start", "stop", "panic" (value None) or a changed setting's name
#: ("temperature", "density", "drums", "piano", "tempo_lock", "tempo_range" with value (min_bpm, max_bpm),
#: "bpm" with the known tempo or None); "tap" and "downbeat" come with the monotonic time (s) they were heard.
Listener = Callable[[str, Any], None]


class ControlError(ValueError):
    """A control value that is out of range or of the wrong type."""


@dataclass
class EngineControls:
    """The engine's live settings. Read single fields directly or a consistent copy with :meth:`snapshot`;
    change them only through the methods (validated, locked, listeners notified after the change).

    running: the performance is playing. temperature: sampling temperature (> 0). density: 0..1, how many
    notes the generators keep. drums / piano: tracks on or off. tempo_lock: hold the current tempo instead of
    following the dancer. tempo_min / tempo_max: the beat tracker's tempo range (BPM). bpm: a known tempo
    (BPM; the body gives the phase) or None to follow the dancer.
    """

    running: bool = False
    temperature: float = 1.0
    density: float = 1.0
    drums: bool = True
    piano: bool = True
    tempo_lock: bool = False
    tempo_min: float = 60.0
    tempo_max: float = 180.0
    bpm: float | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False, compare=False)
    _listeners: list = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_temperature(self.temperature)
        _check_density(self.density)
        _check_tempo_range(self.tempo_min, self.tempo_max)
        if self.bpm is not None:
            _check_bpm(self.bpm)

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(event, value)`` after every change or action (from the thread that made it)."""
        with self._lock:
            self._listeners.append(listener)

    def snapshot(self) -> dict[str, Any]:
        """All settings at one instant, as a dict of field name -> value."""
        with self._lock:
            return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if not f.name.startswith("_")}

    def _notify(self, event: str, value: Any) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event, value)
            except Exception:  # a broken listener must not break the control path
                log.exception("control listener failed on %s", event)

    def _set(self, event: str, value: Any, **fields: Any) -> None:
        with self._lock:
            for name, v in fields.items():
                setattr(self, name, v)
        self._notify(event, value)

    def start(self) -> None:
        self._set("start", None, running=True)

    def stop(self) -> None:
        self._set("stop", None, running=False)

    def panic(self) -> None:
        self._notify("panic", None)

    def set_temperature(self, value: float) -> None:
        value = _check_temperature(value)
        self._set("temperature", value, temperature=value)

    def set_density(self, value: float) -> None:
        value = _check_density(value)
        self._set("density", value, density=value)

    def set_drums(self, on: bool) -> None:
        self._set("drums", bool(on), drums=bool(on))

    def set_piano(self, on: bool) -> None:
        self._set("piano", bool(on), piano=bool(on))

    def set_tempo_lock(self, on: bool) -> None:
        self._set("tempo_lock", bool(on), tempo_lock=bool(on))

    def set_tempo_range(self, min_bpm: float, max_bpm: float) -> None:
        lo, hi = _check_tempo_range(min_bpm, max_bpm)
        self._set("tempo_range", (lo, hi), tempo_min=lo, tempo_max=hi)

    def set_bpm(self, value: float) -> None:
        """Known tempo (BPM), or 0 to follow the dancer again."""
        bpm = _check_bpm(value)
        self._set("bpm", bpm, bpm=bpm)

    def tap(self, t: float | None = None) -> None:
        """A tap on the beat at ``t`` (s, ``time.monotonic``; None: now)."""
        self._notify("tap", time.monotonic() if t is None else t)

    def downbeat(self, t: float | None = None) -> None:
        """"This beat is one", said at ``t`` (s, ``time.monotonic``; None: now)."""
        self._notify("downbeat", time.monotonic() if t is None else t)


def _check_bpm(value: Any) -> float | None:
    """A known tempo in TEMPO_LIMITS, or None for 0 (follow the dancer)."""
    value = _number(value, "bpm")
    if value == 0:
        return None
    lo, hi = proto.TEMPO_LIMITS
    if not lo <= value <= hi:
        raise ControlError(f"bpm must be 0 (follow the dancer) or in [{lo}, {hi}], got {value}")
    return value


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ControlError(f"{what} must be a number, got {type(value).__name__} {value!r}")
    if value != value:
        raise ControlError(f"{what} must not be NaN")
    return float(value)


def _check_temperature(value: Any) -> float:
    value = _number(value, "temperature")
    lo, hi = proto.TEMPERATURE_RANGE
    if not lo <= value <= hi:
        raise ControlError(f"temperature must be in [{lo}, {hi}], got {value}")
    return value


def _check_density(value: Any) -> float:
    value = _number(value, "density")
    if not 0.0 <= value <= 1.0:
        raise ControlError(f"density must be in [0, 1], got {value}")
    return value


def _check_tempo_range(min_bpm: Any, max_bpm: Any) -> tuple[float, float]:
    lo, hi = _number(min_bpm, "min bpm"), _number(max_bpm, "max bpm")
    limit_lo, limit_hi = proto.TEMPO_LIMITS
    if not limit_lo <= lo < hi <= limit_hi:
        raise ControlError(f"tempo range must satisfy {limit_lo} <= min < max <= {limit_hi}, got {lo} {hi}")
    return lo, hi


def _switch(value: Any, what: str) -> bool:
    """An on/off argument: 0 or 1 (int, float or OSC bool)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    raise ControlError(f"{what} must be 0 or 1, got {type(value).__name__} {value!r}")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


#: Largest control packet accepted (bytes); control messages are tens of bytes.
MAX_PACKET_BYTES = 8192
#: Deepest nesting accepted: bundles inside bundles, and OSC arrays ("[...]") inside a message.
MAX_DEPTH = 4
#: At most one log line per this many seconds for rejected packets (the others are counted).
LOG_INTERVAL_S = 1.0
#: How often the server thread checks for a stop request (s).
POLL_S = 0.1

_BUNDLE = b"#bundle\0"
_FIXED_SIZES = {"i": 4, "f": 4, "c": 4, "r": 4, "m": 4, "h": 8, "d": 8, "t": 8, "T": 0, "F": 0, "N": 0, "I": 0}


class MalformedPacket(ValueError):
    """An OSC packet that breaks the format or the server's bounds."""


def _string_end(data: bytes, start: int, what: str) -> int:
    """Index after the NUL-terminated, 4-byte padded OSC string at ``start``."""
    nul = data.find(b"\0", start)
    if nul < 0:
        raise MalformedPacket(f"{what} is not NUL-terminated")
    end = (nul // 4 + 1) * 4
    if end > len(data):
        raise MalformedPacket(f"{what} padding runs past the packet")
    return end


def _check_message(data: bytes) -> None:
    if not data.startswith(b"/"):
        raise MalformedPacket("an element is neither a message (/...) nor a bundle (#bundle)")
    index = _string_end(data, 0, "address")
    if index == len(data):
        return  # no type tags: no arguments
    if data[index:index + 1] != b",":
        raise MalformedPacket("type tags do not start with ','")
    end = _string_end(data, index, "type tags")
    tags = data[index + 1:data.index(b"\0", index)].decode("ascii", errors="replace")
    index, depth = end, 0
    for tag in tags:
        if tag in _FIXED_SIZES:
            index += _FIXED_SIZES[tag]
        elif tag in "sS":
            if index >= len(data):
                raise MalformedPacket("a string argument runs past the packet")
            index = _string_end(data, index, "a string argument")
        elif tag == "b":
            if index + 4 > len(data):
                raise MalformedPacket("a blob size runs past the packet")
            (size,) = struct.unpack_from(">i", data, index)
            if size < 0:
                raise MalformedPacket(f"negative blob size {size}")
            index += 4 + (size + 3) // 4 * 4
        elif tag == "[":
            depth += 1
            if depth > MAX_DEPTH:
                raise MalformedPacket(f"arrays nested deeper than {MAX_DEPTH}")
        elif tag == "]":
            depth -= 1
            if depth < 0:
                raise MalformedPacket("unbalanced ']' in type tags")
        else:
            raise MalformedPacket(f"unsupported type tag {tag!r}")
        if index > len(data):
            raise MalformedPacket("arguments run past the packet")
    if depth:
        raise MalformedPacket("unbalanced '[' in type tags")


def _check_element(data: bytes, depth: int) -> None:
    if not data.startswith(_BUNDLE):
        _check_message(data)
        return
    if depth >= MAX_DEPTH:
        raise MalformedPacket(f"bundles nested deeper than {MAX_DEPTH}")
    if len(data) < 16:
        raise MalformedPacket("bundle shorter than its header")
    index = 16  # "#bundle\0" + 8-byte time tag
    while index < len(data):
        if index + 4 > len(data):
            raise MalformedPacket("bundle element size runs past the packet")
        (size,) = struct.unpack_from(">i", data, index)
        if size <= 0 or size % 4 or index + 4 + size > len(data):
            raise MalformedPacket(f"bundle element size {size} (must be > 0, a multiple of 4, inside the packet)")
        index += 4
        _check_element(data[index:index + size], depth + 1)
        index += size


def check_packet(data: bytes) -> None:
    """Raise :class:`MalformedPacket` unless ``data`` is an OSC message or bundle within the bounds above
    (size, nesting depth, element and argument lengths, type tags). Runs in time linear in ``len(data)``."""
    if not data:
        raise MalformedPacket("empty packet")
    if len(data) > MAX_PACKET_BYTES:
        raise MalformedPacket(f"{len(data)} bytes, more than {MAX_PACKET_BYTES}")
    if len(data) % 4:
        raise MalformedPacket(f"{len(data)} bytes, not a multiple of 4")
    _check_element(data, 0)


class _SafeDispatcher(Dispatcher):
    """Dispatcher that checks packets (:func:`check_packet`) and reports handler errors instead of dying, and
    ignores bundle timetags (a far-future bundle must not stall the server)."""

    def __init__(self, server: "ControlServer") -> None:
        super().__init__(strict_timing=False)
        self._owner = server

    def call_handlers_for_packet(self, data: bytes, client_address: tuple[str, int]) -> list:
        try:
            check_packet(data)
            packet = osc_packet.OscPacket(data)
        except Exception as err:  # MalformedPacket, or anything python-osc finds past the check
            self._owner._reject(client_address, f"malformed OSC packet ({len(data)} bytes): {err}")
            return []
        for timed in packet.messages:
            message = timed.message
            for handler in self.handlers_for_address(message.address):
                try:
                    handler.invoke(client_address, message)
                except Exception as err:  # never let one message end the server
                    self._owner._reject(client_address, f"{message.address} {message.params!r}: {err}")
        return []


class ControlServer:
    """Receives control messages on ``host:port`` (port 0 = a free port; see ``address``) on a daemon thread.

    host: "127.0.0.1" by default; a non-loopback host (e.g. "0.0.0.0" for a phone on the LAN) is accepted
    with a warning, since anyone on that network can then control the engine.
    """

    def __init__(self, controls: EngineControls, host: str = proto.DEFAULT_CONTROL_HOST,
                 port: int = proto.DEFAULT_CONTROL_PORT) -> None:
        self.controls = controls
        self.rejected = 0
        self.handled = 0
        if not _is_loopback(host):
            log.warning("control server listens on %s: any host on that network can control the engine", host)
        dispatcher = _SafeDispatcher(self)
        c = controls
        self._actions: dict[str, Callable[..., None]] = {
            proto.START: lambda: c.start(),
            proto.STOP: lambda: c.stop(),
            proto.PANIC: lambda: c.panic(),
            proto.TEMPERATURE: lambda v: c.set_temperature(v),
            proto.DENSITY: lambda v: c.set_density(v),
            proto.DRUMS: lambda v: c.set_drums(_switch(v, "drums")),
            proto.PIANO: lambda v: c.set_piano(_switch(v, "piano")),
            proto.TEMPO_LOCK: lambda v: c.set_tempo_lock(_switch(v, "tempo_lock")),
            proto.TEMPO_RANGE: lambda lo, hi: c.set_tempo_range(lo, hi),
            proto.BPM: lambda v: c.set_bpm(v),
            proto.TAP: lambda: c.tap(),
            proto.DOWNBEAT: lambda: c.downbeat(),
        }
        for address in self._actions:
            dispatcher.map(address, self._handle, needs_reply_address=True)
        dispatcher.map(proto.PING, self._ping, needs_reply_address=True)
        dispatcher.set_default_handler(self._unknown, needs_reply_address=True)
        self._dispatcher = dispatcher
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._socket.bind((host, port))
        except OSError as err:
            self._socket.close()
            raise UserInputError(f"cannot listen for OSC control on {host}:{port}: {err}") from err
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_log = -float("inf")
        self._unlogged = 0

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) actually bound."""
        return self._socket.getsockname()[:2]

    def _reject(self, client_address, reason: str) -> None:
        """Count a rejected message; log one line per LOG_INTERVAL_S at most."""
        self.rejected += 1
        now = time.monotonic()
        if now - self._last_log < LOG_INTERVAL_S:
            self._unlogged += 1
            return
        more = f" ({self._unlogged} more rejected since the last report)" if self._unlogged else ""
        log.warning("ignored control message from %s: %.200s%s", client_address, reason, more)
        self._last_log, self._unlogged = now, 0

    def _handle(self, client_address, address: str, *args: Any) -> None:
        action = self._actions[address]
        expected = len(proto.CONTROL_TYPETAGS[address])
        if len(args) != expected:
            raise ControlError(f"expects {expected} argument(s), got {len(args)}")
        action(*args)
        self.handled += 1
        log.info("control %s %s", address, " ".join(map(str, args)))

    def _ping(self, client_address, address: str, *args: Any) -> None:
        host, port = client_address[:2]
        if len(args) > 1:
            raise ControlError(f"expects at most 1 argument (reply port), got {len(args)}")
        if args:
            if isinstance(args[0], bool) or not isinstance(args[0], int) or not 0 < args[0] < 65536:
                raise ControlError(f"reply port must be an int in 1..65535, got {args[0]!r}")
            port = args[0]
        self.handled += 1
        self._socket.sendto(build_msg(proto.PONG).dgram, (host, port))

    def _unknown(self, client_address, address: str, *args: Any) -> None:
        self._reject(client_address, f"unknown address {address!r}")

    def start(self) -> "ControlServer":
        """Serve on a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="osc-control", daemon=True)
            self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                if not select.select([self._socket], [], [], POLL_S)[0]:
                    continue
                data, client_address = self._socket.recvfrom(65536)
            except OSError:
                if self._stop.is_set():
                    return
                raise
            try:
                self._dispatcher.call_handlers_for_packet(data, client_address)
            except Exception as err:  # belt and braces: the dispatcher already reports its own errors
                self._reject(client_address, f"{type(err).__name__}: {err}")

    def close(self, timeout_s: float = 2.0) -> None:
        """Stop serving and release the port; waits at most ``timeout_s`` seconds for the thread. Idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("control server thread did not stop within %s s; abandoning it", timeout_s)
            self._thread = None
        self._socket.close()

    def __enter__(self) -> "ControlServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


class ExternalInput:
    """Controls from outside (a MIDI input, Ableton Link), read by a daemon thread: ``_run`` loops until
    ``_stop`` is set. ``start`` runs ``_opening`` then the thread; ``close`` stops the thread, then runs
    ``_closing``; also a context manager. Subclasses name the thread (``thread_name``)."""

    thread_name = "external-input"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        raise NotImplementedError

    def _opening(self) -> None:
        """Before the thread starts."""

    def _closing(self) -> None:
        """After the thread stopped (also when it never started)."""

    def start(self) -> "ExternalInput":
        if self._thread is None:
            self._opening()
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._closing()

    def __enter__(self) -> "ExternalInput":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
