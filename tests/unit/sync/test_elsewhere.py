"""What a move leaves on another cluster is pruned through that cluster, or waits, or is let go."""

from __future__ import annotations

import base64
import concurrent.futures
import pathlib
from collections.abc import Iterator
from typing import Any, cast

import pytest
import yaml

from landlord.api import labels, reasons
from landlord.api.kustomization import KustomizationSpec
from landlord.kube import Kube
from landlord.kube.fleet import ClusterError, Fleet, Member
from landlord.sync.inventory import Entry, Inventory
from landlord.sync.result import Result
from landlord.sync.steps.elsewhere import Leftovers, Unusable
from landlord.sync.steps.identity import Identity

ONE = Entry("team-a", "one", "", "ConfigMap", "v1")
OWNER = {labels.KUSTOMIZATION_NAME: "app", labels.KUSTOMIZATION_NAMESPACE: "team-a"}


class Cluster:
    """One cluster: its objects by (kind, namespace, name); records deletes and Events."""

    def __init__(self, uid: str, *, namespace: bool = True) -> None:
        self.uid = uid
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {
            ("ConfigMap", "team-a", "one"): {"metadata": {"name": "one", "labels": dict(OWNER)}},
        }
        if namespace:
            self.objects[("Namespace", "", "team-a")] = {"metadata": {"name": "team-a"}}
            self.objects[("ServiceAccount", "team-a", labels.RECONCILER_SERVICE_ACCOUNT)] = {}
        self.deleted: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.users: list[str] = []

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
        if kind == "Namespace" and name == "kube-system":
            return {"metadata": {"name": name, "uid": self.uid}}
        return self.objects.get((kind, namespace or "", name))

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        self.deleted.append(f"{self.uid}:{name}")
        return self.objects.pop((kind, namespace or "", name), None) is not None

    def as_service_account(self, namespace: str, name: str) -> Cluster:
        self.users.append(f"{namespace}/{name}")
        return self

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        self.events.append(body)
        return body


class FakeFleet(Fleet):
    def __init__(self, home: Cluster, members: dict[str, Cluster | ClusterError]) -> None:
        super().__init__(cast(Kube, home), platform_namespace="landlord-system")
        self.members = members

    def member(self, name: str) -> Member:
        if name == "local":
            return super().member(name)
        found = self.members.get(name)
        if found is None:
            raise ClusterError(reasons.CLUSTER_NOT_FOUND, f"no Cluster {name!r} is registered")
        if isinstance(found, ClusterError):
            raise found
        return Member(name, cast(Kube, found), found.uid)


@pytest.fixture
def executor() -> Iterator[concurrent.futures.Executor]:
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        yield pool


def _leftovers(fleet: FakeFleet, executor: concurrent.futures.Executor) -> Leftovers:
    identity = Identity(fleet.kube, platform_namespace="landlord-system", fleet=fleet)
    return Leftovers(fleet.kube, identity=identity, executor=executor, in_flight=2)


BODY = {
    "apiVersion": "landlord.dev/v1alpha1",
    "kind": "Kustomization",
    "metadata": {"name": "app", "namespace": "team-a", "uid": "k"},
    "spec": {"sourceRef": {"kind": "GitRepository", "name": "app"}},
}
SPEC = KustomizationSpec.of(BODY)


def test_entries_left_on_a_cluster_are_pruned_through_it_as_the_tenant(
    executor: concurrent.futures.Executor,
) -> None:
    home, a = Cluster("uid-home"), Cluster("uid-a")
    fleet = FakeFleet(home, {"a": a})

    pending, blocked = _leftovers(fleet, executor).prune(
        BODY, SPEC, [Inventory("uid-a", (ONE,), "a")], Result()
    )

    assert (pending, blocked) == ([], [])
    assert a.deleted == ["uid-a:one"]
    assert home.deleted == []
    assert a.users == [f"team-a/{labels.RECONCILER_SERVICE_ACCOUNT}"]


def test_an_unreachable_cluster_keeps_its_entries_pending(
    executor: concurrent.futures.Executor,
) -> None:
    home = Cluster("uid-home")
    down = ClusterError(reasons.CLUSTER_UNREACHABLE, "cluster a cannot be reached: refused")
    group = Inventory("uid-a", (ONE,), "a")

    pending, blocked = _leftovers(FakeFleet(home, {"a": down}), executor).prune(
        BODY, SPEC, [group], Result()
    )

    assert pending == [group]
    # The why (an address, a Secret name) is the platform's: on the Cluster, not here.
    assert blocked == [
        "1 object(s) on cluster a wait to be pruned: cluster a cannot be used now "
        "(ClusterUnreachable)"
    ]
    assert home.deleted == []


def test_a_name_now_answering_as_another_cluster_is_never_pruned_through(
    executor: concurrent.futures.Executor,
) -> None:
    home, other = Cluster("uid-home"), Cluster("uid-other")  # "a" re-pointed elsewhere
    group = Inventory("uid-a", (ONE,), "a")

    found = _leftovers(FakeFleet(home, {"a": other}), executor)
    pending, blocked = found.prune(BODY, SPEC, [group], Result())

    assert pending == [group]
    assert "now answers with identity uid-other" in blocked[0]
    assert other.deleted == []


def test_a_cluster_no_longer_registered_lets_its_entries_go_with_a_warning(
    executor: concurrent.futures.Executor,
) -> None:
    home = Cluster("uid-home")

    pending, blocked = _leftovers(FakeFleet(home, {}), executor).prune(
        BODY, SPEC, [Inventory("uid-a", (ONE,), "a")], Result()
    )

    assert (pending, blocked) == ([], [])
    assert [e["reason"] for e in home.events] == [reasons.ORPHANED]
    assert "cluster a is no longer registered" in home.events[0]["message"]


def test_a_tenant_namespace_gone_there_leaves_nothing_to_prune(
    executor: concurrent.futures.Executor,
) -> None:
    home, a = Cluster("uid-home"), Cluster("uid-a", namespace=False)

    pending, blocked = _leftovers(FakeFleet(home, {"a": a}), executor).prune(
        BODY, SPEC, [Inventory("uid-a", (ONE,), "a")], Result()
    )

    assert (pending, blocked) == ([], [])
    assert a.deleted == []


def test_an_unnamed_group_is_the_local_cluster_only_by_its_identity(
    executor: concurrent.futures.Executor,
) -> None:
    home = Cluster("uid-home")
    found = _leftovers(FakeFleet(home, {}), executor)

    assert isinstance(found.reach(Inventory("uid-home", (ONE,))), Member)
    unknown = found.reach(Inventory("uid-elsewhere", (ONE,)))
    assert isinstance(unknown, Unusable)
    assert unknown.orphan


def test_a_kubeconfig_with_an_exec_plugin_in_a_clusters_secret_is_refused_unrun(
    tmp_path: pathlib.Path,
) -> None:
    marker = tmp_path / "ran"
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [
            {
                "name": "u",
                "user": {
                    "exec": {
                        "command": "/bin/sh",
                        "args": ["-c", f"touch {marker}"],
                        "apiVersion": "client.authentication.k8s.io/v1",
                    }
                },
            }
        ],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    secret = {"data": {"value": base64.b64encode(yaml.safe_dump(document).encode()).decode()}}

    class Home(Cluster):
        def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
            return secret if kind == "Secret" else super().get(api_version, kind, name, namespace)

    fleet = Fleet(cast(Kube, Home("uid-home")), platform_namespace="landlord-system")
    body = {"metadata": {"name": "a"}, "spec": {"kubeConfig": {"secretRef": {"name": "kc"}}}}

    with pytest.raises(ClusterError) as refused:
        fleet.client_of(body)

    assert refused.value.reason == reasons.KUBECONFIG_REFUSED
    assert "exec: an exec plugin would run a program" in refused.value.message
    assert not marker.exists()


def test_entries_in_a_namespace_still_there_wait_when_the_account_s_is_gone(
    executor: concurrent.futures.Executor,
) -> None:
    home, a = Cluster("uid-home"), Cluster("uid-a", namespace=False)
    a.objects[("Namespace", "", "team-a-db")] = {"metadata": {"name": "team-a-db"}}
    other = Entry("team-a-db", "db", "", "ConfigMap", "v1")

    pending, blocked = _leftovers(FakeFleet(home, {"a": a}), executor).prune(
        BODY, SPEC, [Inventory("uid-a", (ONE, other), "a")], Result()
    )

    assert pending == [Inventory("uid-a", (other,), "a")]  # ONE went with team-a
    assert "namespace team-a is gone there" in blocked[0]


def test_a_group_that_is_the_target_after_all_keeps_what_was_just_applied(
    executor: concurrent.futures.Executor,
) -> None:
    """Recorded under the old "local" placeholder, found again under the cluster's uid."""
    home = Cluster("uid-home")
    home.objects[("ConfigMap", "team-a", "two")] = {"metadata": {"name": "two", "labels": OWNER}}
    two = Entry("team-a", "two", "", "ConfigMap", "v1")
    applied = Inventory("uid-home", (ONE,), "local")

    pending, blocked = _leftovers(FakeFleet(home, {}), executor).prune(
        BODY, SPEC, [Inventory("local", (ONE, two), "local")], Result(), applied
    )

    assert (pending, blocked) == ([], [])
    assert home.deleted == ["uid-home:two"]  # ONE was just applied: kept
