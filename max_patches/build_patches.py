"""Generate the two Max patches of rhythmicnet_live from the OSC protocol constants.

    python max_patches/build_patches.py            # rewrites max_patches/*.maxpat
    python max_patches/build_patches.py --out DIR  # writes them to DIR instead

Addresses, ports, value ranges and MIDI channels come from :mod:`rhythmicnet_live.live.osc_protocol`,
:mod:`rhythmicnet_live.notes` and :class:`rhythmicnet_live.live.control.EngineControls`, so the patches cannot drift
from the engine: ``tests/test_max_patches.py`` checks that the committed files equal a fresh build.

Output: Max patcher JSON (the format Max 8/9 saves), boxes laid out on a grid in patching coordinates (pixels).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from rhythmicnet_live.live import osc_protocol as proto
from rhythmicnet_live.live.control import EngineControls
from rhythmicnet_live.notes import DRUM_CHANNEL, PIANO_CHANNEL

HERE = Path(__file__).resolve().parent
RECEIVER_FILE = "rhythmicnet_receiver.maxpat"
CONTROL_FILE = "rhythmicnet_control.maxpat"
#: UDP port the control patch asks the engine to send /rhythmicnet/pong to (the argument of its ping).
PONG_PORT = proto.DEFAULT_CONTROL_PORT + 1

ROW = 30.0  # vertical spacing of the object rows (pixels)
BOX_H = 22.0


def _atom_is_float(token: str) -> bool:
    return re.fullmatch(r"-?\d*\.\d*", token) is not None and token not in (".", "-.")


def newobj_io(text: str) -> tuple[int, int, list[str]]:
    """(numinlets, numoutlets, outlettype) of a Max object box, as Max 8 saves them, for the objects used here."""
    name, *args = text.split()
    n = len(args)
    if name == "route":  # Max 8: one extra inlet per argument sets that argument
        return n + 1, n + 1, [""] * (n + 1)
    if name == "unpack":
        return 1, n, ["float" if _atom_is_float(a) else "int" for a in args]
    if name in ("*", "+"):
        return 2, 1, ["float" if args and _atom_is_float(args[0]) else "int"]
    if name in ("pack", "pak"):
        return n, 1, [""]
    if name == "gate":
        outs = int(args[0]) if args else 1
        return 2, outs, [""] * outs
    if name == "sel":
        return (2 if n <= 1 else 1), n + 1, ["bang"] * n + [""]
    fixed = {
        "udpreceive": (1, 1, [""]), "udpsend": (1, 0, []), "makenote": (3, 2, ["float", "float"]),
        "noteout": (3, 0, []), "midiformat": (7, 1, ["int"]), "midiout": (1, 0, []), "prepend": (1, 1, [""]),
        "loadmess": (1, 1, [""]), "print": (1, 0, []),
    }
    return fixed[name]


class Patcher:
    """A Max patcher under construction: ``add_*`` return the new box id, ``connect`` adds a patch cord."""

    def __init__(self, width: float, height: float) -> None:
        self.rect = [80.0, 80.0, width, height]
        self.boxes: list[dict] = []
        self.lines: list[dict] = []

    def _add(self, box: dict) -> str:
        box["id"] = f"obj-{len(self.boxes) + 1}"
        box["patching_rect"] = [float(v) for v in box["patching_rect"]]
        self.boxes.append({"box": box})
        return box["id"]

    def obj(self, text: str, x: float, y: float, width: float | None = None) -> str:
        ins, outs, types = newobj_io(text)
        width = width or max(40.0, 7.0 * len(text) + 14.0)
        box = {"maxclass": "newobj", "text": text, "numinlets": ins, "numoutlets": outs,
               "patching_rect": [x, y, width, BOX_H]}
        if outs:
            box["outlettype"] = types
        return self._add(box)

    def message(self, text: str, x: float, y: float) -> str:
        return self._add({"maxclass": "message", "text": text, "numinlets": 2, "numoutlets": 1,
                          "outlettype": [""], "patching_rect": [x, y, max(40.0, 7.0 * len(text) + 14.0), BOX_H]})

    def comment(self, text: str, x: float, y: float, width: float, lines: int = 1, bold: bool = False) -> str:
        box = {"maxclass": "comment", "text": text, "numinlets": 1, "numoutlets": 0,
               "patching_rect": [x, y, width, 6.0 + 14.0 * lines]}
        if lines > 1:
            box["linecount"] = lines
        if bold:
            box["fontface"] = 1
        return self._add(box)

    def ui(self, maxclass: str, x: float, y: float, width: float = 50.0, height: float = BOX_H, **attrs) -> str:
        """A user-interface box: number, flonum, toggle, button or multislider."""
        outs = {"number": ["", "bang"], "flonum": ["", "bang"], "toggle": ["int"], "button": ["bang"],
                "multislider": ["", ""]}[maxclass]
        box = {"maxclass": maxclass, "numinlets": 1, "numoutlets": len(outs), "outlettype": outs,
               "parameter_enable": 0, "patching_rect": [x, y, width, height], **attrs}
        if maxclass == "flonum":
            box.setdefault("format", 6)
        return self._add(box)

    def connect(self, source: str, outlet: int, destination: str, inlet: int = 0) -> None:
        self.lines.append({"patchline": {"source": [source, outlet], "destination": [destination, inlet]}})

    def to_json(self) -> dict:
        return {"patcher": {
            "fileversion": 1,
            "appversion": {"major": 8, "minor": 6, "revision": 0, "architecture": "x64", "modernui": 1},
            "classnamespace": "box",
            "rect": self.rect,
            "bglocked": 0,
            "openinpresentation": 0,
            "default_fontsize": 12.0,
            "default_fontface": 0,
            "default_fontname": "Arial",
            "gridonopen": 1,
            "gridsize": [15.0, 15.0],
            "gridsnaponopen": 1,
            "objectsnaponopen": 1,
            "statusbarvisible": 2,
            "toolbarvisible": 1,
            "boxes": self.boxes,
            "lines": self.lines,
            "dependency_cache": [],
            "autosave": 0,
        }}


def _note_chain(p: Patcher, track_outlet: tuple[str, int], channel: int, x: float, y: float,
                gate_control: str, midiout: str) -> None:
    """pitch velocity duration(s) -> makenote -> [gate 1: noteout <channel> | gate 2: midiformat -> midiout]."""
    unpack = p.obj("unpack 0 0 0.", x, y)
    p.connect(*track_outlet, unpack)
    ms = p.obj("* 1000.", x + 90, y + ROW)
    makenote = p.obj("makenote 100 500", x, y + 2 * ROW)
    p.connect(unpack, 0, makenote, 0)
    p.connect(unpack, 1, makenote, 1)
    p.connect(unpack, 2, ms)
    p.connect(ms, 0, makenote, 2)
    pack = p.obj("pack 0 0", x, y + 3 * ROW)
    p.connect(makenote, 0, pack, 0)
    p.connect(makenote, 1, pack, 1)
    gate = p.obj("gate 2 1", x, y + 4 * ROW)
    p.connect(gate_control, 0, gate, 0)
    p.connect(pack, 0, gate, 1)
    split = p.obj("unpack 0 0", x, y + 5 * ROW)
    p.connect(gate, 0, split)
    midiformat = p.obj(f"midiformat {channel}", x + 95, y + 5 * ROW)
    p.connect(gate, 1, midiformat)
    p.connect(midiformat, 0, midiout)
    noteout = p.obj(f"noteout {channel}", x, y + 6 * ROW)
    p.connect(split, 0, noteout, 0)
    p.connect(split, 1, noteout, 1)


def build_receiver() -> dict:
    """Receiver: the OSC output stream -> MIDI notes (drums ch 10, piano ch 1) and beat/tempo/style displays."""
    p = Patcher(1120.0, 640.0)
    p.comment("rhythmicnet receiver: plays and shows the OSC stream of rhythmicnet-live", 15, 10, 600, bold=True)
    p.comment(f"Listens on UDP {proto.DEFAULT_OSC_PORT}: run  rhythmicnet-live perform --osc "
              f"{proto.DEFAULT_OSC_HOST}:{proto.DEFAULT_OSC_PORT}", 15, 35, 600)
    udp = p.obj(f"udpreceive {proto.DEFAULT_OSC_PORT}", 15, 65)
    routed = [proto.NOTE, proto.BEAT, proto.TEMPO, proto.STYLE]
    route = p.obj("route " + " ".join(routed), 15, 100)
    p.connect(udp, 0, route)
    p.comment(f"The rightmost outlet passes everything else (e.g. {proto.KEYPOINTS}, 34 floats, for visuals).",
              15, 125, 600)
    out = {address: i for i, address in enumerate(routed)}

    # Notes: "drums|piano pitch velocity duration_s".
    p.comment("NOTES  track pitch velocity duration(s)", 15, 160, 330, bold=True)
    tracks = p.obj("route " + " ".join(proto.TRACKS), 15, 190)
    p.connect(route, out[proto.NOTE], tracks)
    p.comment("drums: MIDI channel 10", 15, 220, 170)
    p.comment("piano: MIDI channel 1", 225, 220, 170)
    p.comment("Output: off = noteout (Max MIDI port), on = midiout (Max for Live: the device's track)",
              440, 160, 125, lines=5)
    mode = p.ui("toggle", 440, 250, 24, 24)
    plus = p.obj("+ 1", 440, 285)
    p.connect(mode, 0, plus)
    midiout = p.obj("midiout", 110, 460)
    channels = {"drums": DRUM_CHANNEL + 1, "piano": PIANO_CHANNEL + 1}
    for i, track in enumerate(proto.TRACKS):
        _note_chain(p, (tracks, i), channels[track], 15 + 210 * i, 250, plus, midiout)
    p.comment("makenote turns each note into note-on + note-off after its duration (ms).", 15, 490, 400)

    # Beats: "index position_in_bar bpm confidence".
    p.comment("BEAT  index position bpm confidence", 580, 160, 260, bold=True)
    beat = p.obj("unpack 0 0 0. 0.", 580, 190, 150)
    p.connect(route, out[proto.BEAT], beat)
    flash = p.ui("button", 750, 190, 24, 24)
    p.connect(route, out[proto.BEAT], flash)
    p.comment("every beat", 780, 192, 80)
    displays = [("number", "beat"), ("number", "pos"), ("flonum", "bpm"), ("flonum", "conf")]
    for i, (maxclass, label) in enumerate(displays):
        box = p.ui(maxclass, 580 + 65 * i, 225, 60)
        p.connect(beat, i, box)
        p.comment(label, 580 + 65 * i, 250, 60)
    downbeat_sel = p.obj("sel 0", 645, 280)
    p.connect(beat, 1, downbeat_sel)
    downbeat = p.ui("button", 645, 315, 24, 24)
    p.connect(downbeat_sel, 0, downbeat)
    p.comment("downbeat (position 0)", 675, 317, 150)

    # Tempo and style.
    p.comment("TEMPO bpm", 880, 160, 90, bold=True)
    tempo = p.ui("flonum", 880, 190, 70)
    p.connect(route, out[proto.TEMPO], tempo)
    p.comment("STYLE strength", 990, 160, 110, bold=True)
    style = p.ui("flonum", 990, 190, 70)
    p.connect(route, out[proto.STYLE], style)
    strength = p.ui("multislider", 990, 225, 30, 100, setminmax=[0.0, 1.0], size=1)
    p.connect(route, out[proto.STYLE], strength)
    p.comment("0..1", 1025, 305, 40)
    return p.to_json()


def build_control() -> dict:
    """Control: start/stop/panic/ping messages and live settings -> udpsend to the engine's control port."""
    defaults = EngineControls()
    p = Patcher(860.0, 720.0)
    p.comment("rhythmicnet control: live settings of the engine over OSC", 15, 10, 600, bold=True)
    p.comment(f"Sends to the engine's control server on {proto.DEFAULT_CONTROL_HOST}:{proto.DEFAULT_CONTROL_PORT}. "
              "Click a message, change a number or a toggle: it is sent at once.", 15, 35, 620, lines=2)
    send = p.obj(f"udpsend {proto.DEFAULT_CONTROL_HOST} {proto.DEFAULT_CONTROL_PORT}", 15, 670)
    p.comment("every control above goes out here", 200, 670, 220)

    p.comment("TRANSPORT  start / stop the performance; panic = all notes off now; tap on the beats = tempo and phase; "
              "downbeat = this beat is one", 15, 80, 800, bold=True)
    for i, address in enumerate((proto.START, proto.STOP, proto.PANIC, proto.TAP, proto.DOWNBEAT)):
        p.connect(p.message(address, 15 + 160 * i, 105), 0, send)

    # Live settings: a header, a "loadmess set" that shows the engine default without sending it, the control,
    # then "prepend <address>" into udpsend.
    def setting(label: str, address: str, x: float, y: float, maxclass: str, value: float, **attrs) -> None:
        p.comment(label, x, y, 250, lines=2)
        init = p.obj(f"loadmess set {value}", x, y + 36)
        control = p.ui(maxclass, x, y + 66, **attrs)
        p.connect(init, 0, control)
        prepend = p.obj(f"prepend {address}", x, y + 96)
        p.connect(control, 0, prepend)
        p.connect(prepend, 0, send)

    lo, hi = proto.TEMPERATURE_RANGE
    setting(f"TEMPERATURE  sampling temperature ({lo}..{hi}): higher = wilder", proto.TEMPERATURE,
            15, 145, "flonum", defaults.temperature, minimum=lo, maximum=hi)
    setting("DENSITY  0..1: share of generated notes kept", proto.DENSITY, 285, 145, "flonum", defaults.density,
            minimum=0.0, maximum=1.0)
    setting("DRUMS  on/off (MIDI channel 10)", proto.DRUMS, 15, 305, "toggle", int(defaults.drums),
            width=24, height=24)
    setting("PIANO  on/off (MIDI channel 1)", proto.PIANO, 285, 305, "toggle", int(defaults.piano),
            width=24, height=24)
    setting("TEMPO LOCK  on = hold the current tempo, off = follow the dancer", proto.TEMPO_LOCK, 555, 305,
            "toggle", int(defaults.tempo_lock), width=24, height=24)

    # Tempo range: two flonums -> pak -> prepend.
    lo, hi = proto.TEMPO_LIMITS
    x, y = 555, 145
    p.comment(f"TEMPO RANGE  min / max BPM of the beat tracker ({lo:g}..{hi:g})", x, y, 270, lines=2)
    pak = p.obj(f"pak {defaults.tempo_min} {defaults.tempo_max}", x, y + 96)
    for i, value in enumerate((defaults.tempo_min, defaults.tempo_max)):
        init = p.obj(f"loadmess set {value}", x + 135 * i, y + 36)
        box = p.ui("flonum", x + 135 * i, y + 66, 60, minimum=lo, maximum=hi)
        p.connect(init, 0, box)
        p.connect(box, 0, pak, i)
    prepend = p.obj(f"prepend {proto.TEMPO_RANGE}", x, y + 126)
    p.connect(pak, 0, prepend)
    p.connect(prepend, 0, send)

    lo, hi = proto.TEMPO_LIMITS
    setting(f"BPM  known tempo ({lo:g}..{hi:g}; the dancer gives the phase); 0 = follow the dancer", proto.BPM,
            15, 440, "flonum", defaults.bpm or 0.0, minimum=0.0, maximum=hi)

    # Ping: the engine answers /rhythmicnet/pong to this host on PONG_PORT.
    p.comment(f"PING  the engine replies {proto.PONG} to port {PONG_PORT}: the button flashes", 15, 580, 600,
              bold=True)
    p.connect(p.message(f"{proto.PING} {PONG_PORT}", 15, 605), 0, send)
    pong_in = p.obj(f"udpreceive {PONG_PORT}", 285, 605)
    pong = p.obj(f"route {proto.PONG}", 285, 640)
    p.connect(pong_in, 0, pong)
    flash = p.ui("button", 555, 640, 24, 24)
    p.connect(pong, 0, flash)
    p.comment("pong = the engine is alive", 585, 642, 200)
    return p.to_json()


def render(patch: dict, indent: int = 0) -> str:
    """The patch as the exact text written to disk: tab-indented JSON with sorted keys and, as Max writes them,
    lists of plain values on one line (trailing newline at the top level)."""
    pad, inner = "\t" * indent, "\t" * (indent + 1)
    if isinstance(patch, dict):
        items = [f"{inner}{json.dumps(k)}: {render(v, indent + 1)}" for k, v in sorted(patch.items())]
        text = "{\n" + ",\n".join(items) + f"\n{pad}}}" if items else "{}"
    elif isinstance(patch, list) and any(isinstance(v, (dict, list)) for v in patch):
        text = "[\n" + ",\n".join(inner + render(v, indent + 1) for v in patch) + f"\n{pad}]"
    else:
        text = json.dumps(patch, ensure_ascii=False)
    return text + "\n" if indent == 0 else text


def write_patches(out_dir: Path) -> list[Path]:
    """Write both patches to ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, patch in ((RECEIVER_FILE, build_receiver()), (CONTROL_FILE, build_control())):
        path = out_dir / name
        path.write_text(render(patch), encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: max_patches/)")
    for path in write_patches(parser.parse_args(argv).out):
        print(path)


if __name__ == "__main__":
    main()
