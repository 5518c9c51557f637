"""How the prune step reads what is left: many objects of one kind with a LIST, not a GET each."""

from __future__ import annotations

from typing import Any, cast

from landlord.api import labels
from landlord.kube import Kube
from landlord.sync.inventory import Entry
from landlord.sync.steps import prune

OWNER = prune.owner_labels("app", "team-a")


def _live(name: str, *, terminating: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "team-a", "labels": dict(OWNER)}
    if terminating:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}


class Tenant:
    """ConfigMaps ``cm-0`` … ``cm-N``; counts the reads."""

    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.objects = {o["metadata"]["name"]: o for o in objects}
        self.gets = 0
        self.lists = 0

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
        self.gets += 1
        return self.objects.get(name)

    def list_objects(self, api_version: str, kind: str, **_: Any) -> list[dict[str, Any]]:
        self.lists += 1
        return list(self.objects.values())


def test_a_termination_poll_of_many_objects_reads_them_with_one_list() -> None:
    entries = [Entry("team-a", f"cm-{i}", "", "ConfigMap", "v1") for i in range(500)]
    # Half are still terminating (a finalizer holds them), half are gone; one is not ours.
    objects = [_live(f"cm-{i}", terminating=True) for i in range(250)]
    objects[0]["metadata"]["labels"] = {labels.KUSTOMIZATION_NAME: "other"}
    tenant = Tenant(objects)

    left = prune.remaining(cast(Kube, tenant), entries, OWNER)

    assert [entry.name for entry in left] == [f"cm-{i}" for i in range(1, 250)]
    assert (tenant.lists, tenant.gets) == (1, 0)


def test_a_few_objects_are_read_one_by_one() -> None:
    entries = [Entry("team-a", f"cm-{i}", "", "ConfigMap", "v1") for i in range(3)]
    tenant = Tenant([_live("cm-1")])

    left = prune.remaining(cast(Kube, tenant), entries, OWNER)

    assert [entry.name for entry in left] == ["cm-1"]
    assert (tenant.lists, tenant.gets) == (0, 3)
