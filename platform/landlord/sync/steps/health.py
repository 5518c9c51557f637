"""The health step: one look at the health targets, never a wait (see ``sync/healthwait``).

Healthy: done. Not yet: ``result.health_deadline`` says until when the
reconciler looks again (the deadline of this revision's wait, or a new one).
Past the deadline: HealthCheckFailed, naming what is not healthy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from landlord import errors
from landlord.api import kustomization as model
from landlord.api import reasons
from landlord.gitops import durations
from landlord.kube import Kube
from landlord.sync import health, healthwait
from landlord.sync.failure import SyncError
from landlord.sync.inventory import Entry
from landlord.sync.result import Result

DEFAULT_API_VERSION = "apps/v1"


def targets(spec: model.KustomizationSpec, namespace: str, applied: Iterable[Entry]) -> list[Entry]:
    """``wait``: everything applied; else the ``healthChecks`` (in ``namespace`` unless set)."""
    if spec.wait:
        return list(applied)
    found = []
    for check in spec.health_checks or ():
        group, _, version = (check.api_version or DEFAULT_API_VERSION).rpartition("/")
        found.append(Entry(check.namespace or namespace, check.name, group, check.kind, version))
    return found


def look(
    body: dict[str, Any], tenant: Kube, checks: list[Entry], result: Result, timeout: float
) -> None:
    """Record in ``result`` whether ``checks`` are healthy, or until when to wait for them."""
    sick = unhealthy(tenant, checks)
    if not sick:
        result.healthy = True
        return
    generation = int(body["metadata"].get("generation") or 1)
    deadline = healthwait.pending(
        body.get("status") or {}, result.revision, generation
    ) or healthwait.deadline_after(timeout)
    if healthwait.left(deadline, timeout) <= 0:
        raise SyncError(
            reasons.HEALTH_CHECK_FAILED,
            f"not healthy after {durations.format_seconds(timeout)} (spec.timeout): "
            + healthwait.summary(sick),
        )
    result.healthy = False
    result.health_deadline = deadline
    result.unhealthy = sick


def unhealthy(tenant: Kube, checks: list[Entry]) -> list[str]:
    """``<target>: <why>`` for each target that is not healthy, read as the tenant."""
    found = []
    for entry in checks:
        try:
            live = tenant.get(entry.api_version, entry.kind, entry.name, entry.namespace or None)
        except errors.ApiError as error:
            found.append(f"{entry}: {error.message}")
            continue
        healthy, why = health.check(live) if live else (False, "not found")
        if not healthy:
            found.append(f"{entry}: {why}")
    return found
