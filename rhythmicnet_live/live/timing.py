"""Precise waiting on the monotonic clock, shared by the note scheduler and the MIDI clock."""

from __future__ import annotations

import os
import threading
import time

#: Sleep until this many seconds before a deadline, then spin: OS sleeps overshoot by 0.05-1 ms.
SPIN_S = 0.001


def wait_until(deadline: float, stop: threading.Event | None = None, spin_s: float = SPIN_S) -> bool:
    """Block until ``time.monotonic() >= deadline`` (seconds).

    Sleeps (on ``stop`` when given, so a stop wakes it at once) until ``spin_s`` before the deadline,
    then spins, yielding the GIL with ``time.sleep(0)``. Returns False if ``stop`` was set first.
    """
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return True
        if stop is not None and stop.is_set():
            return False
        if remaining > spin_s:
            if stop is not None:
                if stop.wait(remaining - spin_s):
                    return False
            else:
                time.sleep(remaining - spin_s)
        else:
            time.sleep(0)


def try_realtime(priority: int = 10) -> bool:
    """Best effort: move the calling thread to SCHED_FIFO at ``priority`` (Linux; needs CAP_SYS_NICE or an
    rtprio limit, as JACK setups usually grant). Returns whether it worked; failing is normal and harmless."""
    if not hasattr(os, "sched_setscheduler"):
        return False
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))  # 0 = the calling thread on Linux
        return True
    except (OSError, ValueError):
        return False
