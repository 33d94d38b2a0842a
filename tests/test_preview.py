"""``perform --preview`` under a virtual X server (Xvfb): the window shows the skeleton and flashes on the beats,
read back from screenshots of the display."""

import os
import shutil
import subprocess
import time

import cv2
import numpy as np
import pytest

from live_helpers import OscReceiver
from test_transport_live import finish, start_perform


@pytest.fixture
def display():
    """A private Xvfb display (":N"); skips without Xvfb (apt-get install xvfb)."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def skeleton_pixels(shot: np.ndarray) -> int:
    """Pixels of the skeleton's green (RGB)."""
    return int(((shot[..., 1] > 200) & (shot[..., 0] < 80) & (shot[..., 2] < 80)).sum())


def white_pixels(shot: np.ndarray) -> int:
    return int((shot > 245).all(-1).sum())


@pytest.mark.realtime
def test_preview_window_shows_the_skeleton_and_flashes_on_beats(display, tmp_path, monkeypatch):
    from PIL import ImageGrab

    monkeypatch.setenv("DISPLAY", display)
    osc = OscReceiver()
    process = start_perform(tmp_path, osc.port, "--no-midi", "--preview")
    shots = []
    try:
        while process.poll() is None and len(shots) < 400:
            shots.append((time.monotonic(), np.asarray(ImageGrab.grab(xdisplay=display))))
            time.sleep(0.02)
        err = finish(process)
    finally:
        osc.close()
    assert "Traceback" not in err
    assert len(shots) > 50, "the display could not be read back"
    skeleton = np.array([skeleton_pixels(s) for _, s in shots])
    white = np.array([white_pixels(s) for _, s in shots])
    assert (skeleton > 300).mean() > 0.3, f"no skeleton drawn: {skeleton.tolist()}"
    # A flash (white disc and frame) adds thousands of white pixels to the window for a tenth of a second.
    flashes = white > np.median(white) + 3000
    print(f"\n{len(shots)} screenshots, skeleton in {(skeleton > 300).sum()}, beat flash in {flashes.sum()}; "
          f"{len(osc.received('/rhythmicnet/beat'))} beats")
    assert flashes.sum() >= 3
    best = max(np.flatnonzero(flashes & (skeleton > 300)), key=lambda i: skeleton[i])
    shot = shots[best][1]
    rows, cols = np.nonzero(shot.any(-1))
    cv2.imwrite(str(tmp_path / "preview.png"), cv2.cvtColor(shot[:rows.max() + 1, :cols.max() + 1], cv2.COLOR_RGB2BGR))
    if os.environ.get("RHYTHMICNET_SAVE_PREVIEW"):  # refresh docs/preview.png
        shutil.copy(tmp_path / "preview.png", os.environ["RHYTHMICNET_SAVE_PREVIEW"])
