"""What a viewer may see, shaped for the page: pure functions of a snapshot.

Nothing here reads the cluster or decides policy itself: the snapshot comes from
the watch cache, and cross-tenant edges are judged by the ``decide`` function
the caller passes (the policy gate, in the API; a table, in unit tests).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from landlord.api import conditions, reasons
from landlord.git import urls
from landlord.onboarding.statuspage.cache import Body, Snapshot

SOURCE_KINDS = ("GitRepository", "HelmRepository")
SYNC_KINDS = ("Kustomization", "HelmRelease")


@dataclasses.dataclass(frozen=True)
class Viewer:
    """Who looks: every tenant (``everything``: the policy's ``api:list``) or these."""

    shown: str
    everything: bool
    tenants: frozenset[str] = frozenset()

    def sees(self, tenant: str | None) -> bool:
        return self.everything or (tenant is not None and tenant in self.tenants)


@dataclasses.dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str
    message: str
    since: str


@dataclasses.dataclass(frozen=True)
class Readiness:
    """The Ready condition in three words: ``True``/``False``/``Unknown``, reason, message."""

    status: str
    reason: str
    message: str

    @property
    def word(self) -> str:
        return {"True": "Ready", "False": "Failing"}.get(self.status, "Pending")


@dataclasses.dataclass(frozen=True)
class Item:
    """A source or a sync, as one row of a tenant's page."""

    kind: str
    namespace: str
    name: str
    ready: Readiness
    revision: str
    detail: str  # a source's URL; a sync's source and path
    last: str  # last fetch (sources) or last apply (syncs)
    drift: str  # the last drift repair ('' when none)
    suspended: bool
    conditions: tuple[Condition, ...]

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclasses.dataclass(frozen=True)
class TenantRow:
    name: str
    ready: Readiness
    namespaces: tuple[str, ...]
    suspended: bool
    syncs: int
    syncs_ready: int
    failing: tuple[Item, ...] = ()  # its sources and syncs whose Ready is False


@dataclasses.dataclass(frozen=True)
class TenantPage:
    row: TenantRow
    conditions: tuple[Condition, ...]
    sources: tuple[Item, ...]
    syncs: tuple[Item, ...]


@dataclasses.dataclass(frozen=True)
class Denial:
    """A refusal by the policy: an object whose Ready says PolicyDenied, or a denied edge."""

    kind: str
    key: str
    tenant: str
    message: str


@dataclasses.dataclass(frozen=True)
class EdgeDecision:
    allowed: bool
    why: str  # the deciding policy line and its effect, or why no policy was asked


@dataclasses.dataclass(frozen=True)
class Node:
    key: str  # namespace/name of a Kustomization
    tenant: str
    ready: Readiness | None  # None: outside what the viewer sees (or missing)
    known: bool  # False: named by a dependsOn, but no such Kustomization exists


@dataclasses.dataclass(frozen=True)
class Edge:
    source: str  # the dependent Kustomization's key
    target: str  # the Kustomization it depends on
    cross_tenant: bool
    decision: EdgeDecision


@dataclasses.dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


Decide = Callable[[str, dict[str, str], str, dict[str, str]], EdgeDecision]
"""``decide(own namespace, its labels, target "namespace/name", target namespace's labels)``."""


# -- reading bodies ----------------------------------------------------------------


def _status(body: Body) -> dict[str, Any]:
    return body.get("status") or {}


def readiness(body: Body) -> Readiness:
    found = conditions.get(_status(body).get("conditions") or [], conditions.READY)
    if found is None:
        return Readiness("Unknown", "", "not reconciled yet")
    return Readiness(
        str(found.get("status") or "Unknown"),
        str(found.get("reason") or ""),
        str(found.get("message") or ""),
    )


def _conditions(body: Body) -> tuple[Condition, ...]:
    return tuple(
        Condition(
            str(item.get("type") or ""),
            str(item.get("status") or ""),
            str(item.get("reason") or ""),
            str(item.get("message") or ""),
            str(item.get("lastTransitionTime") or ""),
        )
        for item in _status(body).get("conditions") or []
    )


def tenant_namespaces(body: Body) -> tuple[str, ...]:
    """The namespaces a Tenant has (its status), or asks for (its spec), or its name."""
    status = _status(body).get("namespaces")
    spec = (body.get("spec") or {}).get("namespaces")
    return tuple(status or spec or [body["metadata"]["name"]])


def namespace_tenants(snapshot: Snapshot) -> dict[str, str]:
    """Map each namespace to its tenant, by the ``landlord.dev/tenant`` label the operator set.

    Only the label counts: a Tenant's spec may ask for a namespace it was refused
    (another tenant's), and its status may still list one being offboarded.
    """
    return snapshot.tenant_of_namespace


def owned_namespaces(snapshot: Snapshot, tenant_name: str) -> tuple[str, ...]:
    """The namespaces labelled as ``tenant_name``'s: where its sources and syncs are read."""
    return snapshot.namespaces_of_tenant.get(tenant_name, ())


def namespace_labels(snapshot: Snapshot, namespace: str) -> dict[str, str]:
    body = snapshot.get("Namespace", namespace) or {}
    return dict((body.get("metadata") or {}).get("labels") or {})


def _item(body: Body) -> Item:
    kind = str(body.get("kind") or "")
    status = _status(body)
    spec = body.get("spec") or {}
    metadata = body.get("metadata") or {}
    ready = readiness(body)
    if kind in SOURCE_KINDS:
        artifact = status.get("artifact") or {}
        revision = str(artifact.get("revision") or "")
        detail = urls.redact(str(spec.get("url") or ""))  # user:password@ → ***@
        last = str(artifact.get("lastUpdateTime") or "")
        drift = ""
    else:
        if kind == "HelmRelease":
            history = status.get("history") or []
            revision = str(status.get("helmChart") or "")
            if history:
                revision += f" (release v{history[0].get('version')})"
            chart = ((spec.get("chart") or {}).get("spec") or {}).get("chart") or ""
            detail = f"chart {chart}" if chart else ""
        else:
            revision = str(status.get("lastAppliedRevision") or "")
            ref = spec.get("sourceRef") or {}
            source = f"{ref.get('kind', 'GitRepository')}/{ref.get('name', '?')}"
            detail = f"{source} path {spec.get('path') or './'}"
        found = conditions.get(status.get("conditions") or [], conditions.READY) or {}
        last = str(found.get("lastTransitionTime") or "") if ready.status == "True" else ""
        repair = status.get("lastDriftRepair") or {}
        drift = f"{repair.get('time')}: {repair.get('objects', '')}" if repair.get("time") else ""
    return Item(
        kind=kind,
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata.get("name") or ""),
        ready=ready,
        revision=revision,
        detail=detail,
        last=last,
        drift=drift,
        suspended=bool(spec.get("suspend")),
        conditions=_conditions(body),
    )


# -- views ---------------------------------------------------------------------------


def _in(snapshot: Snapshot, kinds: Iterable[str], namespaces: Iterable[str]) -> list[Body]:
    return [
        body
        for kind in kinds
        for namespace in sorted(set(namespaces))
        for body in snapshot.in_namespace(kind, namespace)
    ]


def _row(snapshot: Snapshot, body: Body) -> TenantRow:
    namespaces = tenant_namespaces(body)
    owned = owned_namespaces(snapshot, body["metadata"]["name"])
    syncs = [_item(item) for item in _in(snapshot, SYNC_KINDS, owned)]
    sources = [_item(item) for item in _in(snapshot, SOURCE_KINDS, owned)]
    return TenantRow(
        name=body["metadata"]["name"],
        ready=readiness(body),
        namespaces=namespaces,
        suspended=bool((body.get("spec") or {}).get("suspend")),
        syncs=len(syncs),
        syncs_ready=sum(1 for item in syncs if item.ready.status == "True"),
        failing=tuple(item for item in (*sources, *syncs) if item.ready.status == "False"),
    )


def tenants(snapshot: Snapshot, viewer: Viewer) -> list[TenantRow]:
    """The tenants the viewer sees, by name."""
    return [
        _row(snapshot, body)
        for body in snapshot.of("Tenant")
        if viewer.sees(body["metadata"]["name"])
    ]


def tenant(snapshot: Snapshot, viewer: Viewer, name: str) -> TenantPage | None:
    """One tenant's page (None: no such tenant, or not one the viewer sees)."""
    body = snapshot.get("Tenant", name)
    if body is None or not viewer.sees(name):
        return None
    owned = owned_namespaces(snapshot, name)
    return TenantPage(
        row=_row(snapshot, body),
        conditions=_conditions(body),
        sources=tuple(_item(item) for item in _in(snapshot, SOURCE_KINDS, owned)),
        syncs=tuple(_item(item) for item in _in(snapshot, SYNC_KINDS, owned)),
    )


def _visible_namespaces(snapshot: Snapshot, viewer: Viewer) -> dict[str, str]:
    owners = namespace_tenants(snapshot)
    return {ns: tenant for ns, tenant in owners.items() if viewer.sees(tenant)}


def graph(snapshot: Snapshot, viewer: Viewer, decide: Decide) -> Graph:
    """The Kustomizations the viewer sees and their ``dependsOn`` edges, each judged.

    A target outside what the viewer sees is drawn by name only (no status):
    the edge is the viewer's own, the other tenant's state is not.
    """
    owners = namespace_tenants(snapshot)
    visible = _visible_namespaces(snapshot, viewer)
    nodes: dict[str, Node] = {}
    edges: list[Edge] = []
    for body in snapshot.of("Kustomization"):
        metadata = body["metadata"]
        own = str(metadata.get("namespace"))
        if not (viewer.everything or own in visible):
            continue
        key = f"{own}/{metadata['name']}"
        nodes[key] = Node(key, owners.get(own, ""), readiness(body), known=True)
        for ref in (body.get("spec") or {}).get("dependsOn") or []:
            target_ns = str(ref.get("namespace") or own)
            target = f"{target_ns}/{ref.get('name')}"
            own_tenant, other_tenant = owners.get(own), owners.get(target_ns)
            cross = target_ns != own and not (own_tenant and own_tenant == other_tenant)
            decision = (
                decide(
                    own,
                    namespace_labels(snapshot, own),
                    target,
                    namespace_labels(snapshot, target_ns),
                )
                if target_ns != own
                else EdgeDecision(True, "same namespace: no policy needed")
            )
            edges.append(Edge(key, target, cross, decision))
    for edge in edges:
        if edge.target in nodes:
            continue
        target_ns = edge.target.partition("/")[0]
        if not (viewer.everything or target_ns in visible):
            # Outside the viewer's tenants: one state whatever is there (another
            # tenant's, or nothing at all), and no owner: the edge is the viewer's own,
            # what it points at is not.
            nodes[edge.target] = Node(edge.target, "", None, known=True)
            continue
        found = snapshot.get("Kustomization", edge.target)
        nodes[edge.target] = Node(
            edge.target,
            owners.get(target_ns, ""),
            readiness(found) if found is not None else None,
            known=found is not None,
        )
    return Graph(tuple(nodes[key] for key in sorted(nodes)), tuple(edges))


def denials(snapshot: Snapshot, viewer: Viewer, drawn: Graph) -> list[Denial]:
    """Objects the policy stopped (Ready reason PolicyDenied) and denied edges."""
    owners = namespace_tenants(snapshot)
    found: list[Denial] = []
    for kind in ("Tenant", *SOURCE_KINDS, *SYNC_KINDS):
        for body in snapshot.of(kind):
            metadata = body["metadata"]
            namespace = metadata.get("namespace")
            tenant_name = metadata["name"] if kind == "Tenant" else owners.get(str(namespace), "")
            if not (viewer.everything or viewer.sees(tenant_name)):
                continue
            ready = readiness(body)
            if ready.reason == reasons.POLICY_DENIED:
                key = f"{namespace}/{metadata['name']}" if namespace else metadata["name"]
                found.append(Denial(kind, key, tenant_name, ready.message))
    for edge in drawn.edges:
        if not edge.decision.allowed:
            found.append(
                Denial(
                    "dependsOn",
                    f"{edge.source} → {edge.target}",
                    owners.get(edge.source.partition("/")[0], ""),
                    edge.decision.why,
                )
            )
    return found
