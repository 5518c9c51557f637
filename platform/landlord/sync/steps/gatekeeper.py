"""The policy gate: names, cross-namespace edges, kinds and budgets, decided before reads.

A refused sync learns nothing of what it names: names and edges are decided
from its spec, the namespace labels and the policy alone, before the source or
a dependency is read with the operator's identity. Kinds and the object budget
are decided after the build, before anything is applied.
"""

from __future__ import annotations

import threading
from typing import Any

import pydantic

from landlord import api, policy
from landlord.api import invalid, labels, names, reasons
from landlord.api import kustomization as model
from landlord.gitops import budgets as budgets_mod
from landlord.kube import Kube
from landlord.policy import requests
from landlord.runtime.namespaces import NamespaceLabels
from landlord.runtime.tenantview import TenantView
from landlord.sync.failure import SyncError

KIND = model.KIND


def kind_object(manifest: dict[str, Any]) -> str:
    """The ``apply`` policy object of a manifest: ``<group>/<Kind>`` (group ``core`` for v1)."""
    group = manifest["apiVersion"].rpartition("/")[0] or "core"
    return f"{group}/{manifest['kind']}"


def crosses(key: str, spec: dict[str, Any]) -> bool:
    """Whether a spec's sourceRef or any dependsOn leaves the namespace of ``key``."""
    own = key.partition("/")[0]
    refs = [spec.get("sourceRef") or {}, *(spec.get("dependsOn") or [])]
    return any((ref.get("namespace") or own) != own for ref in refs)


def parse(body: dict[str, Any]) -> model.KustomizationSpec:
    """The typed spec; InvalidSpec (Stalled) for what the apiserver let through and it refuses."""
    try:
        return model.KustomizationSpec.of(body)
    except pydantic.ValidationError as error:
        raise SyncError(reasons.INVALID_SPEC, invalid.describe(error), stalled=True) from None


class Gatekeeper:
    """Decides what a Kustomization may name, reach and apply."""

    def __init__(
        self,
        kube: Kube,
        *,
        gate: policy.Gate,
        platform_namespace: str,
        namespaces: NamespaceLabels,
        budgets: budgets_mod.Budgets,
        tenant_view: TenantView | None = None,
    ) -> None:
        self.kube = kube
        self.tenant_view = tenant_view  # a tenant's namespaces, as watched
        self.gate = gate
        self.platform_namespace = platform_namespace
        self.namespaces = namespaces
        self.budgets = budgets
        # key → the policy version under which its names and cross-namespace edges
        # were last found allowed: the watch-cache fast path trusts nothing else.
        self._cleared: dict[str, int] = {}
        self._lock = threading.Lock()

    # -- before any read ---------------------------------------------------------

    def admit(self, key: str, body: dict[str, Any]) -> model.KustomizationSpec | SyncError:
        """The typed spec, or why it is refused before anything it names is read.

        A bad name (InvalidSpec) or a denied cross-namespace sourceRef or
        dependsOn (PolicyDenied). The message names only what the tenant wrote,
        and is the same whether the target exists or not.
        """
        problems = names.kustomization(body.get("spec") or {})
        admitted: model.KustomizationSpec | SyncError
        if problems:
            admitted = SyncError(reasons.INVALID_SPEC, names.summary(problems), stalled=True)
        else:
            try:
                admitted = parse(body)
                self.check_edges(body["metadata"]["namespace"], admitted)
            except SyncError as error:
                admitted = error
        with self._lock:
            if isinstance(admitted, SyncError):
                self._cleared.pop(key, None)
            else:
                self._cleared[key] = self.gate.version
        return admitted

    def cleared(self, key: str) -> bool:
        """Whether ``key``'s edges were allowed under the policy in force now."""
        with self._lock:
            return self._cleared.get(key) == self.gate.version

    def allowed(self, key: str, version: int) -> None:
        """Record that ``key``'s edges were found allowed under policy ``version``."""
        with self._lock:
            self._cleared[key] = version

    def forget(self, key: str) -> None:
        """A deleted Kustomization: nothing about it is kept."""
        with self._lock:
            self._cleared.pop(key, None)

    def check_edges(self, own: str, spec: model.KustomizationSpec) -> None:
        """PolicyDenied for the first cross-namespace sourceRef or dependsOn the policy refuses."""
        requests.decided("source", "depend")  # an edge removed from the spec leaves the record
        edges = []
        source = spec.source_namespace(own)
        if source != own:
            target = f"{source}/{spec.source_ref.name}"
            edges.append(("source", target, f"sourceRef {target}"))
        for namespace, name in spec.dependencies(own):
            if namespace != own:
                target = f"{namespace}/{name}"
                edges.append(("depend", target, f"dependsOn {target}"))
        # Every edge is asked before the first denial is raised: the record (which a
        # decided point replaces) keeps the edges after a denied one, so a policy change
        # that re-allows it and denies one of them is not read as "only newly allowed".
        refused = None
        for point, target, what in edges:
            try:
                self.check(own, point, target, what)
            except SyncError as error:
                refused = refused or error
        if refused is not None:
            raise refused

    # -- policy --------------------------------------------------------------------

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        """A namespace's labels, from the watch cache when it has them."""
        cached = self.namespaces.get(namespace)
        if cached is not None:
            return cached
        ns = self.kube.get("v1", "Namespace", namespace) or {}
        return dict((ns.get("metadata") or {}).get("labels") or {})

    def decide(self, own: str, point: str, obj: str) -> tuple[str, policy.Decision] | None:
        """None when ``own``'s tenant may reach ``obj``; else its subject and the denial.

        Edges inside one tenant (between its own namespaces) need no policy; the
        platform namespace is not gated (it is how tenants and policies arrive).
        """
        if own == self.platform_namespace:
            return None
        own_labels = self.namespace_labels(own)
        if point in ("depend", "source"):
            other = obj.partition("/")[0]
            if other == own or policy.same_tenant(own_labels, self.namespace_labels(other)):
                return None
        subject = policy.subject_for(own, own_labels)
        decision = self.gate.check(point, [subject], obj)
        return None if decision.allowed else (subject, decision)

    def check(self, own: str, point: str, obj: str, what: str) -> None:
        """Raise PolicyDenied unless the policy lets ``own``'s tenant reach ``obj``."""
        denied = self.decide(own, point, obj)
        if denied is not None:
            subject, decision = denied
            raise SyncError(
                reasons.POLICY_DENIED,
                f"{what} is denied for {subject}: {decision.explain()}; nothing was applied. "
                f"{decision.how_to_allow(subject)}",
                stalled=True,
            )

    def check_kinds(self, namespace: str, manifests: list[dict[str, Any]]) -> None:
        """Every kind of the revision must be one the tenant may apply: else apply nothing."""
        if namespace == self.platform_namespace:
            return
        requests.decided("apply")  # the kinds of this revision, not of every earlier one
        kinds = sorted({kind_object(m) for m in manifests})
        if not kinds:
            return
        subject = policy.subject_for(namespace, self.namespace_labels(namespace))
        denied = [
            (kind, decision)
            for kind in kinds
            if not (decision := self.gate.check("apply", [subject], kind)).allowed
        ]
        if denied:
            listed = "; ".join(f"{kind}: {d.explain()}" for kind, d in denied[:5])
            more = f" (and {len(denied) - 5} more kinds)" if len(denied) > 5 else ""
            raise SyncError(
                reasons.POLICY_DENIED,
                f"{subject} may not apply {listed}{more}; nothing was applied",
                stalled=True,
            )

    # -- budgets -------------------------------------------------------------------

    def _tenant(self, namespace: str) -> tuple[str, list[str]]:
        """Whose budget ``namespace`` counts against, and all the namespaces it has."""
        found = self.namespace_labels(namespace)
        tenant = budgets_mod.tenant_of(namespace, found)
        name = found.get(labels.TENANT)
        if not name:
            return tenant, [namespace]
        watched = self.tenant_view.namespaces_of(name) if self.tenant_view is not None else None
        if watched is None:
            listed = self.kube.list_objects(
                "v1", "Namespace", label_selector=f"{labels.TENANT}={name}"
            )
            watched = [ns["metadata"]["name"] for ns in listed]
        return tenant, sorted({namespace, *watched})

    def check_budget(self, body: dict[str, Any]) -> None:
        """BudgetExceeded when the tenant's older Kustomizations use up its budget."""
        namespace = body["metadata"]["namespace"]
        if namespace == self.platform_namespace:
            return
        tenant, spaces = self._tenant(namespace)
        items = [
            i for ns in spaces for i in self.kube.list_objects(api.API_VERSION, KIND, namespace=ns)
        ]
        why = budgets_mod.over_count(
            KIND,
            f"{namespace}/{body['metadata']['name']}",
            items,
            limit=self.budgets.kustomizations,
            budget="kustomizations",
            tenant=tenant,
            consequence="nothing was read, built or applied",
        )
        if why:
            raise SyncError(reasons.BUDGET_EXCEEDED, why)

    def check_objects(self, namespace: str, count: int) -> None:
        """BudgetExceeded (Stalled until a new revision) when a revision has too many objects."""
        if namespace == self.platform_namespace:
            return
        tenant = budgets_mod.tenant_of(namespace, self.namespace_labels(namespace))
        why = budgets_mod.over_objects(
            count, limit=self.budgets.objects_per_revision, tenant=tenant
        )
        if why:
            raise SyncError(reasons.BUDGET_EXCEEDED, why, stalled=True)

    def allowed_namespaces(self, namespace: str) -> frozenset[str] | None:
        """The namespaces a revision may write to (None: any, for the platform sync)."""
        if namespace == self.platform_namespace:
            return None
        tenant = self.namespace_labels(namespace).get(labels.TENANT)
        if not tenant:
            return frozenset({namespace})
        # The namespaces labelled for the tenant (only the operator labels namespaces), as
        # watched; the Tenant's status says the same once provisioned, at a request each.
        watched = self.tenant_view.namespaces_of(tenant) if self.tenant_view is not None else None
        if watched is not None and namespace in watched:
            return frozenset(watched)
        body = self.kube.get(api.API_VERSION, "Tenant", tenant) or {}
        return frozenset((body.get("status") or {}).get("namespaces") or [namespace])
