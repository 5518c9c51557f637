"""The tenant's sync objects are deleted only once they carry the Tenant's deletionPolicy."""

from __future__ import annotations

from typing import Any, cast

from landlord import api
from landlord.api import labels
from landlord.kube import Kube
from landlord.tenants import live
from tests.unit.tenants.test_offboarding_steps import FakeKube


def _kustomization(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": api.API_VERSION,
        "kind": "Kustomization",
        "metadata": {"name": "team-a", "namespace": "team-a", "labels": {labels.TENANT: "team-a"}},
        "spec": {"prune": True, **spec},
    }


def test_a_kustomization_made_before_deletion_policies_is_made_orphan_first() -> None:
    # An older Landlord wrote no deletionPolicy: its finalizer reads MirrorPrune.
    fake = FakeKube([_kustomization()])
    objects = live.TenantObjects(cast(Kube, fake))

    waiting = objects.delete_sync([fake.objects["Kustomization", "team-a", "team-a"]], "Orphan")

    assert [str(key) for key in waiting] == ["Kustomization team-a/team-a"]
    assert fake.calls == ["patch Kustomization {'spec': {'deletionPolicy': 'Orphan'}}"]
    objects.delete_sync([fake.objects["Kustomization", "team-a", "team-a"]], "Orphan")
    assert fake.calls[1] == "delete Kustomization team-a"


def test_an_unset_policy_is_mirror_prune_already() -> None:
    fake = FakeKube([_kustomization()])
    objects = live.TenantObjects(cast(Kube, fake))

    assert objects.delete_sync([_kustomization()], "MirrorPrune") == []
    assert fake.calls == ["delete Kustomization team-a"]


def test_a_git_repository_has_no_policy_to_wait_for() -> None:
    source = {**_kustomization(), "kind": "GitRepository", "spec": {}}
    fake = FakeKube([source])

    assert live.TenantObjects(cast(Kube, fake)).delete_sync([source], "Orphan") == []
    assert fake.calls == ["delete GitRepository team-a"]
