"""Time to generate one bar of drums (shipped ONNX models, onnxruntime, 1 thread) against the bar's duration.

Plays a continuous stream of bars with the context carried (quarter-note beats, beats with a few sudden-move
hits, a busy bar, in turn) and prints p50 / p95 / p99 / max per bar (wall clock, split into the encoder, the
decoder (cache refill and 16 steps), the U-Net and the rest; and the process's CPU time), against the
2000 ms a 4/4 bar lasts at 120 BPM.
Also prints the machine's load average: the CPU is shared, and a busy machine shows in the tail.

    python benchmarks/bench_drums.py [--bars 500 --temperature 1.0 --top-k 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import onnxruntime as ort

from rhythmicnet_live.generation.drums import DrumGenerator

BAR_MS_AT_120 = 2000.0
RHYTHMS = [
    np.array([1, 0, 0, 0] * 4),
    np.array([1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 1]),
    np.array([1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1]),
]


class _Timed:
    """Wraps an onnxruntime session and adds the time of every run to a list (ms)."""

    def __init__(self, session: ort.InferenceSession, sink: list):
        self.session, self.sink = session, sink

    def run(self, *args, **kwargs):
        t0 = time.perf_counter()
        out = self.session.run(*args, **kwargs)
        self.sink.append((time.perf_counter() - t0) * 1000)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=500)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    gen = DrumGenerator(seed=args.seed)
    for i in range(10):  # warm-up
        gen.generate_bar(RHYTHMS[i % len(RHYTHMS)])
    gen.reset(args.seed)
    parts = {"encoder": [], "decoder": [], "unet": []}
    gen.encoder, gen.decoder, gen.unet = (_Timed(getattr(gen, k), parts[k]) for k in ("encoder", "decoder", "unet"))
    load_before = os.getloadavg()[0]
    rows = []
    for i in range(args.bars):
        marks = {k: len(v) for k, v in parts.items()}
        c0, t0 = time.process_time(), time.perf_counter()
        notes = gen.generate_bar(RHYTHMS[i % len(RHYTHMS)], temperature=args.temperature, top_k=args.top_k)
        total, cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
        per = {k: sum(v[marks[k]:]) for k, v in parts.items()}
        rows.append([total, per["encoder"], per["decoder"], per["unet"], total - sum(per.values()), cpu, len(notes)])
    load_after = os.getloadavg()[0]
    r = np.array(rows)
    print(f"Rhythm2Drum bar generation, {args.bars} bars with context, temperature {args.temperature}, top-k {args.top_k}")
    print(f"CPU: {platform.processor() or platform.machine()} ({os.cpu_count()} cores), onnxruntime {ort.__version__}, "
          f"1 intra-op thread; load average {load_before:.1f} before, {load_after:.1f} after\n")
    print("| ms per bar | p50 | p95 | p99 | max |")
    print("|---|---|---|---|---|")
    names = ["total (wall clock)", "encoder (1 run)", "decoder (cache fill + 16 steps)", "U-Net (1 run)", "sampling, numpy",
             "total CPU time of this process"]
    for j, name in enumerate(names):
        p = np.percentile(r[:, j], [50, 95, 99, 100])
        print(f"| {name} | {p[0]:.2f} | {p[1]:.2f} | {p[2]:.2f} | {p[3]:.2f} |")
    p95 = np.percentile(r[:, 0], 95)
    print(f"\nbar at 120 BPM: {BAR_MS_AT_120:.0f} ms; p95 generation = {100 * p95 / BAR_MS_AT_120:.2f} % of it "
          f"(goal: under 10 ms p95: {'met' if p95 < 10 else 'not met'}); notes per bar: {r[:, 6].mean():.1f} on average")
    print("(wall clock includes the time this process waits while other jobs hold the CPU; CPU time does not)")


if __name__ == "__main__":
    main()
