"""Condition reasons: every ``reason`` Landlord writes into a condition or an Event.

Kept beside the API types, as Flux keeps its reasons beside its types, so that
a reason is spelt once and a tenant's tooling can rely on the list. Each
section belongs to one kind; a reason shared by several kinds sits in Common.
"""

from __future__ import annotations

# -- Common ----------------------------------------------------------------------
SUCCEEDED = "ReconciliationSucceeded"
PROGRESSING = "Progressing"
POLICY_DENIED = "PolicyDenied"
INVALID_SPEC = "InvalidSpec"
BUDGET_EXCEEDED = "BudgetExceeded"
INVALID_DURATION = "InvalidDuration"
IDLE = "Idle"
NOT_STALLED = "NotStalled"

# -- Kustomization -----------------------------------------------------------------
ARTIFACT_FAILED = "ArtifactFailed"
BUILD_FAILED = "BuildFailed"
SANDBOX_UNAVAILABLE = "SandboxUnavailable"
VALIDATION_FAILED = "ValidationFailed"
APPLY_FAILED = "ApplyFailed"
PRUNE_FAILED = "PruneFailed"
HEALTHY = "Healthy"  # a condition type, beside Ready
HEALTH_CHECK_FAILED = "HealthCheckFailed"
HEALTH_SUCCEEDED = "Succeeded"
DEPENDENCY_NOT_READY = "DependencyNotReady"
DEPENDENCY_CYCLE = "DependencyCycle"
SERVICE_ACCOUNT_NOT_FOUND = "ServiceAccountNotFound"
TARGET_NOT_SUPPORTED = "TargetNotSupported"
DRIFT_REPAIRED = "DriftRepaired"
# Deletion (spec.deletionPolicy): waiting for pruned objects to be gone, and giving up.
WAITING_FOR_TERMINATION = "WaitingForTermination"
TERMINATION_TIMEOUT = "TerminationTimeout"
# A prune the tenant's identity could not do by the deletion deadline: left undone.
PRUNE_ABANDONED = "PruneAbandoned"
TERMINATED = "Terminated"
# An inventory recorded for another cluster is never pruned through this one.
INVENTORY_OF_OTHER_CLUSTER = "InventoryOfOtherCluster"

# -- GitRepository -----------------------------------------------------------------
SOURCE_SUCCEEDED = "Succeeded"  # an artifact is stored for the revision the ref selects
NEW_ARTIFACT = "NewArtifact"  # the Event when that revision changed
INVALID_SOURCE = "InvalidSource"
REF_NOT_FOUND = "RefNotFound"
SECRET_NOT_FOUND = "SecretNotFound"  # noqa: S105 - a reason, not a secret
ARTIFACT_TOO_LARGE = "ArtifactTooLarge"

# -- Tenant ------------------------------------------------------------------------
PROVISIONED = "Provisioned"
PROVISIONING_FAILED = "ProvisioningFailed"
RESERVED_NAMESPACE = "ReservedNamespace"
ROLE_NOT_ALLOWED = "RoleNotAllowed"
POD_SECURITY_NOT_ALLOWED = "PodSecurityNotAllowed"
NAMESPACE_CONFLICT = "NamespaceConflict"
PRUNED = "Pruned"  # the Event when objects the Tenant no longer wants were removed
OFFBOARDING = "Offboarding"
# The Warning when offboarding stopped waiting for the tenant's sync objects at its deadline.
OFFBOARDING_DEADLINE = "OffboardingDeadlineExceeded"
NAMESPACE_STUCK = "NamespaceStuck"
