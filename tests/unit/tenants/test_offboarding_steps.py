"""Offboarding's order, step by step, against a stand-in for the apiserver."""

from __future__ import annotations

import datetime
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
        self.events: list[dict[str, Any]] = []

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
        if manifest["kind"] == "Event":
            self.events.append(manifest)
        return manifest


# A fixed moment: the tests hand the Offboarder a clock, so they do not age with the suite.
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
STAMP = "%Y-%m-%dT%H:%M:%SZ"


def _tenant(policy: str, deleted: datetime.datetime = NOW) -> dict[str, Any]:
    return {
        "apiVersion": api.API_VERSION,
        "kind": "Tenant",
        "metadata": {
            "name": "team-a",
            "uid": "1",
            "resourceVersion": "7",
            "deletionTimestamp": deleted.strftime(STAMP),
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
    fake = FakeKube([_sync("MirrorPrune"), _namespace()])
    kube = cast(Kube, fake)
    steps = offboarding.Offboarder(kube, live.TenantObjects(kube), clock=lambda: NOW)

    first = steps.offboard(_tenant("Orphan"))

    assert first is not None
    assert "deletionPolicy Orphan" in first.message
    assert fake.calls == ["patch Kustomization {'spec': {'deletionPolicy': 'Orphan'}}"]
    steps.offboard(_tenant("Orphan"))
    assert fake.calls[1] == "delete Kustomization team-a"


def test_a_deleted_tenants_kustomization_is_deleted_as_it_is() -> None:
    fake = FakeKube([_sync("MirrorPrune"), _namespace()])
    kube = cast(Kube, fake)
    steps = offboarding.Offboarder(kube, live.TenantObjects(kube), clock=lambda: NOW)

    steps.offboard(_tenant("Delete"))

    assert fake.calls[0] == "delete Kustomization team-a"


def _binding(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": "team-a", "labels": {labels.TENANT: "team-a"}},
    }


def _namespace() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "team-a", "labels": {labels.TENANT: "team-a"}},
    }


def _stuck(fake: FakeKube) -> None:
    """The Kustomization's finalizer never lets it go (its account was deleted, say).

    Namespaces stay too (terminating), as they would while it holds them.
    """

    def delete(api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        fake.calls.append(f"delete {kind} {name}")
        if kind not in ("Kustomization", "Namespace"):
            fake.objects.pop((kind, namespace or "", name), None)
        return True

    fake.delete = delete  # type: ignore[method-assign]


def test_the_owners_access_goes_before_the_sync_is_waited_for() -> None:
    fake = FakeKube(
        [
            _sync("MirrorPrune"),
            _binding(labels.OWNERS_BINDING),
            _binding("landlord-reconciler"),
            _namespace(),
        ]
    )
    _stuck(fake)
    kube = cast(Kube, fake)
    steps = offboarding.Offboarder(kube, live.TenantObjects(kube), clock=lambda: NOW)

    waiting = steps.offboard(_tenant("Delete"))

    assert waiting is not None
    assert "Kustomization team-a/team-a" in waiting.message
    assert fake.calls == [
        f"delete RoleBinding {labels.OWNERS_BINDING}",
        "delete Kustomization team-a",
    ]


def test_offboarding_waits_for_the_sync_only_until_the_deadline() -> None:
    fake = FakeKube([_sync("MirrorPrune"), _binding("landlord-reconciler"), _namespace()])
    _stuck(fake)
    kube = cast(Kube, fake)
    later = [NOW + datetime.timedelta(seconds=30)]
    mono = [0.0]
    steps = offboarding.Offboarder(
        kube,
        live.TenantObjects(kube),
        deadline=60,
        clock=lambda: later[0],
        monotonic=lambda: mono[0],
    )

    assert steps.offboard(_tenant("Delete")) is not None
    assert "delete Namespace team-a" not in fake.calls
    later[0] += datetime.timedelta(hours=1)  # a stepped clock changes nothing
    assert steps.offboard(_tenant("Delete")) is not None
    assert "delete Namespace team-a" not in fake.calls
    mono[0] = 31.0  # 61 s after the deletion
    steps.offboard(_tenant("Delete"))

    assert "delete RoleBinding landlord-reconciler" in fake.calls
    assert "delete Namespace team-a" in fake.calls
    warnings = [e for e in fake.events if e["type"] == "Warning"]
    assert [e["reason"] for e in warnings] == ["OffboardingDeadlineExceeded"]
    assert "Kustomization team-a/team-a still present 60s after" in warnings[0]["message"]
    steps.offboard(_tenant("Delete"))
    assert len([e for e in fake.events if e["type"] == "Warning"]) == 1, "one Warning"


def test_an_orphan_tenant_past_the_deadline_is_released_with_its_sync_left() -> None:
    fake = FakeKube([_sync("Orphan"), _namespace()])
    _stuck(fake)
    kube = cast(Kube, fake)
    steps = offboarding.Offboarder(
        kube,
        live.TenantObjects(kube),
        deadline=60,
        clock=lambda: NOW + datetime.timedelta(seconds=61),
    )

    assert steps.offboard(_tenant("Orphan")) is None

    assert "delete Namespace team-a" not in fake.calls
    assert any("patch Tenant" in call for call in fake.calls), "the finalizer is removed"
    warning = next(e for e in fake.events if e["type"] == "Warning")
    assert "stay, as they are, in the released namespaces" in warning["message"]
