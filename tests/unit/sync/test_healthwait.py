"""A health wait is a deadline in status and short requeues, never a sleeping worker."""

from __future__ import annotations

import datetime
import pathlib
from typing import Any, cast

import pytest

from landlord.gitops import durations
from landlord.kube import Kube
from landlord.runtime import stopwatch
from landlord.sync import healthwait
from landlord.sync.failure import SyncError
from landlord.sync.inventory import Entry
from landlord.sync.result import Result, Timing
from landlord.sync.steps import health

NOW = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)
REVISION = "main@sha1:abc"


def test_the_deadline_is_rfc3339_and_counts_down() -> None:
    deadline = healthwait.deadline_after(300.4, now=NOW)

    assert deadline == "2026-01-01T12:05:01Z"  # rounded up, never early
    assert healthwait.remaining(deadline, now=NOW) == 301.0
    assert healthwait.remaining(deadline, now=NOW + datetime.timedelta(minutes=6)) < 0
    assert healthwait.remaining("not a time", now=NOW) == 0.0


def test_a_stepped_clock_neither_ends_a_wait_early_nor_stretches_it() -> None:
    wall, mono = [NOW], [50.0]
    watch = stopwatch.Stopwatch(wall=lambda: wall[0], monotonic=lambda: mono[0])
    deadline = healthwait.deadline_after(300, now=NOW)
    assert healthwait.left(deadline, 300, watch=watch) == 300

    wall[0] += datetime.timedelta(hours=1)  # forward: not over
    mono[0] += 10
    assert healthwait.left(deadline, 300, watch=watch) == 290
    wall[0] -= datetime.timedelta(hours=2)  # back: over on time all the same
    mono[0] += 290
    assert healthwait.left(deadline, 300, watch=watch) <= 0
    assert healthwait.left("not a time", 300, watch=watch) == 0.0


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (
            {
                "healthCheckDeadline": "D",
                "lastAttemptedRevision": REVISION,
                "observedGeneration": 3,
            },
            "D",
        ),
        (
            {"healthCheckDeadline": "D", "lastAttemptedRevision": "other", "observedGeneration": 3},
            None,
        ),
        (
            {
                "healthCheckDeadline": "D",
                "lastAttemptedRevision": REVISION,
                "observedGeneration": 2,
            },
            None,
        ),
        ({"lastAttemptedRevision": REVISION, "observedGeneration": 3}, None),
    ],
)
def test_a_wait_belongs_to_one_revision_and_generation(
    status: dict[str, Any], expected: str | None
) -> None:
    assert healthwait.pending(status, REVISION, 3) == expected


def test_the_next_look_is_soon_and_never_a_busy_loop() -> None:
    far = healthwait.deadline_after(300, now=NOW)
    near = healthwait.deadline_after(0.5, now=NOW)

    assert healthwait.poll_after(far, now=NOW) == healthwait.POLL
    assert healthwait.MIN_POLL <= healthwait.poll_after(near, now=NOW) <= healthwait.POLL
    passed = NOW + datetime.timedelta(hours=1)
    assert healthwait.poll_after(far, now=passed) == healthwait.MIN_POLL


def test_a_kustomization_timing_is_held_to_the_bounds() -> None:
    bounds = durations.Bounds()

    assert Timing.of({}, bounds) == Timing(600.0, 30.0, 300.0)
    assert Timing.of({"interval": "20s"}, bounds) == Timing(20.0, 20.0, 300.0)
    with pytest.raises(durations.OutOfBoundsError, match=r"spec\.retryInterval '1ms'"):
        Timing.of({"retryInterval": "1ms"}, bounds)
    with pytest.raises(durations.OutOfBoundsError, match=r"spec\.timeout '10000h'"):
        Timing.of({"timeout": "10000h"}, bounds)


class _Tenant:
    """A tenant client whose objects never become healthy (they do not exist)."""

    def __init__(self) -> None:
        self.reads = 0

    def get(self, *_: Any) -> dict[str, Any] | None:
        self.reads += 1
        return None


def _tenant(fake: _Tenant) -> Kube:
    return cast(Kube, fake)


def _body(status: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "app", "namespace": "team-a", "generation": 3}, "status": status}


TARGET = [Entry("team-a", "web", "apps", "Deployment", "v1")]


def test_unhealthy_targets_start_a_wait_instead_of_sleeping(tmp_path: pathlib.Path) -> None:
    tenant = _Tenant()
    result = Result(revision=REVISION)

    health.look(_body({}), _tenant(tenant), TARGET, result, 300.0)

    assert tenant.reads == 1  # one look, then back to the queue
    assert result.health_deadline is not None
    assert 295 < healthwait.remaining(result.health_deadline) <= 301
    assert result.unhealthy == ["Deployment team-a/web: not found"]


def test_a_later_look_keeps_the_deadline_of_the_same_revision(tmp_path: pathlib.Path) -> None:
    deadline = healthwait.deadline_after(60)
    status = {
        "healthCheckDeadline": deadline,
        "lastAttemptedRevision": REVISION,
        "observedGeneration": 3,
    }
    result = Result(revision=REVISION)

    health.look(_body(status), _tenant(_Tenant()), TARGET, result, 300.0)

    assert result.health_deadline == deadline


def test_past_the_deadline_the_wait_fails_naming_what_is_unhealthy(
    tmp_path: pathlib.Path,
) -> None:
    status = {
        "healthCheckDeadline": "2000-01-01T00:00:00Z",
        "lastAttemptedRevision": REVISION,
        "observedGeneration": 3,
    }

    with pytest.raises(SyncError) as failed:
        health.look(_body(status), _tenant(_Tenant()), TARGET, Result(revision=REVISION), 300.0)

    assert failed.value.reason == "HealthCheckFailed"
    assert "not healthy after 5m" in failed.value.message
    assert "Deployment team-a/web: not found" in failed.value.message
