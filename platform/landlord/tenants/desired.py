"""A Tenant's desired objects: a pure function of the Tenant and the feature switches.

Every object carries the ``landlord.dev/tenant`` label, which is how the
operator finds (and prunes, and offboards) what it made.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from landlord import api
from landlord.api import cluster as cluster_api
from landlord.api import gitrepository, helmrelease, helmrepository, kustomization, labels
from landlord.api import tenant as tenant_api
from landlord.api.tenant import Tenant
from landlord.tenants.features import Features

Manifest = dict[str, Any]

RBAC_GROUP = "rbac.authorization.k8s.io"


@dataclasses.dataclass(frozen=True, order=True)
class ObjectKey:
    """What identifies an object: API version, kind, namespace (or ""), name."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, manifest: Manifest) -> ObjectKey:
        """The key of a manifest or a live object."""
        metadata = manifest["metadata"]
        return cls(
            manifest["apiVersion"],
            manifest["kind"],
            metadata.get("namespace") or "",
            metadata["name"],
        )

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


# Kinds the operator manages, in apply order (namespaces first, then identities,
# then the rest). Offboarding and pruning walk them in reverse.
MANAGED_KINDS: tuple[tuple[str, str], ...] = (
    ("v1", "Namespace"),
    ("v1", "ServiceAccount"),
    (f"{RBAC_GROUP}/v1", "RoleBinding"),
    ("v1", "ResourceQuota"),
    ("v1", "LimitRange"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    (api.API_VERSION, gitrepository.KIND),
    (api.API_VERSION, helmrepository.KIND),
    (api.API_VERSION, kustomization.KIND),
    (api.API_VERSION, helmrelease.KIND),
)
_ORDER = {kind: index for index, (_, kind) in enumerate(MANAGED_KINDS)}
# The tenant's sync: its CRDs may be missing, and offboarding lets it finish first.
SYNC_KINDS = tenant_api.SYNC_KINDS


def apply_order(manifest: Manifest) -> int:
    """Where a manifest's kind comes in :data:`MANAGED_KINDS` (teardown sorts by its negative)."""
    return _ORDER[manifest["kind"]]


def _metadata(
    tenant: Tenant,
    name: str,
    namespace: str | None = None,
    extra_labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": name,
        "labels": {labels.TENANT: tenant.name, **(extra_labels or {})},
    }
    if tenant.shard:  # the Tenant's shard handles all of it (landlord.runtime.shards)
        metadata["labels"][labels.SHARD] = tenant.shard
    if namespace is not None:
        metadata["namespace"] = namespace
    return metadata


def _traced(tenant: Tenant, metadata: dict[str, Any]) -> dict[str, Any]:
    """Carry the Tenant's onboarding request on to its sync, for one trace end to end."""
    if tenant.traceparent:
        metadata["annotations"] = {labels.TRACEPARENT: tenant.traceparent}
    return metadata


def namespace(tenant: Tenant, name: str) -> Manifest:
    """A tenant namespace with Pod Security Admission enforcing ``spec.podSecurity``."""
    level: str = tenant.spec.pod_security
    psa: dict[str, str] = {
        f"{labels.PSA_PREFIX}{mode}": level for mode in ("enforce", "audit", "warn")
    }
    psa[f"{labels.PSA_PREFIX}enforce-version"] = "latest"
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _metadata(tenant, name, extra_labels=psa),
    }


def reconciler_subjects(tenant: Tenant) -> list[dict[str, str]]:
    """The reconciler service account of every tenant namespace.

    A sync in one tenant namespace may apply to the tenant's other namespaces,
    so each namespace's binding names all of them.
    """
    return [
        {"kind": "ServiceAccount", "name": labels.RECONCILER_SERVICE_ACCOUNT, "namespace": ns}
        for ns in tenant.namespaces
    ]


def owner_subjects(tenant: Tenant) -> list[dict[str, str]]:
    """``spec.owners`` as RBAC subjects (service accounts default to the home namespace)."""
    subjects = []
    for owner in tenant.spec.owners:
        if owner.kind == "ServiceAccount":
            subjects.append(
                {
                    "kind": "ServiceAccount",
                    "name": owner.name,
                    "namespace": owner.namespace or tenant.home_namespace,
                }
            )
        else:
            subjects.append({"kind": owner.kind, "name": owner.name, "apiGroup": RBAC_GROUP})
    return subjects


def operator_access(tenant: Tenant, ns: str, platform_namespace: str) -> Manifest:
    """The operator's access to a tenant namespace: impersonate its accounts, read its Secrets.

    Granted here and nowhere else (docs/install.md, "What the operator may do").
    """
    subject = {
        "kind": "ServiceAccount",
        "name": labels.OPERATOR_ACCOUNT,
        "namespace": platform_namespace,
    }
    return _role_binding(
        tenant, ns, labels.OPERATOR_ACCESS_BINDING, labels.OPERATOR_ACCESS_ROLE, [subject]
    )


def _role_binding(
    tenant: Tenant, ns: str, name: str, role: str, subjects: list[dict[str, str]]
) -> Manifest:
    return {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": "RoleBinding",
        "metadata": _metadata(tenant, name, ns),
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
        "subjects": subjects,
    }


def isolation_policy(tenant: Tenant, ns: str, platform_namespace: str) -> Manifest:
    """Deny ingress from other tenants; allow this tenant's namespaces and the platform's."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(tenant, labels.ISOLATION_POLICY, ns),
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"podSelector": {}},
                        {"namespaceSelector": {"matchLabels": {labels.TENANT: tenant.name}}},
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": platform_namespace}
                            }
                        },
                    ]
                }
            ],
        },
    }


def _sync_object(tenant: Tenant, kind: str, spec: dict[str, Any]) -> Manifest:
    """The tenant's GitRepository or Kustomization: in its home namespace, named after it."""
    if tenant.spec.suspend:
        spec["suspend"] = True
    return {
        "apiVersion": api.API_VERSION,
        "kind": kind,
        "metadata": _traced(tenant, _metadata(tenant, tenant.name, tenant.home_namespace)),
        "spec": spec,
    }


def git_repository(tenant: Tenant) -> Manifest | None:
    """The tenant's GitRepository, from ``spec.source``."""
    source = tenant.spec.source
    if source is None:
        return None
    spec: dict[str, Any] = {"url": source.url, "interval": source.interval}
    if source.ref is not None:
        spec["ref"] = source.ref.model_dump(exclude_none=True)
    if source.secret_ref is not None:
        spec["secretRef"] = {"name": source.secret_ref.name}
    return _sync_object(tenant, gitrepository.KIND, spec)


def sync(tenant: Tenant) -> Manifest | None:
    """The tenant's Kustomization, from ``spec.sync`` (it runs as the reconciler account).

    Its ``deletionPolicy`` carries the Tenant's promise: an Orphan tenant's
    Kustomization is Orphan too, so deleting it (offboarding, or ``spec.sync``
    removed) never prunes what it applied; otherwise MirrorPrune (``prune`` decides).
    """
    wanted = tenant.spec.sync
    if wanted is None or tenant.spec.source is None:
        return None
    spec: dict[str, Any] = {
        "sourceRef": {"kind": gitrepository.KIND, "name": tenant.name},
        "path": wanted.path,
        "interval": wanted.interval,
        "prune": wanted.prune,
        "serviceAccountName": labels.RECONCILER_SERVICE_ACCOUNT,
        "deletionPolicy": deletion_policy(tenant),
    }
    # Always set, local too: provisioning applies only when the live object lacks a
    # wanted field, so a field left out would never be taken back.
    spec["cluster"] = wanted.cluster or cluster_api.LOCAL  # the policy's target point decides
    # Always set (empty too), for the same reason: a dependsOn removed from the Tenant
    # must leave the Kustomization, and the policy's record of its cross-tenant edge.
    spec["dependsOn"] = [dep.model_dump(exclude_none=True) for dep in wanted.depends_on]
    if wanted.decryption is not None:
        spec["decryption"] = wanted.decryption.model_dump(by_alias=True, exclude_none=True)
    return _sync_object(tenant, kustomization.KIND, spec)


def helm_objects(tenant: Tenant) -> list[Manifest]:
    """The HelmRepositories and HelmReleases the Tenant provides, in its home namespace.

    A release runs as the tenant's reconciler account (as one the tenant declared);
    an Orphan tenant's releases stay installed when offboarding deletes them.
    """
    objects: list[Manifest] = []
    for repository in tenant.spec.helm_repositories:
        spec = repository.model_dump(by_alias=True, exclude_none=True, exclude={"name"})
        if tenant.spec.suspend:
            spec["suspend"] = True
        objects.append(
            {
                "apiVersion": api.API_VERSION,
                "kind": helmrepository.KIND,
                "metadata": _metadata(tenant, repository.name, tenant.home_namespace),
                "spec": spec,
            }
        )
    for release in tenant.spec.helm_releases:
        spec = release.model_dump(
            by_alias=True, exclude_none=True, exclude={"name"}, exclude_defaults=False
        )
        spec = {k: v for k, v in spec.items() if v not in ((), [])}
        if tenant.spec.suspend:
            spec["suspend"] = True
        metadata = _traced(tenant, _metadata(tenant, release.name, tenant.home_namespace))
        if tenant.spec.deletion_policy == tenant_api.ORPHAN:
            metadata.setdefault("annotations", {})[labels.DELETION_POLICY] = tenant_api.ORPHAN
        objects.append(
            {
                "apiVersion": api.API_VERSION,
                "kind": helmrelease.KIND,
                "metadata": metadata,
                "spec": spec,
            }
        )
    return objects


def desired_objects(
    tenant: Tenant, features: Features, *, platform_namespace: str
) -> list[Manifest]:
    """Everything the Tenant should have, in apply order."""
    objects: list[Manifest] = [namespace(tenant, ns) for ns in tenant.namespaces]
    for ns in tenant.namespaces:
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": _metadata(tenant, labels.RECONCILER_SERVICE_ACCOUNT, ns),
            }
        )
    for ns in tenant.namespaces:
        objects.append(operator_access(tenant, ns, platform_namespace))
        objects.append(
            _role_binding(
                tenant,
                ns,
                labels.RECONCILER_BINDING,
                tenant.spec.reconciler_role,
                reconciler_subjects(tenant),
            )
        )
        if tenant.spec.owners:
            objects.append(
                _role_binding(
                    tenant,
                    ns,
                    labels.OWNERS_BINDING,
                    tenant.spec.owner_role,
                    owner_subjects(tenant),
                )
            )
    for ns in tenant.namespaces:
        if features.quotas and tenant.spec.quota:
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "ResourceQuota",
                    "metadata": _metadata(tenant, labels.QUOTA, ns),
                    "spec": {"hard": {k: str(v) for k, v in tenant.spec.quota.items()}},
                }
            )
        if features.limit_ranges and tenant.spec.limit_range:
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "LimitRange",
                    "metadata": _metadata(tenant, labels.LIMIT_RANGE, ns),
                    "spec": {"limits": [dict(item) for item in tenant.spec.limit_range]},
                }
            )
        if features.network_isolation and tenant.spec.network_isolation:
            objects.append(isolation_policy(tenant, ns, platform_namespace))
    for extra in (git_repository(tenant), sync(tenant)):
        if extra is not None:
            objects.append(extra)
    objects.extend(helm_objects(tenant))
    return sorted(objects, key=apply_order)


def remote_objects(
    tenant: Tenant, features: Features, *, platform_namespace: str
) -> list[Manifest]:
    """What the Tenant should have on a registered cluster: its namespaces and access there.

    Not its sources and syncs (those live on the operator's own cluster), nor the
    operator's access binding (the registry credential is the operator's there).
    """
    return [
        obj
        for obj in desired_objects(tenant, features, platform_namespace=platform_namespace)
        if obj["kind"] not in SYNC_KINDS
        and obj["metadata"]["name"] != labels.OPERATOR_ACCESS_BINDING
    ]


def deletion_policy(tenant: Tenant) -> kustomization.DeletionPolicy:
    """The ``deletionPolicy`` of the tenant's Kustomization (see :func:`sync`)."""
    return sync_deletion_policy(tenant.spec.deletion_policy)


def sync_deletion_policy(tenant_policy: str) -> kustomization.DeletionPolicy:
    """The Kustomization's ``deletionPolicy`` for a Tenant's (Orphan keeps, else MirrorPrune)."""
    if tenant_policy == tenant_api.ORPHAN:
        return kustomization.ORPHAN
    return kustomization.MIRROR_PRUNE
