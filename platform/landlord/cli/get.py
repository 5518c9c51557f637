"""``landlord get tenants``: what exists and whether it is Ready."""

from __future__ import annotations

import datetime
from typing import Any

import click
from rich.table import Table

from landlord import api, kube
from landlord.api import conditions
from landlord.cli import console
from landlord.settings import Settings


def age(timestamp: str | None) -> str:
    """``kubectl``-style age: 45s, 12m, 3h, 5d."""
    if not timestamp:
        return "?"
    created = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    seconds = int((datetime.datetime.now(datetime.UTC) - created).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _ready(item: dict[str, Any]) -> tuple[str, str]:
    found = conditions.get((item.get("status") or {}).get("conditions") or [], conditions.READY)
    if found is None:
        return "Unknown", "not reconciled yet"
    return str(found.get("status")), str(found.get("message") or found.get("reason") or "")


@click.group("get")
def get_group() -> None:
    """List Landlord objects with their readiness."""


def tenants_table(client: kube.Kube) -> Table | None:
    """The tenants as a table (None when there are none)."""
    table = Table("NAME", "READY", "NAMESPACES", "AGE", "STATUS", box=None, pad_edge=False)
    items = sorted(
        client.list_objects(api.API_VERSION, "Tenant"), key=lambda item: item["metadata"]["name"]
    )
    for item in items:
        ready, message = _ready(item)
        namespaces = (item.get("status") or {}).get("namespaces") or (
            (item.get("spec") or {}).get("namespaces") or [item["metadata"]["name"]]
        )
        style = {"True": "green", "False": "red"}.get(ready, "yellow")
        table.add_row(
            item["metadata"]["name"],
            f"[{style}]{ready}[/{style}]",
            ",".join(namespaces),
            age(item["metadata"].get("creationTimestamp")),
            message,
        )
    return table if items else None


@get_group.command("tenants")
def get_tenants() -> None:
    """Tenants: name, ready, namespaces, age and status message."""
    table = tenants_table(kube.connect())
    if table is None:
        console.out.print("no tenants")
        return
    console.out.print(table)


def _revision(item: dict[str, Any]) -> str:
    status = item.get("status") or {}
    return str(
        (status.get("artifact") or {}).get("revision") or status.get("lastAppliedRevision") or ""
    )


def namespaced_table(client: kube.Kube, kind: str, namespace: str | None = None) -> Table | None:
    """GitRepositories, Kustomizations or HelmRepositories as a table (None: there are none)."""
    items = client.list_objects(api.API_VERSION, kind, namespace=namespace)
    if not items:
        return None
    drift = kind == "Kustomization"
    columns = ["NAMESPACE", "NAME", "READY", "REVISION"]
    columns += ["CLUSTER", "AGE"] if drift else ["AGE"]
    columns += ["LAST DRIFT REPAIR", "STATUS"] if drift else ["STATUS"]
    table = Table(*columns, box=None, pad_edge=False)
    for item in sorted(items, key=lambda i: (i["metadata"]["namespace"], i["metadata"]["name"])):
        ready, message = _ready(item)
        style = {"True": "green", "False": "red"}.get(ready, "yellow")
        row = [
            item["metadata"]["namespace"],
            item["metadata"]["name"],
            f"[{style}]{ready}[/{style}]",
            _revision(item),
        ]
        if drift:
            row.append(target_of(item))
        row.append(age(item["metadata"].get("creationTimestamp")))
        if drift:
            repair = (item.get("status") or {}).get("lastDriftRepair") or {}
            row.append(
                f"{age(repair['time'])} ago: {repair.get('objects', '')}"
                if repair.get("time")
                else "-"
            )
        table.add_row(*row, message)
    return table


def target_of(item: dict[str, Any]) -> str:
    """Where a Kustomization applies (its spec), and where objects still wait to be pruned."""
    spec = item.get("spec") or {}
    wanted = spec.get("cluster") or (
        f"kubeConfig:{((spec.get('kubeConfig') or {}).get('secretRef') or {}).get('name', '?')}"
        if spec.get("kubeConfig")
        else "local"
    )
    inventory = (item.get("status") or {}).get("inventory") or {}
    pending = [
        f"{g.get('clusterName') or g.get('cluster')}({len(g.get('entries') or [])})"
        for g in inventory.get("pending") or []
    ]
    return wanted + (f" (pending prune: {', '.join(pending)})" if pending else "")


def clusters_table(client: kube.Kube, namespace: str) -> Table | None:
    """The registered clusters as a table (None when there are none)."""
    items = client.list_objects(api.API_VERSION, "Cluster", namespace=namespace)
    if not items:
        return None
    table = Table(
        "NAME",
        "READY",
        "VERSION",
        "IDENTITY",
        "LAST CONTACT",
        "AGE",
        "STATUS",
        box=None,
        pad_edge=False,
    )
    for item in sorted(items, key=lambda i: i["metadata"]["name"]):
        ready, message = _ready(item)
        status = item.get("status") or {}
        style = {"True": "green", "False": "red"}.get(ready, "yellow")
        contact = status.get("lastContact")
        table.add_row(
            item["metadata"]["name"],
            f"[{style}]{ready}[/{style}]",
            str(status.get("version") or "-"),
            str(status.get("identity") or "-"),
            f"{age(contact)} ago" if contact else "never",
            age(item["metadata"].get("creationTimestamp")),
            message,
        )
    return table


@get_group.command("clusters")
@click.pass_obj
def get_clusters(settings: Settings) -> None:
    """Registered clusters: ready, server version, identity, last contact, status."""
    table = clusters_table(kube.connect(), settings.platform_namespace)
    console.out.print(table if table is not None else "no clusters registered")


def _print_namespaced(kind: str, label: str, namespace: str | None, all_namespaces: bool) -> None:
    table = namespaced_table(kube.connect(), kind, None if all_namespaces else namespace)
    console.out.print(table if table is not None else f"no {label}")


@get_group.command("sources")
@click.option("-n", "--namespace", default=None, help="Only this namespace.")
@click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace (the default).")
def get_sources(namespace: str | None, all_namespaces: bool) -> None:
    """GitRepositories: name, ready, revision, age and status message."""
    _print_namespaced("GitRepository", "sources", namespace, all_namespaces)


@get_group.command("kustomizations")
@click.option("-n", "--namespace", default=None, help="Only this namespace.")
@click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace (the default).")
def get_kustomizations(namespace: str | None, all_namespaces: bool) -> None:
    """Kustomizations: name, ready, applied revision, age and status message."""
    _print_namespaced("Kustomization", "kustomizations", namespace, all_namespaces)


@get_group.command("providers")
@click.option("-n", "--namespace", default=None, help="Only this namespace.")
@click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace (the default).")
def get_providers(namespace: str | None, all_namespaces: bool) -> None:
    """Providers (where alerts go): name, ready, age and status message."""
    _print_namespaced("Provider", "providers", namespace, all_namespaces)


@get_group.command("alerts")
@click.option("-n", "--namespace", default=None, help="Only this namespace.")
@click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace (the default).")
def get_alerts(namespace: str | None, all_namespaces: bool) -> None:
    """Alerts (which events go where): name, ready, age and status message."""
    _print_namespaced("Alert", "alerts", namespace, all_namespaces)


@get_group.command("receivers")
@click.option("-n", "--namespace", default=None, help="Only this namespace.")
@click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace (the default).")
def get_receivers(namespace: str | None, all_namespaces: bool) -> None:
    """Receivers (push webhooks): name, ready, age and status message (with the path)."""
    _print_namespaced("Receiver", "receivers", namespace, all_namespaces)


@get_group.command("helmrepositories")
@click.option("-n", "--namespace", default=None, help="Only this namespace.")
@click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace (the default).")
def get_helm_repositories(namespace: str | None, all_namespaces: bool) -> None:
    """HelmRepositories: name, ready, index digest, age and status message."""
    _print_namespaced("HelmRepository", "helm repositories", namespace, all_namespaces)


def helm_releases_table(client: kube.Kube, namespace: str | None = None) -> Table | None:
    """HelmReleases as a table (None when there are none)."""
    items = client.list_objects(api.API_VERSION, "HelmRelease", namespace=namespace)
    if not items:
        return None
    table = Table(
        "NAMESPACE",
        "NAME",
        "READY",
        "CHART",
        "RELEASE",
        "SUSPENDED",
        "AGE",
        "STATUS",
        box=None,
        pad_edge=False,
    )
    for item in sorted(items, key=lambda i: (i["metadata"]["namespace"], i["metadata"]["name"])):
        ready, message = _ready(item)
        style = {"True": "green", "False": "red"}.get(ready, "yellow")
        status = item.get("status") or {}
        last = (status.get("history") or [{}])[0]
        release = (
            f"{last.get('name')}.v{last.get('version')} ({last.get('status')})" if last else "-"
        )
        table.add_row(
            item["metadata"]["namespace"],
            item["metadata"]["name"],
            f"[{style}]{ready}[/{style}]",
            str(status.get("helmChart") or "-"),
            release,
            "yes" if (item.get("spec") or {}).get("suspend") else "no",
            age(item["metadata"].get("creationTimestamp")),
            message,
        )
    return table


@get_group.command("helmreleases")
@click.option("-n", "--namespace", default=None, help="Only this namespace.")
@click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace (the default).")
def get_helm_releases(namespace: str | None, all_namespaces: bool) -> None:
    """HelmReleases: ready, chart, current release and its Helm status, status message."""
    table = helm_releases_table(kube.connect(), None if all_namespaces else namespace)
    console.out.print(table if table is not None else "no helm releases")
