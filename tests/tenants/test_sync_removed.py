"""Removing ``spec.sync`` deletes the tenant's Kustomization as the Tenant's deletionPolicy says."""

from __future__ import annotations

import yaml

from landlord import api, kube
from landlord.demo import GitServer
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.operator import Tenants
from tests.helpers import eventually
from tests.sync.test_apply_and_prune import deployment


def test_an_orphan_tenant_dropping_its_sync_keeps_what_the_sync_applied(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants
) -> None:
    name = tenants.name("dropsync")
    git_server.create(name)
    git_server.commit(name, {"deploy/web.yaml": yaml.safe_dump(deployment("web"))}, message="app")
    url = git_server.url(name).replace("http://", f"http://{USER}:{PASSWORD}@")
    tenants.create(
        name,
        {
            "source": {"url": url, "interval": "1s"},
            "sync": {"path": "./deploy", "interval": "1m"},
        },
    )
    tenants.ready(name)
    eventually(
        lambda: admin.get("apps/v1", "Deployment", "web", name),
        timeout=45,
        what="the sync to apply the Deployment",
    )
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
