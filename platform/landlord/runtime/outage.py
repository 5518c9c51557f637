"""The apiserver stopped answering: every controller waits for it, instead of each key retrying.

Without this, each failing key backs off on its own: with 100 tenants an
apiserver down for 30 s drew ~860 refused requests (28.7 a second) from the
operator (issue 19's drill 3), a rate that grows with the number of tenants.
Here the first reconcile that gets no answer at all (refused, timed out,
reset) turns the workers of every controller to waiting, and one probe —
retried with a backoff from 0.5 s, doubling up to 10 s — asks the apiserver
until it answers. Then the keys that failed meanwhile are retried at once.

An answer of any kind ends the wait (an error status is an answer). The
probe asks at once before anyone waits: a registered cluster that is down
(whose failures look the same) costs one answered probe, and never makes the
operator's other tenants wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

FIRST_PROBE = 0.5
LONGEST_PROBE = 10.0


class Outage:
    """Whether the operator's apiserver answers; workers wait while it does not."""

    def __init__(
        self,
        probe: Callable[[], bool],
        *,
        first: float = FIRST_PROBE,
        longest: float = LONGEST_PROBE,
    ) -> None:
        """``probe``: one request, True if the apiserver answered (run on a thread)."""
        self.probe = probe
        self.first = first
        self.longest = longest
        self.on_back: list[Callable[[], None]] = []  # called on the event loop
        self._answering = asyncio.Event()
        self._answering.set()
        self._task: asyncio.Task[None] | None = None
        self.since: float | None = None  # monotonic time the outage began
        self.outages = 0
        self.probes = 0

    @property
    def answering(self) -> bool:
        return self._answering.is_set()

    def noticed(self) -> None:
        """A request got no answer (on the event loop): probe, and wait if it is the apiserver."""
        if self._task is not None and not self._task.done():
            return  # already probing (or waiting)
        self._task = asyncio.get_running_loop().create_task(self._confirm_then_wait())

    async def _confirm_then_wait(self) -> None:
        self.probes += 1
        if await asyncio.to_thread(self._probe_quietly):
            return  # the operator's apiserver answers: the failure was elsewhere, or passed
        self._answering.clear()
        self.since = time.monotonic()
        self.outages += 1
        log.warning(
            "the apiserver does not answer: reconciles wait for it (asking every %.0fs at most)",
            self.longest,
        )
        await self._wait_for_answer()

    async def wait(self) -> None:
        """Return once the apiserver answers (at once while it does)."""
        await self._answering.wait()

    async def _wait_for_answer(self) -> None:
        delay = self.first
        while True:
            await asyncio.sleep(delay)
            self.probes += 1
            if await asyncio.to_thread(self._probe_quietly):
                break
            delay = min(delay * 2, self.longest)
        took = time.monotonic() - (self.since or time.monotonic())
        self.since = None
        self._answering.set()
        log.warning("the apiserver answers again after %.1fs: reconciles go on", took)
        for callback in self.on_back:
            callback()

    def _probe_quietly(self) -> bool:
        try:
            return self.probe()
        except Exception:  # noqa: BLE001 - a probe that fails is "no answer yet"
            return False

    def stop(self) -> None:
        """No more probes (the workers waiting are cancelled with their controllers)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
