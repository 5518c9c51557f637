"""``landlord check`` against the real control plane: what the apiserver says decides."""

from __future__ import annotations

import copy
import json
import os
import pathlib
import subprocess
import sys
import uuid
from typing import Any

import yaml

from landlord import installer, kube
from landlord.installer import bootstrap, rbac
from landlord.settings import PLATFORM_NAMESPACE
from tests.helpers import eventually

OPERATOR_USER = kube.service_account_user(PLATFORM_NAMESPACE, installer.OPERATOR)


def _check(
    control_plane: pathlib.Path,
    *args: str,
    env: dict[str, str] | None = None,
    namespace: str | None = None,
) -> subprocess.CompletedProcess[str]:
    # A platform namespace of its own: other tests' platform sources are not this test's.
    isolated = {"LANDLORD_PLATFORM_NAMESPACE": namespace or f"check-{uuid.uuid4().hex[:8]}"}
    return subprocess.run(
        [sys.executable, "-m", "landlord", "check", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            **os.environ,
            "KUBECONFIG": str(control_plane),
            "COLUMNS": "250",
            **isolated,
            **(env or {}),
        },
    )


def _line(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if f" {name}:" in line)


def test_an_installed_cluster_passes_as_the_operator(
    control_plane: pathlib.Path, admin: kube.Kube
) -> None:
    installer.install(admin, platform_namespace=PLATFORM_NAMESPACE)
    # Its own platform namespace (no platform source there), with the operator's
    # Role in it bound to the operator's account, as install does in its namespace.
    namespace = f"check-{uuid.uuid4().hex[:8]}"
    for manifest in rbac.manifests(namespace):
        if manifest["kind"] in ("Namespace", "Role", "RoleBinding"):
            if manifest["kind"] == "RoleBinding":
                manifest["subjects"][0]["namespace"] = PLATFORM_NAMESPACE
            admin.apply(manifest, field_manager="test")

    result = _check(control_plane, "--as", OPERATOR_USER, namespace=namespace)

    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("apiserver", "CRDs", "RBAC", "policy", "kustomize", "sandbox"):
        assert _line(result.stdout, name).startswith("✓"), result.stdout
    assert OPERATOR_USER in _line(result.stdout, "RBAC")
    assert "supported: 1." in _line(result.stdout, "apiserver")
    # No platform source in that namespace: a warning, not a failure.
    assert _line(result.stdout, "platform source").startswith("!")
    assert "landlord bootstrap" in result.stdout
    assert "checks passed" in result.stdout.splitlines()[-1]


def test_json_output_lists_every_check(control_plane: pathlib.Path, admin: kube.Kube) -> None:
    installer.install(admin, platform_namespace=PLATFORM_NAMESPACE)

    result = _check(control_plane, "--output", "json")

    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    states = {item["name"]: item["state"] for item in report["checks"]}
    assert states["CRDs"] == "ok"
    assert states["platform source"] == "warn"


def test_a_modified_crd_fails_and_is_named(control_plane: pathlib.Path, admin: kube.Kube) -> None:
    installer.install(admin, platform_namespace=PLATFORM_NAMESPACE)
    name = "tenants.landlord.dev"
    served = admin.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
    assert served is not None
    versions = copy.deepcopy(served["spec"]["versions"])
    schema = versions[0]["schema"]["openAPIV3Schema"]
    schema["description"] = "changed by hand, as `kubectl patch` would"
    admin.merge_patch(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        name,
        {"spec": {"versions": versions}},
    )
    try:
        result = _check(control_plane)
    finally:
        installer.install(admin, platform_namespace=PLATFORM_NAMESPACE)

    assert result.returncode == 1, result.stdout + result.stderr
    line = _line(result.stdout, "CRDs")
    assert line.startswith("✗")
    assert name in line
    assert f"{versions[0]['name']}: schema differs at description" in line
    assert "run `landlord install`" in result.stdout
    assert "1 of " in result.stdout.splitlines()[-1]
    # Restored: the check passes again.
    assert _check(control_plane).returncode == 0


def test_an_identity_without_rbac_fails_the_rbac_check(
    control_plane: pathlib.Path, admin: kube.Kube
) -> None:
    installer.install(admin, platform_namespace=PLATFORM_NAMESPACE)
    nobody = kube.service_account_user("default", f"nobody-{uuid.uuid4().hex[:6]}")

    result = _check(control_plane, "--as", nobody)

    assert result.returncode == 1, result.stdout + result.stderr
    line = _line(result.stdout, "RBAC")
    assert line.startswith("✗")
    assert f"{nobody} may not * *.landlord.dev, get namespaces" in line
    assert "ClusterRole landlord-operator" in result.stdout


def test_an_unreachable_apiserver_fails_and_skips_the_cluster_checks(
    tmp_path: pathlib.Path, control_plane: pathlib.Path
) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "x"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )

    result = _check(control_plane, "--kubeconfig", str(config))

    assert result.returncode == 1, result.stdout + result.stderr
    assert _line(result.stdout, "apiserver").startswith("✗")
    assert _line(result.stdout, "CRDs").startswith("-")
    assert _line(result.stdout, "policy").startswith("✓")


def test_a_platform_source_that_is_not_ready_fails(
    control_plane: pathlib.Path, admin: kube.Kube
) -> None:
    installer.install(admin, platform_namespace=PLATFORM_NAMESPACE)
    namespace = f"check-{uuid.uuid4().hex[:8]}"
    admin.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        field_manager="test",
    )
    bootstrap.bootstrap(
        admin,
        url="https://git.invalid/platform.git",
        branch="main",
        path="tenants",
        platform_namespace=namespace,
    )
    try:
        result = _check(control_plane, env={"LANDLORD_PLATFORM_NAMESPACE": namespace})
    finally:
        admin.delete("v1", "Namespace", namespace)

    assert result.returncode == 1, result.stdout + result.stderr
    line = _line(result.stdout, "platform source")
    assert line.startswith("✗")
    assert f"GitRepository {namespace}/platform is not Ready" in line


PRE_CHECKS = ("apiserver", "install permissions", "policy", "kustomize", "helm", "sops", "sandbox")


def test_pre_install_checks_as_a_cluster_admin_pass_and_leave_out_the_installed_ones(
    control_plane: pathlib.Path,
) -> None:
    result = _check(control_plane, "--pre")

    assert result.returncode == 0, result.stdout + result.stderr
    names = [
        line.split(":")[0][2:]
        for line in result.stdout.splitlines()
        if line[:2] in ("✓ ", "! ", "✗ ", "- ")
    ]
    assert names == list(PRE_CHECKS)
    line = _line(result.stdout, "install permissions")
    assert line.startswith("✓")
    assert "may grant the operator's roles (escalate, bind)" in line
    assert "pre-install checks passed" in result.stdout.splitlines()[-1]

    as_json = _check(control_plane, "--pre", "-o", "json")
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert [item["name"] for item in report["checks"]] == list(PRE_CHECKS)
    assert report["ok"] is True
    as_yaml = _check(control_plane, "--pre", "-o", "yaml")
    assert yaml.safe_load(as_yaml.stdout) == report


def test_pre_install_fails_for_an_identity_that_may_not_install(
    control_plane: pathlib.Path,
) -> None:
    nobody = kube.service_account_user("default", f"nobody-{uuid.uuid4().hex[:6]}")

    result = _check(control_plane, "--pre", "--as", nobody)

    assert result.returncode == 1, result.stdout + result.stderr
    line = _line(result.stdout, "install permissions")
    assert line.startswith("✗")
    assert f"{nobody} may not create customresourcedefinitions.apiextensions.k8s.io" in line
    assert "run `landlord install` as a cluster admin" in result.stdout


def test_pre_install_needs_escalate_and_bind_to_grant_roles_it_does_not_hold(
    control_plane: pathlib.Path, admin: kube.Kube
) -> None:
    name = f"pre-installer-{uuid.uuid4().hex[:6]}"
    account = kube.service_account_user("default", name)
    apply_verbs = ["create", "patch", "get"]
    rules: list[dict[str, Any]] = [
        {
            "apiGroups": ["apiextensions.k8s.io"],
            "resources": ["customresourcedefinitions"],
            "verbs": apply_verbs,
        },
        {"apiGroups": [""], "resources": ["namespaces", "serviceaccounts"], "verbs": apply_verbs},
        {
            "apiGroups": ["rbac.authorization.k8s.io"],
            "resources": ["clusterroles", "clusterrolebindings", "roles", "rolebindings"],
            "verbs": apply_verbs,
        },
        {
            "apiGroups": ["admissionregistration.k8s.io"],
            "resources": ["validatingadmissionpolicies", "validatingadmissionpolicybindings"],
            "verbs": apply_verbs,
        },
    ]
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": rules,
    }
    admin.apply(role, field_manager="test")
    admin.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": name,
            },
            "subjects": [{"kind": "User", "name": account}],
        },
        field_manager="test",
    )
    try:
        # It may apply every kind install applies, not grant what it does not hold.
        refused = eventually(
            lambda: (
                (r := _check(control_plane, "--pre", "--as", account)).returncode == 1
                and "may not create" not in _line(r.stdout, "install permissions")
                and r
            ),
            timeout=30,
            what="the pre-install check to refuse only the roles' permissions",
        )
        line = _line(refused.stdout, "install permissions")
        assert line.startswith("✗")
        assert f"{account} may not * *.landlord.dev" in line

        rules.append(
            {
                "apiGroups": ["rbac.authorization.k8s.io"],
                "resources": ["clusterroles", "roles"],
                "verbs": ["escalate", "bind"],
            }
        )
        admin.apply(role, field_manager="test")

        allowed = eventually(
            lambda: (r := _check(control_plane, "--pre", "--as", account)).returncode == 0 and r,
            timeout=30,
            what="the pre-install check to pass with escalate and bind",
        )
        assert "may grant the operator's roles (escalate, bind)" in _line(
            allowed.stdout, "install permissions"
        )
    finally:
        admin.delete("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", name)
        admin.delete("rbac.authorization.k8s.io/v1", "ClusterRole", name)
