"""Time, injectable: timers in the rig read a clock, never time.* directly.

    >>> clock = ManualClock()
    >>> clock.advance(5); clock.monotonic()
    5.0
"""

from __future__ import annotations

import threading
import time


class SystemClock:
    """The real clock: monotonic for durations, wall time for records.

    ``stamp`` says how far the wall time can be believed (set by the clock
    watch, :mod:`appliance.clockwatch`); records carry it. None: not judged.
    """

    stamp: dict | None = None

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when a test says so."""

    stamp: dict | None = None

    def __init__(self, start: float = 0.0, wall: float = 1_767_225_600.0):
        self._now = start
        self._wall_offset = wall - start
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def time(self) -> float:
        with self._lock:
            return self._now + self._wall_offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def jump(self, seconds: float) -> None:
        """The wall clock is set forward (or back): monotonic time does not move."""
        with self._lock:
            self._wall_offset += seconds
