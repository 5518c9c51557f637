"""The Tenant's status: what the reconciler observed, as conditions and fields."""

from __future__ import annotations

import dataclasses
from typing import Any

from landlord.api import conditions
from landlord.api.labels import RECONCILER_SERVICE_ACCOUNT


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one reconcile found: Ready or not, why, and when to look again."""

    ready: bool
    reason: str
    message: str
    stalled: bool = False
    reconciling: bool = False
    requeue_after: float | None = None
    namespaces: tuple[str, ...] = ()


def render(
    outcome: Outcome, *, generation: int, existing: dict[str, Any], home_namespace: str | None
) -> dict[str, Any]:
    """The ``status`` to write for ``outcome`` (transition times kept where unchanged)."""
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": conditions.summary(
            ready=outcome.ready,
            reason=outcome.reason,
            message=outcome.message,
            stalled=outcome.stalled,
            reconciling=outcome.reconciling,
            generation=generation,
            existing=existing.get("conditions") or [],
        ),
        "namespaces": list(outcome.namespaces),
    }
    if home_namespace and outcome.ready:
        status["serviceAccount"] = (
            f"system:serviceaccount:{home_namespace}:{RECONCILER_SERVICE_ACCOUNT}"
        )
    return status


def differs(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether writing ``new`` over ``old`` would change anything we own."""
    return any(old.get(key) != value for key, value in new.items())
