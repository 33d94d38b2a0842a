"""Frame sources: file timestamps and properties, camera-like pacing, clear errors for bad input."""

import logging
import os
import time
from pathlib import Path

import numpy as np
import pytest

from rhythmicnet_live.input.capture import CameraSource, Frame, VideoFileSource, open_source
from rhythmicnet_live.errors import UserInputError

CLIP = Path(__file__).parent / "fixtures" / "dance_3s_640x360.mp4"


def test_file_frames_properties_and_timestamps():
    with open_source(CLIP) as source:
        assert isinstance(source, VideoFileSource)
        assert source.fps == pytest.approx(30000 / 1001, rel=1e-4)
        assert source.frame_count == 90
        assert source.size == (640, 360)
        frames = list(source)
    assert len(frames) == 90 and not source.truncated
    assert all(isinstance(f, Frame) for f in frames)
    assert frames[0].image.shape == (360, 640, 3) and frames[0].image.dtype == np.uint8
    assert [f.index for f in frames] == list(range(90))
    times = np.array([f.t_capture for f in frames])
    assert times[0] == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(np.diff(times), 1001 / 30000, atol=1e-3)
    assert frames[30].image.mean() > 20  # real picture content, not black frames


@pytest.mark.parametrize("max_fps, step", [(15.0, 2), (10.0, 3), (30.0, 1), (None, 1)])
def test_max_fps_yields_every_step_th_frame_with_its_own_index_time_and_picture(max_fps, step):
    with open_source(CLIP) as source:
        every = list(source)
    with open_source(CLIP, max_fps=max_fps) as source:
        assert source.step == step
        some = list(source)
    assert [f.index for f in some] == list(range(0, 90, step)) and not source.truncated
    np.testing.assert_allclose([f.t_capture for f in some], [every[i].t_capture for i in range(0, 90, step)])
    assert all(np.array_equal(f.image, every[f.index].image) for f in some)


def test_max_fps_counts_from_the_start_of_the_file_after_a_start_frame():
    with VideoFileSource(CLIP, start_frame=31, max_fps=15.0) as source:
        assert [f.index for f in source][:3] == [32, 34, 36]


def test_realtime_file_is_paced_on_the_monotonic_clock():
    before = time.monotonic()
    with VideoFileSource(CLIP, realtime=True) as source:
        frames = [f for _, f in zip(range(8), source)]
        dropped = source.dropped
    after = time.monotonic()
    times = np.array([f.t_capture for f in frames])
    assert before <= times[0] and times[-1] <= after
    indices = np.array([f.index for f in frames])
    assert np.all(np.diff(indices) >= 1) and indices[-1] == 7 + dropped
    # never delivered before the frame is due (sleep only ever waits longer)
    assert np.all(times - times[0] >= indices / source.fps - 2e-3)


def test_missing_file(tmp_path):
    with pytest.raises(UserInputError, match="video file not found: .*nope.mp4"):
        open_source(tmp_path / "nope.mp4")


def test_garbage_file(tmp_path):
    bad = tmp_path / "garbage.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(UserInputError, match="cannot read .*garbage.mp4") as err:
        open_source(bad)
    assert "\n" not in str(err.value)


def test_file_truncated_in_its_header(tmp_path):
    bad = tmp_path / "cut.mp4"
    bad.write_bytes(CLIP.read_bytes()[:1000])
    with pytest.raises(UserInputError, match="cannot read .*cut.mp4"):
        open_source(bad)


def test_file_truncated_midway_yields_what_it_has_and_warns(tmp_path, caplog):
    cut = tmp_path / "half.mp4"
    data = CLIP.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger="rhythmicnet_live.input.capture"), open_source(cut) as source:
        n = sum(1 for _ in source)
    assert 0 < n < 90 and source.truncated
    assert "truncated" in caplog.text


@pytest.mark.parametrize("spec", [99, "99"] + ([] if os.path.exists("/dev/video0") else [0]))
def test_absent_camera_gives_one_clean_line(spec, capfd):
    with pytest.raises(UserInputError, match=r"camera \d+ is not available") as err:
        open_source(spec)
    assert "\n" not in str(err.value)
    assert "can't open camera" not in capfd.readouterr().err  # OpenCV's own spew is silenced


def test_open_source_dispatch():
    assert isinstance(open_source(str(CLIP)), VideoFileSource)
    with pytest.raises(UserInputError):
        CameraSource(99)
