"""What a Tenant has in the cluster, and the small writes provisioning and offboarding share.

Every object the operator made carries the ``landlord.dev/tenant`` label; that
label is how it is found here. Writes go through ``landlord.kube`` as the
operator's own identity.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from landlord import errors
from landlord.api import kustomization, labels
from landlord.kube import Kube, finalizers
from landlord.tenants import desired
from landlord.tenants.desired import Manifest, ObjectKey
from landlord.tenants.liveindex import LiveIndex


class TenantObjects:
    """Reads and writes a Tenant's objects through one Kubernetes connection."""

    def __init__(self, kube: Kube, index: LiveIndex | None = None) -> None:
        self.kube = kube
        self.index = index  # the watches' view of the labelled objects (None: list each time)

    def live(self, tenant: str) -> dict[ObjectKey, Manifest]:
        """Every object of the managed kinds that carries this tenant's label, in its namespaces.

        Anyone may put the label on an object in another namespace: such an object is
        not the tenant's, and is neither changed nor deleted (nor waited for).
        The kinds the index has in sync are read from it; the others are listed.
        """
        selector = f"{labels.TENANT}={tenant}"
        found: dict[ObjectKey, Manifest] = {}
        kinds = list(desired.MANAGED_KINDS)
        if self.index is not None:
            synced = [kind for kind in kinds if self.index.synced(kind)]
            cached = self.index.live(tenant, synced)
            if cached is not None:
                found.update(cached)
                kinds = [kind for kind in kinds if kind not in synced]
        for api_version, kind in kinds:
            try:
                items = self.kube.list_objects(api_version, kind, label_selector=selector)
            except errors.ApiError as error:
                if error.not_found and kind in desired.SYNC_KINDS:
                    continue  # their CRDs are not installed: nothing of theirs to find
                raise
            for item in items:
                found[ObjectKey.of(item)] = item
        own = {key.name for key in found if key.kind == "Namespace"}
        return {key: obj for key, obj in found.items() if not key.namespace or key.namespace in own}

    def exists(self, key: ObjectKey) -> bool:
        """Whether the object is still there (a terminating one counts)."""
        return self.kube.get(key.api_version, key.kind, key.name, key.namespace or None) is not None

    def delete(self, key: ObjectKey) -> None:
        """Delete the object (gone already is fine)."""
        self.kube.delete(key.api_version, key.kind, key.name, key.namespace or None)

    def delete_sync(self, syncs: Iterable[Manifest], deletion_policy: str) -> list[ObjectKey]:
        """Delete the tenant's sync objects; what they applied goes as ``deletion_policy`` says.

        A Kustomization's finalizer acts on the spec it is deleted with: one whose
        ``deletionPolicy`` (as read) is another is patched and not deleted yet; it
        goes on a later call, once a read shows the policy. Returns those keys.
        Offboarding and provisioning (``spec.sync`` removed) both delete through here.
        """
        patched = []
        for obj in syncs:
            key = ObjectKey.of(obj)
            if key.kind == kustomization.KIND and _policy(obj) != deletion_policy:
                self.kube.merge_patch(
                    key.api_version,
                    key.kind,
                    key.name,
                    {"spec": {"deletionPolicy": deletion_policy}},
                    key.namespace,
                )
                patched.append(key)
            else:
                self.delete(key)
        return patched

    def namespace_owners(self, names: Iterable[str]) -> dict[str, str | None]:
        """Each existing namespace of ``names`` and the tenant its label names (None: none)."""
        owners: dict[str, str | None] = {}
        for ns in names:
            labelled = self.index.labelled_namespace(ns) if self.index is not None else None
            if labelled is not None:  # the watch saw it with a tenant's label
                owners[ns] = labelled
                continue
            obj = self.kube.get("v1", "Namespace", ns)
            if obj is not None:
                owners[ns] = (obj["metadata"].get("labels") or {}).get(labels.TENANT)
        return owners

    def release_namespace(self, name: str) -> None:
        """Keep the namespace and its workloads, but no longer as a tenant's."""
        self.kube.merge_patch(
            "v1", "Namespace", name, {"metadata": {"labels": {labels.TENANT: None}}}
        )

    def ensure_finalizer(self, body: dict[str, Any]) -> None:
        """Hold the Tenant's deletion until offboarding is done."""
        finalizers.add(self.kube, body, labels.FINALIZER)

    def remove_finalizer(self, body: dict[str, Any]) -> None:
        """Let the Tenant go (a Tenant already gone is fine)."""
        finalizers.remove(self.kube, body, labels.FINALIZER)


def _policy(obj: Manifest) -> object:
    """A Kustomization's ``deletionPolicy`` as its finalizer reads it (unset: MirrorPrune)."""
    return (obj.get("spec") or {}).get("deletionPolicy") or kustomization.MIRROR_PRUNE


def teardown_order(obj: Manifest) -> int:
    """Sort key that walks :data:`desired.MANAGED_KINDS` backwards (access before namespaces)."""
    return -desired.apply_order(obj)
