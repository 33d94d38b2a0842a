"""Precise waiting on the monotonic clock and a queue of due items, shared by the note scheduler, the OSC event
sender and the MIDI clock."""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from typing import Any

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


class DueQueue:
    """Items due at ``time.monotonic()`` times (seconds), for one consumer thread that waits for them.

    :meth:`push` never blocks; items due at the same time come out by ``rank``, then in the order pushed.
    :meth:`wait` blocks until the earliest item is ``spin_s`` from due and returns its due time (the caller then
    spins with :func:`wait_until` and takes the items with :meth:`pop_due`), or returns None once :meth:`close`
    was called; an earlier item pushed meanwhile, or ``close``, wakes it.
    """

    def __init__(self, spin_s: float = SPIN_S) -> None:
        self.spin_s = spin_s
        self._heap: list[tuple[float, int, int, Any]] = []  # (due, rank, order pushed, item)
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._closed = False

    def push(self, due: float, item: Any, rank: int = 0) -> None:
        with self._cond:
            first = not self._heap or due < self._heap[0][0]
            heapq.heappush(self._heap, (due, rank, next(self._order), item))
            if first:
                self._cond.notify()

    def wait(self) -> float | None:
        with self._cond:
            while not self._closed:
                if not self._heap:
                    self._cond.wait()
                    continue
                due = self._heap[0][0]
                remaining = due - time.monotonic() - self.spin_s
                if remaining <= 0:
                    return due
                self._cond.wait(remaining)
            return None

    def pop_due(self, now: float) -> list[tuple[float, Any]]:
        """The (due, item) pairs due by ``now``, earliest first, taken off the queue."""
        with self._cond:
            due = []
            while self._heap and self._heap[0][0] <= now:
                entry = heapq.heappop(self._heap)
                due.append((entry[0], entry[3]))
            return due

    def clear(self) -> None:
        with self._cond:
            self._heap.clear()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
