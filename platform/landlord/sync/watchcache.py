"""The newest Kustomization and source (GitRepository, OCIRepository) bodies the watches delivered.

An interval tick with nothing changed is decided from them, with no request.
A source announced to have moved (:meth:`WatchCache.source_moved`) is not
trusted until its watch event brings the new revision.
"""

from __future__ import annotations

import threading
from typing import Any


def key_of(body: dict[str, Any]) -> str:
    """``namespace/name`` of an object body."""
    metadata = body.get("metadata") or {}
    return f"{metadata.get('namespace')}/{metadata.get('name')}"


# The kinds a Kustomization's sourceRef may name; a GitRepository's cache key is
# plain ``namespace/name``, another kind's is prefixed (``OCIRepository:ns/name``).
GIT = "GitRepository"
SOURCE_KINDS = frozenset({GIT, "OCIRepository"})


def cache_key(kind: str, namespace: str, name: str) -> str:
    """The key a source of ``kind`` is cached under (names may repeat across kinds)."""
    plain = f"{namespace}/{name}"
    return plain if kind == GIT else f"{kind}:{plain}"


def source_key(key: str, spec: dict[str, Any]) -> str:
    """The cache key of the source a Kustomization's spec names (by default in its own)."""
    ref = spec.get("sourceRef") or {}
    return cache_key(
        str(ref.get("kind") or GIT),
        str(ref.get("namespace") or key.partition("/")[0]),
        str(ref.get("name")),
    )


class WatchCache:
    """Kustomization and source bodies by key, as their watches last delivered them."""

    def __init__(self) -> None:
        self._bodies: dict[str, dict[str, Any]] = {}
        self._sources: dict[str, dict[str, Any]] = {}
        self._moved: dict[str, str] = {}  # source key → the revision announced, not yet cached
        self._lock = threading.Lock()

    def remember(self, body: dict[str, Any], *, deleted: bool = False) -> None:
        """A watch event's Kustomization or source body (the newest one wins)."""
        kind = body.get("kind")
        source = kind in SOURCE_KINDS
        key = key_of(body)
        if source:
            key = cache_key(str(kind), *key.split("/", 1))
        metadata = body.get("metadata") or {}
        if "managedFields" in metadata:  # most of a body's size; nothing here reads it
            body = {**body, "metadata": {k: v for k, v in metadata.items() if k != "managedFields"}}
        cache = self._sources if source else self._bodies
        with self._lock:
            if deleted:
                cache.pop(key, None)
            else:
                cache[key] = body
            revision = ((body.get("status") or {}).get("artifact") or {}).get("revision")
            if source and (deleted or self._moved.get(key) == revision):
                self._moved.pop(key, None)

    def source(self, key: str) -> dict[str, Any] | None:
        """The source cached as ``key`` (:func:`cache_key`; None: not seen, or behind)."""
        with self._lock:
            return None if key in self._moved else self._sources.get(key)

    def body(self, key: str) -> dict[str, Any] | None:
        """The Kustomization ``key`` as last delivered."""
        with self._lock:
            return self._bodies.get(key)

    def source_of(self, key: str) -> dict[str, Any] | None:
        """The cached source of the cached Kustomization ``key`` (None: either is missing)."""
        body = self.body(key)
        return None if body is None else self.source(source_key(key, body.get("spec") or {}))

    def source_moved(self, key: str, revision: str) -> None:
        """A source has a new artifact: until the cache holds it, do not trust the cache."""
        with self._lock:
            cached = (self._sources.get(key) or {}).get("status") or {}
            if (cached.get("artifact") or {}).get("revision") == revision:
                return  # the watch event was first: the cache already holds it
            self._moved[key] = revision

    def bodies_in(self, namespace: str) -> list[dict[str, Any]] | None:
        """Every cached Kustomization of ``namespace`` (None before the first is cached).

        For wake-ups only (who uses a source, who waits on a sync): one missed here
        is one whose own watch event is still coming, and that event wakes it.
        """
        prefix = f"{namespace}/"
        with self._lock:
            if not self._bodies:
                return None
            return [body for key, body in self._bodies.items() if key.startswith(prefix)]

    def sizes(self) -> tuple[int, int, int]:
        """How many Kustomizations, sources and moved sources it holds."""
        with self._lock:
            return len(self._bodies), len(self._sources), len(self._moved)
