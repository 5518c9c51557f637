"""A tenant's keys share one fairness group, however many namespaces it has."""

from __future__ import annotations

from landlord.api import labels
from landlord.runtime.namespaces import NamespaceLabels
from landlord.wiring import parts


def test_every_namespace_of_a_tenant_is_one_group() -> None:
    namespaces = NamespaceLabels()
    namespaces.update("noisy-0", {labels.TENANT: "noisy"})
    namespaces.update("noisy-1", {labels.TENANT: "noisy"})
    namespaces.update("calm", {labels.TENANT: "calm"})
    group_of = parts.fairness_group(namespaces)

    assert group_of("noisy-0/a") == group_of("noisy-1/b") == "tenant:noisy"
    assert group_of("calm/a") == "tenant:calm"


def test_a_namespace_without_a_tenant_is_its_own_group() -> None:
    namespaces = NamespaceLabels()
    namespaces.update("scratch", {})
    group_of = parts.fairness_group(namespaces)

    assert group_of("scratch/a") == "namespace:scratch"
    assert group_of("unseen/a") == "namespace:unseen"
