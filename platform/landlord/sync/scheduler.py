"""When each Kustomization is looked at next, and whether a tick may skip the pipeline.

Holds, per live Kustomization, when it is due, how often in a row it failed
and under which policy version it was last decided; the reconciler forgets a
Kustomization when it is deleted. The clock and the jitter are passed in, so
every decision is testable without a cluster.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from landlord.api import conditions, labels, reasons
from landlord.gitops import durations
from landlord.runtime.outcome import Outcome
from landlord.sync import healthwait
from landlord.sync.result import Timing


class Scheduler:
    """Next checks, failure counts and policy versions of the Kustomizations."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[float], float] = durations.jittered,
    ) -> None:
        self.clock = clock
        self.jitter = jitter
        self._next_check: dict[str, float] = {}
        self._failures: dict[str, int] = {}
        self._policy_version: dict[str, int] = {}
        self._lock = threading.Lock()

    # -- bookkeeping ---------------------------------------------------------------

    def deciding(self, key: str, policy_version: int) -> None:
        """The pipeline runs for ``key`` under ``policy_version``."""
        with self._lock:
            self._policy_version[key] = policy_version

    def decided_with(self, key: str) -> int | None:
        """The policy version ``key`` was last decided with."""
        with self._lock:
            return self._policy_version.get(key)

    def schedule(self, key: str, delay: float) -> None:
        """Look at ``key`` again ``delay`` seconds from now."""
        with self._lock:
            self._next_check[key] = self.clock() + delay

    def unschedule(self, key: str) -> None:
        """Stalled: nothing is due until the object changes."""
        with self._lock:
            self._next_check.pop(key, None)

    def forget(self, key: str) -> None:
        """A deleted Kustomization: nothing about it is kept."""
        with self._lock:
            for held in (self._next_check, self._failures, self._policy_version):
                held.pop(key, None)

    def failing(self, key: str) -> bool:
        """Whether ``key``'s last run failed."""
        with self._lock:
            return key in self._failures

    def __len__(self) -> int:
        """How many Kustomizations it holds anything about."""
        with self._lock:
            return len(
                self._next_check.keys() | self._failures.keys() | self._policy_version.keys()
            )

    # -- decisions -----------------------------------------------------------------

    def unchanged(
        self, key: str, body: dict[str, Any], revision: str | None, *, policy_version: int
    ) -> bool:
        """Whether spec, requested reconcile, revision and policy are those of the last run."""
        return (
            conditions.handled(body)
            and revision == (body.get("status") or {}).get("lastAttemptedRevision")
            and self.decided_with(key) == policy_version
        )

    def not_due(self, key: str, fresh: bool) -> float | None:
        """Seconds until ``key`` is due, when nothing changed and it is not due yet."""
        with self._lock:
            due = self._next_check.get(key, 0.0)
        now = self.clock()
        return due - now if fresh and now < due else None

    def after(self, key: str, *, ready: bool, health_deadline: str | None, timing: Timing) -> float:
        """The delay until the next look after a run, recorded as ``key``'s next check.

        Ready: the interval. Waiting for health: soon, until the deadline (no
        worker is held). Failing: back off from the retry interval (the count
        is capped, so the delay stays finite however long it keeps failing).
        """
        with self._lock:
            if ready:
                self._failures.pop(key, None)
                delay = timing.interval
            elif health_deadline is not None:
                delay = healthwait.poll_after(health_deadline)
            else:
                failures = self._failures[key] = min(
                    self._failures.get(key, 0) + 1, durations.MAX_DOUBLINGS + 1
                )
                delay = durations.backoff(
                    timing.retry, failures, max(timing.interval, timing.retry)
                )
        delay = self.jitter(delay)
        self.schedule(key, delay)
        return delay

    def quiet(
        self,
        key: str,
        body: dict[str, Any] | None,
        source: dict[str, Any] | None,
        *,
        policy_version: int,
        edges_cleared: bool,
        drift_clean: bool,
        bounds: durations.Bounds,
    ) -> Outcome | None:
        """Decide a reconcile from the watch cache alone, when nothing can have changed.

        Nothing changed when the cached Kustomization is Ready at its generation,
        its source's cached revision is the one applied, no reconcile was
        requested, the policy is the one it was decided with, its edges out of
        the namespace were allowed under that policy, and every object it
        applied is watched and has not drifted. Then an interval tick makes no
        request at all; None: run the pipeline.
        """
        if body is None or source is None or not edges_cleared:
            return None
        spec = body.get("spec") or {}
        status = body.get("status") or {}
        metadata = body["metadata"]
        if (
            spec.get("suspend")
            or metadata.get("deletionTimestamp")
            or labels.FINALIZER not in (metadata.get("finalizers") or [])
            or not conditions.handled(body)
            or not conditions.ready_at_generation(body)
            or self.decided_with(key) != policy_version
            or self.failing(key)
            or not drift_clean
        ):
            return None
        revision = ((source.get("status") or {}).get("artifact") or {}).get("revision")
        if not revision or revision != status.get("lastAppliedRevision"):
            return None
        if revision != status.get("lastAttemptedRevision"):
            return None
        now = self.clock()
        with self._lock:
            due = self._next_check.get(key)
        if due is None:
            return None  # not run since this operator started: run once
        if now < due:
            return Outcome(skipped=True, requeue_after=due - now)
        try:
            interval = Timing.of(spec, bounds).interval
        except durations.OutOfBoundsError:
            return None  # the pipeline refuses it, with a condition
        delay = self.jitter(interval)
        self.schedule(key, delay)
        return Outcome(True, reasons.SUCCEEDED, "unchanged", skipped=True, requeue_after=delay)
