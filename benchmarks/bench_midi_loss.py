"""Where MIDI goes missing on a non-realtime JACK under load, and whether a note can still hang.

Plays ``--notes`` short drum and piano notes (16th notes at 120 BPM, as a performance does) through
SenderProcess into a virtual JACK port on a private dummy-driver JACK server, with ``--load`` busy processes
beside it, and reads the port back with a JACK MIDI input. Per run it prints: messages the sender's scheduler
sent, note-ons and note-offs the reader lost, late-client reports in jackd's log during the run ("not
finished" = a client's process callback missed its cycle), note-offs recovered by the sender's periodic
re-send (RESEND_OFFS_S), and the notes left hanging until a retrigger or the final All Notes Off; with jackd
in its default asynchronous mode and with ``--sync``.

rtmidi's JACK output writes each message into a 16 KB ring buffer that its process callback empties into the
port buffer every period; at a few messages per period that buffer is never near full. What loses messages is
the JACK graph: when the reader's (or the sender's) client misses a cycle on a non-realtime server, that
cycle's MIDI never reaches it.

    python benchmarks/bench_midi_loss.py --notes 600 --load 0 2 --sync 0 1
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def burn(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def run(notes: int, load: int, server) -> dict:
    from jack_server import JackMidiRecorder
    from rhythmicnet_live.live.midi_out import CC_ALL_NOTES_OFF
    from rhythmicnet_live.live.scheduler import ScheduledNote
    from rhythmicnet_live.live.sender import SenderProcess, SenderSpec
    from rhythmicnet_live.notes import Note

    stop = mp.Event()
    burners = [mp.Process(target=burn, args=(stop,), daemon=True) for _ in range(load)]
    for b in burners:
        b.start()
    name = f"loss{load}"
    log_before = server.log_text().count("not finished")
    with SenderProcess(SenderSpec(midi_port=name, midi_api="jack", midi_client_name=name, max_late_s=10.0)) as sender:
        reader = JackMidiRecorder(f"{name}:{name}", client_name=f"reader{load}")
        step = 60.0 / 120 / 4
        t0 = time.monotonic() + 0.5
        for i in range(notes):
            drum = i % 2 == 0
            note = Note("drums" if drum else "piano", (36, 38, 42, 46)[i % 4] if drum else 60 + i % 12, 100, 0.0, 1.0)
            sender.schedule(ScheduledNote(t0 + i * step, note, step * 0.9))
        time.sleep(notes * step + 0.6)
        time.sleep(1.5)  # one more re-send of note-offs
        _, counters = sender.stats()
        sender.stop()
        time.sleep(0.3)
        reader_arrivals = reader.arrivals()
        reader.close()
    stop.set()
    for b in burners:
        b.join()
    arrivals = reader_arrivals
    ons = [(t, m) for t, m in arrivals if m.type == "note_on" and m.velocity > 0]
    # for each note-on heard: did its note-off come in time, only from the periodic re-send, or never?
    in_time = recovered = hanging = 0
    for i, (t, on) in enumerate(arrivals):
        if not (on.type == "note_on" and on.velocity > 0):
            continue
        nxt = next(((u, m) for u, m in arrivals[i + 1:] if getattr(m, "channel", None) == on.channel
                    and ((m.type in ("note_on", "note_off") and m.note == on.note)
                         or (m.type == "control_change" and m.control == CC_ALL_NOTES_OFF))), None)
        if nxt is not None and nxt[1].type == "note_off" and nxt[0] - t < step + 0.1:
            in_time += 1
        elif nxt is not None and nxt[1].type == "note_off":
            recovered += 1
        else:
            hanging += 1
    return {"load": load, "messages sent": counters.get("sent_messages", 0), "note-ons lost": notes - len(ons),
            "note-offs lost": recovered + hanging, "ended by the re-send": recovered,
            "hanging until retrigger/CC 123": hanging,
            "late cycles in jackd log": server.log_text().count("not finished") - log_before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=600, help="notes per run (default 600: 75 s at 120 BPM 16ths)")
    parser.add_argument("--load", type=int, nargs="+", default=[0, 2], help="busy processes beside it, per run")
    parser.add_argument("--sync", type=int, nargs="+", default=[0, 1], help="jackd --sync off (0) / on (1), per run")
    args = parser.parse_args()
    from jack_server import JackServer

    rows = []
    for sync in args.sync:
        with JackServer(name=f"rhythmicnet-loss-{os.getpid()}-{sync}", sync=bool(sync)) as server:
            rows += [{"jackd --sync": bool(sync), **run(args.notes, load, server)} for load in args.load]
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
