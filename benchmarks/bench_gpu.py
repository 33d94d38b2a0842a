"""The models on each onnxruntime execution provider, side by side: CPU and CUDA (when onnxruntime-gpu and a GPU are
there; install with scripts/setup_gpu.sh and run this with that environment's python).

Rows: the beat model over a 60 s clip of keypoints (ms per frame, whole-clip and streaming), one bar of drums and
one bar of piano (ms per bar, p50/p95), and a batch of takes of the bundled clips (x real time). Each provider runs
in its own process (``RHYTHMICNET_PROVIDER=cpu`` pins the CPU), so the two never share a session.

    python benchmarks/bench_gpu.py [--bars 40] [--no-takes]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CLIPS = [ROOT / "examples" / "tiktokgestdance.mp4", ROOT / "tests" / "fixtures" / "jump_8s_480x270.mp4"]


def measure(bars: int, takes: bool) -> dict:
    """Run every model on the provider this process was started with; figures in ms (takes: x real time)."""
    from rhythmicnet_live.analysis.beat_model import ModelActivation
    from rhythmicnet_live.generation.drums import DrumGenerator
    from rhythmicnet_live.generation.piano import PianoGenerator
    from rhythmicnet_live.models import execution_providers

    rng = np.random.default_rng(0)
    t = np.arange(1800) / 30.0
    xy = (rng.normal(0, 0.05, (1800, 17, 2)) + 0.2 * np.sin(2 * np.pi * 2 * t)[:, None, None]).astype(np.float32)
    beat = ModelActivation()
    beat.process_offline(xy[:60])  # warm-up
    t0 = time.perf_counter()
    beat.process_offline(xy)
    out = {"beat model, whole clip (ms/frame)": 1e3 * (time.perf_counter() - t0) / len(xy)}
    beat.reset()
    t0 = time.perf_counter()
    for frame in xy[:600]:
        beat.process_online(frame)
    out["beat model, streaming (ms/frame)"] = 1e3 * (time.perf_counter() - t0) / 600
    drums, piano = DrumGenerator(seed=0), PianoGenerator(seed=0)
    taps = np.array([1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 1])
    drum_ms, piano_ms = [], []
    for _ in range(bars):
        t0 = time.perf_counter()
        notes = drums.generate_bar(taps, bar_start_step=0)
        drum_ms.append(1e3 * (time.perf_counter() - t0))
        t0 = time.perf_counter()
        piano.generate_bar(notes, bpm=120.0)
        piano_ms.append(1e3 * (time.perf_counter() - t0))
    out["drums (ms/bar p50)"], out["drums (ms/bar p95)"] = np.percentile(drum_ms, [50, 95])
    out["piano (ms/bar p50)"], out["piano (ms/bar p95)"] = np.percentile(piano_ms, [50, 95])
    if takes:
        from rhythmicnet_live.config import Config
        from rhythmicnet_live.offline.take import make_takes, video_duration

        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            outcomes = make_takes(CLIPS, Path(tmp), Config(), jobs=2, progress=False)
            seconds = time.perf_counter() - t0
        assert not any(o.error for o in outcomes), [o.error for o in outcomes]
        out["batch of takes (x real time)"] = sum(video_duration(c) for c in CLIPS) / seconds
    out["providers"] = execution_providers()
    return {k: (float(v) if not isinstance(v, dict) else v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=40)
    parser.add_argument("--no-takes", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.bars, not args.no_takes)))
        return
    import onnxruntime as ort

    available = ort.get_available_providers()
    columns = {}
    for name, env in (("CPU", {"RHYTHMICNET_PROVIDER": "cpu"}), ("CUDA", {"RHYTHMICNET_PROVIDER": "cuda"})):
        if name == "CUDA" and "CUDAExecutionProvider" not in available:
            print(f"CUDA: not available (onnxruntime {ort.__version__} offers {available}); "
                  "install onnxruntime-gpu with scripts/setup_gpu.sh on a machine with a GPU")
            continue
        cmd = [sys.executable, __file__, "--child", "--bars", str(args.bars)] + (["--no-takes"] if args.no_takes else [])
        done = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True, check=True)
        columns[name] = json.loads(done.stdout.strip().splitlines()[-1])
    rows = [k for k in next(iter(columns.values())) if k != "providers"]
    print(f"{'figure':<36}" + "".join(f"{name:>12}" for name in columns))
    for row in rows:
        print(f"{row:<36}" + "".join(f"{col[row]:12.2f}" for col in columns.values()))
    for name, col in columns.items():
        print(f"{name}: models ran on {sorted(set(col['providers'].values()))}")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
