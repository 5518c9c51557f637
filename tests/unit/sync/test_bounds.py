"""The sync's in-memory maps stay bounded: by a capacity, or by the objects that exist."""

from __future__ import annotations

import pathlib
from typing import Any, cast

from landlord import policy
from landlord.gitops import artifacts, sandbox
from landlord.kube import Kube
from landlord.sync import depindex
from landlord.sync.depindex import DependencyIndex
from landlord.sync.drift import Drift
from landlord.sync.inventory import Entry
from landlord.sync.reconciler import KustomizationReconciler
from landlord.sync.steps import status
from landlord.sync.steps.identity import Identity

WEB = Entry("team-a", "web", "apps", "Deployment", "v1")


class Accounts:
    """Every service account exists; impersonating returns a new client each time."""

    def __init__(self) -> None:
        self.impersonated = 0

    def get(self, api_version: str, kind: str, *args: Any) -> dict[str, Any] | None:
        return None if kind == "Kustomization" else {"metadata": {}}

    def as_service_account(self, namespace: str, name: str) -> Accounts:
        self.impersonated += 1
        return Accounts()

    def list_objects(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return []


def test_the_client_cache_keeps_at_most_its_capacity_least_recently_used_first() -> None:
    kube = Accounts()
    identity = Identity(cast(Kube, kube), platform_namespace="landlord-system", capacity=3)

    first = identity.client("team-0", None)
    for index in range(1, 10):
        identity.client(f"team-{index}", None)
        assert len(identity) <= 3
    assert identity.client("team-9", None) is identity.client("team-9", None)
    assert identity.client("team-0", None) is not first  # evicted, impersonated again
    assert kube.impersonated == 11


def test_the_dependency_index_holds_live_kustomizations_and_their_current_edges() -> None:
    index = DependencyIndex()
    index.depends("team-b/app", {"team-a/db"})
    index.uses("team-b/app", "team-a/repo")
    index.depends("team-c/app", {"team-a/db"})

    assert index.dependents("team-a/db") == ["team-b/app", "team-c/app"]
    assert index.users("team-a/repo") == ["team-b/app"]

    index.depends("team-c/app", set())  # its dependsOn changed
    index.forget("team-b/app")  # deleted

    assert index.dependents("team-a/db") == []
    assert index.users("team-a/repo") == []
    assert len(index) == 0


def test_a_deleted_kustomization_is_forgotten_everywhere(tmp_path: pathlib.Path) -> None:
    syncs = KustomizationReconciler(
        cast(Kube, Accounts()),
        store=artifacts.ArtifactStore(tmp_path),
        platform_namespace="landlord-system",
        kustomize=None,
        sandbox=sandbox.Sandbox(),
        gate=policy.Gate(),
    )
    key = "team-b/app"
    syncs.scheduler.deciding(key, 1)
    syncs.scheduler.schedule(key, 60)
    syncs.gatekeeper.allowed(key, syncs.gate.version)
    syncs.index.depends(key, {"team-a/db"})
    syncs.drift.record(key, [])

    assert syncs.reconcile(key) is None  # the apiserver no longer has it

    assert len(syncs.scheduler) == 0
    assert not syncs.gatekeeper.cleared(key)
    assert len(syncs.index) == 0
    assert not syncs.drift.scopes(key)


def test_the_drift_metric_names_only_known_field_managers() -> None:
    def label(manager: str, deleted: bool = False) -> str:
        return status.manager_label(Drift("team-a/app", WEB, deleted, manager))

    assert label("kubectl-edit") == "kubectl-edit"
    assert label("helm") == "helm"
    assert label("my-own-tool-8f3a") == "other"
    assert label("x" * 200) == "other"
    assert label("", deleted=True) == "deleted"
    assert {label(f"tenant-{n}") for n in range(1000)} == {"other"}


def test_local_wake_ups_are_read_from_the_namespace_listing() -> None:
    def item(name: str, **spec: Any) -> dict[str, Any]:
        return {"metadata": {"name": name}, "spec": spec}

    items = [
        item("web", dependsOn=[{"name": "db"}], sourceRef={"name": "repo"}),
        item("api", dependsOn=[{"name": "db", "namespace": "team-b"}], sourceRef={"name": "other"}),
        item("jobs", sourceRef={"name": "repo", "namespace": "team-a"}),
    ]

    assert depindex.waiting_here(items, "team-a", "db") == ["team-a/web"]
    assert depindex.using_here(items, "team-a", "repo") == ["team-a/web", "team-a/jobs"]
