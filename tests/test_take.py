"""Offline takes on a real clip: the take files, MIDI that other tools read back, audio as long as the video,
repeatable with a seed, nothing partial left behind on failure."""

import json
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest

from rhythmicnet_live.errors import UserInputError
from rhythmicnet_live.notes import DRUM_CHANNEL, PIANO_CHANNEL
from rhythmicnet_live.offline.render import ffmpeg_exe
from rhythmicnet_live.config import config_from_flags
from rhythmicnet_live.offline.take import TAKE_FILES, make_take

CLIP = Path(__file__).parent / "fixtures" / "jump_8s_480x270.mp4"


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("clip") / CLIP.name
    shutil.copy(CLIP, copy)
    return copy


@pytest.fixture(scope="module")
def full_take(clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("take")
    return make_take(clip, out, config_from_flags(["--seed", "3"], "take"), progress=False)


def audio_seconds(path: Path) -> float:
    """Duration of the first audio stream of a media file, by decoding it with ffmpeg."""
    pcm = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "s16le", "-ac", "1",
                          "-ar", "8000", "-"], capture_output=True, check=True).stdout
    return len(pcm) / 2 / 8000


def test_a_take_writes_its_files_in_sync(full_take):
    out = full_take.out_dir
    assert sorted(p.name for p in out.iterdir()) == sorted(TAKE_FILES)
    meta = json.loads((out / "take.json").read_text())
    assert meta["execution_providers"]["drums_encoder"] in ("CPUExecutionProvider", "CUDAExecutionProvider")
    assert meta["config"]["generation"]["seed"] == 3 and len(meta["beats_s"]) == len(full_take.analysis.beats)
    with wave.open(str(out / "take.wav")) as wav:
        assert wav.getnframes() / wav.getframerate() == pytest.approx(full_take.duration_s, abs=0.01)
    assert audio_seconds(out / "take.mp4") == pytest.approx(full_take.duration_s, abs=0.1)
    assert (out / "take.png").read_bytes()[:4] == b"\x89PNG"
    with wave.open(str(out / "take.wav")) as wav:
        samples = np.frombuffer(wav.readframes(wav.getnframes()), np.int16)
    assert np.abs(samples).max() > 1000  # it is not silence


def test_take_midi_reads_back_with_drums_and_piano_on_the_beat(full_take):
    mid = mido.MidiFile(full_take.out_dir / "take.mid")
    ons = [m for m in mid if m.type == "note_on" and m.velocity > 0]
    assert {m.channel for m in ons} == {DRUM_CHANNEL, PIANO_CHANNEL}
    assert any(m.type == "set_tempo" for m in mid)
    pm = pretty_midi.PrettyMIDI(str(full_take.out_dir / "take.mid"))
    drums = next(i for i in pm.instruments if i.is_drum)
    beats = full_take.analysis.beats
    on_beat = [n for n in full_take.notes if n.track == "drums" and abs(n.step - round(n.step / 4) * 4) < 0.5]
    assert on_beat, "no drum note on a beat"
    starts = np.array(sorted(n.start for n in drums.notes))
    # every beat of the clip has a drum hit within 60 ms (a step is ~100 ms here)
    inside = beats[beats < full_take.duration_s - 0.1]
    assert np.mean([np.min(np.abs(starts - b)) < 0.06 for b in inside]) > 0.9


def test_the_same_seed_gives_the_same_take(clip, full_take, tmp_path):
    again = make_take(clip, tmp_path / "again", config_from_flags(["--seed", "3", "--drums-only"], "take"), progress=False)
    once_more = make_take(clip, tmp_path / "more", config_from_flags(["--seed", "3", "--drums-only"], "take"), progress=False)
    other = make_take(clip, tmp_path / "other", config_from_flags(["--seed", "4", "--drums-only"], "take"), progress=False)
    assert again.notes == once_more.notes
    assert again.notes != other.notes
    assert {n.track for n in again.notes} == {"drums"}


def test_a_failure_leaves_no_partial_files(clip, tmp_path, monkeypatch):
    def broken_render(*_args, **_kwargs):
        raise UserInputError("rendering audio failed: no soundfont")

    monkeypatch.setattr("rhythmicnet_live.offline.render.render_wav", broken_render)
    out = tmp_path / "out"
    with pytest.raises(UserInputError):
        make_take(clip, out, config_from_flags(["--drums-only"], "take"), progress=False)
    assert list(out.iterdir()) == []


def test_take_cli_errors_are_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "rhythmicnet_live.cli", "take", str(tmp_path / "none.mp4"),
                             "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.strip().startswith("error: video file not found")
    assert not (tmp_path / "out").exists()


def test_seconds_and_steps_are_inverse_through_the_beats():
    from rhythmicnet_live.offline.midi_file import seconds_to_steps, steps_to_seconds

    beats = np.array([0.3, 0.8, 1.25, 1.8, 2.3])
    steps = np.array([-3.0, 0.0, 1.5, 4.0, 7.25, 15.9, 16.0, 21.0])
    np.testing.assert_allclose(seconds_to_steps(steps_to_seconds(steps, beats), beats), steps, atol=1e-9)
