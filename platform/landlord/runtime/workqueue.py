"""A keyed work queue for level-based reconcilers, like client-go's.

- A key is processed by at most one worker at a time; an ``add`` while it is
  being processed marks it dirty and it runs again right after.
- ``add(key, delay)`` coalesces: a key waiting in the queue runs once, at the
  earliest due time asked for (bursts of watch events become one reconcile).
- ``retry(key)`` re-adds with exponential backoff; ``forget(key)`` resets it.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from landlord.gitops import durations

K = TypeVar("K", bound=Hashable)


class ShutDownError(Exception):
    """The queue was shut down while a worker waited."""


class WorkQueue(Generic[K]):
    """Delayed, deduplicating, rate-limited queue of keys (asyncio, one event loop)."""

    def __init__(self, *, base_delay: float = 0.5, max_delay: float = 300.0) -> None:
        self._heap: list[tuple[float, int, K]] = []
        self._due: dict[K, float] = {}
        self._processing: set[K] = set()
        self._dirty: dict[K, float] = {}
        self._failures: dict[K, int] = {}
        self._counter = itertools.count()
        self._wakeup = asyncio.Event()
        self._shut_down = False
        self.base_delay = base_delay
        self.max_delay = max_delay

    def __len__(self) -> int:
        return len(self._due)

    def add(self, key: K, delay: float = 0.0) -> None:
        """Process ``key`` after ``delay`` seconds (or sooner if already due sooner)."""
        if self._shut_down:
            return
        due = time.monotonic() + max(delay, 0.0)
        if key in self._processing:
            self._dirty[key] = min(due, self._dirty.get(key, due))
            return
        if key in self._due and self._due[key] <= due:
            return
        self._due[key] = due
        heapq.heappush(self._heap, (due, next(self._counter), key))
        self._wakeup.set()

    def retry(self, key: K, delay: float | None = None) -> float:
        """Re-add ``key`` after ``delay``, else with exponential backoff; return the delay."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        if delay is None:
            # The exponent is capped: ``2.0 ** failures`` overflows after ~1000 failures.
            delay = durations.backoff(self.base_delay, failures + 1, self.max_delay)
        self.add(key, delay)
        return delay

    def retry_failing_now(self) -> int:
        """Every key in backoff is due now, its backoff reset (what failed may pass now)."""
        failing = list(self._failures)
        self._failures.clear()
        for key in failing:
            self.add(key)
        return len(failing)

    def forget(self, key: K) -> None:
        """Reset ``key``'s backoff after a success."""
        self._failures.pop(key, None)

    def failures(self, key: K) -> int:
        """How many retries in a row ``key`` has had."""
        return self._failures.get(key, 0)

    async def get(self, eligible: Callable[[K], bool] | None = None) -> K:
        """Wait for the next due key (that ``eligible`` accepts) and mark it as being processed.

        Keys that are due but not eligible keep their place; a :meth:`done`
        wakes the waiting workers, since it may have made them eligible.
        """
        while True:
            if self._shut_down:
                raise ShutDownError
            now = time.monotonic()
            passed: list[tuple[float, int, K]] = []
            found: K | None = None
            while self._heap:
                item = self._heap[0]
                due, _, key = item
                if self._due.get(key) != due:
                    heapq.heappop(self._heap)  # superseded by an earlier add
                    continue
                if due > now:
                    break
                heapq.heappop(self._heap)
                if eligible is not None and not eligible(key):
                    passed.append(item)
                    continue
                del self._due[key]
                self._processing.add(key)
                found = key
                break
            for item in passed:
                heapq.heappush(self._heap, item)
            if found is not None:
                return found
            later = [due for due, _, key in self._heap if due > now and self._due.get(key) == due]
            timeout = (min(later) - now) if later else None
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout)

    def done(self, key: K) -> None:
        """Mark ``key`` processed; if it was added meanwhile, queue it again."""
        self._processing.discard(key)
        if key in self._dirty:
            due = self._dirty.pop(key)
            self.add(key, max(0.0, due - time.monotonic()))
        self._wakeup.set()  # a worker waiting for an eligible key may take one now

    def shut_down(self) -> None:
        """Wake every waiting worker with :class:`ShutDownError`."""
        self._shut_down = True
        self._wakeup.set()
