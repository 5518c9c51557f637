"""``tenant_trail``: commits, Tenant, sync objects and Events of one tenant, as a timeline."""

from __future__ import annotations

import dataclasses
import pathlib
import tempfile
from typing import Any

from landlord import api, errors, kube
from landlord.api import tenant as tenant_api
from landlord.onboarding import audit, documents, repository
from landlord.settings import Settings
from landlord.wiring import api_main


@dataclasses.dataclass(frozen=True)
class Trail:
    """A tenant's timeline and where its file lives."""

    name: str
    path: str  # the tenant's file in the platform repository
    location: repository.Location
    entries: list[audit.Entry]
    # Where the tenant is: each cluster it is provisioned on, and where its sync applied.
    where: list[str] = dataclasses.field(default_factory=list)


def tenant_trail(client: kube.Kube, settings: Settings, name: str, *, limit: int) -> Trail:
    """Read at most ``limit`` commits of tenant ``name``'s file and what the cluster says."""
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
    tenant = client.get(api.API_VERSION, tenant_api.KIND, name)
    home = (((tenant or {}).get("status") or {}).get("namespaces") or [name])[0]
    syncs = [
        item
        for kind in tenant_api.SYNC_KINDS
        if (item := _get(client, kind, name, home)) is not None
    ]
    events = [
        event
        for namespace in ("default", home)
        for event in _events(client, namespace)
        if (event.get("involvedObject") or {}).get("name") == name
        and (event.get("involvedObject") or {}).get("kind")
        in (tenant_api.KIND, *tenant_api.SYNC_KINDS)
    ]
    entries = audit.timeline(commits=commits, tenant=tenant, syncs=syncs, events=events)
    if not entries:
        raise errors.TerminalError(
            f"nothing is known about tenant {name}: no commit touches {path}, "
            "and there is no Tenant or Event"
        )
    return Trail(
        name=name, path=path, location=location, entries=entries, where=placements(tenant, syncs)
    )


def placements(tenant: dict[str, Any] | None, syncs: list[dict[str, Any]]) -> list[str]:
    """Each cluster the tenant is on, and where each of its Kustomizations applied what."""
    found = []
    for item in ((tenant or {}).get("status") or {}).get("clusters") or []:
        state = "ready" if item.get("ready") else f"not ready: {item.get('message', '')}"
        found.append(f"provisioned on cluster {item.get('name')} ({state})")
    for sync in syncs:
        inventory = (sync.get("status") or {}).get("inventory") or {}
        if sync.get("kind") != "Kustomization" or not inventory:
            continue
        what = f"Kustomization {sync['metadata']['namespace']}/{sync['metadata']['name']}"
        where = inventory.get("clusterName") or inventory.get("cluster") or "?"
        found.append(f"{what}: {len(inventory.get('entries') or [])} object(s) on cluster {where}")
        for group in inventory.get("pending") or []:
            found.append(
                f"{what}: {len(group.get('entries') or [])} object(s) on cluster "
                f"{group.get('clusterName') or group.get('cluster')} wait to be pruned"
            )
    return found


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
