"""OSC control server: Max, a DAW or a phone sends start/stop/panic and live settings to the engine.

:class:`EngineControls` holds the live settings (thread-safe: every change is validated and made under a
lock, then listeners are told). :class:`ControlServer` receives the control messages of
:mod:`rhythmicnet_live.live.osc_protocol` on UDP (default 127.0.0.1:9001, loopback only unless another host is
configured) on its own thread and applies them to an ``EngineControls``.

A malformed message (garbage bytes, wrong argument types or count, a value out of range, an unknown address)
is logged, counted in ``ControlServer.rejected`` and ignored: it never stops the server.

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
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from pythonosc import osc_packet
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_message_builder import build_msg
from pythonosc.osc_server import BlockingOSCUDPServer

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

    def tap(self) -> None:
        self._notify("tap", time.monotonic())

    def downbeat(self) -> None:
        self._notify("downbeat", time.monotonic())


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


class _SafeDispatcher(Dispatcher):
    """Dispatcher that logs unparsable packets and handler errors instead of dropping them silently or
    dying, and ignores bundle timetags (a far-future bundle must not stall the server)."""

    def __init__(self, server: "ControlServer") -> None:
        super().__init__(strict_timing=False)
        self._owner = server

    def call_handlers_for_packet(self, data: bytes, client_address: tuple[str, int]) -> list:
        try:
            packet = osc_packet.OscPacket(data)
        except osc_packet.ParseError as err:
            self._owner._reject(client_address, f"unparsable OSC packet ({len(data)} bytes): {err}")
            return []
        for timed in packet.messages:
            message = timed.message
            for handler in self.handlers_for_address(message.address):
                try:
                    handler.invoke(client_address, message)
                except Exception as err:  # never let one message end the server
                    self._owner._reject(client_address, f"{message.address} {message.params!r}: {err}")
        return []


class _Server(BlockingOSCUDPServer):
    def __init__(self, address, dispatcher, owner: "ControlServer") -> None:
        self._owner = owner
        super().__init__(address, dispatcher)

    def verify_request(self, request, client_address) -> bool:
        ok = super().verify_request(request, client_address)
        if not ok:
            self._owner._reject(client_address, f"not an OSC message or bundle ({len(request[0])} bytes)")
        return ok

    def handle_error(self, request, client_address) -> None:
        log.exception("control server: error on a request from %s", client_address)


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
        try:
            self._server = _Server((host, port), dispatcher, self)
        except OSError as err:
            raise UserInputError(f"cannot listen for OSC control on {host}:{port}: {err}") from err
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) actually bound."""
        return self._server.server_address[:2]

    def _reject(self, client_address, reason: str) -> None:
        self.rejected += 1
        log.warning("ignored control message from %s: %s", client_address, reason)

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
        self._server.socket.sendto(build_msg(proto.PONG).dgram, (host, port))

    def _unknown(self, client_address, address: str, *args: Any) -> None:
        self._reject(client_address, f"unknown address {address!r}")

    def start(self) -> "ControlServer":
        """Serve on a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                            name="osc-control", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> "ControlServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
