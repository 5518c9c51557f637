"""The dependencies step: Stalled on a dependsOn cycle, waiting while a dependency is not Ready.

Every cross-namespace edge was allowed by the gatekeeper before this runs; only
then are the dependencies read, the cycle walk first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from landlord import api
from landlord.api import conditions, names, reasons
from landlord.api import kustomization as model
from landlord.kube import Kube
from landlord.policy import requests
from landlord.sync.failure import SyncError

# (own namespace, point, object) → None when allowed (see Gatekeeper.decide).
Decide = Callable[[str, str, str], object | None]


def _short(key: str, namespace: str) -> str:
    """``name`` for a key in ``namespace``, ``namespace/name`` otherwise."""
    return key.partition("/")[2] if key.partition("/")[0] == namespace else key


def check(kube: Kube, body: dict[str, Any], spec: model.KustomizationSpec, decide: Decide) -> None:
    """DependencyCycle (Stalled) or DependencyNotReady, naming what it waits for."""
    own = body["metadata"]["namespace"]
    found = cycle(kube, body, decide)
    if found:
        raise SyncError(
            reasons.DEPENDENCY_CYCLE,
            "dependsOn forms a cycle: " + " → ".join(found),
            stalled=True,
        )
    waiting = []
    for namespace, name in spec.dependencies(own):
        other = kube.get(api.API_VERSION, model.KIND, name, namespace)
        if other is None:
            waiting.append(f"{namespace}/{name} (not found)")
        elif not conditions.ready_at_generation(other):
            waiting.append(f"{namespace}/{name}")
    if waiting:
        raise SyncError(
            reasons.DEPENDENCY_NOT_READY,
            "waiting for dependencies to be Ready: " + ", ".join(waiting),
        )


def _on_behalf(decide: Decide, namespace: str, target: str) -> object | None:
    """Another Kustomization's edge: decided, but not recorded as this one's request.

    (Its own reconcile records it; credited to the walker, a change denying it would
    read as this Kustomization stopping.)
    """
    with requests.unrecorded():
        return decide(namespace, "depend", target)


def cycle(kube: Kube, body: dict[str, Any], decide: Decide) -> list[str] | None:
    """The dependsOn cycle through this Kustomization, walking only allowed edges.

    An edge leaving a namespace is followed only when the policy lets that
    namespace's tenant depend on its target: a denied edge is never honoured
    (its Kustomization is PolicyDenied), so it closes no cycle, and the walk
    reads nothing behind it.
    """
    own = body["metadata"]["namespace"]
    start = f"{own}/{body['metadata']['name']}"
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    visited: set[str] = set()
    while stack:
        key, path = stack.pop()
        namespace, _, name = key.partition("/")
        obj = body if key == start else kube.get(api.API_VERSION, model.KIND, name, namespace)
        for dep in ((obj or {}).get("spec") or {}).get("dependsOn") or []:
            if not names.is_subdomain(dep.get("name")) or not names.is_label(
                dep.get("namespace") or namespace
            ):
                continue  # a name no request path may carry
            target = f"{dep.get('namespace') or namespace}/{dep['name']}"
            if key != start and _on_behalf(decide, namespace, target) is not None:
                continue
            if target == start:
                return [_short(k, own) for k in (*path, start)]
            if target not in visited:
                visited.add(target)
                stack.append((target, [*path, target]))
    return None
