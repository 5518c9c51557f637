"""Labels, annotations, names and the finalizer Landlord puts on objects."""

from __future__ import annotations

PREFIX = "landlord.dev/"
TENANT = PREFIX + "tenant"
# On an Event Landlord posts: the revision it is about (alerts and commit statuses read it).
REVISION = PREFIX + "revision"
KUSTOMIZATION_NAME = PREFIX + "kustomization-name"
KUSTOMIZATION_NAMESPACE = PREFIX + "kustomization-namespace"
# On every object a HelmRelease installed (its audit trail and drift watch; never pruned by).
HELMRELEASE_NAME = PREFIX + "helmrelease-name"
HELMRELEASE_NAMESPACE = PREFIX + "helmrelease-namespace"
RECONCILE = PREFIX + "reconcile"
PRUNE = PREFIX + "prune"
FORCE = PREFIX + "force"
REQUESTED_AT = PREFIX + "requested-at"
# Which operator deployment handles a Tenant (and, copied, everything it owns).
SHARD = PREFIX + "shard"
FINALIZER = PREFIX + "finalizer"
# On a HelmRelease a Tenant provides: ``Orphan`` when the Tenant's deletionPolicy is
# Orphan, so deleting the HelmRelease (offboarding) leaves the release installed.
DELETION_POLICY = PREFIX + "deletion-policy"

FIELD_MANAGER = "landlord"
RECONCILER_SERVICE_ACCOUNT = "landlord-reconciler"
RECONCILER_BINDING = "landlord-reconciler"
OWNERS_BINDING = "landlord-owners"
QUOTA = "landlord-quota"
LIMIT_RANGE = "landlord-limits"
ISOLATION_POLICY = "landlord-isolation"
# The operator's own service account (in the platform namespace), and what it
# gets in each tenant namespace and nowhere else: impersonating that namespace's
# service accounts and reading its Secrets (ClusterRole OPERATOR_ACCESS_ROLE,
# bound there by RoleBinding OPERATOR_ACCESS_BINDING).
OPERATOR_ACCOUNT = "landlord-operator"
OPERATOR_ACCESS_ROLE = "landlord-operator-tenant"
OPERATOR_ACCESS_BINDING = "landlord-operator"

PSA_PREFIX = "pod-security.kubernetes.io/"

# Written by the onboarding API on the Tenants it commits (and copied by the
# tenant operator onto the tenant's GitRepository and Kustomization): the request
# that asked for this state, for the audit trail.
TRACEPARENT = PREFIX + "traceparent"
# On an Event: the trace of the reconcile that posted it (when tracing is on).
TRACE_ID = PREFIX + "trace-id"
REQUEST_ID = PREFIX + "request-id"
REQUESTED_BY = PREFIX + "requested-by"
REQUEST_TIME = PREFIX + "request-time"
REQUEST_OPERATION = PREFIX + "request-operation"
RECEIVER = PREFIX + "receiver"

# The requests the operator decided (`landlord policy diff --live`): ConfigMaps in the
# platform namespace labelled POLICY_REQUESTS "true", the document under
# POLICY_REQUESTS_KEY, when it was written (RFC 3339) under RECORDED_AT.
POLICY_REQUESTS = PREFIX + "policy-requests"
POLICY_REQUESTS_KEY = "requests.json.gz"
RECORDED_AT = PREFIX + "recorded-at"
# On those ConfigMaps too: how many requests the document holds, and the policy in force.
POLICY_REQUESTS_COUNT = PREFIX + "requests"
POLICY_DIGEST = PREFIX + "policy-digest"
