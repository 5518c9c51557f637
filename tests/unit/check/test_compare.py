"""``landlord check``'s pure parts: install's rules as permissions, CRD comparison."""

from __future__ import annotations

import copy

from landlord.api import crds
from landlord.check import cluster as check_cluster
from landlord.check import compare


def test_permissions_expand_every_rule_once_keeping_wildcards() -> None:
    rules = [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["secrets", "configmaps"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "delete"]},
    ]

    assert compare.permissions(rules) == [
        ("*", "*", "get", "", ""),
        ("*", "*", "list", "", ""),
        ("", "secrets", "get", "", ""),
        ("", "configmaps", "get", "", ""),
        ("", "secrets", "delete", "", ""),
    ]


def test_resource_names_and_a_namespace_become_one_permission_each() -> None:
    rules = [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["a", "b"]}
    ]

    assert compare.permissions(rules, "ns") == [
        ("", "secrets", "get", "ns", "a"),
        ("", "secrets", "get", "ns", "b"),
    ]


def test_permissions_come_from_what_install_grants() -> None:
    granted = check_cluster.operator_permissions("landlord-system")

    assert ("landlord.dev", "*", "*", "", "") in granted
    assert ("rbac.authorization.k8s.io", "clusterroles", "bind", "", "admin") in granted
    assert ("", "secrets", "get", "landlord-system", "") in granted
    # Never across the cluster: impersonation and Secrets are per tenant namespace.
    assert not [p for p in granted if p[1] == "secrets" and not p[3]]
    assert not [p for p in granted if p[2] == "impersonate"]
    assert len(granted) == len(set(granted))


def test_the_shipped_crds_equal_themselves() -> None:
    for crd in crds.load():
        assert compare.crd_difference(crd, copy.deepcopy(crd)) is None


def test_a_changed_schema_is_named_with_its_version_and_path() -> None:
    shipped = next(c for c in crds.load() if c["metadata"]["name"] == "tenants.landlord.dev")
    served = copy.deepcopy(shipped)
    version = served["spec"]["versions"][0]
    version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["extra"] = {
        "type": "string"
    }

    difference = compare.crd_difference(shipped, served)

    assert difference == (f"{version['name']}: schema differs at properties.spec.properties.extra")


def test_missing_crds_versions_and_flags_are_differences() -> None:
    shipped = crds.load()[0]
    renamed = copy.deepcopy(shipped)
    renamed["spec"]["versions"][0]["name"] = "v9"
    unserved = copy.deepcopy(shipped)
    unserved["spec"]["versions"][0]["served"] = False

    assert compare.crd_difference(shipped, None) == "not installed"
    assert (compare.crd_difference(shipped, renamed) or "").startswith("versions ['v9']")
    assert (compare.crd_difference(shipped, unserved) or "").endswith("served is False")


def test_first_difference_walks_lists_and_maps() -> None:
    assert compare.first_difference({"a": [1, {"b": 2}]}, {"a": [1, {"b": 3}]}) == "a[1].b"
    assert compare.first_difference({"a": [1]}, {"a": [1, 2]}) == "a"
    assert compare.first_difference({"a": 1}, {"a": 1}) is None
