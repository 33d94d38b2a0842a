"""Body pose per frame: MediaPipe Tasks ``PoseLandmarker`` on the bundled model, mapped to COCO-17.

The model is ``assets/pose_landmarker_full.task`` (BlazePose GHUM full, built from the mediapipe 0.10.14
wheel by ``export/build_pose_task.py``); nothing is downloaded at run time. The landmarker runs in
VIDEO mode (it tracks the person between frames) on the CPU, one person.

Per frame the output is ``xy`` (17, 2) float32 in pixels of the frame and ``conf`` (17,) float32 in
[0, 1] from MediaPipe's visibility; a frame without a person gives NaN ``xy`` and zero ``conf``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.abc
import importlib.util
import logging
import os
import queue
import sys
import types
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import cv2
import numpy as np
from platformdirs import user_cache_dir

from .capture import Frame, VideoFileSource, open_source
from ..errors import ModelManifestError, UserInputError
from ..files import atomic_path
from ..stages import BodyPose
from .keypoints import Keypoints

log = logging.getLogger(__name__)

POSE_TASK = Path(str(files("rhythmicnet_live") / "assets" / "pose_landmarker_full.task"))

#: MediaPipe's 33 landmark indices of the COCO-17 joints, in COCO order (nose, l/r eye, l/r ear,
#: l/r shoulder, l/r elbow, l/r wrist, l/r hip, l/r knee, l/r ankle). Both use the person's own left.
MEDIAPIPE_TO_COCO17 = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)

#: Bump when the keypoints produced from the same model change (mapping, options): invalidates caches.
EXTRACTION_VERSION = 2
#: Frames are shrunk to at most this many pixels on their long side before pose (the landmarker itself works at
#: 256 x 256): converting and copying a 720p frame costs more than the shrink.
POSE_INPUT_SIDE = 640
#: Parallel pose: each later chunk starts this many seconds early so the tracker settles (those frames are dropped).
OVERLAP_S = 1.0
#: Videos shorter than this (s) run in one process: starting a second costs more than it saves.
PARALLEL_MIN_S = 12.0


@lru_cache(maxsize=None)
def pose_model_version(task: Path = POSE_TASK) -> str:
    """Identifies model + extraction settings: ``<sha256 of the .task, 16 hex>-v<EXTRACTION_VERSION>``."""
    return f"{hashlib.sha256(Path(task).read_bytes()).hexdigest()[:16]}-v{EXTRACTION_VERSION}"


@contextlib.contextmanager
def native_stderr_silenced():
    """Send file descriptor 2 to /dev/null for a while: MediaPipe's C++ warnings ("Feedback manager requires...",
    "NORM_RECT without IMAGE_DIMENSIONS") are not for the user. Python's own ``sys.stderr`` (progress bars, log
    lines, errors) keeps going to the real stderr meanwhile."""
    sys.stderr.flush()
    saved = os.dup(2)
    python_stderr = sys.stderr
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding=python_stderr.encoding or "utf-8",
                               errors="backslashreplace")
        yield
    finally:
        if sys.stderr is not python_stderr:
            sys.stderr.close()
        sys.stderr = python_stderr
        os.dup2(saved, 2)
        os.close(saved)


#: MediaPipe's landmark-drawing helpers: its ``vision`` package imports them, and they import matplotlib.pyplot
#: (about 1 s, in every process that runs pose). Pose draws nothing with them.
DRAWING_MODULES = ("mediapipe.tasks.python.vision.drawing_utils", "mediapipe.tasks.python.vision.drawing_styles")


class _NotLoaded(types.ModuleType):
    """Stands in for a module ``import_mediapipe`` leaves unloaded; any use of it says so."""

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise ImportError(f"{self.__name__} is not loaded by rhythmicnet_live (import it before the pose module "
                          "imports mediapipe to use it)")


class _LeaveOut(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports each of ``DRAWING_MODULES`` as a ``_NotLoaded`` placeholder."""

    def find_spec(self, name, path, target=None):
        return importlib.util.spec_from_loader(name, self) if name in DRAWING_MODULES else None

    def create_module(self, spec):
        return _NotLoaded(spec.name)

    def exec_module(self, module) -> None:
        pass


def import_mediapipe():
    """``import mediapipe``, without its optional audio dependency ``sounddevice`` and its drawing helpers.

    MediaPipe imports ``sounddevice`` for its audio tasks only (and runs without it). ``sounddevice`` starts
    PortAudio at import, which opens a JACK client named "PortAudio" in the performer's JACK graph and aborts the
    whole process at exit (``pa_jack.c`` Terminate assertion, exit status 134) when that JACK server stopped first.
    Pose needs no audio, so the import is blocked unless something imported ``sounddevice`` already; likewise
    the drawing helpers (``DRAWING_MODULES``) are left out.
    """
    if "mediapipe" in sys.modules:
        return sys.modules["mediapipe"]
    sys.modules.setdefault("sounddevice", None)  # a None entry makes "import sounddevice" raise ImportError
    finder = _LeaveOut()
    sys.meta_path.insert(0, finder)
    try:
        import mediapipe
    finally:
        sys.meta_path.remove(finder)

    return mediapipe


class PoseEstimator:
    """One-person pose on successive frames (VIDEO mode: timestamps must increase; see :meth:`estimate`).

    The confidence thresholds are MediaPipe's (person detection, pose presence, tracking), in [0, 1].
    """

    def __init__(self, task: Path = POSE_TASK, min_detection_confidence: float = 0.5,
                 min_presence_confidence: float = 0.5, min_tracking_confidence: float = 0.5):
        mp = import_mediapipe()
        from mediapipe.tasks.python import BaseOptions, vision

        if not Path(task).is_file():
            raise ModelManifestError(f"pose model missing: {task} (rebuild it with export/build_pose_task.py)")
        self._mp = mp
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(task), delegate=BaseOptions.Delegate.CPU),
            running_mode=vision.RunningMode.VIDEO,
            num_poses=1,
            min_pose_detection_confidence=min_detection_confidence,
            min_pose_presence_confidence=min_presence_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        with native_stderr_silenced():
            self._landmarker = vision.PoseLandmarker.create_from_options(options)
        self._last_ms = -1
        self._warmed = False

    def estimate(self, frame: Frame) -> BodyPose:
        """COCO-17 ``xy`` (17, 2) pixels and ``conf`` (17,) for one frame (NaN / 0 when nobody is there).

        The landmarker's timestamp is ``frame.t_capture`` in integer milliseconds, nudged up by 1 ms where
        it would not increase (MediaPipe rejects repeated or decreasing timestamps).
        """
        ms = max(int(round(frame.t_capture * 1000.0)), self._last_ms + 1)
        self._last_ms = ms
        height, width = frame.image.shape[:2]
        scale = POSE_INPUT_SIDE / max(height, width)
        small = frame.image if scale >= 1.0 else cv2.resize(
            frame.image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        if self._warmed:
            result = self._landmarker.detect_for_video(image, ms)
        else:
            with native_stderr_silenced():  # the first inference logs its warnings once
                result = self._landmarker.detect_for_video(image, ms)
            self._warmed = True
        xy = np.full((17, 2), np.nan, np.float32)
        conf = np.zeros(17, np.float32)
        if result.pose_landmarks:  # landmarks are relative to the image: back to the frame's own pixels
            landmarks = result.pose_landmarks[0]
            for j, m in enumerate(MEDIAPIPE_TO_COCO17):
                lm = landmarks[m]
                xy[j] = (lm.x * width, lm.y * height)
                conf[j] = lm.visibility if lm.visibility is not None else 1.0
        return BodyPose(xy, np.clip(conf, 0.0, 1.0))

    def close(self) -> None:
        self._landmarker.close()

    def __enter__(self) -> "PoseEstimator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def extract_keypoints(source, progress: bool = True, pose_fps: float | None = None) -> Keypoints:
    """Raw COCO-17 keypoints (pixels, not normalised) of every frame of ``source``, or of about ``pose_fps``
    frames per second of a video file given by its path (``prepare`` interpolates between them).

    source: a frame source from :mod:`rhythmicnet_live.input.capture`, or anything ``open_source`` takes (a
    path; a camera index runs until the camera stops). times = the frames' capture timestamps (seconds).
    A tqdm progress bar goes to stderr when ``progress``.
    """
    from tqdm import tqdm

    owned = not hasattr(source, "__next__")
    if owned:
        source = open_source(source, max_fps=pose_fps)
    xys, confs, times = [], [], []
    try:
        with native_stderr_silenced(), PoseEstimator() as estimator:
            total = source.frame_count and -(-source.frame_count // getattr(source, "step", 1))
            for frame in tqdm(source, total=total, disable=not progress, file=sys.stderr, unit="frame", desc="pose"):
                xy, conf = estimator.estimate(frame)
                xys.append(xy)
                confs.append(conf)
                times.append(frame.t_capture)
    finally:
        if owned:
            source.close()
    if not times:
        raise UserInputError("the video gave no frames")
    return Keypoints(np.stack(xys), np.stack(confs), np.asarray(times, np.float64))


def _pose_chunk(video: str, first: int, stop: int | None, skip: int, pose_fps: float | None,
                progress) -> Keypoints | None:
    """Pose of frames ``first + skip .. stop - 1`` of ``video`` (``stop`` None: to the end), of about ``pose_fps``
    of them per second (``VideoFileSource``'s ``max_fps``), tracking from ``first``. Runs in a worker process; ``progress`` (a queue) gets the number
    of frames done now and then."""
    xys, confs, times = [], [], []
    with native_stderr_silenced(), VideoFileSource(video, start_frame=first, max_fps=pose_fps) as source, \
            PoseEstimator() as estimator:
        done = 0
        for frame in source:
            if stop is not None and frame.index >= stop:
                break
            body = estimator.estimate(frame)
            if frame.index >= first + skip:
                xys.append(body.xy)
                confs.append(body.conf)
                times.append(frame.t_capture)
            done += 1
            if progress is not None and done % 16 == 0:
                progress.put(16)
    if progress is not None:
        progress.put(done % 16)
    if not times:
        return None
    return Keypoints(np.stack(xys), np.stack(confs), np.asarray(times, np.float64))


def extract_keypoints_parallel(video: str | Path, workers: int = 2, progress: bool = True,
                               pose_fps: float | None = None) -> Keypoints:
    """Raw keypoints of a video file (of about ``pose_fps`` frames per second of it; None: all), its frames split into ``workers`` chunks posed in parallel processes.

    Each chunk after the first starts ``OVERLAP_S`` early so the tracker settles, and those frames are dropped,
    so the joined keypoints match a single-process run up to pose noise. Short videos (``PARALLEL_MIN_S``) and
    ``workers`` = 1 run in this process.
    """
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    with VideoFileSource(video, max_fps=pose_fps) as source:
        fps, count, step = source.fps, source.frame_count, source.step
    if workers <= 1 or not count or count / fps < PARALLEL_MIN_S:
        return extract_keypoints(video, progress=progress, pose_fps=pose_fps)
    overlap = int(round(OVERLAP_S * fps))
    bounds = np.linspace(0, count, workers + 1).round().astype(int)
    ctx = mp.get_context("spawn")  # MediaPipe's threads do not survive fork
    with ctx.Manager() as manager, ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        frames_done = manager.Queue()
        jobs = [pool.submit(_pose_chunk, str(video), max(0, int(lo) - (overlap if i else 0)),
                            None if i == workers - 1 else int(hi), overlap if i else 0, pose_fps, frames_done)
                for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:]))]
        total = -(-(count + overlap * (workers - 1)) // step)
        with tqdm(total=total, disable=not progress, file=sys.stderr, unit="frame", desc=f"pose x{workers}") as bar:
            while not all(job.done() for job in jobs):
                try:
                    bar.update(frames_done.get(timeout=0.2))
                except queue.Empty:
                    pass
        parts = [job.result() for job in jobs]
    parts = [p for p in parts if p is not None]
    if not parts:
        raise UserInputError("the video gave no frames")
    return Keypoints(np.concatenate([p.xy for p in parts]), np.concatenate([p.conf for p in parts]),
                     np.concatenate([p.times for p in parts]))


def cache_path(video: Path, cache_dir: Path | None = None) -> Path:
    """Where the keypoints of ``video`` are cached: ``cache_dir`` if given, else the user cache folder
    (``platformdirs.user_cache_dir``: ``~/.cache/rhythmicnet_live/keypoints`` on Linux), never the video's own
    folder. The file name carries a hash of the video's resolved path; its size and mtime are in the cache key."""
    tag = hashlib.sha256(str(video.resolve()).encode()).hexdigest()[:16]
    folder = Path(cache_dir) if cache_dir is not None else Path(user_cache_dir("rhythmicnet_live")) / "keypoints"
    return folder / f"{video.name}.{tag}.keypoints.npz"


def cached_keypoints(video_path: str | Path, cache_dir: str | Path | None = None, progress: bool = True,
                     workers: int = 1, pose_fps: float | None = None) -> Keypoints:
    """Keypoints of a video file (of about ``pose_fps`` frames per second of it; None: every frame), computed
    once and then read from the cache (:func:`cache_path`).

    The cache is valid while the video's size and mtime, :func:`pose_model_version` and ``pose_fps`` are
    unchanged; otherwise pose runs again and the file is rewritten. The cache holds ``xy``, ``conf``, ``times``
    (readable with ``Keypoints.load``) plus the key.
    """
    video = Path(video_path)
    if not video.is_file():
        raise UserInputError(f"video file not found: {video}")
    stat = video.stat()
    key = {"video_size": stat.st_size, "video_mtime_ns": stat.st_mtime_ns, "model_version": pose_model_version(),
           "pose_fps": float(pose_fps or 0.0)}
    path = cache_path(video, cache_dir)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                if all(k in data.files and str(data[k]) == str(v) for k, v in key.items()):
                    log.info("keypoints from cache %s", path)
                    return Keypoints(data["xy"].astype(np.float32), data["conf"].astype(np.float32),
                                     data["times"].astype(np.float64))
        except (OSError, KeyError, ValueError) as exc:
            log.warning("ignoring unreadable keypoint cache %s: %s", path, exc)
    kp = extract_keypoints_parallel(video, workers, progress=progress, pose_fps=pose_fps)
    _write_cache(path, kp, key)
    return kp


def _write_cache(path: Path, kp: Keypoints, key: dict) -> bool:
    """Write the cache atomically (temp file + rename); False (and a warning) if the folder is not writable."""
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, xy=kp.xy, conf=kp.conf, times=kp.times, **{k: np.asarray(v) for k, v in key.items()})
    except OSError as exc:
        log.warning("cannot write keypoint cache %s: %s", path, exc)
        return False
    log.info("keypoints cached in %s", path)
    return True
