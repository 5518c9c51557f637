"""A Tenant on registered clusters: provisioned on each it lists, offboarded from each it leaves.

The operator's own cluster is provisioned by :mod:`landlord.tenants.provisioning`
as before (it holds the tenant's sources and syncs). On every other cluster of
``spec.clusters`` the same namespaces, reconciler service account, RBAC, quota,
limits and isolation are provisioned through the registry credential's
connection. ``status.clusters`` records where the tenant is, so a cluster
removed from the list is offboarded (as the tenant's ``deletionPolicy`` says)
even though the spec no longer names it; a cluster that cannot be reached keeps
its entry, not ready, and is retried.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from landlord import errors
from landlord.api import reasons
from landlord.api import tenant as tenant_api
from landlord.api.cluster import LOCAL
from landlord.kube import Kube, events
from landlord.kube.fleet import ClusterError, Fleet, Member
from landlord.tenants import live, provisioning
from landlord.tenants.desired import ObjectKey

log = logging.getLogger(__name__)

# A cluster that could not be reached (or is still offboarding) is looked at again this soon.
RETRY = 15.0


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where the tenant is on one cluster (an item of ``status.clusters``)."""

    name: str
    ready: bool
    message: str = ""
    identity: str = ""
    reason: str = reasons.PROVISIONED

    def to_status(self) -> dict[str, Any]:
        found: dict[str, Any] = {"name": self.name, "ready": self.ready}
        if self.identity:
            found["identity"] = self.identity
        if self.message:
            found["message"] = self.message[:1024]
        return found


def recorded(body: dict[str, Any]) -> list[str]:
    """The clusters ``status.clusters`` says the tenant is (or was being) on, but the local."""
    items = (body.get("status") or {}).get("clusters") or []
    return [str(i["name"]) for i in items if i.get("name") and i["name"] != LOCAL]


class Spread:
    """Provisions and offboards one Tenant on registered clusters."""

    def __init__(
        self,
        kube: Kube,
        fleet: Fleet,
        provisioner: Callable[[Member], provisioning.Provisioner],
    ) -> None:
        self.kube = kube
        self.fleet = fleet
        self.provisioner = provisioner  # the tenant operator's, writing on that cluster

    def reconcile(self, body: dict[str, Any], tenant: tenant_api.Tenant) -> list[Placement]:
        """Provision on every listed cluster; offboard from every recorded one not listed."""
        placements = [self._provision(body, name) for name in tenant.remote_clusters]
        for name in recorded(body):
            if name not in tenant.remote_clusters:
                left = self.leave(body, name, tenant.spec.deletion_policy)
                if left is not None:
                    placements.append(left)
        return placements

    def leave_all(self, body: dict[str, Any]) -> list[Placement]:
        """Offboard the deleted Tenant from every cluster it is recorded on; what is left."""
        policy = (body.get("spec") or {}).get("deletionPolicy", tenant_api.DELETE)
        listed = [*recorded(body), *((body.get("spec") or {}).get("clusters") or [])]
        names = sorted({name for name in listed if name != LOCAL})
        return [p for name in names if (p := self.leave(body, name, policy)) is not None]

    def _provision(self, body: dict[str, Any], name: str) -> Placement:
        try:
            member = self.fleet.member(name)
        except ClusterError as error:  # the identity it was provisioned on stays recorded
            return Placement(
                name, False, _unusable(name, error), _placed_identity(body, name), error.reason
            )
        try:
            result = self.provisioner(member).provision(body)
        except errors.RetryableError as error:
            self.fleet.forget(name)  # a stale connection, perhaps: connect again next time
            return Placement(name, False, str(error), member.identity, reasons.PROVISIONING_FAILED)
        outcome = result.outcome
        return Placement(name, outcome.ready, outcome.message, member.identity, outcome.reason)

    def leave(self, body: dict[str, Any], name: str, policy: str) -> Placement | None:
        """One step of offboarding from cluster ``name``; None once nothing is left there."""
        tenant = body["metadata"]["name"]
        try:
            member = self.fleet.member(name)
        except ClusterError as error:
            if error.reason == reasons.CLUSTER_NOT_FOUND:
                events.record(
                    self.kube,
                    body,
                    reason=reasons.ORPHANED,
                    message=f"cluster {name} is no longer registered: whatever tenant {tenant} "
                    "had there is left as it is",
                    warning=True,
                )
                return None
            return Placement(
                name, False, f"offboarding waits: {error.message}", reason=error.reason
            )
        placed = _placed_identity(body, name)
        if placed and placed != member.identity:
            events.record(
                self.kube,
                body,
                reason=reasons.ORPHANED,
                message=f"cluster {name} is now another cluster (identity {member.identity}, "
                f"tenant {tenant} was provisioned on {placed}): nothing is removed there; "
                "what the tenant had on the old one is left as it is",
                warning=True,
            )
            return None
        objects = live.TenantObjects(member.kube)
        try:
            current = objects.live(tenant)
            namespaces = [key.name for key in current if key.kind == "Namespace"]
            for key in sorted(
                (k for k in current if k.kind != "Namespace"), key=_teardown, reverse=False
            ):
                objects.delete(key)
            if policy == tenant_api.ORPHAN:
                for ns in namespaces:
                    objects.release_namespace(ns)
                left = []
            else:
                for ns in namespaces:
                    member.kube.delete("v1", "Namespace", ns)
                left = [
                    ns for ns in namespaces if objects.exists(ObjectKey("v1", "Namespace", "", ns))
                ]
        except errors.ApiError as error:
            self.fleet.forget(name)
            return Placement(
                name,
                False,
                f"offboarding failed: {error.message}",
                member.identity,
                reasons.OFFBOARDING,
            )
        if left:
            return Placement(
                name,
                False,
                "offboarding: waiting for namespace(s) " + ", ".join(left) + " to terminate",
                member.identity,
                reasons.OFFBOARDING,
            )
        events.record(
            self.kube,
            body,
            reason=reasons.OFFBOARDED_CLUSTER,
            message=f"tenant {tenant} offboarded from cluster {name} (deletionPolicy {policy})",
        )
        return None


def _placed_identity(body: dict[str, Any], name: str) -> str:
    """The identity ``status.clusters`` recorded for cluster ``name`` ("" if none)."""
    for item in (body.get("status") or {}).get("clusters") or []:
        if item.get("name") == name:
            return str(item.get("identity") or "")
    return ""


def _unusable(name: str, error: ClusterError) -> str:
    """Why a cluster cannot be used, without the details tenants may not see.

    Addresses and Secret names are on the Cluster's own status.
    """
    return f"cluster {name} cannot be used now ({error.reason}; see its Cluster's status)"


def _teardown(key: ObjectKey) -> int:
    return live.teardown_order({"kind": key.kind})
