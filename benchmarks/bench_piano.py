"""Time to generate one bar of piano (shipped ONNX model, onnxruntime, 1 thread) against the bar's duration.

Plays a continuous stream of bars with the memory carried (a rock beat, a half-time beat, an empty bar, and
a busy 16th-note bar in turn) and prints p50 / p95 / max per bar, the decoder tokens per bar and the time per
token, against the 2000 ms a 4/4 bar lasts at 120 BPM.

    python benchmarks/bench_piano.py [--bars 200 --temperature 1.0 --top-k 20]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import onnxruntime as ort

from rhythmicnet_live.notes import Note
from rhythmicnet_live.generation.piano import PianoGenerator

BAR_MS_AT_120 = 2000.0


def drum_bars() -> list[list[Note]]:
    rock = [Note("drums", 42, 80, float(s), 1.0) for s in range(0, 16, 2)]
    rock += [Note("drums", 36, 110, s, 1.0) for s in (0.0, 8.0, 10.0)] + [Note("drums", 38, 100, s, 1.0) for s in (4.0, 12.0)]
    half = [Note("drums", 51, 70, float(s), 1.0) for s in range(0, 16, 4)] + [Note("drums", 36, 100, 0.0, 1.0),
                                                                            Note("drums", 38, 100, 8.0, 1.0)]
    busy = [Note("drums", 42, 60 + 5 * (s % 4), float(s), 1.0) for s in range(16)]
    busy += [Note("drums", 36, 110, s, 1.0) for s in (0.0, 3.0, 6.0, 10.0)] + [Note("drums", 38, 100, s, 1.0) for s in (4.0, 12.0)]
    return [rock, rock, half, [], busy, rock]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=200)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    gen = PianoGenerator(seed=args.seed)
    patterns = drum_bars()
    for i in range(3):  # warm-up
        gen.generate_bar(patterns[i])
    gen.reset(args.seed)
    times, tokens, notes = [], [], []
    for i in range(args.bars):
        t0 = time.perf_counter()
        out = gen.generate_bar(patterns[i % len(patterns)], temperature=args.temperature, top_k=args.top_k)
        times.append((time.perf_counter() - t0) * 1000)
        tokens.append(len(gen.last_tokens))
        notes.append(len(out))
    t = np.array(times)
    per_token = t / np.array(tokens)
    print(f"Drum2Music bar generation, {args.bars} bars with memory, temperature {args.temperature}, top-k {args.top_k}")
    print(f"CPU: {platform.processor() or platform.machine()}, onnxruntime {ort.__version__}, 1 intra-op thread\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| per bar p50 (ms) | {np.percentile(t, 50):.1f} |")
    print(f"| per bar p95 (ms) | {np.percentile(t, 95):.1f} |")
    print(f"| per bar max (ms) | {t.max():.1f} |")
    print(f"| decoder tokens per bar (mean / max) | {np.mean(tokens):.1f} / {max(tokens)} |")
    print(f"| piano notes per bar (mean) | {np.mean(notes):.1f} |")
    print(f"| per token p50 (ms) | {np.percentile(per_token, 50):.2f} |")
    print(f"| bar duration at 120 BPM (ms) | {BAR_MS_AT_120:.0f} |")
    print(f"| p95 / bar duration | {np.percentile(t, 95) / BAR_MS_AT_120:.1%} |")
    print(f"| goal p95 < 200 ms | {'met' if np.percentile(t, 95) < 200 else 'NOT met'} |")


if __name__ == "__main__":
    main()
