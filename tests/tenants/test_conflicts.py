"""Namespaces are never adopted: foreign, claimed and reserved ones are refused."""

from __future__ import annotations

from landlord import kube
from landlord.api import labels
from tests.fixtures.operator import Tenants


def test_an_existing_foreign_namespace_is_not_adopted(admin: kube.Kube, tenants: Tenants) -> None:
    name = tenants.name("legacy")
    admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    try:
        tenants.create(name)

        ready = tenants.condition(name, "NamespaceConflict")

        assert ready["status"] == "False"
        assert "was not created by Landlord" in ready["message"]
        namespace = admin.get("v1", "Namespace", name)
        assert namespace is not None
        assert labels.TENANT not in (namespace["metadata"].get("labels") or {})
    finally:
        admin.delete("v1", "Namespace", name)


def test_a_second_tenant_claiming_a_namespace_is_refused(
    admin: kube.Kube, tenants: Tenants
) -> None:
    first = tenants.create(tenants.name("first"))
    tenants.ready(first)

    second = tenants.create(tenants.name("second"), {"namespaces": [first]})
    ready = tenants.condition(second, "NamespaceConflict")

    assert f"belongs to tenant {first}" in ready["message"]
    namespace = admin.get("v1", "Namespace", first)
    assert namespace is not None
    assert namespace["metadata"]["labels"][labels.TENANT] == first
    assert tenants.ready(first)


def test_reserved_namespaces_are_refused(admin: kube.Kube, tenants: Tenants) -> None:
    name = tenants.create(tenants.name("greedy"), {"namespaces": ["kube-system", "default"]})

    ready = tenants.condition(name, "ReservedNamespace")

    assert "kube-system" in ready["message"]
    system = admin.get("v1", "Namespace", "kube-system")
    assert system is not None
    assert labels.TENANT not in (system["metadata"].get("labels") or {})
