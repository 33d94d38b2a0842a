"""Scheduler jitter on a real JACK virtual MIDI port.

Plays a drum + piano pattern (16th-note grid at --bpm, a few hundred notes over --duration seconds) through
NoteScheduler into the virtual port "RhythmicNet" on a private JACK server (dummy driver, 48 kHz, 256-frame
periods), fed one bar ahead by a generator thread as the live engine does. A JACK MIDI input in a separate
process (so it takes nothing from this process's GIL) records when each message arrives (polled every 0.5 ms;
CLOCK_MONOTONIC is system-wide, so the times compare).

Each row is one run; the settings compared:
- scheduler: "thread" = NoteScheduler in this process, "process" = SenderProcess (the scheduler and the MIDI
  port in a child process that does nothing else);
- spin: the last ``spin`` ms before a due time are spun instead of slept (0 = sleep only);
- SCHED_FIFO: the scheduler thread's real-time priority attempt (works as root or with an rtprio limit);
- GIL load: Python threads in the same process doing pure-Python work all the time (the live engine's pose,
  beat and generation threads hold the GIL between their onnxruntime calls).

Columns: scheduler jitter = sent time minus due time of every note-on/note-off (ms); JACK arrival = arrival at
the JACK input minus due time (ms): JACK moves MIDI once per period (5.3 ms here), so that is the transport's
latency, not the scheduler's jitter.

Run: python benchmarks/bench_scheduler.py [--mode thread process] [--duration 10] [--bpm 120] [--spin-ms 1 0]
     [--gil-load 0 1] [--latency 0] [--switch-interval-ms 5] [--no-realtime-compare]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import random
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the test suite's JACK helpers
from jack_server import JackMidiRecorder, JackServer  # noqa: E402
from rhythmicnet_live.live.midi_out import open_midi_output
from rhythmicnet_live.notes import DRUM_CHANNEL, Note
from rhythmicnet_live.live.scheduler import NoteScheduler, ScheduledNote
from rhythmicnet_live.live.sender import SenderProcess, SenderSpec


def pattern(bar: int, rng: random.Random) -> list[tuple[float, Note, float]]:
    """One bar: (offset in 16th steps, note, duration in steps). Closed hat on 16ths, ride on 8ths, kick and
    snare with a few random kicks, one three-note piano chord per beat."""
    out = []
    for step in range(16):
        out.append((step, Note("drums", 42, rng.randint(60, 100), bar * 16 + step, 0.5), 0.5))
        if step in (0, 8) or rng.random() < 0.1:
            out.append((step, Note("drums", 36, 110, bar * 16 + step, 0.5), 0.5))
        if step in (4, 12):
            out.append((step, Note("drums", 38, 105, bar * 16 + step, 0.5), 0.5))
        if step % 2 == 0:
            out.append((step, Note("drums", 51, rng.randint(50, 90), bar * 16 + step, 1.0), 1.0))
    for beat in range(4):
        root = rng.choice([48, 53, 55, 57])
        for interval in (0, 4, 7):
            out.append((beat * 4, Note("piano", root + 12 + interval, 70, bar * 16 + beat * 4, 3.0), 3.0))
    return out


def record(port: str, ready, stop, results) -> None:
    """Child process: record the port's arrivals until ``stop``, then send [(monotonic s, bytes)]."""
    recorder = JackMidiRecorder(port, client_name="bench-in")
    ready.set()
    stop.wait()
    time.sleep(0.1)
    recorder.close()
    results.put([(t, bytes(m.bytes())) for t, m in recorder.arrivals()])


def gil_hog(stop: threading.Event) -> None:
    """Pure-Python work that holds the GIL except at the interpreter's switch points."""
    x = 0
    while not stop.is_set():
        for i in range(1000):
            x = (x * 31 + i) % 1_000_003


def run(mode: str, duration_s: float, bpm: float, spin_s: float, realtime: bool, gil_threads: int,
        latency_s: float, seed: int) -> dict:
    """One run. mode: "thread" (NoteScheduler in this process) or "process" (SenderProcess)."""
    step_s = 60.0 / bpm / 4
    bars = max(1, int(round(duration_s / (16 * step_s))))
    if mode == "thread":
        port = open_midi_output("RhythmicNet", api="jack", virtual=True, client_name="RhythmicNet")
        sched = NoteScheduler([port], latency_s=latency_s, spin_s=spin_s, realtime=realtime, max_late_s=1.0)
    else:
        port = None
        sched = SenderProcess(SenderSpec(midi_port="RhythmicNet", midi_api="jack", midi_client_name="RhythmicNet",
                                         latency_s=latency_s, realtime=realtime, max_late_s=1.0))
    ctx = mp.get_context("spawn")
    ready, stop, results = ctx.Event(), ctx.Event(), ctx.Queue()
    child = ctx.Process(target=record, args=("RhythmicNet:RhythmicNet", ready, stop, results))
    child.start()
    ready.wait(30)
    time.sleep(0.2)  # let JACK settle the connection before the music starts
    hog_stop = threading.Event()
    hogs = [threading.Thread(target=gil_hog, args=(hog_stop,), daemon=True) for _ in range(gil_threads)]
    for h in hogs:
        h.start()
    rng = random.Random(seed)
    if mode == "thread":
        sched.start()
    t0 = time.monotonic() + 0.5

    def feed() -> None:  # the generator: schedules bar n+1 during bar n
        for bar in range(bars):
            bar_start = t0 + bar * 16 * step_s
            wait = bar_start - 16 * step_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            for offset, note, dur in pattern(bar, rng):
                sched.schedule(ScheduledNote(bar_start + offset * step_s, note, dur * step_s))

    feeder = threading.Thread(target=feed)
    feeder.start()
    feeder.join()
    end = t0 + bars * 16 * step_s + 4 * step_s  # the last note-off (piano: 3 steps) is before this
    time.sleep(max(0.0, end - time.monotonic()) + 0.3)
    if mode == "thread":
        records, counters = sched.records(), {"late": sched.late, "dropped": sched.dropped,
                                              "realtime": sched.realtime_ok}
    else:
        records, counters = sched.stats()
        counters["dropped"] += sched.dropped
    hog_stop.set()
    for h in hogs:
        h.join()
    sched.close()
    stop.set()
    arrivals = results.get(timeout=30)
    child.join()
    if port is not None:
        port.close()

    jitter = np.array([(r.sent_s - r.due_s) * 1e3 for r in records])
    ons = [r for r in records if r.kind == "on"]
    arrived_on = [(t, m) for t, m in arrivals if len(m) == 3 and m[0] & 0xF0 == 0x90 and m[2] > 0]
    arrival = np.array([])
    if len(arrived_on) == len(ons):
        # the scheduler sends in due order and JACK keeps order, so the k-th arrival is the k-th note-on
        arrival = np.array([(t - r.due_s) * 1e3 for (t, _), r in zip(arrived_on, ons)])
    return {"realtime": counters["realtime"], "messages": len(records), "note_ons": len(ons),
            "arrived": len(arrived_on), "late": counters["late"], "dropped": counters["dropped"], "jitter": jitter,
            "arrival": arrival,
            "drum_channel_ok": all(m[0] & 0x0F == DRUM_CHANNEL for _, m in arrived_on if m[1] in (36, 38, 42, 51))}


def pct(a: np.ndarray) -> str:
    if a.size == 0:
        return "n/a | n/a | n/a | n/a"
    return " | ".join(f"{v:.3f}" for v in (np.percentile(a, 50), np.percentile(a, 95), np.percentile(a, 99), a.max()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of music per run")
    ap.add_argument("--bpm", type=float, default=120.0)
    ap.add_argument("--mode", nargs="+", choices=("thread", "process"), default=["thread", "process"],
                    help="NoteScheduler in this process, or SenderProcess (scheduler in a child process)")
    ap.add_argument("--spin-ms", type=float, nargs="+", default=[1.0], help="spin settings to compare (ms)")
    ap.add_argument("--gil-load", type=int, nargs="+", default=[0, 1],
                    help="numbers of GIL-holding Python threads to compare")
    ap.add_argument("--latency", type=float, default=0.0, help="scheduler latency offset (s)")
    ap.add_argument("--no-realtime-compare", action="store_true",
                    help="only runs with the real-time priority attempt (the default NoteScheduler setting)")
    ap.add_argument("--switch-interval-ms", type=float, default=None,
                    help="set sys.setswitchinterval (Python's default is 5 ms)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.switch_interval_ms is not None:
        sys.setswitchinterval(args.switch_interval_ms / 1e3)
    print(f"host: {platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before the "
          f"runs, python {platform.python_version()}, GIL switch interval {1e3 * sys.getswitchinterval():g} ms")
    rows = []
    with JackServer(name=f"rhythmicnet-bench-{os.getpid()}") as jack:
        print(f"JACK: private server {jack.name}, dummy driver {jack.rate} Hz, period {jack.period} frames "
              f"= {1e3 * jack.period / jack.rate:.2f} ms, not real-time")
        for mode in args.mode:
            for gil in args.gil_load:
                for realtime in (True,) if args.no_realtime_compare else (True, False):
                    for spin_ms in args.spin_ms if mode == "thread" else args.spin_ms[:1]:
                        r = run(mode, args.duration, args.bpm, spin_ms / 1e3, realtime, gil, args.latency,
                                args.seed)
                        rows.append((mode, spin_ms, gil, r))
    print()
    print("| scheduler | spin (ms) | SCHED_FIFO | GIL load | messages | note-ons | arrived | late | dropped | jitter p50 | p95 | p99 "
          "| max (ms) | JACK arrival p50 | p95 | p99 | max (ms) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for mode, spin_ms, gil, r in rows:
        print(f"| {mode} | {spin_ms:g} | {'yes' if r['realtime'] else 'no'} | {gil} | {r['messages']} | {r['note_ons']} | "
              f"{r['arrived']} | {r['late']} | {r['dropped']} | {pct(r['jitter'])} | {pct(r['arrival'])} |")
    for mode, spin_ms, gil, r in rows:
        if not r["drum_channel_ok"]:
            print(f"WARNING ({mode}, spin {spin_ms:g} ms, GIL load {gil}): drum notes arrived on a channel other than 10")
    print("\ngoal: scheduler jitter p99 < 2 ms (real-time attempt, spin 1 ms)")
    for mode, spin_ms, gil, r in rows:
        if r["realtime"] and spin_ms == 1.0:
            p99 = np.percentile(r["jitter"], 99)
            print(f"  {mode:8s} GIL load {gil}: {'met' if p99 < 2.0 else 'NOT met'} ({p99:.3f} ms)")


if __name__ == "__main__":
    main()
