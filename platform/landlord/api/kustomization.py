"""The Kustomization spec, as typed models with its defaults in one place.

Field names, types and enums are the CRD's (``crds/landlord.dev_kustomizations.yaml``);
the apiserver checks names and patterns, so the model holds only what the sync
reads. The CRD is structural (unknown fields are pruned by the apiserver), so
an unknown field here is an error, not something to ignore.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

KIND = "Kustomization"

# The defaults, here and nowhere else (the CRD repeats interval, path, prune, wait,
# force and suspend so that `kubectl get -o yaml` shows them).
DEFAULT_PATH = "./"
DEFAULT_INTERVAL = "10m"
# retryInterval unset: the interval, but never more than this.
RETRY_INTERVAL_CAP = "30s"
# timeout unset: how long health checks and WaitForTermination wait.
DEFAULT_TIMEOUT = "5m"

DeletionPolicy = Literal["MirrorPrune", "Delete", "WaitForTermination", "Orphan"]
MIRROR_PRUNE: DeletionPolicy = "MirrorPrune"
DELETE: DeletionPolicy = "Delete"
WAIT_FOR_TERMINATION: DeletionPolicy = "WaitForTermination"
ORPHAN: DeletionPolicy = "Orphan"


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)


class SourceReference(_Model):
    """``spec.sourceRef``: the GitRepository or OCIRepository whose artifact is applied."""

    kind: Literal["GitRepository", "OCIRepository"]
    name: str
    namespace: str | None = None


class HealthCheck(_Model):
    """One object whose health decides Ready (``apiVersion`` defaults to ``apps/v1``)."""

    api_version: str | None = Field(default=None, alias="apiVersion")
    kind: str
    name: str
    namespace: str | None = None


class DependencyReference(_Model):
    """A Kustomization that must be Ready first (in the same namespace unless set)."""

    name: str
    namespace: str | None = None


class SubstituteReference(_Model):
    """A ConfigMap or Secret whose data are postBuild variables."""

    kind: Literal["ConfigMap", "Secret"]
    name: str
    optional: bool | None = None


class PostBuild(_Model):
    """``${var}`` substitution after the build."""

    substitute: dict[str, str] | None = None
    substitute_from: tuple[SubstituteReference, ...] | None = Field(
        default=None, alias="substituteFrom"
    )


class DecryptionSecretRef(_Model):
    """The Secret, beside the Kustomization, whose ``*.agekey`` entries decrypt it."""

    name: str


class Decryption(_Model):
    """``spec.decryption`` (Flux's): SOPS, with age keys from a Secret read as the tenant."""

    provider: Literal["sops"]
    secret_ref: DecryptionSecretRef | None = Field(default=None, alias="secretRef")


class KubeConfigSecretRef(_Model):
    """A Secret holding a kubeconfig for a remote target cluster."""

    name: str
    key: str | None = None


class KubeConfig(_Model):
    """``spec.kubeConfig`` (Flux's): the kubeconfig Secret of a registered Cluster."""

    secret_ref: KubeConfigSecretRef | None = Field(default=None, alias="secretRef")


class KustomizationSpec(_Model):
    """``Kustomization.spec``."""

    source_ref: SourceReference = Field(alias="sourceRef")
    path: str = DEFAULT_PATH
    interval: str = DEFAULT_INTERVAL
    retry_interval: str | None = Field(default=None, alias="retryInterval")
    timeout: str | None = None
    prune: bool = True
    wait: bool = False
    health_checks: tuple[HealthCheck, ...] | None = Field(default=None, alias="healthChecks")
    depends_on: tuple[DependencyReference, ...] | None = Field(default=None, alias="dependsOn")
    service_account_name: str | None = Field(default=None, alias="serviceAccountName")
    target_namespace: str | None = Field(default=None, alias="targetNamespace")
    post_build: PostBuild | None = Field(default=None, alias="postBuild")
    decryption: Decryption | None = None
    force: bool = False
    suspend: bool = False
    kube_config: KubeConfig | None = Field(default=None, alias="kubeConfig")
    cluster: str | None = None
    deletion_policy: DeletionPolicy | None = Field(default=None, alias="deletionPolicy")

    @classmethod
    def of(cls, body: dict[str, Any]) -> KustomizationSpec:
        """The spec of an apiserver object (raises pydantic.ValidationError on a bad one)."""
        return cls.model_validate(body.get("spec") or {})

    def source_namespace(self, own: str) -> str:
        """Where the source lives: its namespace, or the Kustomization's own."""
        return self.source_ref.namespace or own

    def dependencies(self, own: str) -> list[tuple[str, str]]:
        """``(namespace, name)`` of each dependsOn, in order."""
        return [(dep.namespace or own, dep.name) for dep in self.depends_on or ()]

    def durations(self) -> dict[str, str]:
        """The duration fields that are set (``interval``, ``retryInterval``, ``timeout``)."""
        fields = {
            "interval": self.interval,
            "retryInterval": self.retry_interval,
            "timeout": self.timeout,
        }
        return {name: value for name, value in fields.items() if value}

    @property
    def effective_deletion_policy(self) -> DeletionPolicy:
        """``deletionPolicy``, MirrorPrune when unset."""
        return self.deletion_policy or MIRROR_PRUNE

    @property
    def prunes_on_deletion(self) -> bool:
        """Whether deleting the Kustomization deletes what it applied (Flux's meaning).

        MirrorPrune follows ``prune``; Delete and WaitForTermination prune
        whatever ``prune`` says; Orphan keeps everything.
        """
        policy = self.effective_deletion_policy
        if policy == ORPHAN:
            return False
        return self.prune if policy == MIRROR_PRUNE else True
