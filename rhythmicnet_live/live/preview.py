"""``perform --preview``: an OpenCV window with the camera image, the skeleton, a flash on every beat when it is
due, the tempo, the decoder's confidence, the position in the bar and the tracks that are on.

It never slows the engine: the analysis thread only hands over its latest frame and pose (:meth:`Preview.on_frame`
keeps one, so frames the window had no time for are dropped) and the transport its events
(:meth:`Preview.on_event`, a few per beat); the window is drawn by :meth:`Preview.draw`, which the engine's
otherwise idle main thread calls at the preview's own rate.
"""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np

from .control import EngineControls
from .transport import BeatEvent, Event, TempoEvent

WINDOW = "RhythmicNet"
#: COCO-17 bones (joint index pairs): face, arms, torso, legs.
BONES = ((0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10), (5, 11), (6, 12), (11, 12),
         (11, 13), (13, 15), (12, 14), (14, 16))
#: BGR colours: skeleton green, joints yellow, the beat flash white (bar one red).
SKELETON, JOINT, FLASH, DOWNBEAT = (0, 255, 0), (0, 255, 255), (255, 255, 255), (0, 0, 255)
#: Seconds a beat flash stays on after its due time.
FLASH_S = 0.1


def render(image: np.ndarray, xy: np.ndarray | None, conf: np.ndarray | None, beats: list[BeatEvent],
           bpm: float | None, tracks: dict[str, bool], now: float, height: int = 540) -> np.ndarray:
    """One preview picture (BGR, ``height`` pixels high): ``image`` with the skeleton of ``xy`` (17, 2) pixels where
    ``conf`` > 0, a flash when a beat of ``beats`` was due less than ``FLASH_S`` before ``now`` (monotonic s), and a
    status line."""
    scale = height / image.shape[0]
    out = cv2.resize(image, (round(image.shape[1] * scale), height), interpolation=cv2.INTER_LINEAR)
    if xy is not None:
        xy = xy * scale
        seen = np.isfinite(xy).all(1) & (conf > 0)
        pts = np.nan_to_num(xy).astype(int)
        thick = max(2, out.shape[0] // 150)
        for a, b in BONES:
            if seen[a] and seen[b]:
                cv2.line(out, tuple(pts[a]), tuple(pts[b]), SKELETON, thick, cv2.LINE_AA)
        for j in np.flatnonzero(seen):
            cv2.circle(out, tuple(pts[j]), thick + 2, JOINT, -1, cv2.LINE_AA)
    due = [b for b in beats if b.due_s <= now]
    current = due[-1] if due else None
    h, w = out.shape[:2]
    radius = max(12, h // 12)
    centre = (w - radius - 10, radius + 10)
    if current is not None and now - current.due_s < FLASH_S:
        cv2.circle(out, centre, radius, DOWNBEAT if current.position == 0 else FLASH, -1, cv2.LINE_AA)
        cv2.rectangle(out, (0, 0), (w - 1, h - 1), FLASH, max(4, h // 60))
    else:
        cv2.circle(out, centre, radius, FLASH, 2, cv2.LINE_AA)
    # Bar position: four boxes, the current beat filled.
    box = max(10, h // 24)
    for k in range(4):
        x0 = 10 + k * (box + 6)
        filled = current is not None and current.position == k
        cv2.rectangle(out, (x0, h - box - 10), (x0 + box, h - 10), FLASH, -1 if filled else 1)
    on = " ".join(f"{name} {'on' if value else 'off'}" for name, value in tracks.items())
    status = (f"{bpm:.1f} BPM" if bpm else "-- BPM") + \
             (f"  conf {current.confidence:.2f}  beat {current.position + 1}/4" if current else "") + f"  {on}"
    size = h / 720
    cv2.rectangle(out, (0, 0), (w - 2 * radius - 30, int(44 * size)), (0, 0, 0), -1)
    cv2.putText(out, status, (10, int(32 * size)), cv2.FONT_HERSHEY_SIMPLEX, size, FLASH, 2, cv2.LINE_AA)
    return out


class Preview:
    """The preview window; see the module docstring. ``fps``: the rate :meth:`draw` is called at (frames/s)."""

    def __init__(self, controls: EngineControls, fps: float = 30.0, window: str = WINDOW) -> None:
        self.controls, self.fps, self.window = controls, fps, window
        self.drawn = 0
        self._lock = threading.Lock()
        self._frame: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._beats: list[BeatEvent] = []
        self._bpm: float | None = None
        cv2.namedWindow(window, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)

    def on_frame(self, frame, xy: np.ndarray, conf: np.ndarray) -> None:
        """Engine frame listener: keep only the latest frame and pose."""
        with self._lock:
            self._frame = (frame.image, xy, conf)

    def on_event(self, event: Event) -> None:
        """Transport listener: beats (for the flash, bar position and confidence) and the tempo."""
        with self._lock:
            if isinstance(event, BeatEvent):
                self._beats = (self._beats + [event])[-8:]
            elif isinstance(event, TempoEvent):
                self._bpm = event.bpm

    def draw(self) -> None:
        """Draw the latest frame now (from the thread that owns the window)."""
        with self._lock:
            if self._frame is None:
                cv2.waitKey(1)
                return
            image, xy, conf = self._frame
            beats, bpm = list(self._beats), self._bpm
        snap = self.controls.snapshot()
        cv2.imshow(self.window, render(image, xy, conf, beats, bpm, {"drums": snap["drums"], "piano": snap["piano"]},
                                       time.monotonic()))
        cv2.waitKey(1)
        self.drawn += 1

    def close(self) -> None:
        cv2.destroyWindow(self.window)
        cv2.waitKey(1)

    def __enter__(self) -> "Preview":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
