"""Kubernetes-shaped status conditions, so ``kubectl wait --for=condition=Ready`` works."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any, Protocol

from landlord.api import labels, reasons

READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"


def now() -> str:
    """The current time in the apiserver's RFC 3339 form."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(
    type_: str,
    status: bool,
    reason: str,
    message: str,
    *,
    observed_generation: int,
) -> dict[str, Any]:
    """A condition without a transition time (``merge`` sets it)."""
    return {
        "type": type_,
        "status": "True" if status else "False",
        "reason": reason,
        "message": message,
        "observedGeneration": observed_generation,
    }


def merge(
    existing: Sequence[dict[str, Any]],
    wanted: Sequence[dict[str, Any]],
    *,
    timestamp: str | None = None,
) -> list[dict[str, Any]]:
    """The wanted conditions, keeping ``lastTransitionTime`` where the status did not change.

    Conditions not in ``wanted`` are dropped: each reconcile states all of them.
    """
    by_type = {item.get("type"): item for item in existing}
    merged = []
    for item in wanted:
        previous = by_type.get(item["type"])
        if previous is not None and previous.get("status") == item["status"]:
            transition = previous.get("lastTransitionTime") or timestamp or now()
        else:
            transition = timestamp or now()
        merged.append({**item, "lastTransitionTime": transition})
    return merged


def get(conditions: Sequence[dict[str, Any]], type_: str) -> dict[str, Any] | None:
    """The condition of ``type_``, if present."""
    for item in conditions:
        if item.get("type") == type_:
            return item
    return None


def is_true(conditions: Sequence[dict[str, Any]], type_: str) -> bool:
    """Whether the condition of ``type_`` is present and True."""
    found = get(conditions, type_)
    return bool(found and found.get("status") == "True")


def at_generation(body: dict[str, Any]) -> bool:
    """Whether the status speaks of the current spec (observedGeneration is the generation)."""
    observed = (body.get("status") or {}).get("observedGeneration")
    return bool(observed == (body.get("metadata") or {}).get("generation"))


def handled(body: dict[str, Any]) -> bool:
    """Whether the status speaks of the current spec and of the last requested reconcile.

    A reconcile requested with the ``labels.REQUESTED_AT`` annotation is handled
    once the status's ``lastHandledReconcileAt`` repeats its value (neither set: handled).
    """
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    last = (body.get("status") or {}).get("lastHandledReconcileAt")
    return at_generation(body) and annotations.get(labels.REQUESTED_AT) == last


def ready_at_generation(body: dict[str, Any]) -> bool:
    """Whether an object is Ready for its current spec (Ready True at its generation)."""
    status = body.get("status") or {}
    return is_true(status.get("conditions") or [], READY) and at_generation(body)


def reports(body: dict[str, Any], reason: str, message: str) -> bool:
    """Whether an object's Ready condition already says ``reason`` and ``message``.

    A failure is announced (a Warning Event) only when this is False, so that
    a sync failing the same way on every retry posts one Event, not one a retry.
    """
    ready = get((body.get("status") or {}).get("conditions") or [], READY) or {}
    return (ready.get("reason"), ready.get("message")) == (reason, message)


def summary(
    *,
    ready: bool,
    reason: str,
    message: str,
    stalled: bool,
    reconciling: bool,
    generation: int,
    existing: Sequence[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Ready, Reconciling and Stalled, as every Landlord kind reports them."""
    wanted = [
        condition(READY, ready, reason, message, observed_generation=generation),
        condition(
            RECONCILING,
            reconciling,
            reason if reconciling else reasons.IDLE,
            message if reconciling else "",
            observed_generation=generation,
        ),
        condition(
            STALLED,
            stalled,
            reason if stalled else reasons.NOT_STALLED,
            message if stalled else "",
            observed_generation=generation,
        ),
    ]
    return merge(existing, wanted)


class Observed(Protocol):
    """What a reconcile found, as :func:`of` reads it (``runtime.outcome.Outcome``)."""

    @property
    def ready(self) -> bool: ...
    @property
    def reason(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def stalled(self) -> bool: ...
    @property
    def reconciling(self) -> bool: ...


def of(
    outcome: Observed, *, generation: int, existing: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """:func:`summary` of what one reconcile found."""
    return summary(
        ready=outcome.ready,
        reason=outcome.reason,
        message=outcome.message,
        stalled=outcome.stalled,
        reconciling=outcome.reconciling,
        generation=generation,
        existing=existing,
    )
