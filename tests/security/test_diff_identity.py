"""`landlord diff` runs as the Kustomization's service account, and never as the caller instead.

The caller here is the cluster admin, who could create everything the revision
holds: a diff that fell back to the caller's identity would succeed. Each case
asserts the refusal names the account it ran as, and that nothing was applied.
"""

from __future__ import annotations

import pathlib
from typing import Any

import yaml

from landlord import api, kube
from tests.cli.test_diff_build import suspended_kustomization
from tests.helpers import landlord
from tests.sync.conftest import TenantRepo
from tests.sync.test_apply_and_prune import config_map


def local(tmp_path: pathlib.Path, *objects: dict[str, Any]) -> pathlib.Path:
    folder = tmp_path / "deploy"
    folder.mkdir()
    (folder / "objects.yaml").write_text(yaml.safe_dump_all(objects))
    return folder


def test_a_service_account_without_rights_is_refused_without_fallback(
    control_plane: pathlib.Path, tenant_repo: TenantRepo, tmp_path: pathlib.Path
) -> None:
    ns = tenant_repo.name
    tenant_repo.admin.create(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "nobody", "namespace": ns},
        }
    )
    suspended_kustomization(tenant_repo, "powerless", serviceAccountName="nobody")
    suspended_kustomization(tenant_repo, "ghost", serviceAccountName="missing")
    folder = local(tmp_path, config_map("probe", a="1"))

    result = landlord(control_plane, "diff", "ks", "powerless", "-n", ns, "--path", str(folder))

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: ApplyFailed: the dry-run as the tenant was refused")
    assert f"ConfigMap {ns}/probe" in result.stderr
    assert f'User "system:serviceaccount:{ns}:nobody" cannot' in result.stderr
    assert tenant_repo.get("ConfigMap", "probe") is None

    missing = landlord(control_plane, "diff", "ks", "ghost", "-n", ns, "--path", str(folder))

    assert missing.returncode == 1
    assert missing.stderr.startswith("error: ServiceAccountNotFound:")
    assert f"service account {ns}/missing does not exist" in missing.stderr
    assert tenant_repo.get("ConfigMap", "probe") is None


def test_a_caller_who_may_not_impersonate_is_refused_before_anything_is_read(
    admin: kube.Kube,
    control_plane: pathlib.Path,
    tenant_repo: TenantRepo,
    tmp_path: pathlib.Path,
) -> None:
    ns = tenant_repo.name
    # A caller who may read the Kustomization and write ConfigMaps itself, but not
    # impersonate: the preview must not fall back to what the caller may do.
    admin.create(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "auditor", "namespace": ns},
        }
    )
    admin.create(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "auditor", "namespace": ns},
            "rules": [
                {
                    "apiGroups": [api.GROUP],
                    "resources": ["kustomizations", "gitrepositories"],
                    "verbs": ["get", "list"],
                },
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]},
                {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get"]},
            ],
        }
    )
    admin.create(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "auditor", "namespace": ns},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "auditor"},
            "subjects": [{"kind": "ServiceAccount", "name": "auditor", "namespace": ns}],
        }
    )
    config = yaml.safe_load(control_plane.read_text())
    config["users"] = [
        {"name": "auditor", "user": {"token": admin.service_account_token(ns, "auditor")}}
    ]
    for context in config["contexts"]:
        context["context"]["user"] = "auditor"
    kubeconfig = tmp_path / "auditor.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    folder = local(tmp_path, config_map("probe", a="1"))

    result = landlord(kubeconfig, "diff", "ks", ns, "-n", ns, "--path", str(folder))

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        f"error: you may not impersonate the service account {ns}/landlord-reconciler"
    )
    assert "never as you" in result.stderr
    assert f"impersonate serviceaccount/landlord-reconciler -n {ns}" in result.stderr
    assert admin.get("v1", "ConfigMap", "probe", ns) is None
