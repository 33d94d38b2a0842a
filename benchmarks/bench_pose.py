"""Pose speed: decode and MediaPipe pose (bundled full model, CPU) per frame of a video.

    python benchmarks/bench_pose.py [VIDEO] [--loops N]

VIDEO defaults to examples/tiktokgestdance.mp4. Each loop decodes the whole file with
``VideoFileSource`` and runs ``PoseEstimator.estimate`` on every frame (a fresh estimator per loop, VIDEO
mode, so tracking behaves as in a take). Prints frames, frames/s and p50/p95/p99 milliseconds per frame
for decode alone, pose alone (BGR->RGB conversion included) and decode + pose, over all loops; and the
same for pose split by frames with and without a detected person (the no-person path runs the detector
on every frame).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from rhythmicnet_live.input.capture import VideoFileSource
from rhythmicnet_live.input.pose import PoseEstimator, pose_model_version

DEFAULT = Path(__file__).resolve().parent.parent / "examples" / "tiktokgestdance.mp4"


def row(name: str, ms: list[float]) -> str:
    if not ms:
        return f"| {name} | 0 | - | - | - | - |"
    a = np.asarray(ms)
    p50, p95, p99 = np.percentile(a, [50, 95, 99])
    return f"| {name} | {len(a)} | {1000.0 / a.mean():.1f} | {p50:.1f} | {p95:.1f} | {p99:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description="Pose speed per frame (decode, pose, both).")
    parser.add_argument("video", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--loops", type=int, default=3, help="passes over the video (default 3)")
    args = parser.parse_args()

    decode, pose, both, with_person, without_person = [], [], [], [], []
    for _ in range(args.loops):
        with VideoFileSource(args.video) as source, PoseEstimator() as estimator:
            size = source.size
            frames = iter(source)
            while True:
                t0 = time.perf_counter()
                frame = next(frames, None)
                t1 = time.perf_counter()
                if frame is None:
                    break
                xy, _ = estimator.estimate(frame)
                t2 = time.perf_counter()
                decode.append((t1 - t0) * 1e3)
                pose.append((t2 - t1) * 1e3)
                both.append((t2 - t0) * 1e3)
                (with_person if np.isfinite(xy).all() else without_person).append((t2 - t1) * 1e3)

    print(f"video: {args.video} ({size[0]}x{size[1]}), {args.loops} loops; model {pose_model_version()}; "
          f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), load avg {os.getloadavg()[0]:.1f}")
    print("| stage | frames | frames/s | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    for name, ms in (("decode", decode), ("pose", pose), ("decode + pose", both),
                     ("pose, person found", with_person), ("pose, no person", without_person)):
        print(row(name, ms))


if __name__ == "__main__":
    main()
