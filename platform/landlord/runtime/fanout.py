"""Fan one reconcile's requests out over a shared executor, a few at a time.

Every sync shares one bounded pool for its reads, dry-runs, applies and
deletions. ``Executor.map`` would queue all of a revision's requests at once,
first come first served, so one tenant's 5,000-object revision would hold
every other tenant's three-object apply behind it. :func:`bounded_map` keeps
at most ``limit`` of one caller's tasks in the pool: the rest wait in the
caller's thread, and other callers' tasks interleave with them.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def bounded_map(
    executor: concurrent.futures.Executor,
    fn: Callable[[T], R],
    items: Iterable[T],
    limit: int,
) -> list[R]:
    """``[fn(item) for item in items]`` on ``executor``, at most ``limit`` in flight.

    Results come back in the order of ``items``. The first exception (in
    completion order) stops further submissions; what is in flight finishes,
    then the exception is raised, as ``Executor.map`` would raise it.
    """
    pending = list(items)
    results: list[R | None] = [None] * len(pending)
    flight: dict[concurrent.futures.Future[R], int] = {}
    failure: BaseException | None = None
    position = 0
    limit = max(1, limit)
    while flight or (position < len(pending) and failure is None):
        while failure is None and position < len(pending) and len(flight) < limit:
            flight[executor.submit(fn, pending[position])] = position
            position += 1
        done, _ = concurrent.futures.wait(flight, return_when=concurrent.futures.FIRST_COMPLETED)
        for future in done:
            index = flight.pop(future)
            error = future.exception()
            if error is not None:
                failure = failure or error
            else:
                results[index] = future.result()
    if failure is not None:
        raise failure
    return results  # type: ignore[return-value]  # every slot was filled
