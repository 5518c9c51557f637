"""Removing ``spec.sync`` deletes the tenant's Kustomization as the Tenant's deletionPolicy says."""

from __future__ import annotations

from landlord import api, kube
from landlord.demo import GitServer
from tests.fixtures.operator import Tenants
from tests.helpers import eventually


def test_an_orphan_tenant_dropping_its_sync_keeps_what_the_sync_applied(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants
) -> None:
    name = tenants.synced("dropsync", git_server)
    try:
        # One platform commit: the tenant becomes Orphan and loses its sync. Its
        # Kustomization was MirrorPrune (prune: true) until now.
        tenants.update(name, {"deletionPolicy": "Orphan", "sync": None})

        eventually(
            lambda: admin.get(api.API_VERSION, "Kustomization", name, name) is None,
            timeout=30,
            what="the Kustomization to be deleted",
        )
        kept = admin.get("apps/v1", "Deployment", "web", name)
        assert kept is not None, "removing spec.sync pruned an Orphan tenant's workload"
        assert not kept["metadata"].get("deletionTimestamp")
        tenants.ready(name)
    finally:
        tenants.delete(name)
        admin.delete("v1", "Namespace", name)
