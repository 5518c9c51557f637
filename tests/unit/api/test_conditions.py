"""Conditions keep their transition time until their status changes."""

from __future__ import annotations

from landlord.api import conditions


def test_transition_time_is_kept_while_status_holds() -> None:
    first = conditions.merge(
        [],
        [conditions.condition("Ready", True, "Provisioned", "ok", observed_generation=1)],
        timestamp="2026-01-01T00:00:00Z",
    )
    second = conditions.merge(
        first,
        [conditions.condition("Ready", True, "Provisioned", "still ok", observed_generation=2)],
        timestamp="2026-01-02T00:00:00Z",
    )
    third = conditions.merge(
        second,
        [conditions.condition("Ready", False, "Broken", "no", observed_generation=2)],
        timestamp="2026-01-03T00:00:00Z",
    )

    assert second[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert second[0]["message"] == "still ok"
    assert third[0]["lastTransitionTime"] == "2026-01-03T00:00:00Z"
    assert conditions.is_true(second, "Ready")
    assert not conditions.is_true(third, "Ready")


def test_a_failure_is_reported_again_only_when_reason_or_message_changes() -> None:
    body = {
        "status": {
            "conditions": [
                {"type": "Ready", "status": "False", "reason": "BuildFailed", "message": "x"}
            ]
        }
    }

    assert conditions.reports(body, "BuildFailed", "x")
    assert not conditions.reports(body, "BuildFailed", "y")
    assert not conditions.reports(body, "ApplyFailed", "x")
    assert not conditions.reports({}, "BuildFailed", "x")  # no status yet
