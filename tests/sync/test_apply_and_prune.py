"""A tenant's revision is applied as the tenant, recorded in the inventory, and pruned."""

from __future__ import annotations

from typing import Any

from landlord import kube
from landlord.api import labels
from tests.helpers import eventually
from tests.sync.conftest import TenantRepo

RESTRICTED_POD = {
    "securityContext": {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "containers": [
        {
            "name": "web",
            "image": "registry.invalid/web:1",
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
            },
        }
    ],
}


def deployment(name: str = "web", namespace: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": RESTRICTED_POD},
        },
    }


def service(name: str = "web") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def config_map(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": dict(data)}


def test_pushed_objects_are_applied_as_the_tenant(
    admin: kube.Kube, tenant_repo: TenantRepo
) -> None:
    sha = tenant_repo.push(
        {
            "deploy/web.yaml": [deployment(), service()],
            "deploy/settings.yaml": config_map("settings", color="blue"),
        }
    )

    status = tenant_repo.ready_at(sha)

    ids = sorted(entry["id"] for entry in status["inventory"]["entries"])
    ns = tenant_repo.name
    assert ids == [f"{ns}_settings__ConfigMap", f"{ns}_web__Service", f"{ns}_web_apps_Deployment"]
    system = admin.get("v1", "Namespace", "kube-system")
    assert system is not None
    assert status["inventory"]["cluster"] == system["metadata"]["uid"]  # the target's identity
    applied = tenant_repo.get("Deployment", "web", "apps/v1")
    assert applied is not None
    assert applied["metadata"]["labels"][labels.KUSTOMIZATION_NAME] == ns
    assert applied["metadata"]["labels"][labels.KUSTOMIZATION_NAMESPACE] == ns
    managers = {m["manager"] for m in applied["metadata"]["managedFields"]}
    assert "landlord" in managers
    # The audit log would show the tenant's service account; the apiserver records
    # the manager, and the object exists only because the tenant was allowed to create it.
    cm = tenant_repo.get("ConfigMap", "settings")
    assert cm is not None
    assert cm["data"] == {"color": "blue"}


def test_a_deleted_file_is_pruned(tenant_repo: TenantRepo) -> None:
    first = tenant_repo.push({"deploy/a.yaml": config_map("a"), "deploy/b.yaml": config_map("b")})
    tenant_repo.ready_at(first)

    second = tenant_repo.push({"deploy/b.yaml": None})
    status = tenant_repo.ready_at(second)

    assert [e["id"] for e in status["inventory"]["entries"]] == [f"{tenant_repo.name}_a__ConfigMap"]
    eventually(lambda: tenant_repo.get("ConfigMap", "b") is None, what="b to be pruned")
    assert tenant_repo.get("ConfigMap", "a") is not None


def test_prune_spares_opted_out_and_foreign_objects(tenant_repo: TenantRepo) -> None:
    keep = config_map("keep")
    keep["metadata"]["annotations"] = {labels.PRUNE: "disabled"}
    first = tenant_repo.push({"deploy/keep.yaml": keep, "deploy/x.yaml": config_map("x")})
    tenant_repo.ready_at(first)

    second = tenant_repo.push(
        {"deploy/keep.yaml": None, "deploy/x.yaml": None, "deploy/y.yaml": config_map("y")}
    )
    tenant_repo.ready_at(second)

    assert tenant_repo.get("ConfigMap", "keep") is not None
    eventually(lambda: tenant_repo.get("ConfigMap", "x") is None, what="x pruned")


def test_many_stale_objects_are_pruned_together_sparing_opted_out_ones(
    tenant_repo: TenantRepo,
) -> None:
    many = [config_map(f"item-{i}") for i in range(12)]  # read with one LIST, deleted in parallel
    many[3]["metadata"]["annotations"] = {labels.PRUNE: "disabled"}
    first = tenant_repo.push({"deploy/many.yaml": many, "deploy/a.yaml": config_map("a")})
    tenant_repo.ready_at(first)

    second = tenant_repo.push({"deploy/many.yaml": None})
    status = tenant_repo.ready_at(second)

    assert [e["id"] for e in status["inventory"]["entries"]] == [f"{tenant_repo.name}_a__ConfigMap"]
    for i in range(12):
        if i != 3:
            assert tenant_repo.get("ConfigMap", f"item-{i}") is None, f"item-{i} left behind"
    assert tenant_repo.get("ConfigMap", "item-3") is not None


def test_a_changed_object_is_updated_in_place(tenant_repo: TenantRepo) -> None:
    first = tenant_repo.push({"deploy/s.yaml": config_map("settings", color="blue")})
    tenant_repo.ready_at(first)
    uid = (tenant_repo.get("ConfigMap", "settings") or {})["metadata"]["uid"]

    second = tenant_repo.push({"deploy/s.yaml": config_map("settings", color="green")})
    tenant_repo.ready_at(second)

    cm = tenant_repo.get("ConfigMap", "settings")
    assert cm is not None
    assert cm["data"] == {"color": "green"}
    assert cm["metadata"]["uid"] == uid


def test_an_object_that_opted_out_before_its_first_apply_is_left_as_it_is(
    admin: kube.Kube, tenant_repo: TenantRepo
) -> None:
    """Objects new to the inventory are not read first: their dry-run shows the opt-out."""
    ns = tenant_repo.name
    for name in ("quiet", "kept"):
        admin.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "annotations": {labels.RECONCILE: "disabled"},
                },
                "data": {"owner": "hand"},
            }
        )
    kept_by_hand = config_map("kept")
    kept_by_hand["data"] = {"not a valid key!": "x"}  # its dry-run is refused

    sha = tenant_repo.push(
        {
            "deploy/objects.yaml": [
                config_map("quiet", owner="git"),
                kept_by_hand,
                config_map("fresh", owner="git"),
            ]
        }
    )

    tenant_repo.ready_at(sha)
    assert (tenant_repo.get("ConfigMap", "quiet") or {})["data"] == {"owner": "hand"}
    assert (tenant_repo.get("ConfigMap", "kept") or {})["data"] == {"owner": "hand"}
    assert (tenant_repo.get("ConfigMap", "fresh") or {})["data"] == {"owner": "git"}
