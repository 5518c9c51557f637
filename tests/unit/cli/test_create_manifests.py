"""`landlord create`: the manifests, checked against the typed models and the CRDs' schemas."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner

from landlord import errors
from landlord.api import crds, labels
from landlord.cli import create, main


def test_a_git_repository_follows_main_unless_told() -> None:
    manifest = create.git_repository("web", "team-a", url="https://git.example/web.git")

    assert manifest == {
        "apiVersion": "landlord.dev/v1alpha1",
        "kind": "GitRepository",
        "metadata": {"name": "web", "namespace": "team-a"},
        "spec": {"url": "https://git.example/web.git", "ref": {"branch": "main"}, "interval": "1m"},
    }
    tagged = create.git_repository(
        "web", "team-a", url="ssh://git.example/web", tag="v1", secret_ref="creds"
    )
    assert tagged["spec"]["ref"] == {"tag": "v1"}
    assert tagged["spec"]["secretRef"] == {"name": "creds"}


def _refused(build: Any) -> errors.InvalidError:
    with pytest.raises(errors.InvalidError) as caught:
        build()
    return caught.value


def test_a_refused_value_names_its_field() -> None:
    error = _refused(lambda: create.git_repository("web", "team-a", url="ftp://x", interval="soon"))

    assert set(error.fields) == {"spec.url", "spec.interval"}
    assert "spec.interval: 'soon' must be a duration" in error.message
    assert "[" not in error.message  # printed with rich markup: no regex brackets to eat

    name = _refused(lambda: create.git_repository("Web", "team-a", url="https://x/y"))
    assert set(name.fields) == {"metadata.name"}


def test_a_kustomization_from_flux_style_flags() -> None:
    manifest = create.kustomization_manifest(
        "web",
        "team-a",
        source="GitRepository/app.shared",
        path="./deploy",
        prune=False,
        depends_on=("infra", "base/db"),
        target_namespace="team-a",
        service_account="deployer",
        decryption_secret="sops-age",
    )

    assert manifest["spec"] == {
        "sourceRef": {"kind": "GitRepository", "name": "app", "namespace": "shared"},
        "path": "./deploy",
        "interval": "10m",
        "prune": False,
        "dependsOn": [{"name": "infra"}, {"name": "db", "namespace": "base"}],
        "targetNamespace": "team-a",
        "serviceAccountName": "deployer",
        "decryption": {"provider": "sops", "secretRef": {"name": "sops-age"}},
    }


@pytest.mark.parametrize("source", ["Bucket/app", "GitRepository/", ".shared"])
def test_a_bad_source_is_a_usage_error(source: str) -> None:
    with pytest.raises(click.BadParameter):
        create.parse_source(source)


def test_a_kustomization_with_a_bad_dependency_is_refused() -> None:
    error = _refused(
        lambda: create.kustomization_manifest("web", "team-a", source="web", depends_on=("A_B",))
    )

    assert list(error.fields) == ["spec.dependsOn[0].name"]


def test_a_tenant_reads_its_flags_as_landlord_tenant_does() -> None:
    manifest = create.tenant_manifest(
        "team-a",
        namespaces=("team-a", "team-a-staging"),
        owners=("Group:devs", "User:system:admin", "ServiceAccount:ci:tools", "ServiceAccount:x/y"),
        source_url="https://git.example/a.git",
        source_branch="prod",
        sync_path="./deploy",
    )

    assert manifest["metadata"] == {"name": "team-a"}
    assert manifest["spec"] == {
        "namespaces": ["team-a", "team-a-staging"],
        "owners": [
            {"kind": "Group", "name": "devs"},
            {"kind": "User", "name": "system:admin"},
            {"kind": "ServiceAccount", "name": "ci", "namespace": "tools"},
            {"kind": "ServiceAccount", "name": "y", "namespace": "x"},
        ],
        "source": {"url": "https://git.example/a.git", "ref": {"branch": "prod"}},
        "sync": {"path": "./deploy"},
    }


def test_a_tenant_the_model_refuses() -> None:
    error = _refused(lambda: create.tenant_manifest("team-a", namespaces=("a", "a")))
    assert list(error.fields) == ["spec.namespaces"]

    dotted = _refused(lambda: create.tenant_manifest("team.a"))  # a label, not a subdomain
    assert list(dotted.fields) == ["metadata.name"]


def test_the_schema_check_covers_what_the_crds_ask() -> None:
    schema = {
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "maxLength": 5},
            "items": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        },
    }

    assert create.schema_problems(schema, {"items": ["a", "c"]}, "spec") == {
        "spec.url": "required",
        "spec.items[1]": "'c' is not one of a, b",
    }
    assert create.schema_problems(schema, {"url": "toolong"}, "spec") == {
        "spec.url": "longer than 5 characters"
    }
    served = {crd["spec"]["names"]["kind"] for crd in crds.load()}
    assert {"GitRepository", "Kustomization", "Tenant"} <= served


def _status(generation: int, observed: int, ready: str, stalled: str = "False") -> dict[str, Any]:
    return {
        "metadata": {"generation": generation},
        "status": {
            "observedGeneration": observed,
            "conditions": [
                {"type": "Ready", "status": ready, "reason": "R", "message": "m"},
                {"type": "Stalled", "status": stalled},
            ],
        },
    }


def test_readiness_counts_only_the_current_generation() -> None:
    assert create.readiness({"metadata": {}}) == (None, "not reconciled yet")
    assert create.readiness(_status(2, 1, "True"))[0] is None  # an old generation's Ready
    assert create.readiness(_status(2, 2, "True")) == (True, "R: m")
    assert create.readiness(_status(2, 2, "False"))[0] is None  # may still become Ready
    assert create.readiness(_status(2, 2, "False", stalled="True"))[0] is False


def test_export_prints_yaml_and_touches_nothing() -> None:
    # No KUBECONFIG is needed: nothing is read from or written to a cluster.
    result = CliRunner().invoke(
        main.cli,
        ["create", "source", "git", "web", "--url", "https://git.example/w", "--export"],
        env={"KUBECONFIG": "/nonexistent"},
        catch_exceptions=False,
    )

    assert result.exit_code == 0, result.output
    assert result.output.startswith("---\n")
    assert yaml.safe_load(result.output)["spec"]["url"] == "https://git.example/w"
    assert labels.FIELD_MANAGER != create.FIELD_MANAGER  # the CLI's own field manager


def test_a_refused_value_exits_1_naming_the_field() -> None:
    args = ["create", "kustomization", "web", "--source", "web", "--interval", "x", "--export"]
    result = subprocess.run(
        [sys.executable, "-m", "landlord", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert (
        "error: Kustomization web refused: spec.interval: 'x' must be a duration" in result.stderr
    )


def test_a_malformed_flag_is_a_usage_error() -> None:
    result = CliRunner().invoke(
        main.cli, ["create", "kustomization", "web", "--source", "Bucket/x", "--export"]
    )

    assert result.exit_code == 2
    assert "--source" in result.output
