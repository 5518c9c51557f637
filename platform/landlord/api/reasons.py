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
DECRYPTION_FAILED = "DecryptionFailed"
PLAINTEXT_SECRET = "PlaintextSecretRefused"  # noqa: S105 - a reason, not a secret
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
# spec.cluster / spec.kubeConfig: no such registered Cluster, the tenant is not
# provisioned there, or it cannot be reached now.
CLUSTER_NOT_FOUND = "ClusterNotFound"
CLUSTER_NOT_PROVISIONED = "ClusterNotProvisioned"
CLUSTER_UNREACHABLE = "ClusterUnreachable"
# Entries on a cluster the Kustomization left wait there: it cannot be reached
# (or now answers with another identity); retried until pruned or orphaned.
PRUNE_BLOCKED = "PruneBlocked"
# The Event when entries on a cluster removed from the registry are let go.
ORPHANED = "Orphaned"
# The Event when a Kustomization's target cluster changed.
TARGET_CHANGED = "TargetChanged"
DRIFT_REPAIRED = "DriftRepaired"
# Deletion (spec.deletionPolicy): waiting for pruned objects to be gone, and giving up.
WAITING_FOR_TERMINATION = "WaitingForTermination"
TERMINATION_TIMEOUT = "TerminationTimeout"
# A prune the tenant's identity could not do by the deletion deadline: left undone.
PRUNE_ABANDONED = "PruneAbandoned"
TERMINATED = "Terminated"

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
# Offboarding from a cluster removed from spec.clusters.
OFFBOARDED_CLUSTER = "OffboardedFromCluster"

# -- Cluster -----------------------------------------------------------------------
CLUSTER_REACHABLE = "Reachable"
KUBECONFIG_REFUSED = "KubeconfigRefused"
KUBECONFIG_NOT_FOUND = "KubeconfigNotFound"
IDENTITY_CHANGED = "IdentityChanged"
# The operator's own cluster, or one already registered under another name.
DUPLICATE_IDENTITY = "DuplicateIdentity"
# Deletion held: Tenants or inventories still have objects on the cluster.
CLUSTER_IN_USE = "ClusterInUse"

# -- HelmRepository / HelmRelease ----------------------------------------------------
# HelmRepository: SOURCE_SUCCEEDED, NEW_ARTIFACT, INVALID_SOURCE and POLICY_DENIED as a
# GitRepository, plus an index that cannot be used.
INDEX_INVALID = "IndexInvalid"
# HelmRelease, before Helm runs: the source has no index yet, no chart version matches,
# the archive is refused or cannot be fetched, the values cannot be read.
SOURCE_NOT_READY = "SourceNotReady"
CHART_NOT_FOUND = "ChartNotFound"
CHART_INVALID = "ChartInvalid"
CHART_PULL_FAILED = "ChartPullFailed"
VALUES_FAILED = "ValuesFailed"
RENDER_FAILED = "RenderFailed"
POST_RENDER_FAILED = "PostRenderFailed"
# The Released, TestSuccess and Remediated conditions (Flux's reasons).
RELEASED = "Released"  # a condition type
TEST_SUCCESS = "TestSuccess"  # a condition type
REMEDIATED = "Remediated"  # a condition type
INSTALL_SUCCEEDED = "InstallSucceeded"
INSTALL_FAILED = "InstallFailed"
UPGRADE_SUCCEEDED = "UpgradeSucceeded"
UPGRADE_FAILED = "UpgradeFailed"
TEST_SUCCEEDED = "TestSucceeded"
TEST_FAILED = "TestFailed"
ROLLBACK_SUCCEEDED = "RollbackSucceeded"
ROLLBACK_FAILED = "RollbackFailed"
UNINSTALL_SUCCEEDED = "UninstallSucceeded"
UNINSTALL_FAILED = "UninstallFailed"
RETRIES_EXCEEDED = "RetriesExceeded"
# driftDetection: warn mode reports (an Event), enabled mode repairs (DRIFT_REPAIRED).
DRIFT_DETECTED = "DriftDetected"
DRIFT_REPAIR_FAILED = "DriftRepairFailed"

# -- OCIRepository (also: INVALID_SOURCE, SECRET_NOT_FOUND, ARTIFACT_TOO_LARGE above,
# and the registry client's own: FetchFailed, AuthenticationFailed, ArtifactNotFound…)
INSECURE_NOT_ALLOWED = "InsecureNotAllowed"  # spec.insecure without LANDLORD_OCI__ALLOW_INSECURE
PROVIDER_NOT_SUPPORTED = "ProviderNotSupported"  # spec.provider other than generic
VERIFICATION_NOT_SUPPORTED = "VerificationNotSupported"  # spec.verify (not implemented yet)
LAYER_NOT_FOUND = "LayerNotFound"  # no layer matches spec.layerSelector.mediaType

# -- ImageRepository, ImagePolicy, ImageUpdateAutomation (also: POLICY_DENIED,
# SECRET_NOT_FOUND, DEPENDENCY_NOT_READY, INSECURE_NOT_ALLOWED above, and the registry
# client's own: FetchFailed, AuthenticationFailed, TooManyTags…)
INVALID_IMAGE = "InvalidImage"  # spec.image is no image name (or carries a tag or digest)
INVALID_POLICY = "InvalidPolicy"  # a semver range, filterTags pattern or extract that is no good
NO_MATCHING_TAG = "NoMatchingTag"  # no scanned tag qualifies under the ImagePolicy
NEW_IMAGE = "NewImage"  # the Event when an ImagePolicy's latestImage moved
PUSH_NOT_ALLOWED = "PushNotAllowed"  # the repository is another tenant's or the platform's
UPDATE_FAILED = "UpdateFailed"  # the markers could not be rewritten (a file too large, a bad path)
INVALID_TEMPLATE = "InvalidTemplate"  # spec.git.commit.messageTemplate outside the subset
COMMIT_PUSHED = "CommitPushed"  # the Event naming what an automation committed
