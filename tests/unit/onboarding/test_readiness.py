"""When the API says a change is in place: the one "Ready at generation" rule."""

from __future__ import annotations

from typing import Any

from landlord.api import labels
from landlord.onboarding.readiness import ready_for


def _tenant(*, generation: int, observed: int, ready: str, request: str = "r1") -> dict[str, Any]:
    return {
        "metadata": {"generation": generation, "annotations": {labels.REQUEST_ID: request}},
        "status": {
            "observedGeneration": observed,
            "conditions": [
                {
                    "type": "Ready",
                    "status": ready,
                    "reason": "Provisioning",
                    "message": "applying",
                    # The condition was written at the current generation, but the
                    # status as a whole speaks of an older spec.
                    "observedGeneration": generation,
                }
            ],
        },
    }


def test_ready_only_when_the_status_speaks_of_the_current_spec() -> None:
    assert ready_for(_tenant(generation=2, observed=2, ready="True"), "r1") == (True, "Ready")
    assert ready_for(_tenant(generation=2, observed=1, ready="True"), "r1")[0] is False
    assert ready_for(_tenant(generation=2, observed=2, ready="False"), "r1") == (
        False,
        "Provisioning: applying",
    )


def test_not_ready_before_the_commit_or_the_tenant_is_there() -> None:
    assert ready_for(None, "r1")[0] is False
    waiting = ready_for(_tenant(generation=1, observed=1, ready="True", request="r0"), "r1")
    assert waiting == (False, "the platform sync has not applied the commit yet")
    assert ready_for(_tenant(generation=1, observed=1, ready="True", request="r0"), None)[0]
