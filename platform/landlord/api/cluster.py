"""The Cluster kind: a registered target cluster, reached with a kubeconfig Secret.

Platform-owned, in the platform namespace. ``local`` is not a Cluster object:
it names the cluster the operator runs in (where Tenants, sources and syncs
live), and no Cluster may take that name.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

KIND = "Cluster"
# The operator's own cluster: always there, never registered.
LOCAL = "local"
DEFAULT_KEY = "value"  # Flux's key for a kubeconfig in a Secret
DEFAULT_INTERVAL = "1m"
# spec.deletionPolicy: Block holds the deletion while a Tenant is provisioned there
# or an inventory records objects there; Orphan lets it go, leaving those objects.
DeletionPolicy = Literal["Block", "Orphan"]
BLOCK: DeletionPolicy = "Block"
ORPHAN: DeletionPolicy = "Orphan"
# The first identity a Cluster answered with is pinned in status.identity; the platform
# accepts another (a re-pointed registration) by naming it in this annotation.
IDENTITY_ANNOTATION = "landlord.dev/identity"
REACHABLE = "Reachable"  # a condition type, beside Ready


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)


class SecretKeyReference(_Model):
    """A Secret in the platform namespace and the key that holds the kubeconfig."""

    name: str
    key: str | None = None


class KubeConfig(_Model):
    secret_ref: SecretKeyReference = Field(alias="secretRef")


class ClusterSpec(_Model):
    """``Cluster.spec``."""

    kube_config: KubeConfig = Field(alias="kubeConfig")
    interval: str = DEFAULT_INTERVAL
    suspend: bool = False
    deletion_policy: DeletionPolicy = Field(default=BLOCK, alias="deletionPolicy")

    @classmethod
    def of(cls, body: dict[str, Any]) -> ClusterSpec:
        """The spec of an apiserver object (raises pydantic.ValidationError on a bad one)."""
        return cls.model_validate(body.get("spec") or {})

    @property
    def secret_key(self) -> str:
        return self.kube_config.secret_ref.key or DEFAULT_KEY
