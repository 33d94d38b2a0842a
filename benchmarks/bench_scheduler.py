"""Scheduler jitter on a real JACK virtual MIDI port.

Plays a drum + piano pattern (16th-note grid at --bpm, a few hundred notes over --duration seconds) through
NoteScheduler into the virtual port "RhythmicNet" on a private JACK server (dummy driver, 48 kHz, 256-frame
periods), fed one bar ahead by a generator thread as the live engine does. A JACK MIDI input connected to the
port records when each message arrives.

Prints, per spin setting (the last ``spin`` ms before a due time are spun instead of slept; 0 = sleep only),
with and without the scheduler thread's SCHED_FIFO attempt (works as root or with an rtprio limit):
- scheduler jitter: sent time minus due time of every note-on/note-off (ms), p50/p95/p99/max;
- JACK arrival: arrival at the JACK input minus due time (ms); JACK moves MIDI once per period (5.3 ms here),
  so this is the transport's latency, not the scheduler's jitter.

Run: python benchmarks/bench_scheduler.py [--duration 10] [--bpm 120] [--spin-ms 1 0] [--latency 0]
     [--no-realtime-compare]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import threading
import time

import numpy as np
import rtmidi

from rhythmicnet_live.jack_server import JackServer
from rhythmicnet_live.midi_out import open_midi_output
from rhythmicnet_live.notes import DRUM_CHANNEL, Note
from rhythmicnet_live.scheduler import NoteScheduler, ScheduledNote


def pattern(bar: int, rng: random.Random) -> list[tuple[float, Note, float]]:
    """One bar: (offset in 16th steps, note, duration in steps). Kick, snare, hats on 16ths, some ghost
    notes, one piano chord per beat."""
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


def run(duration_s: float, bpm: float, spin_s: float, realtime: bool, latency_s: float, seed: int) -> dict:
    step_s = 60.0 / bpm / 4
    bars = max(1, int(round(duration_s / (16 * step_s))))
    port = open_midi_output("RhythmicNet", api="jack", virtual=True, client_name="RhythmicNet")
    arrivals: list[tuple[float, bytes]] = []
    midi_in = rtmidi.MidiIn(rtapi=rtmidi.API_UNIX_JACK, name="bench-in")
    midi_in.set_callback(lambda event, _: arrivals.append((time.monotonic(), bytes(event[0]))))
    midi_in.open_port(midi_in.get_ports().index("RhythmicNet:RhythmicNet"))
    time.sleep(0.2)  # let JACK settle the connection before the clock starts
    rng = random.Random(seed)
    sched = NoteScheduler([port], latency_s=latency_s, spin_s=spin_s, realtime=realtime, max_late_s=1.0).start()
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
    end = t0 + bars * 16 * step_s + 4 * step_s
    while (sched.pending() or sched.sounding()) and time.monotonic() < end + 2:
        time.sleep(0.05)
    records = sched.records()
    time.sleep(0.1)
    sched.close()
    port.close()
    midi_in.cancel_callback()
    midi_in.close_port()
    midi_in.delete()

    jitter = np.array([(r.sent_s - r.due_s) * 1e3 for r in records])
    ons = [r for r in records if r.kind == "on"]
    arrived_on = [(t, m) for t, m in arrivals if len(m) == 3 and m[0] & 0xF0 == 0x90 and m[2] > 0]
    arrival = np.array([])
    if len(arrived_on) == len(ons):
        # the scheduler sends in due order and JACK keeps order, so the k-th arrival is the k-th note-on
        arrival = np.array([(t - r.due_s) * 1e3 for (t, _), r in zip(arrived_on, ons)])
    return {"realtime": sched.realtime_ok, "messages": len(records), "note_ons": len(ons), "arrived": len(arrived_on), "late": sched.late,
            "dropped": sched.dropped, "jitter": jitter, "arrival": arrival,
            "drum_channel_ok": all((m[0] & 0x0F) == DRUM_CHANNEL for _, m in arrived_on if m[1] in (36, 38, 42))}


def pct(a: np.ndarray) -> str:
    if a.size == 0:
        return "n/a | n/a | n/a | n/a"
    return " | ".join(f"{v:.3f}" for v in (np.percentile(a, 50), np.percentile(a, 95), np.percentile(a, 99), a.max()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of music per run")
    ap.add_argument("--bpm", type=float, default=120.0)
    ap.add_argument("--spin-ms", type=float, nargs="+", default=[1.0, 0.0], help="spin settings to compare (ms)")
    ap.add_argument("--no-realtime-compare", action="store_true",
                    help="only runs with the real-time priority attempt (the default NoteScheduler setting)")
    ap.add_argument("--latency", type=float, default=0.0, help="scheduler latency offset (s)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"host: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}, python {platform.python_version()}")
    with JackServer(name=f"rhythmicnet-bench-{os.getpid()}") as jack:
        print(f"JACK: private server {jack.name}, dummy driver {jack.rate} Hz, period {jack.period} frames "
              f"= {1e3 * jack.period / jack.rate:.2f} ms")
        rows = []
        for realtime in (True,) if args.no_realtime_compare else (True, False):
            for spin_ms in args.spin_ms:
                r = run(args.duration, args.bpm, spin_ms / 1e3, realtime, args.latency, args.seed)
                rows.append((spin_ms, r))
    print()
    print("| spin (ms) | SCHED_FIFO | messages | note-ons | arrived | late | dropped | jitter p50 | p95 | p99 | max (ms) |"
          " JACK arrival p50 | p95 | p99 | max (ms) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for spin_ms, r in rows:
        print(f"| {spin_ms:g} | {'yes' if r['realtime'] else 'no'} | {r['messages']} | {r['note_ons']} | {r['arrived']} | {r['late']} | {r['dropped']} | "
              f"{pct(r['jitter'])} | {pct(r['arrival'])} |")
    for spin_ms, r in rows:
        if not r["drum_channel_ok"]:
            print(f"WARNING (spin {spin_ms:g} ms): drum notes arrived on a channel other than 10")
    goal = rows[0][1]["jitter"]
    print(f"\ngoal: scheduler jitter p99 < 2 ms (default settings: spin {rows[0][0]:g} ms, real-time attempt): "
          f"{'met' if np.percentile(goal, 99) < 2.0 else 'NOT met'} ({np.percentile(goal, 99):.3f} ms)")


if __name__ == "__main__":
    main()
