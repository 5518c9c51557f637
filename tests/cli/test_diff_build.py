"""`landlord build` and `landlord diff` against the real control plane, operator and Git server.

Both build a tenant's revision exactly as its sync does and apply nothing: every
case checks what is printed and that the cluster is as it was (resourceVersions
and generations unchanged, nothing created or deleted).
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import yaml

from landlord import api
from landlord.api import labels
from landlord.sync import compare, preview
from tests.fixtures.operator import OperatorProcess
from tests.fixtures.sops import SopsTools
from tests.helpers import landlord
from tests.sync.conftest import TenantRepo, tenant_repo
from tests.sync.test_apply_and_prune import config_map, deployment

__all__ = ["tenant_repo"]  # the sync suite's tenant with a repository, Ready

SECRET_VALUE = "pl41ntext-never-shown-8d2c"


def folder(root: pathlib.Path, files: dict[str, Any]) -> pathlib.Path:
    """A local folder of manifests (a list of objects per file)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        text = body if isinstance(body, str) else yaml.safe_dump_all(body, sort_keys=False)
        (root / name).write_text(text)
    return root


def versions(repo: TenantRepo, *names: str) -> dict[str, str]:
    """The resourceVersion of each ConfigMap (absent: "")."""
    found = {}
    for name in names:
        live = repo.get("ConfigMap", name)
        found[name] = live["metadata"]["resourceVersion"] if live else ""
    return found


def suspended_kustomization(repo: TenantRepo, name: str, **spec: Any) -> None:
    """A second Kustomization of the tenant's source the operator leaves alone (suspended)."""
    repo.admin.create(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": repo.name},
            "spec": {
                "sourceRef": {"kind": "GitRepository", "name": repo.name},
                "path": "./deploy",
                "interval": "1m",
                "suspend": True,
                **spec,
            },
        }
    )


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def test_diff_shows_drift_creation_and_prune_and_applies_nothing(
    control_plane: pathlib.Path, tenant_repo: TenantRepo, tmp_path: pathlib.Path
) -> None:
    keep = config_map("keep", a="1")
    keep["metadata"]["annotations"] = {labels.PRUNE: "disabled"}
    # Enough ConfigMaps that the live ones are read with one LIST, as the apply step does.
    bulk = [config_map(f"bulk-{index}", index=str(index)) for index in range(8)]
    sha = tenant_repo.push(
        {
            "deploy/web.yaml": [deployment()],
            "deploy/settings.yaml": [config_map("settings", color="blue"), config_map("old"), keep],
            "deploy/bulk.yaml": bulk,
        }
    )
    tenant_repo.ready_at(sha)
    ns = tenant_repo.name
    live_web = tenant_repo.get("Deployment", "web", "apps/v1")
    assert live_web is not None
    before = versions(tenant_repo, "settings", "old", "keep", "new")
    assert before["new"] == ""

    same = folder(
        tmp_path / "same",
        {
            "web.yaml": [deployment()],
            "settings.yaml": [config_map("settings", color="blue"), config_map("old"), keep],
            "bulk.yaml": bulk,
        },
    )
    quiet = landlord(control_plane, "diff", "ks", ns, "-n", ns, "--path", str(same))
    assert quiet.returncode == 0, quiet.stderr
    assert "no changes" in quiet.stdout
    assert "►" not in quiet.stdout

    scaled = deployment()
    scaled["spec"]["replicas"] = 3
    changed = folder(
        tmp_path / "changed",
        {
            "web.yaml": [scaled],
            "settings.yaml": [config_map("settings", color="blue")],
            "bulk.yaml": bulk,
        },
    )
    (changed / "new.yaml").write_text(yaml.safe_dump(config_map("new", b="2")))
    result = landlord(control_plane, "diff", "kustomization", ns, "-n", ns, "--path", str(changed))

    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert f"► Deployment/{ns}/web drifted" in out
    assert "-  replicas: 1\n" in out
    assert "+  replicas: 3\n" in out
    assert f"► ConfigMap/{ns}/new created" in out
    assert f"► ConfigMap/{ns}/old pruned" in out
    assert f"◦ ConfigMap/{ns}/keep kept: {labels.PRUNE}: disabled" in out
    assert f"ConfigMap/{ns}/settings" not in out  # unchanged: not listed
    assert f"dry-run as service account {ns}/landlord-reconciler; nothing was applied" in out
    assert "3 changes (1 created, 1 drifted, 1 pruned)" in out

    as_json = landlord(
        control_plane, "diff", "ks", ns, "-n", ns, "--path", str(changed), "-o", "json"
    )
    assert as_json.returncode == 1, as_json.stderr
    data = json.loads(as_json.stdout)
    actions = {c["object"]: c["action"] for c in data["changes"]}
    assert data["changed"] is True
    assert actions == {
        **{f"ConfigMap/{ns}/bulk-{index}": "unchanged" for index in range(8)},
        f"Deployment/{ns}/web": "drifted",
        f"ConfigMap/{ns}/settings": "unchanged",
        f"ConfigMap/{ns}/new": "created",
        f"ConfigMap/{ns}/old": "pruned",
        f"ConfigMap/{ns}/keep": "kept",
    }

    # Dry-run only: nothing was created, changed or deleted.
    assert versions(tenant_repo, "settings", "old", "keep", "new") == before
    web = tenant_repo.get("Deployment", "web", "apps/v1")
    assert web is not None
    assert web["spec"]["replicas"] == 1
    assert web["metadata"]["generation"] == live_web["metadata"]["generation"]


def test_an_object_outside_the_tenants_namespaces_is_refused(
    control_plane: pathlib.Path, tenant_repo: TenantRepo, namespace: str, tmp_path: pathlib.Path
) -> None:
    tenant_repo.ready_at(tenant_repo.push({"deploy/a.yaml": [config_map("a")]}))
    ns = tenant_repo.name
    elsewhere = config_map("intruder")
    elsewhere["metadata"]["namespace"] = namespace
    local = folder(tmp_path / "deploy", {"a.yaml": [config_map("a"), elsewhere]})

    result = landlord(control_plane, "diff", "ks", ns, "-n", ns, "--path", str(local))

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: ValidationFailed:")
    assert f"namespace '{namespace}' is not one of the tenant's namespaces" in result.stderr
    assert "intruder" in result.stderr
    assert tenant_repo.admin.get("v1", "ConfigMap", "intruder", namespace) is None


def test_a_kind_the_tenants_role_may_not_write_is_refused_by_rbac_in_the_dry_run(
    control_plane: pathlib.Path,
    tenant_repo: TenantRepo,
    operator: OperatorProcess,
    tmp_path: pathlib.Path,
) -> None:
    tenant_repo.ready_at(tenant_repo.push({"deploy/a.yaml": [config_map("a")]}))
    ns = tenant_repo.name
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "more"},
        "spec": {"hard": {"pods": "1000"}},
    }
    local = folder(tmp_path / "deploy", {"a.yaml": [config_map("a"), config_map("b"), quota]})

    result = landlord(control_plane, "diff", "ks", ns, "-n", ns, "--path", str(local))

    # The tenant's role (admin) cannot write ResourceQuotas: the apiserver says so.
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: ApplyFailed: the dry-run as the tenant was refused")
    assert f"ResourceQuota {ns}/more" in result.stderr
    assert f"system:serviceaccount:{ns}:landlord-reconciler" in result.stderr
    assert tenant_repo.get("ConfigMap", "b") is None
    assert tenant_repo.get("ResourceQuota", "more") is None

    # With the operator's policy, the kinds check refuses it first, as in the sync.
    checked = landlord(
        control_plane,
        "diff",
        "ks",
        ns,
        "-n",
        ns,
        "--path",
        str(local),
        "--policy",
        str(operator.policy_dir),
    )
    assert checked.returncode == 1
    assert checked.stderr.startswith("error: PolicyDenied:")
    assert "core/ResourceQuota" in checked.stderr


def test_build_prints_the_substituted_manifests_as_the_sync_would_apply_them(
    control_plane: pathlib.Path, tenant_repo: TenantRepo, tmp_path: pathlib.Path
) -> None:
    pushed = config_map("from-git", revision="pushed")
    tenant_repo.ready_at(tenant_repo.push({"deploy/cm.yaml": [pushed]}))
    ns = tenant_repo.name
    tenant_repo.admin.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "vars", "namespace": ns}}
        | {"data": {"region": "eu-west-3"}}
    )
    suspended_kustomization(
        tenant_repo,
        "preview",
        postBuild={
            "substitute": {"greeting": "bonjour"},
            "substituteFrom": [{"kind": "ConfigMap", "name": "vars"}],
        },
    )
    templated = config_map(
        "app", greeting="${greeting}", region="${region}", tier="${tier:=standard}"
    )
    local = folder(tmp_path / "deploy", {"app.yaml": [templated]})

    result = landlord(control_plane, "build", "ks", "preview", "-n", ns, "--path", str(local))

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"# Kustomization {ns}/preview, local folder ")
    (app,) = documents(result.stdout)
    assert app["data"] == {"greeting": "bonjour", "region": "eu-west-3", "tier": "standard"}
    assert app["metadata"]["namespace"] == ns
    assert app["metadata"]["labels"] == {
        labels.KUSTOMIZATION_NAME: "preview",
        labels.KUSTOMIZATION_NAMESPACE: ns,
    }
    assert tenant_repo.get("ConfigMap", "app") is None

    # A kustomize overlay in a checkout: ../base resolves within the checkout, as in Git.
    checkout = tmp_path / "checkout"
    (checkout / ".git").mkdir(parents=True)
    folder(checkout / "base", {"cm.yaml": [config_map("base", greeting="${greeting}")]})
    (checkout / "base" / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (checkout / "overlay").mkdir()
    (checkout / "overlay" / "kustomization.yaml").write_text(
        "resources: [../base]\nnamePrefix: prod-\n"
    )
    overlay = landlord(
        control_plane, "build", "ks", "preview", "-n", ns, "--path", str(checkout / "overlay")
    )
    assert overlay.returncode == 0, overlay.stderr
    (base,) = documents(overlay.stdout)
    assert base["metadata"]["name"] == "prod-base"
    assert base["data"] == {"greeting": "bonjour"}

    # Without --path: the source's current revision, fetched here as the operator did.
    fetched = landlord(
        control_plane,
        "build",
        "kustomization",
        ns,
        "-n",
        ns,
        "-o",
        "json",
        env={"LANDLORD_SOURCES__ALLOWED_SCHEMES": "https,ssh,http"},
    )
    assert fetched.returncode == 0, fetched.stderr
    listed = json.loads(fetched.stdout)
    assert listed["kind"] == "List"
    assert [item["data"] for item in listed["items"]] == [{"revision": "pushed"}]

    refused = landlord(control_plane, "build", "ks", ns, "-n", ns)  # http is not allowed
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: ArtifactFailed:")
    assert "--path" in refused.stderr

    missing = landlord(control_plane, "build", "ks", "absent", "-n", ns)
    assert missing.returncode == 3
    assert f"Kustomization {ns}/absent not found" in missing.stderr


def test_encrypted_secrets_are_never_decrypted_and_print_a_placeholder(
    control_plane: pathlib.Path,
    tenant_repo: TenantRepo,
    sops_tools: SopsTools,
    tmp_path: pathlib.Path,
) -> None:
    tenant_repo.ready_at(tenant_repo.push({"deploy/a.yaml": [config_map("a")]}))
    ns = tenant_repo.name
    suspended_kustomization(
        tenant_repo,
        "sealed",
        decryption={"provider": "sops", "secretRef": {"name": "sops-age"}},
    )
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "type": "Opaque",
        "stringData": {"password": SECRET_VALUE},
    }
    encrypted = sops_tools.encrypt(yaml.safe_dump(secret), sops_tools.key())
    local = folder(tmp_path / "deploy", {"a.yaml": [config_map("a")], "db.yaml": encrypted})

    built = landlord(control_plane, "build", "ks", "sealed", "-n", ns, "--path", str(local))

    assert built.returncode == 0, built.stderr
    assert SECRET_VALUE not in built.stdout
    assert "ENC[" not in built.stdout
    assert (
        f"# SOPS-encrypted values are not decrypted: shown as {compare.PLACEHOLDER} "
        f"(Secret/{ns}/db)" in built.stdout
    )
    db = next(doc for doc in documents(built.stdout) if doc["kind"] == "Secret")
    assert db["stringData"] == {"password": compare.PLACEHOLDER}
    assert "sops" not in db

    diffed = landlord(control_plane, "diff", "ks", "sealed", "-n", ns, "--path", str(local))
    assert diffed.returncode == 1, diffed.stderr
    assert f"► Secret/{ns}/db created ({preview.ENCRYPTED_NOTE})" in diffed.stdout
    assert SECRET_VALUE not in diffed.stdout + diffed.stderr
    assert tenant_repo.get("Secret", "db") is None

    # The tenant's own Kustomization does not decrypt: the build fails as its sync would.
    plain = landlord(control_plane, "build", "ks", ns, "-n", ns, "--path", str(local))
    assert plain.returncode == 1
    assert plain.stderr.startswith("error: DecryptionFailed:")
    assert "spec.decryption is not set" in plain.stderr
