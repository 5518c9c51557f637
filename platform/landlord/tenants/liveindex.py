"""Every object that carries a tenant's label, as the watches last delivered it.

A Tenant's reconcile compares its desired objects with what it has in the
cluster. Listing the eight managed kinds for that, at every reconcile of every
Tenant, was the operator's largest cost in requests (issue 18): this index keeps
the answer instead, fed by one list-then-watch per kind
(``landlord.wiring.tenant_watches``), the way an informer's cache does.

A kind counts only once its list has arrived (and again after a broken watch
has listed anew); until then :meth:`LiveIndex.live` answers None for it and the
caller lists it from the apiserver. The bodies are kept without
``managedFields`` and ``status``, which no reconcile reads and which are most of
their size.

A stale entry costs at most a write the next watch event corrects: an object
seen changed or deleted wakes its tenant again (level-based). Whose an object is
is still decided by the caller (only the tenant's own namespaces count), so a
label someone puts on an object elsewhere changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable

from landlord.api import labels
from landlord.tenants.desired import Manifest, ObjectKey

Kind = tuple[str, str]  # (apiVersion, kind)
NAMESPACE: Kind = ("v1", "Namespace")


def compact(body: Manifest) -> Manifest:
    """The body without what no reconcile reads (``status``, ``metadata.managedFields``)."""
    metadata = {k: v for k, v in (body.get("metadata") or {}).items() if k != "managedFields"}
    return {**{k: v for k, v in body.items() if k != "status"}, "metadata": metadata}


def tenant_of(body: Manifest) -> str | None:
    return ((body.get("metadata") or {}).get("labels") or {}).get(labels.TENANT)


class LiveIndex:
    """Thread-safe tenant → {key: body} of the watched kinds, with each kind's sync state."""

    def __init__(self, kinds: Iterable[Kind]) -> None:
        self.kinds = tuple(kinds)
        self._synced: set[Kind] = set()
        self._objects: dict[Kind, dict[str, dict[ObjectKey, Manifest]]] = {
            k: {} for k in self.kinds
        }
        self._owner: dict[ObjectKey, str] = {}  # whose label each indexed object carries
        self._lock = threading.Lock()

    def listed(self, kind: Kind, items: Iterable[Manifest]) -> set[str]:
        """A (re)list of ``kind`` replaces what was known; returns whose objects changed."""
        fresh: dict[str, dict[ObjectKey, Manifest]] = {}
        for item in items:
            tenant = tenant_of(item)
            if tenant:
                fresh.setdefault(tenant, {})[ObjectKey.of(item)] = compact(item)
        with self._lock:
            before = self._objects.get(kind) or {}
            for objects in before.values():
                for key in objects:
                    self._owner.pop(key, None)
            for tenant, objects in fresh.items():
                for key in objects:
                    self._owner[key] = tenant
            self._objects[kind] = fresh
            self._synced.add(kind)
        return {
            tenant
            for tenant in before.keys() | fresh.keys()
            if _versions(before.get(tenant)) != _versions(fresh.get(tenant))
        }

    def observe(self, event: str, body: Manifest) -> set[str]:
        """A watch event of a watched kind; returns the tenants it concerns (old and new label)."""
        kind = (body.get("apiVersion") or "", body.get("kind") or "")
        key = ObjectKey.of(body)
        tenant = tenant_of(body)
        with self._lock:
            by_tenant = self._objects.setdefault(kind, {})
            # The label may have changed: the object leaves the tenant that had it.
            previous = self._owner.pop(key, None)
            body = compact(body)
            if tenant and previous == tenant and event != "DELETED":
                before = (by_tenant.get(tenant) or {}).get(key)
                by_tenant.setdefault(tenant, {})[key] = body
                self._owner[key] = tenant
                # A status write (a sync reporting progress) changes nothing a Tenant sets.
                return set() if before is not None and _same(before, body) else {tenant}
            if previous is not None:
                objects = by_tenant.get(previous) or {}
                objects.pop(key, None)
                if not objects:
                    by_tenant.pop(previous, None)
            if tenant and event != "DELETED":
                by_tenant.setdefault(tenant, {})[key] = body
                self._owner[key] = tenant
        return {t for t in (previous, tenant) if t}

    def unsynced(self, kind: Kind) -> None:
        """The watch of ``kind`` broke: it does not count until its next list."""
        with self._lock:
            self._synced.discard(kind)

    def live(self, tenant: str, kinds: Collection[Kind]) -> dict[ObjectKey, Manifest] | None:
        """The tenant's labelled objects of ``kinds``; None unless every one of them is synced."""
        with self._lock:
            if not all(kind in self._synced for kind in kinds):
                return None
            found: dict[ObjectKey, Manifest] = {}
            for kind in kinds:
                found.update(self._objects[kind].get(tenant) or {})
            return found

    def labelled_namespace(self, name: str) -> str | None:
        """The tenant whose label namespace ``name`` carries, as watched (None: not known)."""
        key = ObjectKey("v1", "Namespace", "", name)
        with self._lock:
            if NAMESPACE not in self._synced:
                return None
            return self._owner.get(key)

    def namespaces_of(self, tenant: str) -> list[str] | None:
        """The namespaces labelled for ``tenant`` (None until namespaces are listed)."""
        with self._lock:
            if NAMESPACE not in self._synced:
                return None
            found = self._objects[NAMESPACE].get(tenant) or {}
            return sorted(key.name for key in found)

    def has_account(self, namespace: str, name: str) -> bool:
        """Whether the tenant-labelled ServiceAccount ``namespace/name`` is in the index."""
        with self._lock:
            if ("v1", "ServiceAccount") not in self._synced:
                return False
            return ObjectKey("v1", "ServiceAccount", namespace, name) in self._owner

    def synced(self, kind: Kind) -> bool:
        with self._lock:
            return kind in self._synced


def _versions(objects: dict[ObjectKey, Manifest] | None) -> dict[ObjectKey, str]:
    return {
        key: str((body.get("metadata") or {}).get("resourceVersion"))
        for key, body in (objects or {}).items()
    }


def _same(before: Manifest, after: Manifest) -> bool:
    """Whether two compact bodies differ in nothing but their resourceVersion."""

    def bare(body: Manifest) -> Manifest:
        metadata = {k: v for k, v in body["metadata"].items() if k != "resourceVersion"}
        return {**body, "metadata": metadata}

    return bare(before) == bare(after)
