"""Personal calibration: ``calibrate`` on a real dancer at a known tempo, then ``beats --profile`` on another of
their dances; refused sessions; atomic replacement; the head online and offline; the click over MIDI and OSC."""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import ThreadingOSCUDPServer
from pythonosc.udp_client import SimpleUDPClient

from rhythmicnet_live.analysis.activation import KinematicActivation
from rhythmicnet_live.analysis.beat_model import ModelActivation
from rhythmicnet_live.analysis.profile import (CalibratedActivation, KinematicFeatures, LinearHead, Profile,
                                               f_measure, head_activation)
from rhythmicnet_live.input.keypoints import Keypoints, prepare
from rhythmicnet_live.live import osc_protocol as proto
from rhythmicnet_live.live.calibrate import SIDE_STICK, ClickPlayer, click_plan
from rhythmicnet_live.live.midi_out import MemoryMidiOutput

FIXTURES = Path(__file__).parent / "fixtures" / "aistpp_d28"
#: AIST++ dancer d28 (krump, 2D keypoints at 30 fps); music beats every 60/bpm s from 0.05 s.
CALIBRATION = FIXTURES / "gKR_sFM_cAll_d28_mKR0_ch01.npy"  # 80 BPM, 48 s
DANCE = FIXTURES / "gKR_sFM_cAll_d28_mKR2_ch03.npy"  # 100 BPM, 38 s
FIRST_BEAT = 0.05


def run_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RHYTHMICNET_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "rhythmicnet_live.cli", *args], capture_output=True, text=True,
                          timeout=600, env=env)


def calibrate(data_dir: Path, keypoints: Path, bpm: float, name: str = "d28") -> subprocess.CompletedProcess:
    return run_cli(data_dir, "calibrate", "--keypoints", str(keypoints), "--fps", "30", "--bpm", str(bpm),
                   "--first-beat", str(FIRST_BEAT), "--name", name)


def truth(bpm: float, duration: float) -> np.ndarray:
    return FIRST_BEAT + 60.0 / bpm * np.arange(int(duration * bpm / 60.0) + 1)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A data dir holding profile d28, calibrated on the 80 BPM dance."""
    folder = tmp_path_factory.mktemp("data")
    result = calibrate(folder, CALIBRATION, 80)
    assert result.returncode == 0, result.stderr
    assert "profile d28" in result.stdout
    return folder


def read_beats(out: Path) -> tuple[dict, np.ndarray]:
    doc = json.loads((out / "beats.json").read_text())
    return doc, np.array(doc["beats_s"])


def test_calibrate_writes_a_complete_profile(data_dir):
    folder = data_dir / "profiles" / "d28"
    doc = json.loads((folder / "profile.json").read_text())
    assert doc["activation"] == "beat_model" and doc["model_sha256"]
    assert doc["level"] in (0.5, 1.0, 2.0) and doc["marker"] != "none"
    assert doc["min_bpm"] < 80 < doc["max_bpm"]
    assert abs(doc["offset_s"]) < 0.3
    assert doc["session"]["clicks"] >= 60 and doc["session"]["profile_f"] > doc["session"]["general_f"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(["profile.json", doc["head_file"], doc["session_file"]])
    with np.load(folder / doc["session_file"]) as session:
        assert np.allclose(np.diff(session["clicks"]), 0.75)  # 80 BPM
        assert session["xy"].shape[1:] == (17, 2)


def test_beats_with_the_profile_move_toward_the_truth(data_dir, tmp_path):
    general = run_cli(data_dir, "beats", "--keypoints", str(DANCE), "--fps", "30", "-o", str(tmp_path / "general"))
    assert general.returncode == 0, general.stderr
    calibrated = run_cli(data_dir, "beats", "--keypoints", str(DANCE), "--fps", "30", "-o", str(tmp_path / "profile"),
                         "--profile", "d28")
    assert calibrated.returncode == 0, calibrated.stderr
    doc_general, beats_general = read_beats(tmp_path / "general")
    doc, beats = read_beats(tmp_path / "profile")
    assert doc_general["profile"] is None
    assert doc["profile"] == "d28" and doc["activation_model"] == "beat_model+profile:d28"
    reference = truth(100, 38.0)
    f_general, f_profile = f_measure(reference, beats_general), f_measure(reference, beats)
    assert f_profile > f_general + 0.05, (f_general, f_profile)
    assert abs(doc["bpm_median"] - 100) < abs(doc_general["bpm_median"] - 100) or abs(doc["bpm_median"] - 100) < 2


def test_profile_errors_are_one_line(data_dir, tmp_path):
    missing = run_cli(data_dir, "beats", "--keypoints", str(DANCE), "--fps", "30", "-o", str(tmp_path), "--profile", "nobody")
    assert missing.returncode == 2 and missing.stderr.startswith("error: no profile named 'nobody'")
    assert "d28" in missing.stderr  # lists the profiles there are
    clash = run_cli(data_dir, "beats", "--keypoints", str(DANCE), "--fps", "30", "-o", str(tmp_path), "--profile", "d28",
                    "--activation", "kinematic")
    assert clash.returncode == 2 and clash.stderr.count("\n") == 1 and "calibrated on the model" in clash.stderr


def still_pose(frames: int = 1200) -> np.ndarray:
    rng = np.random.default_rng(1)
    pose = np.load(CALIBRATION)[0].astype(np.float32)
    return pose + rng.normal(0, 0.3, (frames, 17, 2)).astype(np.float32)


@pytest.mark.parametrize("case, reason", [
    ("nobody", "nobody in frame"),
    ("still", "too little movement"),
    ("wrong_tempo", "does not follow the click"),
])
def test_a_failed_session_is_refused_and_the_old_profile_kept(data_dir, tmp_path, case, reason):
    folder = data_dir / "profiles" / "d28"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    if case == "wrong_tempo":
        keypoints, bpm = CALIBRATION, 97  # danced at 80 BPM
    else:
        keypoints, bpm = tmp_path / f"{case}.npy", 80
        np.save(keypoints, np.full((1200, 17, 2), np.nan, np.float32) if case == "nobody" else still_pose())
    result = calibrate(data_dir, keypoints, bpm)
    assert result.returncode == 2
    assert result.stderr.startswith("error: calibration refused") and reason in result.stderr
    assert result.stderr.count("\n") == 1
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_a_new_profile_replaces_the_old_one_completely(tmp_path):
    first = calibrate(tmp_path, CALIBRATION, 80, name="twice")
    assert first.returncode == 0, first.stderr
    folder = tmp_path / "profiles" / "twice"
    old = json.loads((folder / "profile.json").read_text())
    second = calibrate(tmp_path, CALIBRATION, 80, name="twice")
    assert second.returncode == 0, second.stderr
    new = json.loads((folder / "profile.json").read_text())
    assert new["head_file"] != old["head_file"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(["profile.json", new["head_file"], new["session_file"]])


@pytest.mark.parametrize("base", [KinematicActivation, ModelActivation])
def test_the_head_online_equals_offline(base):
    """Frame by frame the calibrated activation equals the offline one (offset 0), ``delay`` frames late."""
    xy = prepare(Keypoints.from_array(np.load(DANCE)[:200].astype(np.float32), 30.0)).xy
    rng = np.random.default_rng(0)
    width = 12 * (2 + 21)
    head = LinearHead(12, rng.normal(0, 0.3, width), -1.0, rng.normal(0, 0.1, width), np.ones(width))

    def profile(offset_s: float) -> Profile:
        return Profile("t", "kinematic", None, head, offset_s, 0.0, 1.0, "hips", 1.0, 60.0, 180.0)

    calibrated = CalibratedActivation(base(), profile(0.0))
    delay = calibrated.delay
    online = np.array([calibrated.process_online(frame) for frame in xy])
    plain = base().process_offline(xy)
    offline = head_activation(head, plain, KinematicFeatures().process_offline(xy))
    assert np.isnan(online[:delay]).all()
    assert np.allclose(online[delay:], offline[:len(xy) - delay], atol=1e-5, equal_nan=True)
    assert np.array_equal(np.isnan(online[delay:]), np.isnan(plain[:len(xy) - delay]))
    shifted = CalibratedActivation(base(), profile(0.1))
    assert shifted.delay_s == pytest.approx(delay / 30.0 - 0.1)
    assert np.allclose(shifted.process_offline(xy)[3:], offline[:-3], equal_nan=True)  # 0.1 s = 3 frames later


def test_the_click_plays_on_midi_and_osc():
    received: list[tuple[float, tuple]] = []
    dispatcher = Dispatcher()
    dispatcher.map(proto.CLICK, lambda _address, *args: received.append((time.monotonic(), args)))
    server = ThreadingOSCUDPServer(("127.0.0.1", 0), dispatcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    midi = MemoryMidiOutput()
    try:
        plan = click_plan(time.monotonic() + 0.2, [240.0], seconds=1.0, count_in=2)
        player = ClickPlayer(plan, midi, SimpleUDPClient("127.0.0.1", server.server_address[1])).start()
        deadline = time.monotonic() + 10
        while not player.done and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        server.shutdown()
        server.server_close()
    assert len(plan) == 2 + 4
    assert [c.count_in for c, _ in player.sent] == [True, True, False, False, False, False]
    lateness = [sent - click.due for click, sent in player.sent]
    assert all(0 <= late < 0.05 for late in lateness), lateness
    ons = [m for m in midi.messages if m.type == "note_on" and m.velocity > 0]
    assert [(m.channel, m.note) for m in ons] == [(9, SIDE_STICK)] * 6
    assert [m.velocity for m in ons][:3] == [127, 127, 100]  # the count-in is accented
    assert midi.sounding() == {}
    assert [args for _, args in received] == [(i, 240.0, int(i < 2)) for i in range(6)]
