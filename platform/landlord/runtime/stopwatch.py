"""Waits measured from a wall-clock stamp, immune to the clock being stepped meanwhile.

A stamp written into the cluster — a ``deletionTimestamp``, a health check's
deadline in ``status`` — outlives the process that wrote it, so a wait
measured from it has to start from the wall clock. Measured on the wall clock
throughout, a clock stepped by an hour (NTP after a suspend, an operator's
mistake) would end every such wait at once or stretch it by that hour. Here
the wall clock is read once, when a stamp is first seen (its age clamped to
``[0, cap]``, the length of the wait); from then on only the monotonic clock
counts. A step before the first sighting (the operator down, or starting
after it) still counts, bounded by the cap.
"""

from __future__ import annotations

import collections
import datetime
import threading
import time
from collections.abc import Callable

# Stamps remembered (each a few dozen bytes); the oldest is forgotten first.
REMEMBERED = 4096


def _wall() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Stopwatch:
    """Seconds since wall-clock stamps, counted on the monotonic clock once seen."""

    def __init__(
        self,
        *,
        wall: Callable[[], datetime.datetime] = _wall,
        monotonic: Callable[[], float] = time.monotonic,
        remembered: int = REMEMBERED,
    ) -> None:
        self.wall = wall
        self.monotonic = monotonic
        self.remembered = remembered
        self._lock = threading.Lock()
        # (stamp, cap) → the monotonic moment the stamp stands for
        self._origins: collections.OrderedDict[tuple[datetime.datetime, float], float] = (
            collections.OrderedDict()
        )

    def elapsed(self, stamp: datetime.datetime, cap: float) -> float:
        """Seconds since ``stamp`` for a wait of ``cap`` seconds (≥ 0; beyond ``cap``: over)."""
        key = (stamp, cap)
        with self._lock:
            origin = self._origins.get(key)
            if origin is None:
                age = min(max((self.wall() - stamp).total_seconds(), 0.0), cap)
                origin = self.monotonic() - age
                self._origins[key] = origin
                while len(self._origins) > self.remembered:
                    self._origins.popitem(last=False)
            return self.monotonic() - origin

    def left(self, stamp: datetime.datetime, cap: float) -> float:
        """Seconds left of a wait of ``cap`` seconds from ``stamp`` (≤ 0: over)."""
        return cap - self.elapsed(stamp, cap)


# The process's own: every wait for the same stamp and length agrees.
DEFAULT = Stopwatch()


class ClockSteps:
    """Notices the wall clock being stepped: its distance to the monotonic clock changed."""

    def __init__(
        self,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        tolerance: float = 2.0,
    ) -> None:
        self.wall = wall
        self.monotonic = monotonic
        self.tolerance = tolerance
        self._offset = wall() - monotonic()

    def check(self) -> float:
        """Seconds the wall clock was stepped since the last check (0: not beyond tolerance)."""
        offset = self.wall() - self.monotonic()
        step = offset - self._offset
        if abs(step) < self.tolerance:
            return 0.0
        self._offset = offset
        return step
