"""A tenant probes another tenant through a denied sourceRef or dependsOn, or with odd names.

Argo CD answered "not found" and "permission denied" differently, so anyone
could enumerate applications (CVE-2022-41354, GHSA-2q5c-qw9c-fmvq) and clusters
(CVE-2024-36106, GHSA-3cqf-953p-h5cp); capsule-proxy listed other tenants'
namespaces (CVE-2023-46254). Each case asks what a denied reference shows,
comparing a target that exists with one that does not: the statuses must not
tell them apart, and names that are not Kubernetes names never get that far.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from landlord import api, errors, kube
from landlord.api import conditions
from landlord.demo import GitServer
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.operator import Tenants
from tests.helpers import eventually
from tests.sync.conftest import TenantRepo
from tests.sync.test_apply_and_prune import config_map


def _victim(tenants: Tenants, git: GitServer) -> tuple[str, str]:
    """Another tenant with a fetched source and a Ready sync: (its name, its revision)."""
    name = tenants.name("victim")
    git.create(name)
    git.commit(name, {"deploy/secret-plans.yaml": yaml.safe_dump(config_map("plans"))})
    url = git.url(name).replace("http://", f"http://{USER}:{PASSWORD}@")
    tenants.create(
        name,
        {"source": {"url": url, "interval": "1m"}, "sync": {"path": "./deploy", "interval": "1m"}},
    )

    def applied() -> str | None:
        status = (kube_get(tenants.admin, "Kustomization", name, name) or {}).get("status") or {}
        ready = conditions.is_true(status.get("conditions") or [], "Ready")
        return str(status.get("lastAppliedRevision") or "") if ready else None

    return name, eventually(applied, timeout=60, what=f"victim {name} Ready")


def kube_get(admin: kube.Kube, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
    return admin.get(api.API_VERSION, kind, name, namespace)


def _probe(admin: kube.Kube, namespace: str, name: str, source: str, **spec: Any) -> None:
    admin.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "sourceRef": {"kind": "GitRepository", "name": source},
                "path": "./deploy",
                "interval": "1m",
                "retryInterval": "1s",
                **spec,
            },
        },
        field_manager="test",
        force=True,
    )


def _settled(admin: kube.Kube, namespace: str, name: str, reason: str) -> dict[str, Any]:
    """The status once Ready carries ``reason`` at the current generation."""

    def check() -> dict[str, Any] | None:
        body = kube_get(admin, "Kustomization", name, namespace) or {}
        status = body.get("status") or {}
        ready = conditions.get(status.get("conditions") or [], "Ready") or {}
        if ready.get("reason") != reason:
            return None
        if status.get("observedGeneration") != body["metadata"]["generation"]:
            return None
        return status

    return eventually(check, timeout=45, what=f"{namespace}/{name} {reason}")


def _shown(status: dict[str, Any], target: str) -> str:
    """What a status tells its reader, with the target the tenant wrote masked out."""
    kept = {
        key: value
        for key, value in status.items()
        if key not in ("conditions", "observedGeneration", "lastHandledReconcileAt")
    }
    kept["conditions"] = [
        {k: v for k, v in c.items() if k != "lastTransitionTime"}
        for c in status.get("conditions") or []
    ]
    return json.dumps(kept, sort_keys=True).replace(target, "TARGET")


def _events(admin: kube.Kube, namespace: str, name: str) -> list[str]:
    return [
        e["message"]
        for e in admin.list_objects("v1", "Event", namespace=namespace)
        if e["involvedObject"].get("name") == name
    ]


def test_a_denied_source_ref_shows_nothing_of_its_target(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants, tenant_repo: TenantRepo
) -> None:
    victim, revision = _victim(tenants, git_server)
    own = tenant_repo.name
    probes = {
        "probe-real": (victim, victim),  # exists, has an artifact
        "probe-ghost": ("no-such-source", victim),  # the namespace exists, the source does not
        "probe-void": (victim, "no-such-namespace"),  # neither exists
    }
    for probe, (name, namespace) in probes.items():
        _probe(
            admin,
            own,
            probe,
            name,
            sourceRef={"kind": "GitRepository", "name": name, "namespace": namespace},
        )

    shown = {
        probe: _shown(_settled(admin, own, probe, "PolicyDenied"), f"{namespace}/{name}")
        for probe, (name, namespace) in probes.items()
    }

    assert shown["probe-real"] == shown["probe-ghost"] == shown["probe-void"]
    sha = revision.rpartition(":")[2]
    assert sha not in shown["probe-real"]
    assert "TARGET is denied for tenant:" in shown["probe-real"]
    assert all(sha not in message for message in _events(admin, own, "probe-real"))
    assert admin.get("v1", "ConfigMap", "plans", own) is None


def test_a_denied_depends_on_shows_nothing_of_its_target(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants, tenant_repo: TenantRepo
) -> None:
    victim, _ = _victim(tenants, git_server)
    own = tenant_repo.name
    probes = {
        "probe-ready": (victim, victim),  # exists and is Ready
        "probe-ghost": ("no-such-sync", victim),
        "probe-void": (victim, "no-such-namespace"),
    }
    for probe, (name, namespace) in probes.items():
        _probe(admin, own, probe, own, dependsOn=[{"name": name, "namespace": namespace}])

    shown = {
        probe: _shown(_settled(admin, own, probe, "PolicyDenied"), f"{namespace}/{name}")
        for probe, (name, namespace) in probes.items()
    }

    assert shown["probe-ready"] == shown["probe-ghost"] == shown["probe-void"]
    assert "not found" not in shown["probe-ghost"]
    assert "dependsOn TARGET is denied for tenant:" in shown["probe-ready"]


def test_a_cycle_through_a_denied_namespace_is_not_reported(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants, tenant_repo: TenantRepo
) -> None:
    victim, _ = _victim(tenants, git_server)
    own = tenant_repo.name
    # The victim's sync waits for one of ours; ours waits (through a second one)
    # for the victim's. Both cross edges are denied: the walk must not follow them.
    _probe(admin, victim, "waits-for-you", victim, dependsOn=[{"name": "first", "namespace": own}])
    _probe(admin, own, "first", own, dependsOn=[{"name": "second"}])
    _probe(admin, own, "second", own, dependsOn=[{"name": "waits-for-you", "namespace": victim}])

    _settled(admin, own, "second", "PolicyDenied")
    first = _settled(admin, own, "first", "DependencyNotReady")

    ready = conditions.get(first["conditions"], "Ready") or {}
    assert ready["message"] == "waiting for dependencies to be Ready: " + f"{own}/second"
    assert victim not in json.dumps(first)
    assert all(victim not in message for message in _events(admin, own, "first"))


FIELDS = [
    ("sourceRef.name", {"sourceRef": {"kind": "GitRepository", "name": "../../secrets"}}),
    (
        "sourceRef.namespace",
        {"sourceRef": {"kind": "GitRepository", "name": "a", "namespace": "Team-B"}},
    ),
    ("dependsOn[0].name", {"dependsOn": [{"name": "a/b"}]}),
    ("dependsOn[0].namespace", {"dependsOn": [{"name": "a", "namespace": "kube-system/"}]}),
    ("serviceAccountName", {"serviceAccountName": "../default"}),
    ("targetNamespace", {"targetNamespace": "other.tenant"}),
    (
        "postBuild.substituteFrom[0].name",
        {"postBuild": {"substituteFrom": [{"kind": "Secret", "name": "A%2Fb"}]}},
    ),
    ("kubeConfig.secretRef.name", {"kubeConfig": {"secretRef": {"name": "..%2f..%2fadmin"}}}),
    ("healthChecks[0].name", {"healthChecks": [{"kind": "Deployment", "name": "Web"}]}),
    (
        "healthChecks[0].namespace",
        {"healthChecks": [{"kind": "Deployment", "name": "web", "namespace": "x" * 64}]},
    ),
]


@pytest.mark.parametrize(("field", "spec"), FIELDS, ids=[f for f, _ in FIELDS])
def test_a_name_kubernetes_would_refuse_is_refused_by_the_crd(
    admin: kube.Kube, namespace: str, field: str, spec: dict[str, Any]
) -> None:
    manifest = {
        "apiVersion": api.API_VERSION,
        "kind": "Kustomization",
        "metadata": {"name": "odd", "namespace": namespace},
        "spec": {"sourceRef": {"kind": "GitRepository", "name": "repo"}, **spec},
    }

    with pytest.raises(errors.ApiError) as refused:
        admin.create(manifest)

    assert refused.value.invalid
    assert f"spec.{field}" in refused.value.message
    assert admin.get(api.API_VERSION, "Kustomization", "odd", namespace) is None


def test_a_secret_name_that_climbs_is_refused_by_the_crd(admin: kube.Kube, namespace: str) -> None:
    with pytest.raises(errors.ApiError) as refused:
        admin.create(
            {
                "apiVersion": api.API_VERSION,
                "kind": "GitRepository",
                "metadata": {"name": "odd", "namespace": namespace},
                "spec": {
                    "url": "https://git.example.com/x.git",
                    "secretRef": {"name": "../operator"},
                },
            }
        )

    assert refused.value.invalid
    assert "spec.secretRef.name" in refused.value.message
    assert admin.get(api.API_VERSION, "GitRepository", "odd", namespace) is None
