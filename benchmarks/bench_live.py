"""Live-engine latency on real clips played in real time (as a camera would deliver them).

Runs ``perform`` on each clip, MIDI to a JACK virtual port (a private JACK server; no MIDI if jackd is
missing) and OSC to loopback, with the trained beat model (when shipped) and with the no-learning activation
(the baseline), and prints per-stage latency p50/p95/p99 (ms), scheduler jitter (sent minus intended),
dropped frames and the generation time per bar against the bar's duration.

    python benchmarks/bench_live.py [VIDEO ...]
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the test suite's JACK helpers
from jack_server import JackServer  # noqa: E402
from rhythmicnet_live.analysis.activation import KinematicActivation
from rhythmicnet_live.analysis.beat_model import MODEL_NAME, ModelActivation
from rhythmicnet_live.config import Config
from rhythmicnet_live.models import has_model
from rhythmicnet_live.live.perform import perform

ROOT = Path(__file__).resolve().parent.parent
CLIPS = [ROOT / "examples" / "tiktokgestdance.mp4", ROOT / "tests" / "fixtures" / "jump_8s_480x270.mp4"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float]) -> str:
    if not values:
        return f"{'-':>8}{'-':>8}{'-':>8}{0:>6}"
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return f"{p50:8.2f}{p95:8.2f}{p99:8.2f}{len(values):>6}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", nargs="*", type=Path, default=CLIPS)
    args = parser.parse_args()
    jack = JackServer() if JackServer.available() else nullcontext()
    with jack, tempfile.TemporaryDirectory() as tmp:
        for video in args.videos:
            activations = [("kinematic (baseline)", KinematicActivation())]
            if has_model(MODEL_NAME):
                activations.insert(0, ("beat model", ModelActivation()))
            for name, activation in activations:
                config = Config()
                config.midi.enabled = not isinstance(jack, nullcontext)
                config.midi.api = "jack"
                config.midi.port = "RhythmicNet-bench"
                config.osc.port = free_port()
                config.control.port = free_port()
                config.journal.dir = tmp
                stats = perform(config.validate(), video=video, activation=activation)
                print(f"\n{video.name}, activation: {name}, MIDI: {'JACK virtual port' if config.midi.enabled else 'off'}")
                print(f"frames {stats.frames}, dropped {stats.dropped}, beats {stats.beats}, bars generated "
                      f"{stats.bars_generated}, bars not ready in time {stats.bars_late}")
                print(f"{'stage (ms)':<42}{'p50':>8}{'p95':>8}{'p99':>8}{'n':>6}")
                rows = [
                    ("pose", stats.pose_ms),
                    ("rhythm (keypoints+activation+HMM+style)", stats.rhythm_ms),
                    ("capture -> decision (frame analysed)", stats.capture_to_decision_ms),
                    ("capture -> accent sent", stats.accent_capture_to_send_ms),
                    ("generation per bar", stats.generation_ms),
                    ("scheduler jitter (sent - intended)", stats.jitter_ms),
                    ("OSC beat/tempo/style sent - due", stats.osc_event_ms),
                ]
                for label, values in rows:
                    print(f"{label:<42}{pct(values)}")
                if stats.bar_s:
                    print(f"{'bar duration':<42}{1e3 * float(np.median(stats.bar_s)):8.0f}  (median, ms)")


if __name__ == "__main__":
    main()
