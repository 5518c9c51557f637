"""The inventory: what a Kustomization applied, as Flux's ``<ns>_<name>_<group>_<kind>`` ids."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any


@dataclasses.dataclass(frozen=True, order=True)
class Entry:
    """One applied object."""

    namespace: str
    name: str
    group: str
    kind: str
    version: str

    @property
    def id(self) -> str:
        return f"{self.namespace}_{self.name}_{self.group}_{self.kind}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @classmethod
    def of(cls, manifest: dict[str, Any]) -> Entry:
        group, _, version = manifest["apiVersion"].rpartition("/")
        metadata = manifest["metadata"]
        return cls(
            metadata.get("namespace") or "", metadata["name"], group, manifest["kind"], version
        )

    @classmethod
    def parse(cls, item: dict[str, str]) -> Entry:
        """From ``{"id": ..., "v": ...}``; names cannot contain '_', so the split is exact."""
        namespace, name, group, kind = item["id"].split("_", 3)
        return cls(namespace, name, group, kind, item["v"])

    def to_status(self) -> dict[str, str]:
        return {"id": self.id, "v": self.version}

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclasses.dataclass(frozen=True)
class Inventory:
    """The entries of one target cluster, and those left on clusters it no longer targets.

    ``cluster`` is the target's identity (its kube-system uid), ``name`` the
    registered name it was reached by (``local``: the operator's own). ``pending``
    holds, per other cluster, the entries recorded there and not pruned yet.
    """

    cluster: str
    entries: tuple[Entry, ...]
    name: str = ""
    pending: tuple[Inventory, ...] = ()

    @classmethod
    def from_status(cls, status: dict[str, Any] | None) -> Inventory | None:
        if not status or "entries" not in status:
            return None
        return cls(
            status.get("cluster", ""),
            tuple(Entry.parse(item) for item in status.get("entries") or []),
            status.get("clusterName", ""),
            tuple(
                cls(
                    item.get("cluster", ""),
                    tuple(Entry.parse(entry) for entry in item.get("entries") or []),
                    item.get("clusterName", ""),
                )
                for item in status.get("pending") or []
            ),
        )

    @classmethod
    def of(cls, cluster: str, manifests: Iterable[dict[str, Any]], name: str = "") -> Inventory:
        return cls(cluster, tuple(sorted({Entry.of(m) for m in manifests})), name)

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"cluster": self.cluster}
        if self.name:
            status["clusterName"] = self.name
        status["entries"] = [e.to_status() for e in self.entries]
        if self.pending:
            status["pending"] = [
                {
                    "cluster": group.cluster,
                    **({"clusterName": group.name} if group.name else {}),
                    "entries": [e.to_status() for e in group.entries],
                }
                for group in self.pending
            ]
        return status

    def groups(self) -> tuple[Inventory, ...]:
        """The entries of the target cluster and of each other one, an inventory each."""
        mine = Inventory(self.cluster, self.entries, self.name)
        return (mine, *self.pending)

    def stale(self, newer: Inventory) -> list[Entry]:
        """Entries of this inventory that ``newer`` no longer has; none across clusters.

        An inventory recorded for another cluster is never pruned through the
        current one: its ids may well name objects just applied here.
        """
        if newer.cluster != self.cluster:
            return []
        keep = {entry.id for entry in newer.entries}
        return [entry for entry in self.entries if entry.id not in keep]

    def size(self) -> int:
        """Every entry, on every cluster."""
        return sum(len(group.entries) for group in self.groups())


def ahead(old: Inventory | None, new: Inventory) -> Inventory | None:
    """The inventory to record before ``new`` is applied; None when ``old`` covers it already.

    Everything ``old`` recorded (on every cluster) plus ``new``'s entries: a
    process killed mid-apply has recorded every object it may have made, so the
    reconcile after it — even of a later revision that no longer has them —
    prunes them (write-ahead, like a journal). Not when the target cluster
    changed: that move is recorded once, with its apply (``status.inventory.pending``).
    """
    if old is not None and old.cluster != new.cluster:
        return None
    groups = old.groups() if old is not None else ()
    here = {entry for group in groups if group.cluster == new.cluster for entry in group.entries}
    if {entry.id for entry in new.entries} <= {entry.id for entry in here}:
        return None
    others = tuple(group for group in groups if group.cluster != new.cluster and group.entries)
    return Inventory(new.cluster, tuple(sorted({*here, *new.entries})), new.name, others)


def leftovers(old: Inventory | None, new: Inventory) -> tuple[list[Entry], list[Inventory]]:
    """What ``new`` leaves behind: (stale entries on its cluster, per other cluster its entries).

    Every group ``old`` recorded — its own cluster's and those pending — counts:
    entries on ``new``'s cluster that ``new`` lacks are stale there; everything
    recorded on another cluster waits to be pruned through that cluster.
    """
    if old is None:
        return [], []
    here: set[Entry] = set()
    there: dict[str, tuple[str, set[Entry]]] = {}
    for group in old.groups():
        if group.cluster == new.cluster:
            here.update(group.stale(new))
        elif group.entries:
            name, entries = there.get(group.cluster, (group.name, set()))
            entries.update(group.entries)
            there[group.cluster] = (name or group.name, entries)
    others = [
        Inventory(cluster, tuple(sorted(entries)), name)
        for cluster, (name, entries) in sorted(there.items())
    ]
    return sorted(here), others
