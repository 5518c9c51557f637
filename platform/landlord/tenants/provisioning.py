"""Provision one Tenant: refuse what must not be written, apply what it should have, prune the rest.

Level-based: each call compares the whole desired state with what carries the
tenant's label and converges it. Runs with the operator's own identity.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Iterable
from typing import Any

import pydantic

from landlord import errors, telemetry
from landlord.api import conditions, invalid, labels, reasons
from landlord.api import tenant as tenant_api
from landlord.api.cluster import LOCAL
from landlord.api.tenant import Tenant
from landlord.gitops.objects import contains
from landlord.kube import Kube, events
from landlord.kube import status as kube_status
from landlord.runtime.outcome import Outcome
from landlord.tenants import desired, live, validation
from landlord.tenants.desired import Manifest, ObjectKey
from landlord.tenants.features import Features
from landlord.tenants.status import Result

log = logging.getLogger(__name__)

# A refused Tenant (a namespace taken by someone else) may be freed: look again now and then.
RECHECK_REFUSED = 60.0
# A stale Kustomization patched to the Tenant's deletionPolicy is deleted this soon after.
WAIT_FOR_POLICY = 1.0


class Provisioner:
    """Brings a Tenant's namespaces, identities, quotas, policies and sync to its spec."""

    def __init__(
        self,
        kube: Kube,
        objects: live.TenantObjects,
        *,
        features: Features,
        platform_namespace: str,
        origins: telemetry.Origins,
        metrics: telemetry.Metrics | None = None,
        roles: Collection[str] | None = None,
        pod_security_levels: Collection[str] | None = None,
        home: Kube | None = None,
        cluster: str = LOCAL,
    ) -> None:
        # ``kube`` writes the tenant's objects on ``cluster``; ``home`` (the operator's
        # own cluster, where the Tenant lives) gets its Events and status warnings.
        self.home = home or kube
        self.cluster = cluster
        self.roles = roles  # None: any ClusterRole
        self.pod_security_levels = pod_security_levels  # None: any level
        self.kube = kube
        self.objects = objects
        self.features = features
        self.platform_namespace = platform_namespace
        self.origins = origins
        self.metrics = metrics

    def provision(self, body: dict[str, Any]) -> Result:
        """Converge the Tenant ``body``; RetryableError when the apiserver refused a write."""
        try:
            tenant = Tenant.from_object(body)
        except pydantic.ValidationError as error:
            return Result(
                Outcome(False, reasons.INVALID_SPEC, invalid.describe(error), stalled=True)
            )
        if self.cluster == LOCAL:
            self.objects.ensure_finalizer(body)
        refusal = validation.reserved(tenant, self.platform_namespace)
        if refusal is None and self.roles is not None:
            refusal = validation.roles(tenant, self.roles)
        if refusal is None and self.pod_security_levels is not None:
            refusal = validation.pod_security(tenant, self.pod_security_levels)
        if refusal is None:
            refusal = validation.conflicts(tenant, self.objects.namespace_owners(tenant.namespaces))
        if refusal is not None:
            return self._refused(body, refusal)
        wanted = (desired.desired_objects if self.cluster == LOCAL else desired.remote_objects)(
            tenant, self.features, platform_namespace=self.platform_namespace
        )
        trusted = self.origins.trusted(tenant_api.KIND, body)
        for manifest in wanted:  # the request's trace goes on only if the API signed it
            if labels.TRACEPARENT in (manifest["metadata"].get("annotations") or {}):
                self.origins.stamp(manifest["kind"], manifest, trusted)
        current = self.objects.live(tenant.name)
        was_ready = conditions.ready_at_generation(body)
        try:
            changed = self._apply(tenant, wanted, current)
            wanted_keys = {ObjectKey.of(obj) for obj in wanted}
            pruned = self._prune(
                tenant, (obj for key, obj in current.items() if key not in wanted_keys)
            )
        except _LostNamespaceError as lost:
            return self._refused(body, lost.refusal)
        except errors.ApiError as error:
            message = f"provisioning failed{self._on()}: {error.message}"
            kube_status.warn_on_change(self.home, body, reasons.PROVISIONING_FAILED, message)
            raise errors.RetryableError(message) from error
        if was_ready and changed:
            self._record_drift(body, changed)
        if pruned.removed:
            events.record(
                self.home,
                body,
                reason=reasons.PRUNED,
                message="removed " + ", ".join(str(key) for key in pruned.removed) + self._on(),
            )
        message = f"{len(tenant.namespaces)} namespace(s) provisioned{self._on()}"
        if not was_ready:
            log.info("tenant %s: %s", tenant.name, message, extra={"tenant": tenant.name})
            events.record(self.home, body, reason=reasons.PROVISIONED, message=message)
        # A stale Kustomization given the Tenant's deletionPolicy: deleted on the next pass.
        again = WAIT_FOR_POLICY if pruned.waiting else None
        return Result(
            Outcome(True, reasons.PROVISIONED, message, requeue_after=again),
            namespaces=tenant.namespaces,
        )

    def _on(self) -> str:
        """`` on cluster NAME`` for a registered cluster's provisioning (nothing for the local)."""
        return "" if self.cluster == LOCAL else f" on cluster {self.cluster}"

    def _refused(self, body: dict[str, Any], refusal: validation.Refusal) -> Result:
        message = refusal.message + self._on()
        kube_status.warn_on_change(self.home, body, refusal.reason, message)
        return Result(
            Outcome(False, refusal.reason, message, stalled=True, requeue_after=RECHECK_REFUSED)
        )

    def _apply(
        self, tenant: Tenant, wanted: list[Manifest], current: dict[ObjectKey, Manifest]
    ) -> list[ObjectKey]:
        changed = []
        for manifest in wanted:
            key = ObjectKey.of(manifest)
            found = current.get(key)
            if found is not None and not _same_shard(found, manifest) and _shard(manifest) is None:
                # The Tenant left its shard: drop the label, whoever set it (an apply
                # removes only what Landlord's field manager owns).
                self.kube.merge_patch(
                    manifest["apiVersion"],
                    manifest["kind"],
                    manifest["metadata"]["name"],
                    {"metadata": {"labels": {labels.SHARD: None}}},
                    manifest["metadata"].get("namespace"),
                )
                changed.append(key)
                if contains(found, manifest):
                    continue
            elif found is not None and contains(found, manifest) and _same_shard(found, manifest):
                continue
            if key.kind == "Namespace" and found is None:
                self._claim_namespace(tenant, manifest)
            else:
                self._apply_one(manifest, found)
            changed.append(key)
        return changed

    def _apply_one(self, manifest: Manifest, found: Manifest | None) -> None:
        try:
            self.kube.apply(manifest, field_manager=labels.FIELD_MANAGER, force=True)
        except errors.ApiError as error:
            # A RoleBinding someone recreated with another roleRef (immutable): an
            # apply can never fix it, so replace it rather than fail every reconcile.
            other_role = found is not None and found.get("roleRef") != manifest.get("roleRef")
            if manifest["kind"] != "RoleBinding" or error.status != 422 or not other_role:
                raise
            metadata = manifest["metadata"]
            log.warning(
                "RoleBinding %s/%s had another roleRef; replacing it",
                metadata.get("namespace"),
                metadata["name"],
            )
            self.kube.delete(
                manifest["apiVersion"], "RoleBinding", metadata["name"], metadata.get("namespace")
            )
            self.kube.apply(manifest, field_manager=labels.FIELD_MANAGER, force=True)

    def _claim_namespace(self, tenant: Tenant, manifest: Manifest) -> None:
        """Create a namespace; a create is atomic, so two tenants cannot both win it."""
        try:
            self.kube.create(manifest)
        except errors.ApiError as error:
            if not error.conflict:
                raise
            name = manifest["metadata"]["name"]
            refusal = validation.conflicts(tenant, self.objects.namespace_owners([name]))
            if refusal is not None:
                raise _LostNamespaceError(refusal) from error
            self.kube.apply(manifest, field_manager=labels.FIELD_MANAGER, force=True)

    def _prune(self, tenant: Tenant, stale: Iterable[Manifest]) -> _Pruned:
        """Remove what the Tenant no longer wants; its sync objects as its deletionPolicy says."""
        pruned = _Pruned()
        stale = list(stale)
        syncs = [obj for obj in stale if obj["kind"] in desired.SYNC_KINDS]
        # ``spec.sync`` removed: the Kustomization's finalizer must not prune what an
        # Orphan tenant keeps (nor follow a policy left by another version or spec).
        pruned.waiting = self.objects.delete_sync(syncs, desired.deletion_policy(tenant))
        pruned.removed = [key for key in map(ObjectKey.of, syncs) if key not in pruned.waiting]
        rest = (obj for obj in stale if obj["kind"] not in desired.SYNC_KINDS)
        for obj in sorted(rest, key=live.teardown_order):
            key = ObjectKey.of(obj)
            if key.kind == "Namespace" and tenant.spec.deletion_policy == tenant_api.ORPHAN:
                self.objects.release_namespace(key.name)
            else:
                self.objects.delete(key)
            pruned.removed.append(key)
        return pruned

    def _record_drift(self, body: dict[str, Any], changed: list[ObjectKey]) -> None:
        if self.metrics is not None:
            for key in changed:
                self.metrics.tenant_drift_repairs_total.labels(kind=key.kind).inc()
        events.record(
            self.home,
            body,
            reason=reasons.DRIFT_REPAIRED,
            message="restored " + ", ".join(str(key) for key in changed) + self._on(),
        )
        log.info(
            "drift repaired",
            extra={"tenant": body["metadata"]["name"], "objects": [str(key) for key in changed]},
        )


@dataclasses.dataclass
class _Pruned:
    """What a prune removed, and the sync objects patched to be removed on the next pass."""

    removed: list[ObjectKey] = dataclasses.field(default_factory=list)
    waiting: list[ObjectKey] = dataclasses.field(default_factory=list)


class _LostNamespaceError(Exception):
    """Another tenant claimed a namespace first."""

    def __init__(self, refusal: validation.Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


def _shard(obj: Manifest) -> str | None:
    return ((obj.get("metadata") or {}).get("labels") or {}).get(labels.SHARD)


def _same_shard(found: Manifest, wanted: Manifest) -> bool:
    """Whether ``found`` carries the shard label ``wanted`` does (a removed label is a change)."""
    return _shard(found) == _shard(wanted)
