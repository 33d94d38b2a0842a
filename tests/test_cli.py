"""The rhythmicnet-live command line, end to end on the real fixture clip, and its error handling."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
CLIP = FIXTURES / "dance_3s_640x360.mp4"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rhythmicnet_live.cli", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def beats_out(tmp_path_factory):
    work = tmp_path_factory.mktemp("beats")
    clip = work / CLIP.name
    shutil.copy(CLIP, clip)
    out = work / "out"
    result = run_cli("beats", str(clip), "-o", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_beats_on_a_real_clip_writes_json_midi_and_plot(beats_out):
    doc = json.loads((beats_out / "beats.json").read_text())
    assert doc["fps"] == 30.0
    beats = np.array(doc["beats_s"])
    assert len(beats) >= 2 and np.all(np.diff(beats) > 60 / 185)  # within the 60-180 BPM range
    assert len(doc["activation"]) == len(doc["tempo_bpm"]) >= 80  # ~3 s at 30 fps
    assert sum(doc["taps"]) >= len(beats) - 1
    midi = mido.MidiFile(beats_out / "rhythm.mid")
    notes = [m for m in midi if m.type == "note_on" and m.velocity > 0]
    assert len(notes) >= len(beats)
    assert {m.channel for m in notes} == {9}
    import pretty_midi  # another reader: the clicks sound at the beat times

    clicks = sorted(n.start for n in pretty_midi.PrettyMIDI(str(beats_out / "rhythm.mid")).instruments[0].notes
                    if n.pitch in (76, 77))
    np.testing.assert_allclose(clicks, beats, atol=0.003)
    assert (beats_out / "beats.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_beats_from_a_keypoint_file(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(300) / 30.0
    kp = rng.uniform(200, 400, (1, 17, 2)) + 30 * np.abs(np.sin(np.pi * 2.0 * t))[:, None, None]  # 120 BPM bounce
    np.save(tmp_path / "kp.npy", kp.astype(np.float32))
    result = run_cli("beats", "--keypoints", str(tmp_path / "kp.npy"), "--fps", "30", "-o", str(tmp_path / "out"),
                     "--activation", "kinematic")
    assert result.returncode == 0, result.stderr
    doc = json.loads((tmp_path / "out" / "beats.json").read_text())
    assert doc["activation_model"] == "kinematic"
    assert doc["beats_s"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["beats", "missing.mp4", "-o", "OUT"], "not found"),
        (["beats", "GARBAGE", "-o", "OUT"], "cannot read"),
        (["beats", "7", "-o", "OUT"], "camera 7 is not available"),
        (["beats", "--keypoints", "KP", "-o", "OUT"], "--fps"),
        (["beats", str(CLIP), "-o", "OUT", "--min-bpm", "150", "--max-bpm", "100"], "min-bpm"),
        (["beats", str(CLIP), "-o", "OUT", "--min-bpm", "1", "--max-bpm", "100000"], "--min-bpm"),
        (["take", str(CLIP), "-o", "OUT", "--min-bpm", "1", "--max-bpm", "100000"], "--min-bpm"),
        (["perform", "--video", str(CLIP), "--min-bpm", "1", "--max-bpm", "100000"], "--min-bpm"),
        (["take", str(CLIP), "-o", "OUT", "--top-k", "-3"], "--top-k"),
        (["take", str(CLIP), "-o", "OUT", "--bpm", "1000"], "--bpm"),
        (["perform", "--video", str(CLIP), "--temperature", "0"], "--temperature"),
        (["beats", "--keypoints", "KP", "--fps", "-5", "-o", "OUT"], "--fps"),
        (["beats", "--keypoints", "KP", "--fps", "30", "-o", "OUT", "--activation", "magic"], "--activation"),
        (["beats", str(CLIP), "-o", "FILE"], "is a file"),
        (["take", str(CLIP), "-o", "FILE"], "is a file"),
        (["take", str(CLIP), "-o", "READONLY"], "cannot write"),
        (["take", str(CLIP), "-o", "OUT", "--bogus-flag"], "unrecognized"),
    ],
)
def test_bad_input_gives_one_clear_line(tmp_path, args, message):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00" * 1000)
    (tmp_path / "a_file").write_text("")
    readonly = tmp_path / "readonly"
    readonly.mkdir(mode=0o555)
    if os.access(readonly, os.W_OK) and "READONLY" in args:
        pytest.skip("running as a user who can write anywhere (root without CAP_DAC_OVERRIDE dropped)")
    names = {"GARBAGE": garbage, "KP": tmp_path / "kp.npy", "OUT": tmp_path / "out", "FILE": tmp_path / "a_file",
             "READONLY": readonly / "out"}
    args = [str(names.get(a, a)) for a in args]
    result = run_cli(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and message in error_lines[0]


def test_help_explains_the_commands():
    result = run_cli("--help")
    assert result.returncode == 0 and "beats" in result.stdout
    result = run_cli("beats", "--help")
    assert "--keypoints" in result.stdout and "beats.json" in result.stdout


def test_verbose_is_accepted_after_the_subcommand():
    result = run_cli("perform", "-v", "--list-ports", "--midi-api", "jack")
    assert "unrecognized" not in result.stderr and "error: argument" not in result.stderr


def test_help_shows_defaults_ranges_and_control_addresses():
    for command in ("beats", "take", "perform"):
        text = run_cli(command, "--help").stdout
        assert "--min-bpm" in text and "--bpm" in text and "default 60" in text and "20..400" in text
    text = run_cli("perform", "--help").stdout
    assert "/rhythmicnet/tempo_range f f" in text and "/rhythmicnet/ping" in text


def test_known_tempo_pins_the_decoded_tempo(tmp_path):
    rng = np.random.default_rng(1)
    t = np.arange(450) / 30.0
    kp = rng.uniform(200, 400, (1, 17, 2)) + 30 * np.abs(np.sin(np.pi * (96 / 60) * t))[:, None, None]  # 96 BPM
    kp += rng.normal(0, 2.0, (len(t), 17, 2))
    np.save(tmp_path / "kp.npy", kp.astype(np.float32))
    result = run_cli("beats", "--keypoints", str(tmp_path / "kp.npy"), "--fps", "30", "-o", str(tmp_path / "out"),
                     "--activation", "kinematic", "--bpm", "96")
    assert result.returncode == 0, result.stderr
    beats = np.array(json.loads((tmp_path / "out" / "beats.json").read_text())["beats_s"])
    assert len(beats) > 4 and abs(60.0 / np.median(np.diff(beats)) - 96) < 96 * 0.05


def test_take_batch_reports_a_broken_video_and_makes_the_others(tmp_path):
    batch = tmp_path / "batch"
    batch.mkdir()
    shutil.copy(CLIP, batch / "dance.mp4")
    (batch / "broken.mp4").write_bytes(b"\x00" * 2000)
    result = run_cli("take", str(batch), "-o", str(tmp_path / "out"), "--drums-only", "--jobs", "2")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "broken.mp4" in errors[0] and "1 of 2" in errors[0]
    assert all((tmp_path / "out" / "dance" / name).stat().st_size > 0
               for name in ("take.mid", "take.wav", "take.mp4", "take.png"))
    assert not (tmp_path / "out" / "broken").exists() or not any((tmp_path / "out" / "broken").glob("take.*"))
