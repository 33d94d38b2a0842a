"""The OSC address space of rhythmicnet_live: every address, argument list and default port in one place.

Max patches (``max_patches/``), the OSC output (``osc_out``), the control server (``control``) and the
tests are all checked against these constants; change them here and nowhere else.

Output stream (engine -> Max/DAW, default 127.0.0.1:9000)::

    /rhythmicnet/note       s track ("drums"|"piano"), i pitch (MIDI), i velocity (1..127), f duration (seconds)
    /rhythmicnet/beat       i index (beats since start), i position_in_bar (0..3), f bpm, f confidence (0..1)
    /rhythmicnet/tempo      f bpm
    /rhythmicnet/style      f strength (0..1)
    /rhythmicnet/keypoints  34 f: x0 y0 x1 y1 ... x16 y16 (COCO-17 order, normalised body coordinates; optional)
    /rhythmicnet/click      i index (within its tempo), f bpm, i count_in (1 = count-in); ``calibrate`` only

Control (Max/DAW -> engine, default 127.0.0.1:9001, loopback only unless configured)::

    /rhythmicnet/start
    /rhythmicnet/stop
    /rhythmicnet/panic                  all notes off now
    /rhythmicnet/temperature f          sampling temperature, TEMPERATURE_RANGE
    /rhythmicnet/density f              0..1
    /rhythmicnet/drums i                0 = off, 1 = on
    /rhythmicnet/piano i                0 = off, 1 = on
    /rhythmicnet/tempo_lock i           0 = follow the dancer, 1 = hold the current tempo
    /rhythmicnet/tempo_range f f        min_bpm max_bpm, inside TEMPO_LIMITS
    /rhythmicnet/bpm f                  known tempo (BPM, inside TEMPO_LIMITS; the body gives the phase within
                                        +-4%); 0 = follow the dancer again
    /rhythmicnet/tap                    tap tempo and phase: two or more taps (at most 2 s apart) set the known
                                        tempo, and the next beat lands on the taps' grid (then the body moves it)
    /rhythmicnet/downbeat               "this beat is one": the beat nearest now becomes the bar's first
    /rhythmicnet/ping [i reply_port]    -> /rhythmicnet/pong, sent to the sender's host at reply_port
                                           (or to the sender's own address and port when no port is given)
"""

from __future__ import annotations

PREFIX = "/rhythmicnet"

DEFAULT_OSC_HOST = "127.0.0.1"
DEFAULT_OSC_PORT = 9000
DEFAULT_CONTROL_HOST = "127.0.0.1"
DEFAULT_CONTROL_PORT = 9001

# Output stream.
NOTE = PREFIX + "/note"
BEAT = PREFIX + "/beat"
TEMPO = PREFIX + "/tempo"
STYLE = PREFIX + "/style"
KEYPOINTS = PREFIX + "/keypoints"
CLICK = PREFIX + "/click"

# Control input.
START = PREFIX + "/start"
STOP = PREFIX + "/stop"
PANIC = PREFIX + "/panic"
TEMPERATURE = PREFIX + "/temperature"
DENSITY = PREFIX + "/density"
DRUMS = PREFIX + "/drums"
PIANO = PREFIX + "/piano"
TEMPO_LOCK = PREFIX + "/tempo_lock"
TEMPO_RANGE = PREFIX + "/tempo_range"
BPM = PREFIX + "/bpm"
TAP = PREFIX + "/tap"
DOWNBEAT = PREFIX + "/downbeat"
PING = PREFIX + "/ping"
PONG = PREFIX + "/pong"

#: OSC type tags of each output message (``keypoints`` is 34 floats).
OUTPUT_TYPETAGS = {
    NOTE: "siif",
    BEAT: "iiff",
    TEMPO: "f",
    STYLE: "f",
    KEYPOINTS: "f" * 34,
}

#: Control addresses and the argument type tags they accept ("?" marks the optional reply port of ping).
CONTROL_TYPETAGS = {
    START: "",
    STOP: "",
    PANIC: "",
    TEMPERATURE: "f",
    DENSITY: "f",
    DRUMS: "i",
    PIANO: "i",
    TEMPO_LOCK: "i",
    TEMPO_RANGE: "ff",
    BPM: "f",
    TAP: "",
    DOWNBEAT: "",
    PING: "?i",
}

#: Allowed sampling temperature (inclusive).
TEMPERATURE_RANGE = (0.05, 5.0)
#: Allowed tempo bounds in BPM (inclusive) for ``tempo_range``.
TEMPO_LIMITS = (20.0, 400.0)
#: A known tempo (``--bpm``, ``/rhythmicnet/bpm``) is searched within this fraction either side.
KNOWN_TEMPO_TOLERANCE = 0.04

TRACKS = ("drums", "piano")
