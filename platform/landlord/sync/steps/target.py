"""The target step: which cluster a Kustomization applies to, and whether it may.

``spec.cluster`` names a registered Cluster (``local``, the default, is the
operator's own); Flux's ``spec.kubeConfig.secretRef`` names the kubeconfig
Secret of one (in the platform namespace: a kubeconfig of the tenant's own is
never used). A remote target needs a ``target`` policy line for
``clusters/<name>`` and a Tenant provisioned there; the sync then impersonates
the tenant's service account on that cluster. Nothing falls back to the local
cluster: a target that cannot be used applies nothing anywhere.
"""

from __future__ import annotations

from typing import Any

from landlord import api
from landlord.api import cluster as cluster_api
from landlord.api import kustomization as model
from landlord.api import labels, reasons
from landlord.api import tenant as tenant_api
from landlord.kube import Kube
from landlord.kube.fleet import Member
from landlord.policy import requests
from landlord.sync.failure import SyncError
from landlord.sync.steps.gatekeeper import Gatekeeper
from landlord.sync.steps.identity import Identity

LOCAL = cluster_api.LOCAL


def requested(spec: dict[str, Any]) -> bool:
    """Whether a raw spec asks for a cluster other than the local one."""
    return bool(spec.get("kubeConfig")) or (spec.get("cluster") or LOCAL) != LOCAL


class Targets:
    """Resolves and admits a Kustomization's target cluster."""

    def __init__(self, kube: Kube, *, identity: Identity, gatekeeper: Gatekeeper) -> None:
        self.kube = kube
        self.identity = identity
        self.gatekeeper = gatekeeper

    def resolve(self, namespace: str, spec: model.KustomizationSpec) -> Member:
        """The target's connection; PolicyDenied, ClusterNotFound, ... (nothing applied)."""
        name = self.name(spec)
        requests.decided("target")  # back on the local cluster: the old target leaves the record
        if name != LOCAL:
            self.check(namespace, name, spec)
        if spec.kube_config is not None and spec.cluster and spec.cluster != name:
            raise SyncError(
                reasons.INVALID_SPEC,
                f"spec.cluster {spec.cluster!r} and spec.kubeConfig name different clusters; "
                "set one of them",
                stalled=True,
            )
        if name == LOCAL:
            return self.identity.target(LOCAL)
        placed = self.provisioned(namespace, name)
        member = self.identity.target(name)
        if placed != member.identity:
            raise SyncError(
                reasons.CLUSTER_NOT_PROVISIONED,
                f"the tenant was provisioned on another cluster behind the name {name}; "
                "nothing was applied",
            )
        return member

    def check(self, namespace: str, name: str, spec: model.KustomizationSpec) -> None:
        """PolicyDenied unless the tenant may target ``name``.

        Through Flux's kubeConfig field the denial reads as an unknown Secret:
        a tenant learns nothing of which platform Secret belongs to which cluster.
        """
        try:
            self.gatekeeper.check(
                namespace, "target", f"clusters/{name}", f"target cluster {name!r}"
            )
        except SyncError:
            if spec.kube_config is None:
                raise
            raise self._unknown(
                spec.kube_config.secret_ref.name if spec.kube_config.secret_ref else ""
            ) from None

    @staticmethod
    def _unknown(secret: str) -> SyncError:
        return SyncError(
            reasons.CLUSTER_NOT_FOUND,
            f"spec.kubeConfig.secretRef {secret!r} is not the kubeconfig Secret of a "
            "registered Cluster this tenant may target (only those are used; a kubeconfig of "
            "the tenant's own never is); nothing was applied",
        )

    def name(self, spec: model.KustomizationSpec) -> str:
        """The registered name of the target (``spec.cluster``, or the kubeConfig's Cluster)."""
        if spec.kube_config is None:
            return spec.cluster or LOCAL
        if spec.kube_config.secret_ref is None:
            raise SyncError(
                reasons.INVALID_SPEC,
                "spec.kubeConfig needs secretRef.name (or use spec.cluster)",
                stalled=True,
            )
        secret = spec.kube_config.secret_ref.name
        found = self.identity.fleet.by_secret(secret)
        if found is None:
            raise self._unknown(secret)
        return found

    def provisioned(self, namespace: str, name: str) -> str:
        """The identity the namespace's Tenant was provisioned on as ``name`` (else refused)."""
        tenant = self.gatekeeper.namespace_labels(namespace).get(labels.TENANT)
        if not tenant:
            raise SyncError(
                reasons.CLUSTER_NOT_PROVISIONED,
                f"only a tenant's Kustomization may target cluster {name}: namespace "
                f"{namespace} belongs to no Tenant; nothing was applied",
                stalled=True,
            )
        body = self.kube.get(api.API_VERSION, tenant_api.KIND, tenant) or {}
        listed = (body.get("spec") or {}).get("clusters") or [LOCAL]
        there = next(
            (c for c in (body.get("status") or {}).get("clusters") or [] if c.get("name") == name),
            None,
        )
        if name not in listed:
            raise SyncError(
                reasons.CLUSTER_NOT_PROVISIONED,
                f"tenant {tenant} is not provisioned on cluster {name}: add it to the Tenant's "
                "spec.clusters; nothing was applied",
            )
        if there is None or not there.get("ready") or not there.get("identity"):
            raise SyncError(
                reasons.CLUSTER_NOT_PROVISIONED,
                f"tenant {tenant} is not ready on cluster {name} (the Tenant's status.clusters "
                "says why); nothing was applied",
            )
        return str(there["identity"])
