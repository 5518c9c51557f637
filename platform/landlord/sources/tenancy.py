"""Whose a GitRepository is: its namespace's labels, and every source of the same tenant.

The policy subject and the budgets both follow the namespace's
``landlord.dev/tenant`` label, read from the namespace watch's cache when it has
seen the namespace and from the apiserver otherwise.
"""

from __future__ import annotations

from typing import Any

from landlord import api
from landlord.api import gitrepository, labels
from landlord.gitops import budgets
from landlord.kube import Kube
from landlord.runtime.namespaces import NamespaceLabels
from landlord.runtime.tenantview import TenantView


class Tenancy:
    """Looks up namespaces' labels and a tenant's GitRepositories."""

    def __init__(
        self, kube: Kube, namespaces: NamespaceLabels, tenant_view: TenantView | None = None
    ) -> None:
        self.kube = kube
        self.namespaces = namespaces
        self.tenant_view = tenant_view  # a tenant's namespaces, as watched

    def labels_of(self, namespace: str) -> dict[str, str]:
        """The namespace's labels (empty when it does not exist)."""
        found = self.namespaces.get(namespace)
        if found is None:
            ns = self.kube.get("v1", "Namespace", namespace) or {}
            found = (ns.get("metadata") or {}).get("labels") or {}
        return found

    def sources_of(
        self, namespace: str, kinds: tuple[str, ...] = (gitrepository.KIND,)
    ) -> tuple[str, list[dict[str, Any]]]:
        """Whose budget ``namespace`` counts against, and every source of ``kinds`` it has.

        Each item carries its ``kind`` (a list's items may lack it).
        """
        found = self.labels_of(namespace)
        tenant = found.get(labels.TENANT)
        spaces = {namespace}
        if tenant:
            watched = self.tenant_view.namespaces_of(tenant) if self.tenant_view else None
            if watched is None:
                listed = self.kube.list_objects(
                    "v1", "Namespace", label_selector=f"{labels.TENANT}={tenant}"
                )
                watched = [item["metadata"]["name"] for item in listed]
            spaces.update(watched)
        sources = [
            {**item, "kind": kind}
            for kind in kinds
            for ns in sorted(spaces)
            for item in self.kube.list_objects(api.API_VERSION, kind, namespace=ns)
        ]
        return budgets.tenant_of(namespace, found), sources
