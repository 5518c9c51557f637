"""Refusals before anything is written: reserved and foreign namespaces."""

from __future__ import annotations

import pytest

from landlord.api.tenant import Tenant
from landlord.tenants import validation


def _tenant(*namespaces: str) -> Tenant:
    return Tenant.from_object(
        {"metadata": {"name": "team-a"}, "spec": {"namespaces": list(namespaces)}}
    )


@pytest.mark.parametrize(
    "namespace", ["default", "kube-system", "kube-anything", "landlord-system"]
)
def test_reserved_namespaces_are_refused(namespace: str) -> None:
    refusal = validation.reserved(_tenant("ok", namespace), "landlord-system")

    assert refusal is not None
    assert refusal.reason == "ReservedNamespace"
    assert namespace in refusal.message


def test_ordinary_namespaces_are_not_reserved() -> None:
    assert validation.reserved(_tenant("team-a", "kubeflow"), "landlord-system") is None


def test_a_namespace_of_another_tenant_conflicts() -> None:
    refusal = validation.conflicts(_tenant("shared"), {"shared": "team-b"})

    assert refusal is not None
    assert refusal.reason == "NamespaceConflict"
    assert "belongs to tenant team-b" in refusal.message


def test_an_unlabelled_existing_namespace_is_never_adopted() -> None:
    refusal = validation.conflicts(_tenant("legacy"), {"legacy": None})

    assert refusal is not None
    assert "was not created by Landlord" in refusal.message


def test_own_and_new_namespaces_are_fine() -> None:
    assert validation.conflicts(_tenant("team-a", "new"), {"team-a": "team-a"}) is None
