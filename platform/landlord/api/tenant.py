"""The Tenant spec, as typed models with the defaults DESIGN.md gives.

A Tenant's source and sync become its GitRepository and Kustomization, so their
defaults are those kinds' (``api.gitrepository``, ``api.kustomization``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from landlord.api import (
    cluster,
    gitrepository,
    helmrelease,
    helmrepository,
    kustomization,
    labels,
    names,
)
from landlord.api.gitrepository import GitRef

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$")


def check_dns_label(value: str, what: str = "name") -> str:
    """Raise ValueError unless ``value`` is a DNS-1123 label (63 characters at most)."""
    if len(value) > 63 or not DNS1123_LABEL.match(value):
        raise ValueError(
            f"{what} {value!r} must be a DNS-1123 label: lower-case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters"
        )
    return value


def check_duration(value: str) -> str:
    """Raise ValueError unless ``value`` is a Go-style duration such as ``5m``."""
    if not DURATION.match(value):
        raise ValueError(f"interval {value!r} must be a duration such as 30s, 5m or 1h")
    return value


KIND = "Tenant"
# What a Tenant's sync is made of, in the order it is set up: its sources, then what applies
# them (its Helm releases too: offboarding lets them finish, uninstalled as the tenant, first).
SYNC_KINDS = (gitrepository.KIND, helmrepository.KIND, kustomization.KIND, helmrelease.KIND)

# ``spec.deletionPolicy``: Delete removes everything; Orphan keeps the namespaces
# and what the tenant's sync applied, and removes only the tenant's access.
DeletionPolicy = Literal["Delete", "Orphan"]
DELETE: DeletionPolicy = "Delete"
ORPHAN: DeletionPolicy = "Orphan"

RESERVED_PREFIXES = ("kube-",)
RESERVED_NAMES = ("default", "kube-system", "kube-public", "kube-node-lease")


def reserved_namespaces(names: tuple[str, ...], platform_namespace: str) -> list[str]:
    """The ``names`` no tenant may have: ``kube-*``, ``default``, the platform namespace."""
    return [
        ns
        for ns in names
        if ns in RESERVED_NAMES or ns.startswith(RESERVED_PREFIXES) or ns == platform_namespace
    ]


def taken_namespaces(
    tenant: str, wanted: Iterable[str], owners: Mapping[str, str | None]
) -> dict[str, str]:
    """The namespaces of ``wanted`` that exist and are not ``tenant``'s, each with why.

    ``owners`` maps each existing namespace to its ``landlord.dev/tenant`` label
    (None when unlabelled, i.e. not made by Landlord); a namespace missing from
    it does not exist and is free.
    """
    taken: dict[str, str] = {}
    for ns in wanted:
        if ns not in owners or owners[ns] == tenant:
            continue
        owner = owners[ns]
        taken[ns] = (
            f"belongs to tenant {owner}" if owner else "exists and was not created by Landlord"
        )
    return taken


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)


class Owner(_Model):
    """Who owns the tenant: bound to ``ownerRole`` in every namespace."""

    kind: Literal["User", "Group", "ServiceAccount"]
    name: str = Field(min_length=1)
    namespace: str | None = None


def check_subdomain(value: str, what: str = "name") -> str:
    """Raise ValueError unless ``value`` is a DNS-1123 subdomain (an object name)."""
    if not names.is_subdomain(value):
        raise ValueError(
            f"{what} {value[:80]!r} must be a DNS-1123 subdomain: lower-case letters, digits, "
            "'-' and '.', starting and ending with a letter or digit, at most 253 characters"
        )
    return value


class SecretRef(_Model):
    """A Secret in the same namespace."""

    name: str

    _name = field_validator("name")(check_subdomain)


class Source(_Model):
    """The tenant's own Git repository."""

    url: str = Field(min_length=1)
    ref: GitRef | None = None
    secret_ref: SecretRef | None = Field(default=None, alias="secretRef")
    interval: str = gitrepository.DEFAULT_INTERVAL

    _duration = field_validator("interval")(check_duration)


class DependsOn(_Model):
    """A Kustomization this tenant's sync waits for."""

    name: str
    namespace: str | None = None

    _name = field_validator("name")(check_subdomain)

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        return None if value is None else check_dns_label(value, "namespace")


class Sync(_Model):
    """How the tenant's repository is applied."""

    path: str = kustomization.DEFAULT_PATH
    interval: str = kustomization.DEFAULT_INTERVAL
    prune: bool = True
    depends_on: tuple[DependsOn, ...] = Field(default=(), alias="dependsOn")
    # Where the sync applies: a cluster of spec.clusters (default local).
    cluster: str | None = None
    # SOPS decryption with the age keys of a Secret in the tenant's first namespace.
    decryption: kustomization.Decryption | None = None

    _duration = field_validator("interval")(check_duration)

    @field_validator("cluster")
    @classmethod
    def _cluster(cls, value: str | None) -> str | None:
        return None if value is None else check_dns_label(value, "sync.cluster")


class HelmRepository(helmrepository.HelmRepositorySpec):
    """``spec.helmRepositories[]``: a chart repository the platform provides the tenant."""

    name: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_dns_label(value, "helmRepositories[].name")


class HelmRelease(helmrelease.HelmReleaseSpec):
    """``spec.helmReleases[]``: a release the platform provides, installed as the tenant."""

    name: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_dns_label(value, "helmReleases[].name")


class TenantSpec(_Model):
    """``Tenant.spec``."""

    owners: tuple[Owner, ...] = ()
    namespaces: tuple[str, ...] = ()
    owner_role: str = Field(default="admin", alias="ownerRole")
    reconciler_role: str = Field(default="admin", alias="reconcilerRole")
    quota: dict[str, Any] | None = None
    limit_range: tuple[dict[str, Any], ...] | None = Field(default=None, alias="limitRange")
    network_isolation: bool = Field(default=True, alias="networkIsolation")
    pod_security: Literal["privileged", "baseline", "restricted"] = Field(
        default="restricted", alias="podSecurity"
    )
    source: Source | None = None
    sync: Sync | None = None
    # Platform-provided Helm releases (docs/helm.md): HelmRepositories and HelmReleases in
    # the home namespace, installed by helm as the tenant like the tenant's own.
    helm_repositories: tuple[HelmRepository, ...] = Field(default=(), alias="helmRepositories")
    helm_releases: tuple[HelmRelease, ...] = Field(default=(), alias="helmReleases")
    suspend: bool = False
    deletion_policy: DeletionPolicy = Field(default=DELETE, alias="deletionPolicy")
    # Where the tenant is provisioned: registered Cluster names; ``local`` (the
    # operator's own cluster, which always holds its sources and syncs) by default.
    clusters: tuple[str, ...] = (cluster.LOCAL,)

    @field_validator("clusters")
    @classmethod
    def _clusters(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            check_dns_label(item, "cluster")
        if len(set(value)) != len(value):
            raise ValueError("clusters must not repeat")
        return value

    @field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            check_dns_label(item, "namespace")
        if len(set(value)) != len(value):
            raise ValueError("namespaces must not repeat")
        return value

    @model_validator(mode="after")
    def _helm_names(self) -> TenantSpec:
        for field, items in (
            ("helmRepositories", self.helm_repositories),
            ("helmReleases", self.helm_releases),
        ):
            seen = [item.name for item in items]
            if len(set(seen)) != len(seen):
                raise ValueError(f"spec.{field}[].name must not repeat")
        return self

    @model_validator(mode="after")
    def _sync_needs_source(self) -> TenantSpec:
        if self.sync is not None and self.source is None:
            raise ValueError("spec.sync needs spec.source: there is nothing to sync from")
        target = self.sync.cluster if self.sync is not None else None
        if target and target != cluster.LOCAL and target not in self.clusters:
            raise ValueError(
                f"spec.sync.cluster {target!r} is not in spec.clusters: the tenant is "
                "provisioned only there"
            )
        return self


class Tenant(_Model):
    """A Tenant object: its name, generation and typed spec."""

    name: str
    generation: int = 1
    uid: str = ""
    spec: TenantSpec = TenantSpec()
    # The onboarding request this state came from (W3C traceparent), if any.
    traceparent: str = ""
    # Its landlord.dev/shard label: which operator deployment handles it ("" the default).
    shard: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_dns_label(value, "tenant name")

    @property
    def namespaces(self) -> tuple[str, ...]:
        """``spec.namespaces``, defaulting to the tenant's own name."""
        return self.spec.namespaces or (self.name,)

    @property
    def remote_clusters(self) -> tuple[str, ...]:
        """``spec.clusters`` but the local one (always provisioned: it holds the syncs)."""
        return tuple(name for name in self.spec.clusters if name != cluster.LOCAL)

    @property
    def home_namespace(self) -> str:
        """The first namespace: where the tenant's GitRepository and Kustomization live."""
        return self.namespaces[0]

    @classmethod
    def from_object(cls, body: dict[str, Any]) -> Tenant:
        """Parse an apiserver object (raises pydantic.ValidationError on a bad spec)."""
        metadata = body.get("metadata", {})
        return cls(
            name=metadata.get("name", ""),
            generation=int(metadata.get("generation") or 1),
            uid=metadata.get("uid", ""),
            spec=TenantSpec.model_validate(body.get("spec") or {}),
            traceparent=(metadata.get("annotations") or {}).get(labels.TRACEPARENT, ""),
            shard=(metadata.get("labels") or {}).get(labels.SHARD, ""),
        )
