"""Which Kustomizations in other namespaces wait on a Kustomization or use a source.

The wake-ups across namespaces: a dependency that becomes Ready, or a source
with a new artifact, wakes the Kustomizations elsewhere that named it. Kept per
live Kustomization (its edges are replaced on every run and dropped when it is
deleted), so the index never holds more than the Kustomizations that exist.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any


def waiting_here(items: Iterable[dict[str, Any]], namespace: str, name: str) -> list[str]:
    """Keys of the Kustomizations among ``items`` (in ``namespace``) depending on ``name``."""
    return [
        f"{namespace}/{item['metadata']['name']}"
        for item in items
        if any(
            dep.get("name") == name and (dep.get("namespace") or namespace) == namespace
            for dep in (item.get("spec") or {}).get("dependsOn") or []
        )
    ]


def using_here(
    items: Iterable[dict[str, Any]], namespace: str, source: str, kind: str = "GitRepository"
) -> list[str]:
    """Keys of the Kustomizations among ``items`` (of ``namespace``) using ``kind`` ``source``."""
    found = []
    for item in items:
        ref = (item.get("spec") or {}).get("sourceRef") or {}
        if (
            ref.get("name") == source
            and (ref.get("kind") or "GitRepository") == kind
            and ref.get("namespace") in (None, "", namespace)
        ):
            found.append(f"{namespace}/{item['metadata']['name']}")
    return found


class DependencyIndex:
    """Cross-namespace dependsOn and sourceRef edges, by the Kustomization that has them."""

    def __init__(self) -> None:
        self._dependencies: dict[str, frozenset[str]] = {}  # key → dependency keys elsewhere
        self._sources: dict[str, str] = {}  # key → its source key, when elsewhere
        self._lock = threading.Lock()

    def depends(self, key: str, dependencies: set[str] | frozenset[str]) -> None:
        """``key``'s dependencies in other namespaces (replacing what it had)."""
        with self._lock:
            if dependencies:
                self._dependencies[key] = frozenset(dependencies)
            else:
                self._dependencies.pop(key, None)

    def uses(self, key: str, source: str | None) -> None:
        """``key``'s source when it is in another namespace (None: its own namespace)."""
        with self._lock:
            if source:
                self._sources[key] = source
            else:
                self._sources.pop(key, None)

    def forget(self, key: str) -> None:
        """A deleted Kustomization: it waits on nothing and uses nothing."""
        with self._lock:
            self._dependencies.pop(key, None)
            self._sources.pop(key, None)

    def dependents(self, dependency: str) -> list[str]:
        """Keys of the Kustomizations elsewhere waiting on ``dependency``."""
        with self._lock:
            return sorted(k for k, deps in self._dependencies.items() if dependency in deps)

    def users(self, source: str) -> list[str]:
        """Keys of the Kustomizations elsewhere using ``source``."""
        with self._lock:
            return sorted(k for k, used in self._sources.items() if used == source)

    def __len__(self) -> int:
        with self._lock:
            return len(self._dependencies.keys() | self._sources.keys())
