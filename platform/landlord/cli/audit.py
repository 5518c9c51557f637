"""``landlord audit tenant NAME``: who asked for what, which commit, when it was applied."""

from __future__ import annotations

import pathlib
import tempfile
from typing import Any

import click
from rich.table import Table

from landlord import api, errors, kube
from landlord.cli import console
from landlord.onboarding import audit, documents, repository
from landlord.settings import Settings
from landlord.wiring import api_main


@click.group("audit")
def audit_group() -> None:
    """Answer "who changed what, when, through which request"."""


@audit_group.command("tenant")
@click.argument("name")
@click.option("--limit", default=50, show_default=True, help="Commits to read at most.")
@click.pass_obj
def tenant_command(settings: Settings, name: str, limit: int) -> None:
    """The timeline of tenant NAME: commits, status changes and Events, oldest first."""
    client = kube.connect()
    location = repository.locate(client, settings.platform_namespace)
    with tempfile.TemporaryDirectory(prefix="landlord-audit-") as work:
        config = settings.model_copy(deep=True)
        config.api.workdir = pathlib.Path(work)
        workspace = api_main.workspace_factory(config)(location)
        workspace.sync()
        index = documents.index(
            documents.parse(path, workspace.read(path) or b"")
            for path in workspace.files(location.folder)
        )
        path = index[name].path if name in index else f"{location.folder}/{name}.yaml"
        commits = workspace.history(path, limit=limit)
    tenant = client.get(api.API_VERSION, "Tenant", name)
    home = (((tenant or {}).get("status") or {}).get("namespaces") or [name])[0]
    syncs = [
        item
        for kind in ("GitRepository", "Kustomization")
        if (item := _get(client, kind, name, home)) is not None
    ]
    events = [
        event
        for namespace in ("default", home)
        for event in _events(client, namespace)
        if (event.get("involvedObject") or {}).get("name") == name
        and (event.get("involvedObject") or {}).get("kind")
        in ("Tenant", "GitRepository", "Kustomization")
    ]
    entries = audit.timeline(commits=commits, tenant=tenant, syncs=syncs, events=events)
    if not entries:
        raise errors.TerminalError(
            f"nothing is known about tenant {name}: no commit touches {path}, "
            "and there is no Tenant or Event"
        )
    table = Table("TIME", "SOURCE", "WHO", "WHAT", "TRACE", box=None, pad_edge=False)
    for entry in entries:
        table.add_row(
            entry.time.strftime("%Y-%m-%d %H:%M:%S"),
            entry.source,
            entry.who,
            entry.what,
            entry.trace_id,
        )
    console.out.print(f"tenant {name} ({path} in {location.url}, branch {location.branch})")
    console.out.print(table)


def _get(client: kube.Kube, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
    try:
        return client.get(api.API_VERSION, kind, name, namespace)
    except errors.ApiError:
        return None


def _events(client: kube.Kube, namespace: str) -> list[dict[str, Any]]:
    try:
        return client.list_objects("v1", "Event", namespace=namespace)
    except errors.ApiError:
        return []
