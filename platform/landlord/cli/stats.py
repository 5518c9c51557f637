"""``landlord stats``: how many objects of each Landlord kind run, fail or are suspended.

As ``flux stats``: RUNNING counts the objects not suspended, FAILING those whose
Ready condition is False, and STORAGE sums the artifact sizes a kind's status
reports (a column shown only when some kind reports sizes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import click

from landlord import api, errors, kube
from landlord.api import conditions
from landlord.cli import console, kinds
from landlord.cli import output as formats


@dataclasses.dataclass(frozen=True)
class Stat:
    """The counts of one kind."""

    kind: str
    total: int
    failing: int
    suspended: int
    storage: int | None  # bytes; None when no object of the kind reports a size

    @property
    def running(self) -> int:
        """The objects that are reconciled (not suspended), failing or not."""
        return self.total - self.suspended


def count(kind: str, items: Iterable[dict[str, Any]]) -> Stat:
    """The counts of ``items``, objects of ``kind``."""
    total = failing = suspended = 0
    storage: int | None = None
    for item in items:
        total += 1
        if (item.get("spec") or {}).get("suspend"):
            suspended += 1
        status = item.get("status") or {}
        ready = conditions.get(status.get("conditions") or [], conditions.READY)
        if ready is not None and ready.get("status") == "False":
            failing += 1
        size = (status.get("artifact") or {}).get("size")
        if isinstance(size, int) and not isinstance(size, bool):
            storage = (storage or 0) + size
    return Stat(kind, total, failing, suspended, storage)


def size_text(size: int | None) -> str:
    """``size`` bytes as flux prints them: ``-``, ``512 B``, ``1.5 KiB``, ``2.0 MiB``."""
    if not size:
        return "-"
    if size < 1024:
        return f"{size} B"
    value, unit = float(size), 0
    while value >= 1024 and unit < 6:
        value /= 1024
        unit += 1
    return f"{value:.1f} {'KMGTPE'[unit - 1]}iB"


def gather(client: kube.Kube, namespace: str | None) -> list[Stat]:
    """One Stat per Landlord kind the apiserver serves (cluster-scoped ones only without -n)."""
    stats = []
    for kind in kinds.ALL:
        if kind.cluster_scoped and namespace is not None:
            continue
        try:
            items = client.list_objects(
                api.API_VERSION, kind.name, namespace=None if kind.cluster_scoped else namespace
            )
        except errors.ApiError as error:
            if error.not_found:  # its CRD is not installed: nothing to count
                continue
            raise
        stats.append(count(kind.name, items))
    return stats


def as_data(stats: list[Stat]) -> list[dict[str, Any]]:
    """What ``-o json|yaml`` prints."""
    return [
        {
            "kind": stat.kind,
            "running": stat.running,
            "failing": stat.failing,
            "suspended": stat.suspended,
            **({"storageBytes": stat.storage} if stat.storage is not None else {}),
        }
        for stat in stats
    ]


@click.command("stats")
@click.option(
    "-n",
    "--namespace",
    default=None,
    help="Only this namespace (default: every namespace; tenants are counted only then).",
)
@click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace (the default).")
@formats.output_option
def stats_command(namespace: str | None, all_namespaces: bool, output: str) -> None:
    """Counts by Landlord kind: RECONCILERS (the kind), RUNNING, FAILING, SUSPENDED, STORAGE.

    RUNNING counts the objects that are not suspended, FAILING those whose Ready
    condition is False, SUSPENDED those with spec.suspend. STORAGE sums the
    artifact sizes the sources report (shown only when some kind reports one).
    A report: it exits 0 whatever it counts.
    """
    stats = gather(kube.connect(), None if all_namespaces else namespace)
    if formats.structured(output):
        formats.emit(as_data(stats), output)
    else:
        storage = any(stat.storage is not None for stat in stats)
        columns = ["RECONCILERS", "RUNNING", "FAILING", "SUSPENDED"]
        table = formats.table(*columns, *(["STORAGE"] if storage else []))
        for stat in stats:
            failing = f"[red]{stat.failing}[/red]" if stat.failing else "0"
            cells = [stat.kind, str(stat.running), failing, str(stat.suspended)]
            table.add_row(*cells, *([size_text(stat.storage)] if storage else []))
        console.out.print(table)
