"""Offline take speed as a multiple of real time, per stage, pose included (no keypoint cache).

For each clip: a full take (drums + piano) and a drums-only take (the baseline) from a fresh copy of the video,
so pose runs every time. Prints seconds per stage and the clip's duration divided by the time taken (x real
time; above 1 is faster than real time).

    python benchmarks/bench_take.py [VIDEO ...]
"""

from __future__ import annotations

import argparse
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
    args = parser.parse_args()
    header = f"{'clip':<28}{'take':<12}{'dur s':>7}" + "".join(f"{s + ' s':>9}" for s in STAGES) + f"{'total s':>9}{'x RT':>7}{'x RT w/o pose':>15}"
    lines = [header, "-" * len(header)]
    with tempfile.TemporaryDirectory() as tmp:
        for video in args.videos:
            for label, drums_only in (("full", False), ("drums-only", True)):
                copy = Path(tmp) / f"{label}-{video.name}"
                shutil.copy(video, copy)  # a fresh file: no keypoint cache, pose runs
                result = make_take(copy, Path(tmp) / f"out-{label}", config_from_flags(["--drums-only"] if drums_only else [], "take"), progress=False)
                total = sum(result.seconds.values())
                no_pose = total - result.seconds["pose"]
                lines.append(f"{video.name:<28}{label:<12}{result.duration_s:7.2f}"
                             + "".join(f"{result.seconds[s]:9.2f}" for s in STAGES)
                             + f"{total:9.2f}{result.duration_s / total:7.2f}{result.duration_s / no_pose:15.2f}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
