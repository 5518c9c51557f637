"""Status rendering: a reconcile's outcome and result → the status to write and Events to post.

Pure: no client, no clock but the one passed in. The reconciler writes what
:func:`render` returns (a merge patch when something differs, then the Events).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from landlord.api import conditions, reasons
from landlord.runtime.outcome import Outcome
from landlord.sync import healthwait
from landlord.sync.drift import Drift
from landlord.sync.inventory import Inventory
from landlord.sync.result import Result

# Field managers named as such on the drift metric; any other name is "other", so a
# tenant choosing field-manager names cannot grow the metric's label set.
KNOWN_MANAGERS = frozenset(
    {
        "kubectl",
        "kubectl-annotate",
        "kubectl-client-side-apply",
        "kubectl-edit",
        "kubectl-label",
        "kubectl-patch",
        "kubectl-replace",
        "kubectl-rollout",
        "kubectl-scale",
        "kubectl-set",
        "kube-controller-manager",
        "helm",
        "argocd-controller",
        "kustomize-controller",
        "landlord",
    }
)
OTHER_MANAGER = "other"
DELETED = "deleted"
# Objects named in a drift-repair message, at most.
LISTED = 10


@dataclasses.dataclass(frozen=True)
class Event:
    """An Event to post about the Kustomization."""

    reason: str
    message: str
    warning: bool = False


@dataclasses.dataclass(frozen=True)
class Rendered:
    """The status fields to write and the Events to post."""

    status: dict[str, Any]
    events: list[Event]


def manager_label(drift: Drift) -> str:
    """The ``manager`` label of the drift-repair metric: one of a small fixed set."""
    if drift.deleted and not drift.manager:
        return DELETED
    if not drift.manager:
        return ""
    return drift.manager if drift.manager in KNOWN_MANAGERS else OTHER_MANAGER


def _conditions(
    existing: dict[str, Any], outcome: Outcome, result: Result, generation: int, now: str
) -> list[dict[str, Any]]:
    waiting = result.health_deadline is not None
    current = existing.get("conditions") or []
    # Reconciling while a health wait is in progress, and only then.
    wanted = conditions.of(
        dataclasses.replace(outcome, reconciling=waiting), generation=generation, existing=current
    )
    if waiting:
        # Flux's shape of a health wait: Ready and Healthy Unknown, Reconciling True.
        healthy = conditions.condition(
            reasons.HEALTHY,
            False,
            reasons.PROGRESSING,
            f"waiting until {result.health_deadline} for: " + healthwait.summary(result.unhealthy),
            observed_generation=generation,
        )
        unknown = [
            {**c, "status": "Unknown"} if c["type"] in (conditions.READY, reasons.HEALTHY) else c
            for c in [*wanted, healthy]
        ]
        return conditions.merge(current, unknown, timestamp=now)
    if result.healthy is not None or outcome.reason == reasons.HEALTH_CHECK_FAILED:
        healthy = conditions.condition(
            reasons.HEALTHY,
            bool(result.healthy),
            reasons.HEALTH_SUCCEEDED if result.healthy else reasons.HEALTH_CHECK_FAILED,
            "all health checks passed" if result.healthy else outcome.message,
            observed_generation=generation,
        )
        return conditions.merge(current, [*wanted, healthy], timestamp=now)
    return wanted


def _other_cluster(existing: dict[str, Any], inventory: Inventory) -> Event | None:
    """An Event when this write records another target cluster than the last one.

    Once per change: the next write finds this cluster's inventory. What was
    recorded on the old cluster is pruned through that cluster's own client (or
    waits in ``inventory.pending``), never through the new one.
    """
    old = Inventory.from_status(existing.get("inventory"))
    if old is None or not old.entries or old.cluster == inventory.cluster:
        return None
    left = next((g for g in inventory.pending if g.cluster == old.cluster), None)
    before = old.name or old.cluster or "(unknown)"
    then = (
        f"{len(left.entries)} of them wait to be pruned there (status.inventory.pending)"
        if left is not None
        else "nothing of them is left recorded"
    )
    return Event(
        reasons.TARGET_CHANGED,
        f"the target moved from cluster {before} ({len(old.entries)} objects) to cluster "
        f"{inventory.name or inventory.cluster}; {then}",
    )


def settled(outcome: Outcome, result: Result) -> Outcome:
    """The outcome to report: an applied revision still waiting for health is Progressing."""
    if not outcome.ready or result.health_deadline is None:
        return outcome
    return Outcome(
        False,
        reasons.PROGRESSING,
        f"applied revision {result.revision}; waiting until {result.health_deadline} "
        f"for health: {healthwait.summary(result.unhealthy)}",
    )


def render(
    body: dict[str, Any],
    outcome: Outcome,
    result: Result,
    requested: str | None,
    *,
    now: str,
) -> Rendered:
    """The status and Events of a reconcile that ended with ``outcome``."""
    existing = body.get("status") or {}
    generation = int(body["metadata"].get("generation") or 1)
    waiting = result.health_deadline is not None
    new: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": _conditions(existing, outcome, result, generation, now),
        "lastAttemptedRevision": result.revision,
        # Set only while a health wait is in progress (None removes it).
        healthwait.DEADLINE: result.health_deadline,
    }
    posted: list[Event] = []
    if waiting and not existing.get(healthwait.DEADLINE):
        posted.append(
            Event(
                reasons.PROGRESSING,
                f"revision {result.revision}: {len(result.changed)} applied, "
                f"{len(result.pruned)} pruned; waiting until {result.health_deadline} for health",
            )
        )
    if outcome.ready:
        new["lastAppliedRevision"] = result.revision
    if result.inventory is not None:
        new["inventory"] = result.inventory.to_status()
        if "pending" in (existing.get("inventory") or {}) and not result.inventory.pending:
            new["inventory"]["pending"] = None  # a merge patch keeps what it does not name
        replaced = _other_cluster(existing, result.inventory)
        if replaced is not None:
            posted.append(replaced)
    if requested:
        new["lastHandledReconcileAt"] = requested
    if result.repaired:
        more = len(result.repaired) - LISTED
        listed = ", ".join(map(str, result.repaired[:LISTED])) + (
            f" (and {more} more)" if more > 0 else ""
        )
        new["lastDriftRepair"] = {"time": now, "objects": listed}
        posted.append(Event(reasons.DRIFT_REPAIRED, f"restored {listed}"))
    if outcome.ready and (
        result.changed or result.pruned or existing.get("lastAppliedRevision") != result.revision
    ):
        waited = existing.get(healthwait.DEADLINE) and not (result.changed or result.pruned)
        posted.append(
            Event(
                reasons.SUCCEEDED,
                f"revision {result.revision}: all health checks passed"
                if waited
                else f"revision {result.revision}: {len(result.changed)} applied, "
                f"{len(result.pruned)} pruned",
            )
        )
    elif outcome.ready and _was_failing(existing):
        # Ready again at the same revision, nothing to apply (a key added, an outage
        # over): one Event says so, as the failure had one (alerts send both).
        before = conditions.get(existing.get("conditions") or [], conditions.READY) or {}
        posted.append(
            Event(
                reasons.SUCCEEDED,
                f"revision {result.revision}: Ready again (was {before.get('reason')})",
            )
        )
    elif (
        not outcome.ready
        and not waiting
        and not conditions.reports(body, outcome.reason, outcome.message)
    ):
        posted.append(Event(outcome.reason, outcome.message, warning=True))
    return Rendered(new, posted)


def _was_failing(status: dict[str, Any]) -> bool:
    ready = conditions.get(status.get("conditions") or [], conditions.READY) or {}
    return ready.get("status") == "False" and ready.get("reason") != reasons.PROGRESSING
