"""Offboard one deleted Tenant: owners' access, sync, the rest of its access, namespaces.

The order is the defence of an eviction: the owners' RoleBindings go first,
so that a tenant being offboarded cannot act while it runs (delete its
reconciler account, say, and hold its Kustomization's finalizer up). Then the
GitRepository and Kustomization, waited for while their finalizer prunes or
keeps; then the rest of the access; then the namespaces.

``deletionPolicy: Delete`` removes everything. ``Orphan`` keeps the namespaces
and everything the tenant's sync applied, and removes only the tenant's access:
its Kustomization is made Orphan too (and the apiserver shows it so) before it
is deleted, so that its finalizer prunes nothing.

The wait for the sync is bounded: ``deadline`` seconds after the Tenant's
``deletionTimestamp`` offboarding goes on without it, with a Warning Event
naming what was left. A Delete tenant's namespaces are then deleted (a
Kustomization's finalizer prunes nothing in a terminating namespace); an
Orphan tenant's are released with the sync objects in them.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Any

from landlord.api import kustomization, labels, reasons
from landlord.api import tenant as tenant_api
from landlord.kube import Kube, events
from landlord.kube import status as kube_status
from landlord.runtime import stopwatch
from landlord.runtime.outcome import Outcome
from landlord.tenants import desired, live
from landlord.tenants.desired import Manifest, ObjectKey

STUCK_AFTER = 60.0  # seconds a namespace may take to terminate before we say so
WAIT_INTERVAL = 2.0
# Seconds after the Tenant's deletion that offboarding waits for its sync objects
# (LANDLORD_TENANTS__OFFBOARDING_DEADLINE).
DEADLINE = 300.0
_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Offboarder:
    """Tears a Tenant down in order, reporting what it waits for."""

    def __init__(
        self,
        kube: Kube,
        objects: live.TenantObjects,
        *,
        deadline: float = DEADLINE,
        clock: Callable[[], datetime.datetime] = _now,
        monotonic: Callable[[], float] = time.monotonic,
        elsewhere: Callable[[dict[str, Any]], str | None] | None = None,
    ) -> None:
        # Offboards the tenant from its registered clusters, after its syncs finished
        # (their finalizers prune there as the tenant): what is left, or None.
        self.elsewhere = elsewhere
        self.kube = kube
        self.objects = objects
        self.deadline = deadline
        self.clock = clock
        # The deadline counts from the deletionTimestamp, on the monotonic clock once
        # seen: a stepped clock neither cuts the wait short nor stretches it.
        self.stopwatch = stopwatch.Stopwatch(wall=clock, monotonic=monotonic)
        # When each tenant's offboarding began (monotonic): for the Offboarding
        # Event (once) and the NamespaceStuck warning.
        self._since: dict[str, float] = {}
        self._left: set[str] = set()  # tenants whose sync objects were left (Event once)

    def forget(self, name: str) -> None:
        """The Tenant is gone: drop what was kept about its offboarding."""
        self._since.pop(name, None)
        self._left.discard(name)

    def offboard(self, body: dict[str, Any]) -> Outcome | None:
        """One step of offboarding; None once the Tenant's finalizer is removed (or not ours)."""
        name = body["metadata"]["name"]
        if labels.FINALIZER not in (body["metadata"].get("finalizers") or []):
            return None  # not ours to hold up
        policy = (body.get("spec") or {}).get("deletionPolicy", tenant_api.DELETE)
        current = self.objects.live(name)
        if name not in self._since:
            events.record(
                self.kube,
                body,
                reason=reasons.OFFBOARDING,
                message=f"removing everything of tenant {name} (deletionPolicy {policy})",
            )
            self._since[name] = time.monotonic()

        owners = [key for key in current if _owners_binding(key)]
        for key in owners:
            self.objects.delete(key)

        waiting = self._remove_sync(body, current, policy)
        if waiting is not None:
            if self.since_deletion(body) < self.deadline:
                return waiting
            self._leave_sync(body, current, orphan=policy == tenant_api.ORPHAN)

        # The other clusters are offboarded alongside this one (their namespaces and
        # these terminate at the same time); the finalizer waits for both.
        remote = self.elsewhere(body) if self.elsewhere is not None else None

        access = [
            obj
            for key, obj in current.items()
            if key.kind not in desired.SYNC_KINDS and key.kind != "Namespace" and key not in owners
        ]
        for obj in sorted(access, key=live.teardown_order):
            self.objects.delete(ObjectKey.of(obj))

        namespaces = [key.name for key in current if key.kind == "Namespace"]
        if policy == tenant_api.ORPHAN:
            for ns in namespaces:
                self.objects.release_namespace(ns)
        else:
            for ns in namespaces:
                self.kube.delete("v1", "Namespace", ns)
            left = [ns for ns in namespaces if self.kube.get("v1", "Namespace", ns) is not None]
            if left:
                return self._waiting(
                    body,
                    "waiting for namespace(s) "
                    + ", ".join(left)
                    + " to terminate"
                    + (f"; {remote}" if remote else ""),
                    stuck=left,
                )
        if remote is not None:
            if self.since_deletion(body) < self.deadline:
                return self._waiting(body, remote)
            self._leave_clusters(body, remote)
        self.objects.remove_finalizer(body)
        self.forget(name)
        return None

    def since_deletion(self, body: dict[str, Any]) -> float:
        """Seconds since the Tenant's ``deletionTimestamp`` (unreadable: the deadline is over)."""
        stamp = body["metadata"].get("deletionTimestamp") or ""
        try:
            moment = datetime.datetime.strptime(stamp, _FORMAT).replace(tzinfo=datetime.UTC)
        except ValueError:
            return self.deadline
        return self.stopwatch.elapsed(moment, self.deadline)

    def _remove_sync(
        self, body: dict[str, Any], current: dict[ObjectKey, Manifest], policy: str
    ) -> Outcome | None:
        """Delete the GitRepository and Kustomization; an Outcome while they are still there."""
        syncs = [obj for key, obj in current.items() if key.kind in desired.SYNC_KINDS]
        target = desired.sync_deletion_policy(policy)
        what = "keep" if target == kustomization.ORPHAN else "prune"
        patched = self.objects.delete_sync(syncs, target)
        if patched:
            # Deleted only once a read shows the policy: its finalizer reads that spec.
            return self._waiting(
                body,
                "waiting for "
                + ", ".join(map(str, patched))
                + f" to {what} what it applied (deletionPolicy {target})",
            )
        remaining = [key for key in map(ObjectKey.of, syncs) if self.objects.exists(key)]
        if not remaining:
            return None
        return self._waiting(
            body,
            "waiting for "
            + ", ".join(map(str, remaining))
            + f" to finish (their finalizers {what} the workloads)",
        )

    def _leave_sync(
        self, body: dict[str, Any], current: dict[ObjectKey, Manifest], *, orphan: bool
    ) -> None:
        """The deadline is over: go on without the sync objects, saying so once."""
        name = body["metadata"]["name"]
        if name in self._left:
            return
        self._left.add(name)
        left = [
            str(key)
            for key in current
            if key.kind in desired.SYNC_KINDS and self.objects.exists(key)
        ]
        then = (
            "they stay, as they are, in the released namespaces"
            if orphan
            else "the namespaces are deleted (a Kustomization prunes nothing in a terminating "
            "namespace): what the sync applied there goes with them, nothing elsewhere is pruned"
        )
        events.record(
            self.kube,
            body,
            reason=reasons.OFFBOARDING_DEADLINE,
            message=f"{', '.join(left) or 'the sync objects'} still present "
            f"{int(self.deadline)}s after the Tenant's deletion; offboarding goes on: {then}",
            warning=True,
        )

    def _leave_clusters(self, body: dict[str, Any], left: str) -> None:
        """The deadline is over: go on without the registered clusters, saying so once."""
        name = body["metadata"]["name"]
        if f"clusters:{name}" in self._left:
            return
        self._left.add(f"clusters:{name}")
        events.record(
            self.kube,
            body,
            reason=reasons.OFFBOARDING_DEADLINE,
            message=f"{int(self.deadline)}s after the Tenant's deletion, other clusters still "
            f"hold its objects ({left[:500]}); they are left as they are",
            warning=True,
        )

    def _waiting(
        self, body: dict[str, Any], message: str, stuck: list[str] | None = None
    ) -> Outcome:
        name = body["metadata"]["name"]
        waited = time.monotonic() - self._since.get(name, time.monotonic())
        if stuck and waited > STUCK_AFTER:
            detail = []
            for ns in stuck:
                obj = self.kube.get("v1", "Namespace", ns) or {}
                for cond in (obj.get("status") or {}).get("conditions") or []:
                    if cond.get("status") == "True":
                        detail.append(f"{ns}: {cond.get('message')}")
            message = f"{message} for {int(waited)}s; " + ("; ".join(detail) or "no reason given")
            kube_status.warn_on_change(self.kube, body, reasons.NAMESPACE_STUCK, message)
        return Outcome(
            False, reasons.OFFBOARDING, message, reconciling=True, requeue_after=WAIT_INTERVAL
        )


def _owners_binding(key: ObjectKey) -> bool:
    """The RoleBinding that gives ``spec.owners`` their role in a tenant namespace."""
    return key.kind == "RoleBinding" and key.name == labels.OWNERS_BINDING
