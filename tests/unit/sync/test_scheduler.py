"""Scheduling decisions, with a fake clock: intervals, back-off, health polls, quiet ticks."""

from __future__ import annotations

from typing import Any

from landlord.api import labels
from landlord.gitops import durations
from landlord.sync import healthwait
from landlord.sync.result import Timing
from landlord.sync.scheduler import Scheduler
from tests.unit.sync.bodies import ready_kustomization as _body

KEY = "team-a/app"
TIMING = Timing(interval=600.0, retry=30.0, timeout=300.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _scheduler() -> tuple[Scheduler, Clock]:
    clock = Clock()
    return Scheduler(clock=clock, jitter=lambda seconds: seconds), clock


SOURCE = {"status": {"artifact": {"revision": "main@sha1:1"}}}


def _quiet(scheduler: Scheduler, body: dict[str, Any], **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "policy_version": 1,
        "edges_cleared": True,
        "drift_clean": True,
        "bounds": durations.Bounds(),
    }
    arguments.update(overrides)
    return scheduler.quiet(KEY, body, SOURCE, **arguments)


def test_ready_waits_the_interval_and_failures_back_off_up_to_it() -> None:
    scheduler, _ = _scheduler()

    delays = [
        scheduler.after(KEY, ready=False, health_deadline=None, timing=TIMING) for _ in range(6)
    ]

    assert delays == [30.0, 60.0, 120.0, 240.0, 480.0, 600.0]
    assert scheduler.failing(KEY)
    assert scheduler.after(KEY, ready=True, health_deadline=None, timing=TIMING) == 600.0
    assert not scheduler.failing(KEY)


def test_a_health_wait_polls_soon_and_counts_no_failure() -> None:
    scheduler, _ = _scheduler()
    deadline = healthwait.deadline_after(300)

    delay = scheduler.after(KEY, ready=False, health_deadline=deadline, timing=TIMING)

    assert delay == healthwait.POLL
    assert not scheduler.failing(KEY)


def test_not_due_only_when_nothing_changed() -> None:
    scheduler, clock = _scheduler()
    scheduler.schedule(KEY, 60)

    assert scheduler.not_due(KEY, fresh=True) == 60
    assert scheduler.not_due(KEY, fresh=False) is None
    clock.now += 61
    assert scheduler.not_due(KEY, fresh=True) is None


def test_a_quiet_tick_needs_a_run_first_and_then_waits_its_interval() -> None:
    scheduler, clock = _scheduler()
    scheduler.deciding(KEY, 1)

    assert _quiet(scheduler, _body()) is None  # never run since start: run once
    scheduler.schedule(KEY, 10)
    waiting = _quiet(scheduler, _body())
    assert waiting is not None
    assert waiting.skipped
    assert waiting.requeue_after == 10
    clock.now += 10
    due = _quiet(scheduler, _body())
    assert due is not None
    assert due.ready
    assert due.skipped
    assert due.requeue_after == 3600.0


def test_anything_changed_runs_the_pipeline() -> None:
    scheduler, clock = _scheduler()
    scheduler.deciding(KEY, 1)
    scheduler.schedule(KEY, 0)

    assert _quiet(scheduler, _body(observedGeneration=1)) is None
    assert _quiet(scheduler, _body(lastAppliedRevision="main@sha1:0")) is None
    assert _quiet(scheduler, _body(), policy_version=2) is None
    assert _quiet(scheduler, _body(), edges_cleared=False) is None
    assert _quiet(scheduler, _body(), drift_clean=False) is None
    scheduler.after(KEY, ready=False, health_deadline=None, timing=TIMING)
    clock.now += 1000
    assert _quiet(scheduler, _body()) is None  # failing: the pipeline decides


def test_a_deleted_kustomization_is_forgotten() -> None:
    scheduler, _ = _scheduler()
    scheduler.deciding(KEY, 1)
    scheduler.after(KEY, ready=False, health_deadline=None, timing=TIMING)
    assert len(scheduler) == 1

    scheduler.forget(KEY)

    assert len(scheduler) == 0
    assert scheduler.decided_with(KEY) is None
    assert not scheduler.failing(KEY)


def test_unchanged_means_same_spec_request_revision_and_policy() -> None:
    scheduler, _ = _scheduler()
    scheduler.deciding(KEY, 1)
    body = _body()
    requested = _body(lastHandledReconcileAt="before")
    requested["metadata"]["annotations"] = {labels.REQUESTED_AT: "now"}

    assert scheduler.unchanged(KEY, body, "main@sha1:1", policy_version=1)
    assert not scheduler.unchanged(KEY, body, "main@sha1:2", policy_version=1)
    assert not scheduler.unchanged(KEY, body, "main@sha1:1", policy_version=2)
    assert not scheduler.unchanged(
        KEY, _body(observedGeneration=1), "main@sha1:1", policy_version=1
    )
    assert not scheduler.unchanged(KEY, requested, "main@sha1:1", policy_version=1)
