"""Tenants that span clusters, syncs that target them, and migrations that leave nothing behind.

Three real control planes: the operator's own (``local``), ``east`` and ``west``.
"""

from __future__ import annotations

from typing import Any

from landlord import api, kube
from landlord.api import labels
from landlord.clusters import register
from landlord.settings import PLATFORM_NAMESPACE
from tests.fixtures.multicluster import Plane, Spread, cluster_ready
from tests.fixtures.operator import OperatorProcess
from tests.helpers import eventually


def test_a_registered_cluster_reports_its_version_and_identity(
    admin: kube.Kube, clusters: dict[str, Plane], operator: OperatorProcess
) -> None:
    east = clusters["east"]
    body = cluster_ready(admin, "east")
    status = body["status"]
    assert isinstance(status, dict)
    assert status["identity"] == east.identity()
    assert str(status["version"]).startswith("v1.")
    assert status["reachable"] is True
    assert status["lastContact"]


def test_a_tenant_is_provisioned_on_every_cluster_it_lists(spread: Spread) -> None:
    for name in ("local", "east", "west"):
        client = spread.on(name)
        namespace = client.get("v1", "Namespace", spread.namespace)
        assert namespace is not None, name
        assert namespace["metadata"]["labels"][labels.TENANT] == spread.name
        account = client.get(
            "v1", "ServiceAccount", labels.RECONCILER_SERVICE_ACCOUNT, spread.namespace
        )
        assert account is not None, name
        binding = client.get(
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            labels.RECONCILER_BINDING,
            spread.namespace,
        )
        assert binding is not None, name
    # Its sources and syncs stay home; the operator's own access binding is not spread.
    east = spread.on("east")
    assert (
        east.get(
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            labels.OPERATOR_ACCESS_BINDING,
            spread.namespace,
        )
        is None
    )
    tenant = spread.tenants.get(spread.name) or {}
    placed = {c["name"]: c for c in tenant["status"]["clusters"]}
    assert placed["east"]["identity"] == spread.clusters["east"].identity()


def test_a_sync_aimed_at_east_applies_there_only_as_the_tenant(spread: Spread) -> None:
    spread.allow_targets("east")
    sha = spread.push({})
    spread.kustomization("remote", path="./remote", cluster="east")

    status = spread.ready("remote", sha)

    assert spread.config_map("east", "one") is not None
    assert spread.config_map("local", "one") is None
    assert spread.config_map("west", "one") is None
    inventory = status["inventory"]
    assert inventory["clusterName"] == "east"
    assert inventory["cluster"] == spread.clusters["east"].identity()
    # Applied by Landlord's field manager as the tenant's account there.
    live = spread.config_map("east", "one") or {}
    assert live["metadata"]["labels"][labels.KUSTOMIZATION_NAME] == "remote"


def test_flux_s_kubeconfig_field_names_a_registered_cluster(spread: Spread) -> None:
    spread.allow_targets("west")
    sha = spread.push({})
    spread.kustomization(
        "remote", path="./remote", kubeConfig={"secretRef": {"name": "cluster-west-kubeconfig"}}
    )

    status = spread.ready("remote", sha)

    assert status["inventory"]["clusterName"] == "west"
    assert spread.config_map("west", "two") is not None


def test_moving_a_sync_from_east_to_west_prunes_east_through_east(spread: Spread) -> None:
    spread.allow_targets("east", "west")
    sha = spread.push({})
    spread.kustomization("remote", path="./remote", cluster="east")
    spread.ready("remote", sha)

    spread.kustomization("remote", path="./remote", cluster="west")

    def moved() -> bool:
        status = spread.status("remote")
        inventory = status.get("inventory") or {}
        return inventory.get("clusterName") == "west" and not inventory.get("pending")

    eventually(moved, timeout=45, what="the inventory to hold west's objects only")
    assert spread.config_map("west", "one") is not None
    eventually(lambda: spread.config_map("east", "one") is None, timeout=10, what="east pruned")
    assert spread.config_map("east", "two") is None


def test_a_move_away_from_a_cluster_that_is_down_waits_then_prunes_it(spread: Spread) -> None:
    west = spread.clusters["west"]
    spread.allow_targets("east", "west")
    sha = spread.push({})
    spread.kustomization("remote", path="./remote", cluster="west")
    spread.ready("remote", sha)

    west.down()
    try:
        spread.kustomization("remote", path="./remote", cluster="east")
        blocked = spread.reason("remote", "PruneBlocked")
        assert "cluster west" in blocked["message"]
        assert spread.config_map("east", "one") is not None  # applied first
        pending = spread.status("remote")["inventory"]["pending"]
        assert [g["clusterName"] for g in pending] == ["west"]
        assert len(pending[0]["entries"]) == 2
    finally:
        west.up()

    spread.ready("remote", sha, timeout=60)
    status = spread.status("remote")
    assert not status["inventory"].get("pending"), status
    assert spread.config_map("west", "one") is None
    assert spread.config_map("east", "one") is not None


def test_drift_on_a_registered_cluster_is_repaired_from_its_watch(spread: Spread) -> None:
    spread.allow_targets("east")
    sha = spread.push({})
    spread.kustomization("remote", path="./remote", interval="1h", cluster="east")
    spread.ready("remote", sha)

    spread.on("east").delete("v1", "ConfigMap", "one", spread.namespace)

    eventually(
        lambda: spread.config_map("east", "one"),
        timeout=20,
        what="the deleted ConfigMap on east to be restored (interval 1h: only a watch can)",
    )


def test_deleting_the_sync_prunes_what_it_applied_on_its_cluster(spread: Spread) -> None:
    spread.allow_targets("east")
    sha = spread.push({})
    spread.kustomization("remote", path="./remote", cluster="east")
    spread.ready("remote", sha)

    spread.admin.delete(api.API_VERSION, "Kustomization", "remote", spread.namespace)

    eventually(
        lambda: (
            spread.admin.get(api.API_VERSION, "Kustomization", "remote", spread.namespace) is None
        ),
        timeout=30,
        what="the Kustomization's finalizer to finish",
    )
    assert spread.config_map("east", "one") is None
    assert spread.config_map("east", "two") is None


def test_removing_a_cluster_from_a_tenant_offboards_it_from_that_cluster_only(
    spread: Spread,
) -> None:
    spread.tenants.update(spread.name, {"clusters": ["local", "east"]})

    eventually(
        lambda: spread.on("west").get("v1", "Namespace", spread.namespace) is None,
        timeout=60,
        what="the tenant's namespace on west to be gone",
    )
    tenant = spread.tenants.ready(spread.name)
    assert [c["name"] for c in tenant["status"]["clusters"]] == ["local", "east"]
    assert spread.on("east").get("v1", "Namespace", spread.namespace) is not None
    assert spread.on("local").get("v1", "Namespace", spread.namespace) is not None


def test_tenant_objects_on_a_registered_cluster_are_repaired(spread: Spread) -> None:
    east = spread.on("east")
    east.delete(
        "rbac.authorization.k8s.io/v1", "RoleBinding", labels.RECONCILER_BINDING, spread.namespace
    )

    eventually(
        lambda: east.get(
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            labels.RECONCILER_BINDING,
            spread.namespace,
        ),
        timeout=20,
        what="the reconciler's RoleBinding on east to be restored",
    )


def test_a_cluster_in_use_is_deleted_only_with_an_orphan_policy(spread: Spread) -> None:
    admin = spread.admin
    west = spread.clusters["west"]

    def cluster() -> dict[str, Any]:
        return admin.get(api.API_VERSION, "Cluster", "west", PLATFORM_NAMESPACE) or {}

    admin.delete(api.API_VERSION, "Cluster", "west", PLATFORM_NAMESPACE)
    try:

        def held() -> bool:
            found = (cluster().get("status") or {}).get("conditions") or []
            return any(c.get("reason") == "ClusterInUse" for c in found)

        eventually(held, timeout=20, what="the deletion to be held (ClusterInUse)")
        ready = next(c for c in cluster()["status"]["conditions"] if c["type"] == "Ready")
        assert f"Tenant {spread.name}" in ready["message"]

        admin.merge_patch(
            api.API_VERSION,
            "Cluster",
            "west",
            {"spec": {"deletionPolicy": "Orphan"}},
            PLATFORM_NAMESPACE,
        )
        eventually(lambda: not cluster(), timeout=30, what="the Cluster to go")
        # What the tenant had there stays (orphaned), and the Tenant says west is gone.
        assert west.admin.get("v1", "Namespace", spread.namespace) is not None
        spread.tenants.condition(spread.name, "ClusterNotFound")
    finally:
        register.register(admin, "west", west.kubeconfig, platform_namespace=PLATFORM_NAMESPACE)
        cluster_ready(admin, "west")
    spread.tenant_ready_on("west")
