"""Drift: what each Kustomization applied, and whether the cluster still holds it.

The sync records the desired manifests of every applied revision. Watch events
for objects carrying a Kustomization's labels are compared with them: a deleted
object, or one whose desired fields no longer hold (changed by anyone but
Landlord's own field manager), is drift and wakes the owning Kustomization.
Fields the manifest does not set — an HPA's replicas, say — are never compared,
so Landlord does not fight other managers over them. Objects annotated
``landlord.dev/reconcile: disabled`` are left alone.

Pure bookkeeping, thread-safe; the watches that feed it live in the wiring.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import threading
from collections.abc import Iterable
from typing import Any

from landlord.api import labels
from landlord.gitops.objects import contains
from landlord.sync.inventory import Entry

Kind = tuple[str, str]  # (apiVersion, kind)
# What one watch covers: (apiVersion, kind, namespace, cluster); namespace "" is
# every namespace; cluster is the registered name the watch connects to.
Scope = tuple[str, str, str, str]
LOCAL = "local"

# Kinds watched namespace by namespace: the operator may read Secrets only in
# tenants' namespaces (a RoleBinding there), never across the cluster.
PER_NAMESPACE: frozenset[Kind] = frozenset({("v1", "Secret")})


@dataclasses.dataclass(frozen=True)
class Drift:
    """One object that no longer matches what its Kustomization applied."""

    key: str
    entry: Entry
    deleted: bool
    manager: str = ""

    def __str__(self) -> str:
        how = "deleted" if self.deleted else "changed"
        return f"{self.entry} {how}" + (f" by {self.manager}" if self.manager else "")


def _last_manager(live: dict[str, Any]) -> str:
    """The field manager of the newest managedFields entry (who wrote last)."""
    entries = (live.get("metadata") or {}).get("managedFields") or []
    newest = max(entries, key=lambda e: str(e.get("time") or ""), default=None)
    return str((newest or {}).get("manager") or "")


# The labels that name an object's owner: a Kustomization's, unless told otherwise.
OwnerLabels = tuple[str, str]  # (name label, namespace label)
KUSTOMIZATION_OWNER: OwnerLabels = (labels.KUSTOMIZATION_NAME, labels.KUSTOMIZATION_NAMESPACE)


def _owner(live: dict[str, Any], owner: OwnerLabels = KUSTOMIZATION_OWNER) -> str | None:
    found = (live.get("metadata") or {}).get("labels") or {}
    name = found.get(owner[0])
    namespace = found.get(owner[1])
    return f"{namespace}/{name}" if name and namespace else None


def _exempt(live: dict[str, Any]) -> bool:
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    return annotations.get(labels.RECONCILE) == "disabled"


def sealed(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj``, a Secret's values replaced by their digests (anything else: unchanged).

    The desired state is held for as long as a Kustomization exists; a Secret's
    values (decrypted ones too) are not: ``stringData`` is folded into ``data``
    as the apiserver does, and each value is kept as the sha256 of its bytes.
    A live Secret is sealed the same way before it is compared.
    """
    if obj.get("kind") != "Secret" or obj.get("apiVersion") != "v1":
        return obj
    values: dict[str, bytes] = {}
    for name, value in (obj.get("data") or {}).items():
        try:
            values[str(name)] = base64.b64decode(str(value))
        except (binascii.Error, ValueError):
            values[str(name)] = str(value).encode()
    for name, value in (obj.get("stringData") or {}).items():
        values[str(name)] = str(value).encode()
    out = {k: v for k, v in obj.items() if k not in ("data", "stringData")}
    if "data" in obj or "stringData" in obj:
        out["data"] = {
            name: "sha256:" + hashlib.sha256(value).hexdigest() for name, value in values.items()
        }
    return out


class DriftTracker:
    """Desired state per applied object; pending drift per Kustomization."""

    def __init__(
        self,
        field_manager: str = labels.FIELD_MANAGER,
        per_namespace: frozenset[Kind] = PER_NAMESPACE,
        owner: OwnerLabels = KUSTOMIZATION_OWNER,
    ) -> None:
        self.field_manager = field_manager
        self.per_namespace = per_namespace
        # Which labels name the owner (a HelmRelease's tracker has its own).
        self.owner = owner
        self._lock = threading.Lock()
        # (cluster, entry id) → (key, manifest): one id may name objects on two clusters.
        self._desired: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self._ids: dict[str, set[tuple[str, str]]] = {}  # Kustomization key → its places
        self._scopes: dict[str, set[Scope]] = {}
        self._synced: set[Scope] = set()
        self._pending: dict[str, list[Drift]] = {}

    # -- what the sync tells it ---------------------------------------------

    def record(self, key: str, manifests: Iterable[dict[str, Any]], cluster: str = LOCAL) -> None:
        """``key`` applied these manifests on ``cluster``: its desired state from now on."""
        with self._lock:
            for stale in self._ids.pop(key, set()):
                self._desired.pop(stale, None)
            ids, scopes = set(), set()
            for manifest in manifests:
                place = (cluster, Entry.of(manifest).id)
                self._desired[place] = (key, sealed(manifest))
                ids.add(place)
                scopes.add(self.scope_of(manifest, cluster))
            self._ids[key] = ids
            self._scopes[key] = scopes

    def forget(self, key: str) -> None:
        """``key`` is gone (or applies nothing any more)."""
        with self._lock:
            for stale in self._ids.pop(key, set()):
                self._desired.pop(stale, None)
            self._scopes.pop(key, None)
            self._pending.pop(key, None)

    def take(self, key: str) -> list[Drift]:
        """The drift seen for ``key`` since the last call (the reconcile about to repair it)."""
        with self._lock:
            return self._pending.pop(key, [])

    def drifted(self, key: str) -> bool:
        """Whether drift was seen for ``key`` and not yet taken for repair."""
        with self._lock:
            return key in self._pending

    def scope_of(self, manifest: dict[str, Any], cluster: str = LOCAL) -> Scope:
        """The watch that sees ``manifest``: its kind's, or its kind's in its namespace."""
        kind = (manifest["apiVersion"], manifest["kind"])
        if kind in self.per_namespace:
            return (*kind, (manifest.get("metadata") or {}).get("namespace") or "", cluster)
        return (*kind, "", cluster)

    def scopes(self, key: str | None = None) -> set[Scope]:
        """The watches ``key``'s objects need (or every Kustomization's)."""
        with self._lock:
            if key is not None:
                return set(self._scopes.get(key, ()))
            return set().union(*self._scopes.values()) if self._scopes else set()

    def clean(self, key: str) -> bool:
        """Whether ``key``'s objects are all watched and none drifted since it applied."""
        with self._lock:
            return (
                key in self._ids
                and key not in self._pending
                and self._scopes.get(key, set()) <= self._synced
            )

    # -- what the watches tell it --------------------------------------------

    def listed(self, scope: Scope, items: list[dict[str, Any]]) -> list[Drift]:
        """A (re)list of one watch: anything desired there and missing or changed is drift."""
        cluster = scope[3]
        found = {Entry.of(item).id: item for item in items}
        drifts = []
        with self._lock:
            self._synced.add(scope)
            expected = [
                (place, key)
                for place, (key, manifest) in self._desired.items()
                if place[0] == cluster and self.scope_of(manifest, cluster) == scope
            ]
        for place, key in expected:
            live = found.get(place[1])
            drift = self._check(key, place, live, deleted=live is None)
            if drift is not None:
                drifts.append(drift)
        return drifts

    def unsynced(self, scope: Scope) -> None:
        """The watch of ``scope`` broke: until it lists again, nothing in it counts as clean."""
        with self._lock:
            self._synced.discard(scope)

    def observe(self, event: str, live: dict[str, Any], cluster: str = LOCAL) -> Drift | None:
        """One watch event on ``cluster``; the drift it shows, if any (kept for :meth:`take`)."""
        key = _owner(live, self.owner)
        if key is None:
            return None
        return self._check(key, (cluster, Entry.of(live).id), live, deleted=event == "DELETED")

    def _check(
        self, key: str, place: tuple[str, str], live: dict[str, Any] | None, *, deleted: bool
    ) -> Drift | None:
        with self._lock:
            recorded = self._desired.get(place)
            if recorded is None or recorded[0] != key:
                return None  # not (or no longer) this Kustomization's: pruned, or foreign
            manifest = recorded[1]
            if deleted or live is None:
                drift = Drift(key, Entry.of(manifest), deleted=True)
            else:
                if _exempt(live) or contains(sealed(live), manifest):
                    return None
                manager = _last_manager(live)
                if manager == self.field_manager:
                    return None  # our own write, seen before the apiserver normalised it
                drift = Drift(key, Entry.of(manifest), deleted=False, manager=manager)
            pending = self._pending.setdefault(key, [])
            if drift not in pending:
                pending.append(drift)
            return drift
