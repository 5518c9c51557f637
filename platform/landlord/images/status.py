"""One status write for the three image kinds: conditions from an outcome, plus their fields."""

from __future__ import annotations

from typing import Any

from landlord.api import conditions, labels, reasons
from landlord.kube import Kube
from landlord.kube import status as kube_status
from landlord.runtime.outcome import Outcome


def write(kube: Kube, body: dict[str, Any], outcome: Outcome, extra: dict[str, Any]) -> Outcome:
    """Patch status when anything differs; a Warning Event when a failure is new."""
    existing = body.get("status") or {}
    generation = int(body["metadata"].get("generation") or 1)
    new = {
        "observedGeneration": generation,
        "conditions": conditions.of(
            outcome, generation=generation, existing=existing.get("conditions") or []
        ),
        **extra,
    }
    requested = (body["metadata"].get("annotations") or {}).get(labels.REQUESTED_AT)
    if requested:
        new["lastHandledReconcileAt"] = requested
    if not outcome.ready:
        kube_status.warn_on_change(kube, body, outcome.reason, outcome.message)
    kube_status.patch_if_changed(kube, body, new)
    return outcome


def stalled(message: str, reason: str = reasons.INVALID_SPEC) -> Outcome:
    """A spec that cannot work as written: not retried until it changes."""
    return Outcome(False, reason, message, stalled=True)
