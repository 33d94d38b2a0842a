"""Offline take speed as a multiple of real time, per stage, pose included (no keypoint cache).

For each clip, side by side in one run: a full take (drums + piano) with pose in one process (the baseline), the
same with pose split over ``--jobs`` worker processes (what ``take`` does by default), the same with pose on
``--pose-fps`` frames per second only (``take --pose-fps 15``), and a drums-only take with that pose rate.
Each take starts from a fresh copy of the video, so pose runs every time. Prints seconds per stage and the clip's
duration divided by the time taken (x real time; above 1 is faster than real time), and the load average, since
the machine may be shared.

    python benchmarks/bench_take.py [VIDEO ...] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from rhythmicnet_live.config import config_from_flags
from rhythmicnet_live.offline.take import make_take

ROOT = Path(__file__).resolve().parent.parent
CLIPS = [ROOT / "examples" / "tiktokgestdance.mp4", ROOT / "tests" / "fixtures" / "jump_8s_480x270.mp4"]
STAGES = ("pose", "rhythm", "music", "files")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", nargs="*", type=Path, default=CLIPS)
    parser.add_argument("--jobs", type=int, default=2, help="pose worker processes of the parallel rows")
    parser.add_argument("--pose-fps", type=float, default=15.0,
                        help="pose frames per second of the fast rows (take --pose-fps; default 15)")
    args = parser.parse_args()
    fast = ["--pose-fps", str(args.pose_fps)]
    runs = (("full, 1 proc", [], 1), (f"full, {args.jobs} procs", [], args.jobs),
            (f"full, {args.jobs} procs, pose {args.pose_fps:g}/s", fast, args.jobs),
            (f"drums, {args.jobs} procs, pose {args.pose_fps:g}/s", ["--drums-only", *fast], args.jobs))
    header = f"{'clip':<28}{'take':<30}{'dur s':>7}" + "".join(f"{s + ' s':>9}" for s in STAGES) + \
        f"{'total s':>9}{'x RT':>7}{'x RT w/o pose':>15}"
    lines = [header, "-" * len(header)]
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        for video in args.videos:
            for label, flags, jobs in runs:
                copy = Path(tmp) / f"{len(lines)}-{video.name}"
                shutil.copy(video, copy)  # a fresh file: no keypoint cache, pose runs
                result = make_take(copy, Path(tmp) / f"out-{len(lines)}", config_from_flags(flags, "take"),
                                   progress=False, pose_workers=jobs)
                total = sum(result.seconds.values())
                no_pose = total - result.seconds["pose"]
                lines.append(f"{video.name:<28}{label:<30}{result.duration_s:7.2f}"
                             + "".join(f"{result.seconds[s]:9.2f}" for s in STAGES)
                             + f"{total:9.2f}{result.duration_s / total:7.2f}{result.duration_s / no_pose:15.2f}")
                load.append(os.getloadavg()[0])
    print("\n".join(lines))
    print(f"\n{os.cpu_count()} CPUs; 1-minute load average {min(load):.2f}..{max(load):.2f} during the run")


if __name__ == "__main__":
    main()
