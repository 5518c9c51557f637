"""Run a reconcile function for keys from a work queue, with bounded concurrency.

The reconcilers use the (blocking) Kubernetes client, so each reconcile runs on
one of the controller's own threads (a pool of ``workers``, not the event
loop's shared default executor); the event loop only routes keys. A
:class:`~landlord.errors.RetryableError` is retried after its ``delay``, a
:class:`~landlord.errors.TerminalError` is not retried, anything else retries
with exponential backoff; an outcome may ask to look again after a delay; every
known key is re-reconciled each ``resync`` seconds (level-based).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import contextvars
import logging
import time
from collections.abc import Callable
from typing import Protocol

from landlord import errors
from landlord.runtime import workqueue
from landlord.runtime.outage import Outage

log = logging.getLogger(__name__)


class HasRequeue(Protocol):
    """What the controller needs from an outcome."""

    @property
    def requeue_after(self) -> float | None: ...


Reconcile = Callable[[str], HasRequeue | None]


class Controller:
    """Workers over a :class:`WorkQueue` of object names."""

    def __init__(
        self,
        name: str,
        reconcile: Reconcile,
        *,
        workers: int = 4,
        resync: float = 300.0,
        group_of: Callable[[str], str] | None = None,
        max_per_group: int | None = None,
        outage: Outage | None = None,
    ) -> None:
        self.name = name
        self.reconcile = reconcile
        self.workers = workers
        self.resync = resync
        # Fairness: at most ``max_per_group`` workers on one group (a namespace) at a
        # time, so one tenant's huge or failing repositories cannot take them all.
        self.group_of = group_of
        self.max_per_group = max_per_group or max(1, workers // 2)
        self._busy: collections.Counter[str] = collections.Counter()
        self.queue: workqueue.WorkQueue[str] = workqueue.WorkQueue()
        self.known: set[str] = set()
        # Shared by every controller: while the apiserver does not answer, workers wait.
        self.outage = outage
        self._tasks: list[asyncio.Task[None]] = []
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    def enqueue(self, key: str, delay: float = 0.0) -> None:
        """Ask for a reconcile of ``key`` (coalesced with any pending one)."""
        self.known.add(key)
        self.queue.add(key, delay)

    def retry_failing_now(self) -> int:
        """Reconcile at once every key in backoff (on the event loop); how many there were."""
        return self.queue.retry_failing_now()

    def start(self) -> None:
        """Start the workers and the resync loop on the running event loop."""
        self._executor = concurrent.futures.ThreadPoolExecutor(
            self.workers, thread_name_prefix=f"{self.name}-worker"
        )
        self._tasks = [
            asyncio.create_task(self._work(), name=f"{self.name}-worker-{i}")
            for i in range(self.workers)
        ]
        self._tasks.append(asyncio.create_task(self._resync(), name=f"{self.name}-resync"))

    async def stop(self) -> None:
        """Stop taking work, and wait for the running reconciles to end."""
        self.queue.shut_down()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, workqueue.ShutDownError):
                await task
        if self._executor is not None:
            # The running reconciles finish on their threads; none starts after this.
            await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)
            self._executor = None

    async def _call(self, key: str) -> HasRequeue | None:
        """The reconcile of ``key`` on one of this controller's threads."""
        assert self._executor is not None, "start() first"
        context = contextvars.copy_context()  # what asyncio.to_thread would carry over
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, context.run, self.reconcile, key
        )

    def _eligible(self, key: str) -> bool:
        assert self.group_of is not None
        return self._busy[self.group_of(key)] < self.max_per_group

    async def _work(self) -> None:
        while True:
            if self.group_of is None:
                key = await self.queue.get()
                group = None
            else:
                key = await self.queue.get(self._eligible)
                group = self.group_of(key)
                self._busy[group] += 1
            try:
                if self.outage is not None:
                    await self.outage.wait()
                outcome = await self._call(key)
            except errors.TerminalError as error:
                self.queue.forget(key)  # no retry: the next event or resync looks again
                log.error(
                    "%s %s failed and will not be retried: %s",
                    self.name,
                    key,
                    error,
                    extra={"controller": self.name, "key": key, "reason": error.reason},
                )
            except errors.RetryableError as error:
                if (
                    self.outage is not None
                    and isinstance(error, errors.ApiError)
                    and error.unanswered
                ):
                    self.outage.noticed()
                delay = self.queue.retry(key, error.delay)
                log.warning(
                    "%s %s failed (%s); retrying in %.1fs",
                    self.name,
                    key,
                    error,
                    delay,
                    extra={"controller": self.name, "key": key, "reason": error.reason},
                )
            except Exception:
                delay = self.queue.retry(key)
                log.exception(
                    "%s %s failed; retrying in %.1fs",
                    self.name,
                    key,
                    delay,
                    extra={"controller": self.name, "key": key},
                )
            else:
                self.queue.forget(key)
                if outcome is None:
                    self.known.discard(key)
                elif outcome.requeue_after is not None:
                    self.queue.add(key, outcome.requeue_after)
            finally:
                if group is not None:
                    self._busy[group] -= 1
                self.queue.done(key)

    async def _resync(self) -> None:
        if self.resync == float("inf"):
            return
        while True:
            await asyncio.sleep(self.resync)
            for key in sorted(self.known):
                self.queue.add(key)


class Changes:
    """Which keys a watch event touched since their last reconcile.

    A level-based resync then skips keys nothing happened to — every event on a
    key or on an object it owns marks it — and still reconciles each key in full
    every ``full_every`` seconds, the safety net for a missed event.
    """

    def __init__(self, *, full_every: float) -> None:
        self.full_every = full_every
        self._marked: set[str] = set()
        self._last: dict[str, float] = {}

    def mark(self, key: str) -> None:
        self._marked.add(key)

    def quiet(self, key: str) -> bool:
        """Nothing happened to ``key`` since its last full reconcile, which is recent."""
        last = self._last.get(key)
        return (
            key not in self._marked
            and last is not None
            and time.monotonic() - last < self.full_every
        )

    def taken(self, key: str) -> None:
        """A reconcile of ``key`` starts now (events from here on mark it again)."""
        self._marked.discard(key)
        self._last[key] = time.monotonic()
