"""Labels, annotations, names and the finalizer Landlord puts on objects."""

from __future__ import annotations

PREFIX = "landlord.dev/"
TENANT = PREFIX + "tenant"
KUSTOMIZATION_NAME = PREFIX + "kustomization-name"
KUSTOMIZATION_NAMESPACE = PREFIX + "kustomization-namespace"
RECONCILE = PREFIX + "reconcile"
PRUNE = PREFIX + "prune"
FORCE = PREFIX + "force"
REQUESTED_AT = PREFIX + "requested-at"
FINALIZER = PREFIX + "finalizer"

FIELD_MANAGER = "landlord"
RECONCILER_SERVICE_ACCOUNT = "landlord-reconciler"
RECONCILER_BINDING = "landlord-reconciler"
OWNERS_BINDING = "landlord-owners"
QUOTA = "landlord-quota"
LIMIT_RANGE = "landlord-limits"
ISOLATION_POLICY = "landlord-isolation"

PSA_PREFIX = "pod-security.kubernetes.io/"
