"""Waiting for health as requeues with a deadline kept in status, never a sleeping worker.

The reconcile that applies a revision looks at its health targets once; if they
are not healthy yet it records ``status.healthCheckDeadline`` and asks to be
requeued after :data:`POLL` seconds. Later reconciles of the same revision and
generation only look again, until the targets are healthy (Ready) or the
deadline has passed (``HealthCheckFailed``). The deadline is wall-clock time in
status, so it survives a restart of the operator and a move to another replica.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from landlord.api import reasons
from landlord.runtime import stopwatch

HEALTHY = reasons.HEALTHY
PROGRESSING = reasons.PROGRESSING
HEALTH_CHECK_FAILED = reasons.HEALTH_CHECK_FAILED
# The status field that holds the deadline of a wait in progress.
DEADLINE = "healthCheckDeadline"
# Seconds between two looks at targets that are not healthy yet.
POLL = 2.0
# The shortest requeue, so a deadline a moment away is not polled in a busy loop.
MIN_POLL = 0.2

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def deadline_after(seconds: float, *, now: datetime.datetime | None = None) -> str:
    """The RFC 3339 time ``seconds`` from ``now`` (rounded up to the second)."""
    moment = (now or _now()) + datetime.timedelta(seconds=seconds)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + datetime.timedelta(seconds=1)
    return moment.strftime(_FORMAT)


def remaining(deadline: str, *, now: datetime.datetime | None = None) -> float:
    """Seconds until ``deadline`` (negative once it has passed; 0 if it cannot be read)."""
    try:
        moment = datetime.datetime.strptime(deadline, _FORMAT).replace(tzinfo=datetime.UTC)
    except ValueError:
        return 0.0
    return (moment - (now or _now())).total_seconds()


def left(deadline: str, timeout: float, *, watch: stopwatch.Stopwatch | None = None) -> float:
    """Seconds left of the ``timeout``-long wait ending at ``deadline`` (≤ 0: over).

    Counted on this process's monotonic clock once the deadline is first seen
    (:mod:`landlord.runtime.stopwatch`): a clock stepped meanwhile ends no wait
    early and stretches none.
    """
    try:
        moment = datetime.datetime.strptime(deadline, _FORMAT).replace(tzinfo=datetime.UTC)
    except ValueError:
        return 0.0
    began = moment - datetime.timedelta(seconds=timeout)
    return (watch or stopwatch.DEFAULT).left(began, timeout)


def pending(status: Mapping[str, Any], revision: str, generation: int) -> str | None:
    """The deadline of a wait in progress for this revision and generation, if any.

    A new revision or a new spec (generation) starts a new wait; the same ones
    keep the deadline, whichever reconcile looks (a re-apply after drift too).
    """
    deadline = status.get(DEADLINE)
    if (
        not isinstance(deadline, str)
        or status.get("lastAttemptedRevision") != revision
        or status.get("observedGeneration") != generation
    ):
        return None
    return deadline


def poll_after(deadline: str, *, now: datetime.datetime | None = None) -> float:
    """When to look again: :data:`POLL` seconds, or just after the deadline if that is sooner."""
    return max(MIN_POLL, min(POLL, remaining(deadline, now=now) + MIN_POLL))


def summary(unhealthy: list[str], limit: int = 5) -> str:
    """The first ``limit`` unhealthy targets and their reasons, for a message."""
    more = f" (and {len(unhealthy) - limit} more)" if len(unhealthy) > limit else ""
    return "; ".join(unhealthy[:limit]) + more
