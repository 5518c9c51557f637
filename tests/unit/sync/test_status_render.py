"""Status rendering is pure: a reconcile's outcome and result → status and Events."""

from __future__ import annotations

from typing import Any

from landlord.api import conditions, reasons
from landlord.runtime.outcome import Outcome
from landlord.sync import healthwait
from landlord.sync.drift import Drift
from landlord.sync.inventory import Entry, Inventory
from landlord.sync.result import Result
from landlord.sync.steps import status

NOW = "2026-01-01T12:00:00Z"
WEB = Entry("team-a", "web", "apps", "Deployment", "v1")


def _body(**status_fields: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "app", "namespace": "team-a", "generation": 4},
        "status": status_fields,
    }


def test_an_applied_revision_is_ready_with_one_event() -> None:
    result = Result(revision="main@sha1:2", inventory=Inventory("c", (WEB,)), changed=[WEB])
    outcome = Outcome(True, reasons.SUCCEEDED, "Applied revision: main@sha1:2")

    rendered = status.render(_body(), outcome, result, "now", now=NOW)

    assert rendered.status["observedGeneration"] == 4
    assert rendered.status["lastAppliedRevision"] == "main@sha1:2"
    assert rendered.status["lastHandledReconcileAt"] == "now"
    assert rendered.status["inventory"]["entries"] == [WEB.to_status()]
    assert conditions.is_true(rendered.status["conditions"], conditions.READY)
    assert rendered.events == [
        status.Event(reasons.SUCCEEDED, "revision main@sha1:2: 1 applied, 0 pruned")
    ]


def test_the_same_revision_again_posts_nothing() -> None:
    outcome = Outcome(True, reasons.SUCCEEDED, "Applied revision: main@sha1:2")

    rendered = status.render(
        _body(lastAppliedRevision="main@sha1:2"),
        outcome,
        Result(revision="main@sha1:2"),
        None,
        now=NOW,
    )

    assert rendered.events == []


def test_a_failure_warns_once() -> None:
    outcome = Outcome(False, reasons.APPLY_FAILED, "Deployment team-a/web: forbidden")
    failed = status.render(_body(), outcome, Result(revision="main@sha1:2"), None, now=NOW)
    again = status.render(
        _body(conditions=failed.status["conditions"]),
        outcome,
        Result(revision="main@sha1:2"),
        None,
        now=NOW,
    )

    assert failed.events == [status.Event(reasons.APPLY_FAILED, outcome.message, warning=True)]
    assert "lastAppliedRevision" not in failed.status
    assert again.events == []


def test_a_health_wait_is_unknown_and_reconciling() -> None:
    result = Result(
        revision="main@sha1:2", health_deadline="2026-01-01T12:05:00Z", unhealthy=["web: 0/1"]
    )
    outcome = Outcome(False, reasons.PROGRESSING, "waiting")

    rendered = status.render(_body(), outcome, result, None, now=NOW)

    found = {c["type"]: c for c in rendered.status["conditions"]}
    assert found[conditions.READY]["status"] == "Unknown"
    assert found[reasons.HEALTHY]["status"] == "Unknown"
    assert found[conditions.RECONCILING]["status"] == "True"
    assert rendered.status[healthwait.DEADLINE] == "2026-01-01T12:05:00Z"
    assert [e.reason for e in rendered.events] == [reasons.PROGRESSING]


def test_an_applied_revision_waiting_for_health_is_progressing() -> None:
    applied = Outcome(True, reasons.SUCCEEDED, "Applied revision: main@sha1:2")
    failed = Outcome(False, reasons.BUILD_FAILED, "no")
    waiting = Result(
        revision="main@sha1:2", health_deadline="2026-01-01T12:05:00Z", unhealthy=["web"]
    )

    assert status.settled(applied, Result(revision="main@sha1:2")) == applied
    assert status.settled(failed, waiting) == failed
    progressing = status.settled(applied, waiting)
    assert not progressing.ready
    assert progressing.reason == reasons.PROGRESSING
    assert "waiting until 2026-01-01T12:05:00Z" in progressing.message


def test_only_drift_the_run_applied_again_counts_as_repaired() -> None:
    db = Entry("team-a", "db", "apps", "Deployment", "v1")
    result = Result(changed=[WEB])

    result.repairs([Drift("team-a/app", WEB, False, "kubectl"), Drift("team-a/app", db, True, "")])

    assert [d.entry for d in result.repaired] == [WEB]


def test_a_new_target_cluster_is_said_once() -> None:
    outcome = Outcome(True, reasons.SUCCEEDED, "Applied revision: main@sha1:2")
    result = Result(revision="main@sha1:2", inventory=Inventory("here", (WEB,)))
    elsewhere = Inventory("elsewhere", (WEB,)).to_status()

    replaced = status.render(
        _body(lastAppliedRevision="main@sha1:2", inventory=elsewhere),
        outcome,
        result,
        None,
        now=NOW,
    )
    again = status.render(
        _body(lastAppliedRevision="main@sha1:2", inventory=replaced.status["inventory"]),
        outcome,
        result,
        None,
        now=NOW,
    )

    [event] = replaced.events
    assert event.reason == reasons.TARGET_CHANGED
    assert not event.warning
    assert "from cluster elsewhere" in event.message
    assert "nothing of them is left recorded" in event.message
    assert replaced.status["inventory"]["cluster"] == "here"
    assert again.events == []
