"""Offboard one deleted Tenant: its sync first, then its access, then its namespaces.

``deletionPolicy: Delete`` removes everything. ``Orphan`` keeps the namespaces
and everything the tenant's sync applied, and removes only the tenant's access:
its Kustomization is made Orphan too (and the apiserver shows it so) before it
is deleted, so that its finalizer prunes nothing.
"""

from __future__ import annotations

import time
from typing import Any

from landlord.api import kustomization, labels, reasons
from landlord.api import tenant as tenant_api
from landlord.kube import Kube, events
from landlord.kube import status as kube_status
from landlord.runtime.outcome import Outcome
from landlord.tenants import desired, live
from landlord.tenants.desired import Manifest, ObjectKey

STUCK_AFTER = 60.0  # seconds a namespace may take to terminate before we say so
WAIT_INTERVAL = 2.0


class Offboarder:
    """Tears a Tenant down in order, reporting what it waits for."""

    def __init__(self, kube: Kube, objects: live.TenantObjects) -> None:
        self.kube = kube
        self.objects = objects
        # When each tenant's offboarding began (monotonic): for the Offboarding
        # Event (once) and the NamespaceStuck warning.
        self._since: dict[str, float] = {}

    def forget(self, name: str) -> None:
        """The Tenant is gone: drop what was kept about its offboarding."""
        self._since.pop(name, None)

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

        waiting = self._remove_sync(body, current, orphan=policy == tenant_api.ORPHAN)
        if waiting is not None:
            return waiting

        access = [
            obj
            for key, obj in current.items()
            if key.kind not in desired.SYNC_KINDS and key.kind != "Namespace"
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
                    "waiting for namespace(s) " + ", ".join(left) + " to terminate",
                    stuck=left,
                )
        self.objects.remove_finalizer(body)
        self.forget(name)
        return None

    def _remove_sync(
        self, body: dict[str, Any], current: dict[ObjectKey, Manifest], *, orphan: bool
    ) -> Outcome | None:
        """Delete the GitRepository and Kustomization; an Outcome while they are still there."""
        syncs = [obj for key, obj in current.items() if key.kind in desired.SYNC_KINDS]
        if orphan:
            unmarked = [obj for obj in syncs if not _orphaned(obj)]
            for obj in unmarked:
                key = ObjectKey.of(obj)
                self.kube.merge_patch(
                    key.api_version,
                    key.kind,
                    key.name,
                    {"spec": {"deletionPolicy": kustomization.ORPHAN}},
                    key.namespace,
                )
            if unmarked:
                # Deleted only once a read shows it Orphan: its finalizer reads that spec.
                return self._waiting(
                    body,
                    "waiting for "
                    + ", ".join(str(ObjectKey.of(obj)) for obj in unmarked)
                    + " to keep what it applied (deletionPolicy Orphan)",
                )
        for obj in syncs:
            self.objects.delete(ObjectKey.of(obj))
        remaining = [key for key in map(ObjectKey.of, syncs) if self.objects.exists(key)]
        if not remaining:
            return None
        what = "keep" if orphan else "prune"
        return self._waiting(
            body,
            "waiting for "
            + ", ".join(map(str, remaining))
            + f" to finish (their finalizers {what} the workloads)",
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


def _orphaned(obj: Manifest) -> bool:
    """Whether deleting this sync object keeps what it applied (a GitRepository applies nothing)."""
    if obj["kind"] != kustomization.KIND:
        return True
    return bool((obj.get("spec") or {}).get("deletionPolicy") == kustomization.ORPHAN)
