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
    """The entries of one target cluster."""

    cluster: str
    entries: tuple[Entry, ...]

    @classmethod
    def from_status(cls, status: dict[str, Any] | None) -> Inventory | None:
        if not status or "entries" not in status:
            return None
        return cls(
            status.get("cluster", ""),
            tuple(Entry.parse(item) for item in status.get("entries") or []),
        )

    @classmethod
    def of(cls, cluster: str, manifests: Iterable[dict[str, Any]]) -> Inventory:
        return cls(cluster, tuple(sorted({Entry.of(m) for m in manifests})))

    def to_status(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "entries": [e.to_status() for e in self.entries]}

    def stale(self, newer: Inventory) -> list[Entry]:
        """Entries of this inventory that ``newer`` no longer has; none across clusters.

        An inventory recorded for another cluster is never pruned through the
        current one: its ids may well name objects just applied here.
        """
        if newer.cluster != self.cluster:
            return []
        keep = {entry.id for entry in newer.entries}
        return [entry for entry in self.entries if entry.id not in keep]
