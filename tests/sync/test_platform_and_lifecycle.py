"""The platform sync (bootstrap), a Kustomization's finalizer, force, and the CLI verbs."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from typing import Any

import yaml

from landlord import api, kube
from landlord.api import conditions, labels
from landlord.demo import GitServer
from landlord.installer import bootstrap
from landlord.settings import PLATFORM_NAMESPACE
from tests.fixtures.operator import Tenants
from tests.helpers import eventually
from tests.sync.conftest import TenantRepo
from tests.sync.test_apply_and_prune import RESTRICTED_POD, config_map


def _tenant(name: str, **spec: Any) -> str:
    return yaml.safe_dump(
        {"apiVersion": api.API_VERSION, "kind": "Tenant", "metadata": {"name": name}, "spec": spec}
    )


def test_bootstrap_syncs_tenants_from_the_platform_repository(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants
) -> None:
    first, second = tenants.name("plat"), tenants.name("plat")
    tenants.created += [first, second]  # cleaned up even if the test fails
    git_server.create("platform")
    git_server.commit(
        "platform",
        {
            f"tenants/{first}.yaml": _tenant(first),
            f"tenants/{second}.yaml": _tenant(second, quota={"pods": "3"}),
            "README.md": "not a manifest",
        },
    )
    url = git_server.url("platform").replace("http://", "http://tenant:s3cr3t-Passw0rd@")
    try:
        bootstrap.bootstrap(
            admin, url=url, branch="main", path="tenants", platform_namespace=PLATFORM_NAMESPACE
        )

        tenants.ready(first, timeout=60)
        tenants.ready(second, timeout=60)
        synced = admin.get(api.API_VERSION, "Tenant", second) or {}
        assert synced["metadata"]["labels"][labels.KUSTOMIZATION_NAME] == "platform"

        git_server.commit("platform", {f"tenants/{first}.yaml": None}, message="offboard")
        # As `landlord reconcile source platform` would: not a minute's wait for the poll.
        admin.merge_patch(
            api.API_VERSION,
            "GitRepository",
            "platform",
            {"metadata": {"annotations": {labels.REQUESTED_AT: "offboard"}}},
            PLATFORM_NAMESPACE,
        )
        eventually(lambda: tenants.get(first) is None, timeout=90, what=f"{first} pruned from Git")
        assert tenants.get(second) is not None
    finally:
        for kind in ("Kustomization", "GitRepository"):
            admin.delete(api.API_VERSION, kind, "platform", PLATFORM_NAMESPACE)
        eventually(
            lambda: (
                admin.get(api.API_VERSION, "Kustomization", "platform", PLATFORM_NAMESPACE) is None
            ),
            timeout=60,
            what="the platform Kustomization to go",
        )


def test_deleting_a_kustomization_prunes_what_it_applied(
    admin: kube.Kube, tenant_repo: TenantRepo
) -> None:
    sha = tenant_repo.push({"extra/cm.yaml": config_map("extra")})
    tenant_repo.ready_at(sha)
    admin.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Kustomization",
            "metadata": {"name": "extra", "namespace": tenant_repo.name},
            "spec": {
                "sourceRef": {"kind": "GitRepository", "name": tenant_repo.name},
                "path": "./extra",
                "interval": "1m",
            },
        },
        field_manager="test",
    )
    eventually(lambda: tenant_repo.get("ConfigMap", "extra") is not None, what="extra applied")

    admin.delete(api.API_VERSION, "Kustomization", "extra", tenant_repo.name)

    eventually(lambda: tenant_repo.get("ConfigMap", "extra") is None, what="extra pruned")
    eventually(
        lambda: admin.get(api.API_VERSION, "Kustomization", "extra", tenant_repo.name) is None,
        what="the finalizer released",
    )


def _job(image: str, force: bool) -> dict[str, Any]:
    pod = {
        **RESTRICTED_POD,
        "restartPolicy": "Never",
        "containers": [{**RESTRICTED_POD["containers"][0], "image": image}],
    }
    job: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate"},
        "spec": {"template": {"spec": pod}},
    }
    if force:
        job["metadata"]["annotations"] = {labels.FORCE: "enabled"}
    return job


def test_immutable_changes_need_force(tenant_repo: TenantRepo) -> None:
    first = tenant_repo.push({"deploy/job.yaml": _job("registry.invalid/migrate:1", False)})
    tenant_repo.ready_at(first)
    uid = (tenant_repo.get("Job", "migrate", "batch/v1") or {})["metadata"]["uid"]

    second = tenant_repo.push({"deploy/job.yaml": _job("registry.invalid/migrate:2", False)})
    refused = tenant_repo.failed("ApplyFailed", second)
    assert "immutable" in refused["message"]
    assert labels.FORCE in refused["message"]

    third = tenant_repo.push({"deploy/job.yaml": _job("registry.invalid/migrate:2", True)})
    tenant_repo.ready_at(third)
    job = tenant_repo.get("Job", "migrate", "batch/v1") or {}
    assert job["metadata"]["uid"] != uid


def _landlord(kubeconfig: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "landlord", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "KUBECONFIG": str(kubeconfig), "COLUMNS": "250"},
    )


def test_cli_get_reconcile_suspend_resume(
    control_plane: pathlib.Path, admin: kube.Kube, tenant_repo: TenantRepo
) -> None:
    sha = tenant_repo.push({"deploy/cm.yaml": config_map("one")})
    tenant_repo.ready_at(sha)
    ns = tenant_repo.name

    listed = _landlord(control_plane, "get", "kustomizations", "-n", ns)
    assert listed.returncode == 0, listed.stderr
    assert f"main@sha1:{sha}" in listed.stdout

    assert _landlord(control_plane, "suspend", "ks", ns, "-n", ns).returncode == 0
    assert (admin.get(api.API_VERSION, "Kustomization", ns, ns) or {})["spec"]["suspend"] is True
    later = tenant_repo.push({"deploy/cm.yaml": config_map("two")})
    assert _landlord(control_plane, "resume", "ks", ns, "-n", ns).returncode == 0

    reconciled = _landlord(control_plane, "reconcile", "ks", ns, "-n", ns)
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert "ReconciliationSucceeded" in reconciled.stdout
    tenant_repo.ready_at(later)
    status = (admin.get(api.API_VERSION, "Kustomization", ns, ns) or {}).get("status") or {}
    assert conditions.is_true(status["conditions"], "Ready")

    missing = _landlord(control_plane, "reconcile", "ks", "nope", "-n", ns)
    assert missing.returncode == 3  # not found
    assert "not found" in missing.stderr
