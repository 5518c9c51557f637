"""The names a tenant writes into a spec are checked as Kubernetes checks them."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml

from landlord.api import crds, names


@pytest.mark.parametrize(
    "value",
    ["a", "web", "db-1", "x" * 63, "my.app", "a.b-c.d"],
)
def test_subdomains_kubernetes_accepts_pass(value: str) -> None:
    assert names.is_subdomain(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "A",
        "Web",
        "../x",
        "a/b",
        "..",
        ".a",
        "a.",
        "-a",
        "a-",
        "a_b",
        "a b",
        "a\nb",
        "é",
        "x" * 254,
        5,
        None,
    ],
)
def test_subdomains_kubernetes_refuses_fail(value: Any) -> None:
    assert not names.is_subdomain(value)


@pytest.mark.parametrize("value", ["a.b", "x" * 64, "Team", "kube-system/", "%2e%2e"])
def test_labels_are_stricter_than_subdomains(value: str) -> None:
    assert not names.is_label(value)
    assert names.is_label("team-b")


def test_a_valid_kustomization_spec_has_no_problems() -> None:
    spec = {
        "sourceRef": {"kind": "GitRepository", "name": "repo", "namespace": "team-b"},
        "dependsOn": [{"name": "db"}, {"name": "cache", "namespace": ""}],
        "serviceAccountName": "deployer",
        "targetNamespace": "team-a-web",
        "postBuild": {"substituteFrom": [{"kind": "ConfigMap", "name": "vars.v1"}]},
        "kubeConfig": {"secretRef": {"name": "staging"}},
        "healthChecks": [{"kind": "Deployment", "name": "web", "namespace": "team-a"}],
    }

    assert names.kustomization(spec) == []


def test_every_name_field_of_a_kustomization_is_checked_and_named() -> None:
    spec = {
        "sourceRef": {"kind": "GitRepository", "name": "../repo", "namespace": "Team-B"},
        "dependsOn": [{"name": "ok"}, {"name": "a/b", "namespace": "x.y"}],
        "serviceAccountName": "../default",
        "targetNamespace": "kube-system/",
        "postBuild": {"substituteFrom": [{"kind": "Secret", "name": "A"}]},
        "kubeConfig": {"secretRef": {"name": "..%2fadmin"}},
        "healthChecks": [{"kind": "Deployment", "name": "Web", "namespace": "n" * 64}],
    }

    fields = [problem.field for problem in names.kustomization(spec)]

    assert fields == [
        "spec.sourceRef.name",
        "spec.sourceRef.namespace",
        "spec.dependsOn[1].name",
        "spec.dependsOn[1].namespace",
        "spec.serviceAccountName",
        "spec.targetNamespace",
        "spec.postBuild.substituteFrom[0].name",
        "spec.kubeConfig.secretRef.name",
        "spec.healthChecks[0].name",
        "spec.healthChecks[0].namespace",
    ]


def test_a_missing_source_name_is_a_problem_but_missing_optional_fields_are_not() -> None:
    assert [p.field for p in names.kustomization({"sourceRef": {"kind": "GitRepository"}})] == [
        "spec.sourceRef.name"
    ]
    assert names.kustomization({"sourceRef": {"name": "r"}, "serviceAccountName": ""}) == []


def test_the_message_names_the_field_the_value_and_the_rule_and_stays_short() -> None:
    [problem] = names.git_repository({"secretRef": {"name": "../../" + "x" * 500 + "\n"}})

    assert problem.message.startswith("spec.secretRef.name '../../xxx")
    assert "DNS-1123 subdomain" in problem.message
    assert len(problem.message) < 300
    assert "\n" not in problem.message
    assert names.summary([problem]).endswith("nothing was read, fetched or applied")


def test_a_git_repository_without_a_secret_has_no_problems() -> None:
    assert names.git_repository({"url": "https://example.com/x.git"}) == []
    assert names.git_repository({"secretRef": {"name": "creds"}}) == []


def _schema(kind: str) -> dict[str, Any]:
    for crd in crds.load():
        if crd["spec"]["names"]["kind"] == kind:
            schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
            properties: dict[str, Any] = schema["properties"]["spec"]["properties"]
            return properties
    raise AssertionError(kind)


def test_the_crds_use_the_same_patterns_as_the_check_before_use() -> None:
    spec = _schema("Kustomization")
    subdomain = {"pattern": names.SUBDOMAIN_PATTERN, "maxLength": names.SUBDOMAIN_MAX}
    label = {"pattern": names.LABEL_PATTERN, "maxLength": names.LABEL_MAX}
    fields = {
        "sourceRef.name": (spec["sourceRef"]["properties"]["name"], subdomain),
        "sourceRef.namespace": (spec["sourceRef"]["properties"]["namespace"], label),
        "dependsOn.name": (spec["dependsOn"]["items"]["properties"]["name"], subdomain),
        "dependsOn.namespace": (spec["dependsOn"]["items"]["properties"]["namespace"], label),
        "serviceAccountName": (spec["serviceAccountName"], subdomain),
        "targetNamespace": (spec["targetNamespace"], label),
        "substituteFrom.name": (
            spec["postBuild"]["properties"]["substituteFrom"]["items"]["properties"]["name"],
            subdomain,
        ),
        "kubeConfig.secretRef.name": (
            spec["kubeConfig"]["properties"]["secretRef"]["properties"]["name"],
            subdomain,
        ),
        "healthChecks.name": (spec["healthChecks"]["items"]["properties"]["name"], subdomain),
        "healthChecks.namespace": (spec["healthChecks"]["items"]["properties"]["namespace"], label),
        "GitRepository secretRef.name": (
            _schema("GitRepository")["secretRef"]["properties"]["name"],
            subdomain,
        ),
    }
    for field, (schema, wanted) in fields.items():
        assert {k: schema.get(k) for k in wanted} == wanted, field


def test_the_shipped_crd_copy_is_the_source_of_truth() -> None:
    root = pathlib.Path(__file__).parents[3] / "crds"
    shipped = sorted(p.name for p in crds.CRD_DIR.glob("*.yaml"))
    assert shipped == sorted(p.name for p in root.glob("*.yaml"))
    for name in shipped:
        assert yaml.safe_load((root / name).read_text()) == yaml.safe_load(
            (crds.CRD_DIR / name).read_text()
        )
