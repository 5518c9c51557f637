"""Offboarding's order, step by step, against a stand-in for the apiserver."""

from __future__ import annotations

from typing import Any, cast

from landlord import api
from landlord.api import labels
from landlord.kube import Kube
from landlord.tenants import live, offboarding


class FakeKube:
    """Just enough of ``Kube`` for offboarding: objects by (kind, namespace, name)."""

    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.objects = {
            self._key(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o
            for o in objects
        }
        self.calls: list[str] = []

    @staticmethod
    def _key(kind: str, namespace: str | None, name: str) -> tuple[str, str, str]:
        return kind, namespace or "", name

    def list_objects(
        self, api_version: str, kind: str, *, label_selector: str = "", namespace: str | None = None
    ) -> list[dict[str, Any]]:
        return [o for (k, _, _), o in self.objects.items() if k == kind]

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        return self.objects.get(self._key(kind, namespace, name))

    def merge_patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        patch: dict[str, Any],
        namespace: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        self.calls.append(f"patch {kind} {patch}")
        found = self.objects.get(self._key(kind, namespace, name))
        if found is not None and "spec" in patch:
            found["spec"] = {**found.get("spec", {}), **patch["spec"]}
        return found or {}

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        self.calls.append(f"delete {kind} {name}")
        self.objects.pop(self._key(kind, namespace, name), None)
        return True

    def create(self, manifest: dict[str, Any]) -> dict[str, Any]:
        return manifest  # Events


def _tenant(policy: str) -> dict[str, Any]:
    return {
        "apiVersion": api.API_VERSION,
        "kind": "Tenant",
        "metadata": {
            "name": "team-a",
            "uid": "1",
            "resourceVersion": "7",
            "deletionTimestamp": "2026-01-01T00:00:00Z",
            "finalizers": [labels.FINALIZER],
        },
        "spec": {"deletionPolicy": policy},
    }


def _sync(deletion_policy: str) -> dict[str, Any]:
    return {
        "apiVersion": api.API_VERSION,
        "kind": "Kustomization",
        "metadata": {"name": "team-a", "namespace": "team-a", "labels": {labels.TENANT: "team-a"}},
        "spec": {"deletionPolicy": deletion_policy},
    }


def test_an_orphan_tenants_kustomization_is_made_orphan_before_it_is_deleted() -> None:
    # Say the Tenant became Orphan just before its deletion: its Kustomization still prunes.
    fake = FakeKube([_sync("MirrorPrune")])
    kube = cast(Kube, fake)
    steps = offboarding.Offboarder(kube, live.TenantObjects(kube))

    first = steps.offboard(_tenant("Orphan"))

    assert first is not None
    assert "deletionPolicy Orphan" in first.message
    assert fake.calls == ["patch Kustomization {'spec': {'deletionPolicy': 'Orphan'}}"]
    steps.offboard(_tenant("Orphan"))
    assert fake.calls[1] == "delete Kustomization team-a"


def test_a_deleted_tenants_kustomization_is_deleted_as_it_is() -> None:
    fake = FakeKube([_sync("MirrorPrune")])
    kube = cast(Kube, fake)
    steps = offboarding.Offboarder(kube, live.TenantObjects(kube))

    steps.offboard(_tenant("Delete"))

    assert fake.calls[0] == "delete Kustomization team-a"
