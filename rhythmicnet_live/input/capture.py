"""Frame sources through OpenCV: video files (as fast as possible, or paced like a camera) and cameras.

Every source is a context manager and an iterator of :class:`Frame`; it has ``fps`` (frames per
second, nominal), ``frame_count`` (frames in the file, approximate as the container states it; None for
cameras) and ``size`` ((width, height) in pixels). Problems the user can fix (a missing file, a file
that is not a readable video, an absent camera) raise :class:`UserInputError` with a one-line message.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .. import FPS
from ..errors import UserInputError

log = logging.getLogger(__name__)


@dataclass
class Frame:
    """One captured frame.

    image: BGR uint8 (H, W, 3). t_capture: seconds (file time for offline files, ``time.monotonic()``
    for cameras and paced files). index: frame number in the source (0-based; it skips dropped frames).
    """

    image: np.ndarray
    t_capture: float
    index: int


class _Source:
    """Shared plumbing of an opened ``cv2.VideoCapture``: properties, iteration, closing."""

    _cap: cv2.VideoCapture

    def _init_properties(self) -> None:
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        #: Nominal frame rate (frames per second); the internal rate when the source does not say.
        self.fps: float = float(fps) if math.isfinite(fps) and fps > 0 else FPS
        #: (width, height) in pixels.
        self.size: tuple[int, int] = (int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.frame_count: int | None = None

    def close(self) -> None:
        self._cap.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __iter__(self):
        return self


class VideoFileSource(_Source):
    """Frames of a video file.

    ``realtime=False``: frames as fast as they decode; t_capture = the frame's time in the file
    (CAP_PROP_POS_MSEC, or index / fps where the container gives none), starting near 0.
    ``realtime=True``: frames paced at the file's rate against ``time.monotonic()`` as if from a camera;
    t_capture = monotonic time of delivery. A frame more than one frame period late is dropped (as a
    camera moves on whether or not it is read); ``dropped`` counts those.
    A file that opens but stops decoding early (truncated after its header) yields the frames it has,
    logs a warning and sets ``truncated``.
    """

    def __init__(self, path: str | Path, realtime: bool = False, start_frame: int = 0, max_fps: float | None = None):
        """``start_frame``: skip this many frames first (grabbed, not converted). ``max_fps``: yield about this many
        frames per second at most: every ``step``-th frame of the file (index a multiple of ``step``; the others are
        grabbed, not converted). Frame indices and times stay those of the whole file."""
        self.path = Path(path)
        if not self.path.is_file():
            raise UserInputError(f"video file not found: {self.path}")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise UserInputError(f"cannot read {self.path}: not a video file OpenCV can open (corrupt or unsupported format)")
        self._init_properties()
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None
        self.realtime = realtime
        #: Every how many frames one is yielded (1: all of them).
        self.step = 1 if not max_fps or max_fps >= self.fps else max(1, round(self.fps / max_fps))
        self.dropped = 0
        #: Set when decoding ended well before ``frame_count`` (a warning is logged too).
        self.truncated = False
        self._index = 0
        self._last_t = -math.inf
        while self._index < start_frame and self._grab():
            pass
        self._start: float | None = None
        self._pending = self._decode()  # decode one frame now so a broken file fails at open time
        if self._pending is None:
            self.close()
            raise UserInputError(f"cannot read {self.path}: the video contains no decodable frames (corrupt or truncated?)")

    def _grab(self) -> bool:
        """Pass over one frame without converting it; False at the end."""
        if not self._cap.grab():
            return False
        self._index += 1
        self._advance_time()
        return True

    def _advance_time(self) -> float:
        """The file time (seconds) of the frame just grabbed (index / fps past the previous one where the
        container gives none)."""
        t = self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if not math.isfinite(t) or t <= self._last_t:
            t = self._last_t + 1.0 / self.fps if math.isfinite(self._last_t) else 0.0
        self._last_t = t
        return t

    def _decode(self) -> tuple[np.ndarray, float] | None:
        """Next decoded image whose index is a multiple of ``step``, and its file time (seconds), or None at
        the end."""
        while self._index % self.step:
            if not self._grab():
                return None
        ok, image = self._cap.read()
        if not ok or image is None:
            return None
        return image, self._advance_time()

    def _check_complete(self) -> None:
        """Warn (once) when decoding stopped well short of the container's frame count: a truncated file."""
        if self.frame_count and not self.truncated and self._index < 0.98 * self.frame_count - 1:
            self.truncated = True
            log.warning("%s: video ended after %d of %d frames; the file looks truncated or damaged",
                        self.path, self._index, self.frame_count)

    def __next__(self) -> Frame:
        while True:
            if self._pending is not None:
                item, self._pending = self._pending, None
            else:
                item = self._decode()
            if item is None:
                self._check_complete()
                raise StopIteration
            image, t_file = item
            index = self._index
            self._index += 1
            if not self.realtime:
                return Frame(image, t_file, index)
            now = time.monotonic()
            if self._start is None:
                self._start = now - t_file
            due = self._start + t_file
            if now > due + 1.0 / self.fps:
                self.dropped += 1
                continue
            if due > now:
                time.sleep(due - now)
            return Frame(image, time.monotonic(), index)


class CameraSource(_Source):
    """Frames of a camera (OpenCV device index); t_capture = ``time.monotonic()`` right after the grab.

    ``max_seconds``: stop after this many seconds of capture (None = until the camera stops).
    """

    def __init__(self, index: int, max_seconds: float | None = None):
        self.index = int(index)
        self.max_seconds = max_seconds
        self._t_first: float | None = None
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # no backend spew for an absent camera
        try:
            self._cap = cv2.VideoCapture(self.index)
            opened = self._cap.isOpened()
            if opened:
                self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # newest frame, not a stale queue (ignored where unsupported)
                opened = self._cap.grab()  # probe: some backends open a device that yields nothing
        finally:
            cv2.utils.logging.setLogLevel(level)
        if not opened:
            self._cap.release()
            raise UserInputError(f"camera {self.index} is not available (no such device, no permission, or in use by another program)")
        self._init_properties()
        self._index = 0

    def __next__(self) -> Frame:
        if not self._cap.grab():
            raise StopIteration
        t = time.monotonic()
        if self._t_first is None:
            self._t_first = t
        if self.max_seconds is not None and t - self._t_first > self.max_seconds:
            raise StopIteration
        ok, image = self._cap.retrieve()
        if not ok or image is None:
            raise StopIteration
        frame = Frame(image, t, self._index)
        self._index += 1
        return frame


def open_source(spec: str | int | Path, realtime: bool = False, max_fps: float | None = None
                ) -> VideoFileSource | CameraSource:
    """A camera for an int (or a string of digits, e.g. from a CLI flag), else a video file.

    ``realtime`` paces video files like a camera (cameras are always real time); ``max_fps``: a video file
    yields about this many frames per second at most (``VideoFileSource``).
    """
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        return CameraSource(int(spec))
    return VideoFileSource(spec, realtime=realtime, max_fps=max_fps)
