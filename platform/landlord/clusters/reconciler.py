"""Reconcile one Cluster: probe it, report it, and hold its deletion while it is in use."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pydantic

from landlord import api
from landlord.api import cluster as cluster_api
from landlord.api import conditions, kustomization, labels, reasons
from landlord.api import tenant as tenant_api
from landlord.gitops import durations
from landlord.kube import Kube, events, finalizers
from landlord.kube import status as kube_status
from landlord.kube.fleet import ClusterError, Fleet
from landlord.runtime.outcome import Outcome

log = logging.getLogger(__name__)

# A Cluster that cannot be reached is probed again at most this long after.
UNREACHABLE_RETRY = 30.0
# A deletion held by what is still on the cluster is looked at again this soon.
IN_USE_RETRY = 10.0


def users(kube: Kube, name: str) -> list[str]:
    """What still has objects on cluster ``name``: Tenants and Kustomizations, by name."""
    found = []
    for tenant in kube.list_objects(api.API_VERSION, tenant_api.KIND):
        listed = (tenant.get("spec") or {}).get("clusters") or []
        placed = [c.get("name") for c in (tenant.get("status") or {}).get("clusters") or []]
        if name in listed or name in placed:
            found.append(f"Tenant {tenant['metadata']['name']}")
    for item in kube.list_objects(api.API_VERSION, kustomization.KIND):
        inventory = (item.get("status") or {}).get("inventory") or {}
        groups = [inventory, *(inventory.get("pending") or [])]
        if any(g.get("clusterName") == name and g.get("entries") for g in groups):
            metadata = item["metadata"]
            found.append(f"Kustomization {metadata['namespace']}/{metadata['name']}")
    return found


class ClusterReconciler:
    """Keeps each Cluster's connection fresh; with ``writes``, its status and finalizer too.

    Every shard probes (each holds connections of its own); only the default
    shard writes. ``on_identity`` is called with a Cluster's name when it answers
    with a newly accepted identity (the Tenants on it are provisioned again).
    """

    def __init__(
        self,
        kube: Kube,
        fleet: Fleet,
        *,
        platform_namespace: str,
        writes: bool = True,
        on_identity: Callable[[str], None] | None = None,
    ) -> None:
        self.kube = kube
        self.fleet = fleet
        self.platform_namespace = platform_namespace
        self.writes = writes
        self.on_identity = on_identity

    def reconcile(self, name: str) -> Outcome | None:
        """Probe Cluster ``name`` (a new connection from its Secret each time); None: gone."""
        body = self.fleet.registered(name)
        if body is None:
            self.fleet.forget(name)
            return None
        if not self.writes:
            return self._refresh(body)
        if body["metadata"].get("deletionTimestamp"):
            return self._deleting(body)
        finalizers.add(self.kube, body, labels.FINALIZER)
        try:
            spec = cluster_api.ClusterSpec.of(body)
            interval = durations.parse(spec.interval)
        except (pydantic.ValidationError, ValueError) as error:
            outcome = Outcome(False, reasons.INVALID_SPEC, str(error)[:1000], stalled=True)
            self._write(body, outcome, {})
            return outcome
        if spec.suspend:
            return Outcome(skipped=True)
        try:
            member = self.fleet.connect(name)
        except ClusterError as error:
            self.fleet.forget(name)
            outcome = Outcome(
                False, error.reason, error.message, requeue_after=min(interval, UNREACHABLE_RETRY)
            )
            self._write(body, outcome, {"reachable": False})
            return outcome
        self.fleet.remember(member)
        before = (body.get("status") or {}).get("identity")
        if before and before != member.identity:
            if self.on_identity is not None:
                self.on_identity(name)
            events.record(
                self.kube,
                body,
                reason=reasons.IDENTITY_CHANGED,
                message=f"cluster {name} now answers with identity {member.identity} (it was "
                f"{before}), accepted by the annotation {cluster_api.IDENTITY_ANNOTATION}; "
                "objects recorded on the old one are never pruned through it",
                warning=True,
            )
        outcome = Outcome(
            True,
            reasons.CLUSTER_REACHABLE,
            f"reachable: {member.version}, identity {member.identity}",
            requeue_after=interval,
        )
        self._write(
            body,
            outcome,
            {
                "reachable": True,
                "version": member.version,
                "identity": member.identity,
                "lastContact": conditions.now(),
            },
        )
        return outcome

    def _refresh(self, body: dict[str, Any]) -> Outcome:
        """Another shard's probe: a new connection from the Secret, nothing written."""
        name = body["metadata"]["name"]
        try:
            interval = durations.parse(cluster_api.ClusterSpec.of(body).interval)
        except (pydantic.ValidationError, ValueError):
            interval = UNREACHABLE_RETRY
        try:
            self.fleet.remember(self.fleet.connect(name))
        except ClusterError as error:
            self.fleet.forget(name)
            return Outcome(False, error.reason, error.message, requeue_after=UNREACHABLE_RETRY)
        return Outcome(True, reasons.CLUSTER_REACHABLE, "", requeue_after=interval)

    def _deleting(self, body: dict[str, Any]) -> Outcome | None:
        """Release the finalizer unless something is still there and the policy is Block."""
        name = body["metadata"]["name"]
        policy = (body.get("spec") or {}).get("deletionPolicy") or cluster_api.BLOCK
        left = users(self.kube, name)
        if left and policy == cluster_api.BLOCK:
            listed = ", ".join(left[:10]) + (
                f" (and {len(left) - 10} more)" if len(left) > 10 else ""
            )
            message = (
                f"deletion waits: {listed} still have objects on cluster {name}; remove it from "
                "their spec (they are offboarded and pruned there), or set spec.deletionPolicy "
                "Orphan to leave those objects as they are"
            )
            outcome = Outcome(False, reasons.CLUSTER_IN_USE, message, requeue_after=IN_USE_RETRY)
            kube_status.warn_on_change(self.kube, body, reasons.CLUSTER_IN_USE, message)
            self._write(body, outcome, {})
            return outcome
        if left:
            events.record(
                self.kube,
                body,
                reason=reasons.ORPHANED,
                message=f"cluster {name} removed with deletionPolicy Orphan: what "
                + ", ".join(left[:10])
                + " had there is left as it is",
                warning=True,
            )
        finalizers.remove(self.kube, body, labels.FINALIZER)
        self.fleet.forget(name)
        return None

    def _write(self, body: dict[str, Any], outcome: Outcome, fields: dict[str, Any]) -> None:
        existing = body.get("status") or {}
        generation = int(body["metadata"].get("generation") or 1)
        ready = conditions.of(outcome, generation=generation, existing=[])
        reachable = fields.get("reachable")
        wanted = list(ready)
        if reachable is not None:
            wanted.append(
                conditions.condition(
                    cluster_api.REACHABLE,
                    bool(reachable),
                    outcome.reason,
                    outcome.message,
                    observed_generation=generation,
                )
            )
        new = {
            **{k: v for k, v in existing.items() if k != "conditions"},
            **fields,
            "observedGeneration": generation,
            "conditions": conditions.merge(existing.get("conditions") or [], wanted),
        }
        kube_status.patch_if_changed(self.kube, body, new)
