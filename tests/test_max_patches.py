"""The Max patches in max_patches/: valid patcher JSON, wired to the exact OSC protocol, regenerated
byte-identically by build_patches.py, and their control messages understood by the engine over loopback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from pythonosc.udp_client import SimpleUDPClient

from live_helpers import OscReceiver, wait_for
from rhythmicnet_live.live import osc_protocol as proto
from rhythmicnet_live.live.control import ControlServer, EngineControls
from rhythmicnet_live.notes import DRUM_CHANNEL, PIANO_CHANNEL

PATCH_DIR = Path(__file__).resolve().parents[1] / "max_patches"
RECEIVER = PATCH_DIR / "rhythmicnet_receiver.maxpat"
CONTROL = PATCH_DIR / "rhythmicnet_control.maxpat"
#: Every address the protocol module defines (output, control and the pong reply).
KNOWN_ADDRESSES = {v for k, v in vars(proto).items()
                   if k.isupper() and isinstance(v, str) and v.startswith(proto.PREFIX + "/")}


class Patch:
    """A parsed .maxpat: boxes by id, cords, and helpers to follow them."""

    def __init__(self, path: Path) -> None:
        self.data = json.loads(path.read_text(encoding="utf-8"))
        self.boxes = {b["box"]["id"]: b["box"] for b in self.data["patcher"]["boxes"]}
        self.lines = [(l["patchline"]["source"], l["patchline"]["destination"])
                      for l in self.data["patcher"]["lines"]]

    def objects(self, name: str) -> list[dict]:
        """Object boxes whose first word is ``name``."""
        return [b for b in self.boxes.values() if b["maxclass"] == "newobj" and b["text"].split()[0] == name]

    def targets(self, box_id: str, outlet: int | None = None) -> list[tuple[dict, int]]:
        """(box, inlet) fed by ``box_id`` (from one outlet, or from any)."""
        return [(self.boxes[d[0]], d[1]) for s, d in self.lines
                if s[0] == box_id and (outlet is None or s[1] == outlet)]

    def sources(self, box_id: str, inlet: int = 0) -> list[dict]:
        return [self.boxes[s[0]] for s, d in self.lines if d[0] == box_id and d[1] == inlet]

    def reachable(self, box_id: str, outlet: int) -> list[dict]:
        """Every box downstream of one outlet."""
        seen, stack, out = set(), [b["id"] for b, _ in self.targets(box_id, outlet)], []
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                out.append(self.boxes[current])
                stack.extend(b["id"] for b, _ in self.targets(current))
        return out


def atoms(text: str) -> list:
    """Max atoms of a message box: int, float or symbol."""
    out = []
    for token in text.split():
        if re.fullmatch(r"-?\d+", token):
            out.append(int(token))
        elif re.fullmatch(r"-?\d*\.\d*(e-?\d+)?", token) and token not in (".", "-."):
            out.append(float(token))
        else:
            out.append(token)
    return out


def typetags(values) -> str:
    return "".join({int: "i", float: "f", str: "s"}[type(v)] for v in values)


@pytest.fixture(scope="module", params=[RECEIVER, CONTROL], ids=["receiver", "control"])
def patch(request) -> Patch:
    return Patch(request.param)


@pytest.fixture(scope="module")
def receiver() -> Patch:
    return Patch(RECEIVER)


@pytest.fixture(scope="module")
def control() -> Patch:
    return Patch(CONTROL)


def test_boxes_and_cords_are_well_formed(patch):
    p = patch.data["patcher"]
    assert p["fileversion"] == 1 and p["appversion"]["major"] >= 8 and len(p["rect"]) == 4
    ids = [b["box"]["id"] for b in p["boxes"]]
    assert len(ids) == len(set(ids))
    for box in patch.boxes.values():
        assert {"id", "maxclass", "patching_rect", "numinlets", "numoutlets"} <= box.keys()
        assert len(box["patching_rect"]) == 4 and box["patching_rect"][2] > 0 and box["patching_rect"][3] > 0
        assert len(box.get("outlettype", [])) == box["numoutlets"]
        if box["maxclass"] in ("newobj", "message", "comment"):
            assert box["text"].strip()
    for (src, outlet), (dst, inlet) in patch.lines:
        assert src in patch.boxes and dst in patch.boxes
        assert 0 <= outlet < patch.boxes[src]["numoutlets"], (src, outlet)
        assert 0 <= inlet < patch.boxes[dst]["numinlets"], (dst, inlet)
    assert len(set(map(str, patch.lines))) == len(patch.lines)


def test_no_boxes_overlap(patch):
    rects = [(b["id"], b["patching_rect"]) for b in patch.boxes.values()]
    for i, (a, (ax, ay, aw, ah)) in enumerate(rects):
        for b, (bx, by, bw, bh) in rects[i + 1:]:
            assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, (a, b)


def test_every_address_is_known_to_the_protocol(patch):
    words = set()
    for box in patch.boxes.values():
        if box["maxclass"] in ("newobj", "message"):
            words.update(w for w in box["text"].split() if w.startswith("/"))
    assert words and words <= KNOWN_ADDRESSES, words - KNOWN_ADDRESSES


def test_receiver_listens_on_the_output_port_and_routes_every_output(receiver):
    (udp,) = receiver.objects("udpreceive")
    assert udp["text"].split()[1:] == [str(proto.DEFAULT_OSC_PORT)]
    (route,) = [b for b, _ in receiver.targets(udp["id"]) if b["text"].startswith("route")]
    routed = route["text"].split()[1:]
    assert set(routed) == set(proto.OUTPUT_TYPETAGS) - {proto.KEYPOINTS}
    for i, address in enumerate(routed):
        assert receiver.targets(route["id"], i), f"{address} outlet is not connected"
    out = {address: i for i, address in enumerate(routed)}

    # Each unpack right after the router takes exactly the protocol's argument types.
    def unpack_types(box):
        return "".join("f" if "." in a else "i" for a in box["text"].split()[1:])

    (beat_unpack,) = [b for b, _ in receiver.targets(route["id"], out[proto.BEAT]) if b.get("text", "").startswith("unpack")]
    assert unpack_types(beat_unpack) == proto.OUTPUT_TYPETAGS[proto.BEAT]
    beat_boxes = receiver.reachable(route["id"], out[proto.BEAT])
    assert any(b["maxclass"] == "button" for b, _ in receiver.targets(route["id"], out[proto.BEAT]))
    assert [receiver.targets(beat_unpack["id"], i)[0][0]["maxclass"] for i in range(4)] == [
        "number", "number", "flonum", "flonum"]
    assert sum(b["maxclass"] == "button" for b in beat_boxes) == 2  # every beat, downbeat
    assert {b["maxclass"] for b, _ in receiver.targets(route["id"], out[proto.TEMPO])} == {"flonum"}
    assert {b["maxclass"] for b, _ in receiver.targets(route["id"], out[proto.STYLE])} == {"flonum", "multislider"}

    # Notes: track symbol -> per-track chain; duration seconds -> ms -> makenote -> noteout on the track channel.
    (tracks,) = [b for b, _ in receiver.targets(route["id"], out[proto.NOTE])]
    assert tracks["text"].split() == ["route", *proto.TRACKS]
    channel = {"drums": DRUM_CHANNEL + 1, "piano": PIANO_CHANNEL + 1}
    for i, track in enumerate(proto.TRACKS):
        (unpack,) = [b for b, _ in receiver.targets(tracks["id"], i)]
        assert "s" + unpack_types(unpack) == proto.OUTPUT_TYPETAGS[proto.NOTE]
        (ms,) = [b for b, inlet in receiver.targets(unpack["id"], 2)]
        assert ms["text"] == "* 1000."
        assert [(b["text"].split()[0], inlet) for b, inlet in receiver.targets(ms["id"])] == [("makenote", 2)]
        downstream = receiver.reachable(tracks["id"], i)
        noteouts = [b["text"] for b in downstream if b.get("text", "").startswith("noteout")]
        formats = [b["text"] for b in downstream if b.get("text", "").startswith("midiformat")]
        assert noteouts == [f"noteout {channel[track]}"] and formats == [f"midiformat {channel[track]}"]
        assert any(b.get("text") == "midiout" for b in downstream)


def test_control_sends_every_control_address_to_the_control_port(control):
    (udp,) = control.objects("udpsend")
    assert udp["text"].split()[1:] == [proto.DEFAULT_CONTROL_HOST, str(proto.DEFAULT_CONTROL_PORT)]
    messages = control_messages(control)
    assert {address for address, _ in messages} == set(proto.CONTROL_TYPETAGS)
    for address, args in messages:
        expected = proto.CONTROL_TYPETAGS[address]
        assert typetags(args) in ({"", expected[1:]} if expected.startswith("?") else {expected}), address
    # The ping's reply port is the port the patch listens on for the pong.
    (ping_args,) = [args for address, args in messages if address == proto.PING]
    (pong_in,) = control.objects("udpreceive")
    assert [int(pong_in["text"].split()[1])] == ping_args
    assert any(b["text"] == f"route {proto.PONG}" for b, _ in control.targets(pong_in["id"]))
    # Number boxes only accept values inside the protocol's ranges.
    temperature = [b for p in control.objects("prepend") if p["text"].split()[1] == proto.TEMPERATURE
                   for b in control.sources(p["id"])]
    assert [(b["minimum"], b["maximum"]) for b in temperature] == [proto.TEMPERATURE_RANGE]


def control_messages(control: Patch) -> list[tuple[str, list]]:
    """The OSC messages the control patch sends, built from the patch itself: each message box into udpsend
    with its own atoms, each ``prepend ADDRESS`` into udpsend with a value of the type its source outputs
    (flonum: a float inside its range, toggle/number: an int, pak: its arguments)."""
    (udp,) = control.objects("udpsend")
    messages = []
    for box in control.sources(udp["id"]):
        if box["maxclass"] == "message":
            address, *args = atoms(box["text"])
            messages.append((address, args))
            continue
        name, address = box["text"].split()
        assert name == "prepend"
        (source,) = control.sources(box["id"])
        if source["maxclass"] == "flonum":
            args = [round((source["minimum"] + source["maximum"]) / 2, 3)]
        elif source["maxclass"] in ("toggle", "number"):
            args = [1]
        else:
            assert source["text"].split()[0] == "pak"
            args = atoms(source["text"])[1:]
        messages.append((address, args))
    return messages


def test_control_messages_arrive_with_protocol_types_over_loopback(control):
    r = OscReceiver()
    try:
        client = SimpleUDPClient("127.0.0.1", r.port)
        messages = control_messages(control)
        for address, args in messages:
            client.send_message(address, args)
        assert wait_for(lambda: len(r.received()) == len(messages))
    finally:
        r.close()
    got = defaultdict(list)
    for address, args in r.received():
        got[address].append(typetags(args))
    assert set(got) == set(proto.CONTROL_TYPETAGS)
    for address, tags in got.items():
        expected = proto.CONTROL_TYPETAGS[address]
        assert tags == [expected[1:] if expected.startswith("?") else expected], address


def test_engine_control_server_applies_the_patch_messages(control):
    controls = EngineControls()
    events = []
    controls.subscribe(lambda event, value: events.append(event))
    pong = OscReceiver()
    try:
        with ControlServer(controls, port=0) as server:
            client = SimpleUDPClient(*server.address)
            messages = control_messages(control)
            for address, args in messages:
                if address == proto.PING:  # the patch's reply port, redirected to a free one for the test
                    args = [pong.port]
                client.send_message(address, args)
            assert wait_for(lambda: server.handled + server.rejected == len(messages))
            assert server.rejected == 0
        assert wait_for(lambda: len(pong.received(proto.PONG)) == 1)
    finally:
        pong.close()
    assert {"start", "stop", "panic", "temperature", "density", "drums", "piano", "tempo_lock",
            "tempo_range"} <= set(events)
    sent = dict(messages)
    assert controls.temperature == pytest.approx(sent[proto.TEMPERATURE][0])
    assert controls.density == pytest.approx(sent[proto.DENSITY][0])
    assert (controls.tempo_min, controls.tempo_max) == tuple(sent[proto.TEMPO_RANGE])


def test_committed_patches_equal_a_fresh_build(tmp_path):
    subprocess.run([sys.executable, str(PATCH_DIR / "build_patches.py"), "--out", str(tmp_path)], check=True,
                   capture_output=True)
    for path in (RECEIVER, CONTROL):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), (
            f"{path.name} is stale: run python max_patches/build_patches.py")
