"""Deleting a Kustomization: the deletion policy decides; each cluster's entries go through it."""

from __future__ import annotations

import concurrent.futures
import datetime
from collections.abc import Iterator
from typing import Any, cast

import pytest

from landlord import errors
from landlord.api import kustomization as model
from landlord.api import labels, reasons
from landlord.gitops import durations
from landlord.kube import Kube
from landlord.runtime import stopwatch
from landlord.sync import deletion, finalize
from landlord.sync.inventory import Entry, Inventory
from landlord.sync.steps import elsewhere
from landlord.sync.steps.identity import Identity

WEB = Entry("team-a", "web", "apps", "Deployment", "v1")
OWNER = {labels.KUSTOMIZATION_NAME: "app", labels.KUSTOMIZATION_NAMESPACE: "team-a"}


class Cluster:
    """One Deployment the Kustomization applied; records deletes, Events and patches."""

    def __init__(self, *, stays: bool = False) -> None:
        self.web: dict[str, Any] | None = {"metadata": {"name": "web", "labels": dict(OWNER)}}
        self.stays = stays  # a finalizer on it keeps it after delete
        self.deleted: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.patches: list[dict[str, Any]] = []

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
        if kind == "Deployment":
            return self.web
        if kind == "Namespace" and name == "kube-system":
            return {"metadata": {"name": name, "uid": "this"}}  # this cluster's identity
        return {"metadata": {"name": name}}

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        self.deleted.append(name)
        if not self.stays:
            self.web = None

    def as_service_account(self, namespace: str, name: str) -> Cluster:
        return self

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        self.events.append(body)
        return body

    def merge_patch(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.patches.append(args[3])
        return {}


@pytest.fixture
def executor() -> Iterator[concurrent.futures.Executor]:
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        yield pool


def _body(cluster: str = "this", deleted_at: str | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "landlord.dev/v1alpha1",
        "kind": "Kustomization",
        "metadata": {
            "name": "app",
            "namespace": "team-a",
            "resourceVersion": "7",
            "finalizers": [labels.FINALIZER],
            "deletionTimestamp": deleted_at
            or datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "spec": {"sourceRef": {"kind": "GitRepository", "name": "app"}, **spec},
        "status": {"inventory": Inventory(cluster, (WEB,)).to_status()},
    }


def _finalizer(kube: Cluster, executor: concurrent.futures.Executor) -> finalize.Finalizer:
    client = cast(Kube, kube)
    identity = Identity(client, platform_namespace="landlord-system")
    return finalize.Finalizer(
        client,
        identity=identity,
        leftovers=elsewhere.Leftovers(client, identity=identity, executor=executor, in_flight=2),
        executor=executor,
        bounds=durations.Bounds(),
    )


def _released(kube: Cluster) -> bool:
    return any(p.get("metadata", {}).get("finalizers") == [] for p in kube.patches)


@pytest.mark.parametrize(
    ("spec", "pruned"),
    [
        ({}, True),
        ({"prune": False}, False),
        ({"deletionPolicy": "MirrorPrune", "prune": False}, False),
        ({"deletionPolicy": "Delete", "prune": False}, True),
        ({"deletionPolicy": "WaitForTermination", "prune": False}, True),
        ({"deletionPolicy": "Orphan"}, False),
    ],
)
def test_the_deletion_policy_decides_what_is_pruned(
    executor: concurrent.futures.Executor, spec: dict[str, Any], pruned: bool
) -> None:
    kube = Cluster()

    assert _finalizer(kube, executor).finalize(_body(**spec)) is None

    assert kube.deleted == (["web"] if pruned else [])
    assert _released(kube)


def test_an_inventory_of_an_unnamed_other_cluster_is_let_go_never_pruned_through_this_one(
    executor: concurrent.futures.Executor,
) -> None:
    kube = Cluster()

    assert _finalizer(kube, executor).finalize(_body(cluster="elsewhere")) is None

    assert kube.deleted == []
    assert [e["reason"] for e in kube.events] == [reasons.ORPHANED]
    assert _released(kube)


def test_wait_for_termination_holds_the_finalizer_until_the_objects_are_gone(
    executor: concurrent.futures.Executor,
) -> None:
    kube = Cluster(stays=True)

    waiting = _finalizer(kube, executor).finalize(_body(deletionPolicy="WaitForTermination"))

    assert waiting is not None
    assert waiting.reason == reasons.WAITING_FOR_TERMINATION
    assert waiting.requeue_after is not None
    assert waiting.requeue_after <= 2.0
    assert "Deployment team-a/web" in waiting.message
    assert not _released(kube)
    kube.web = None  # its own finalizer let go
    assert _finalizer(kube, executor).finalize(_body(deletionPolicy="WaitForTermination")) is None
    assert _released(kube)


def test_wait_for_termination_gives_up_after_the_timeout(
    executor: concurrent.futures.Executor,
) -> None:
    kube = Cluster(stays=True)
    long_ago = "2020-01-01T00:00:00Z"

    outcome = _finalizer(kube, executor).finalize(
        _body(deleted_at=long_ago, deletionPolicy="WaitForTermination", timeout="1m")
    )

    assert outcome is None
    assert [e["reason"] for e in kube.events] == [reasons.TERMINATION_TIMEOUT]
    assert _released(kube)


def test_the_wait_is_bounded_from_the_deletion() -> None:
    now = datetime.datetime(2026, 1, 1, 12, 0, 30, tzinfo=datetime.UTC)
    mono = [100.0]
    watch = stopwatch.Stopwatch(wall=lambda: now, monotonic=lambda: mono[0])

    assert finalize.termination_left("2026-01-01T12:00:00Z", 60, watch=watch) == 30
    assert finalize.termination_left("2026-01-01T12:00:00Z", 10, watch=watch) <= 0
    assert finalize.termination_left("garbage", 60, watch=watch) == 0
    now += datetime.timedelta(hours=1)  # the clock stepped: the wait goes on as it was
    mono[0] += 10
    assert finalize.termination_left("2026-01-01T12:00:00Z", 60, watch=watch) == 20


def test_the_model_says_which_policies_prune() -> None:
    def prunes(**spec: Any) -> bool:
        body = {"spec": {"sourceRef": {"kind": "GitRepository", "name": "app"}, **spec}}
        return model.KustomizationSpec.of(body).prunes_on_deletion

    assert prunes()
    assert not prunes(prune=False)
    assert prunes(deletionPolicy="Delete", prune=False)
    assert prunes(deletionPolicy="WaitForTermination", prune=False)
    assert not prunes(deletionPolicy="Orphan", prune=True)


LONG_AGO = "2020-01-01T00:00:00Z"


class Terminating(Cluster):
    """The Deployment has a finalizer of its own: deleted, it stays with a deletionTimestamp."""

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        super().delete(api_version, kind, name, namespace)
        assert self.web is not None
        self.web["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"


class NoAccount(Cluster):
    """The tenant deleted its reconciler ServiceAccount."""

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
        return None if kind == "ServiceAccount" else super().get(api_version, kind, name, namespace)


class Forbidden(Cluster):
    """The tenant deleted the RoleBinding of its reconciler: every delete is forbidden."""

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        raise errors.ApiError("deployments.apps is forbidden", status=403)


def test_objects_already_terminating_are_not_deleted_again(
    executor: concurrent.futures.Executor,
) -> None:
    kube = Terminating(stays=True)
    finalizer = _finalizer(kube, executor)

    first = finalizer.finalize(_body(deletionPolicy="WaitForTermination"))
    second = finalizer.finalize(_body(deletionPolicy="WaitForTermination"))

    assert kube.deleted == ["web"]  # the poll looks, it does not delete again
    for outcome in (first, second):
        assert outcome is not None
        assert outcome.reason == reasons.WAITING_FOR_TERMINATION
        assert "Deployment team-a/web" in outcome.message


def test_an_interval_out_of_bounds_does_not_hide_a_valid_timeout(
    executor: concurrent.futures.Executor,
) -> None:
    kube = Cluster(stays=True)
    two_minutes_ago = (
        datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=2)
    ).strftime("%Y-%m-%dT%H:%M:%SZ")

    outcome = _finalizer(kube, executor).finalize(
        _body(
            deleted_at=two_minutes_ago,
            deletionPolicy="WaitForTermination",
            interval="1s",
            timeout="1m",
        )
    )

    assert outcome is None  # 1m is over; the default 5m would still wait
    assert [e["reason"] for e in kube.events] == [reasons.TERMINATION_TIMEOUT]


@pytest.mark.parametrize(
    ("kube", "reason"),
    [(NoAccount(), reasons.SERVICE_ACCOUNT_NOT_FOUND), (Forbidden(), reasons.PRUNE_FAILED)],
)
def test_a_prune_the_tenant_cannot_do_is_retried_until_the_deadline(
    executor: concurrent.futures.Executor, kube: Cluster, reason: str
) -> None:
    retrying = _finalizer(kube, executor).finalize(_body(timeout="1m"))

    assert retrying is not None
    assert retrying.reason == reason
    assert retrying.requeue_after is not None
    assert retrying.requeue_after <= finalize.RETRY
    assert not _released(kube)
    assert kube.events == []


@pytest.mark.parametrize(
    ("kube", "reason"),
    [(NoAccount(), reasons.SERVICE_ACCOUNT_NOT_FOUND), (Forbidden(), reasons.PRUNE_FAILED)],
)
def test_past_the_deadline_the_finalizer_goes_with_a_warning_naming_what_is_left(
    executor: concurrent.futures.Executor, kube: Cluster, reason: str
) -> None:
    outcome = _finalizer(kube, executor).finalize(_body(deleted_at=LONG_AGO, timeout="1m"))

    assert outcome is None
    assert _released(kube)
    assert kube.web is not None  # never deleted some other way
    [event] = kube.events
    assert event["reason"] == reasons.PRUNE_ABANDONED
    assert event["type"] == "Warning"
    assert "Deployment team-a/web" in event["message"]
    assert reason in event["message"]


def test_a_spec_the_model_refuses_is_deleted_by_its_raw_fields(
    executor: concurrent.futures.Executor,
) -> None:
    kube = Cluster()
    body = _body(deletionPolicy="Delete", prune=False)
    body["spec"]["sourceRef"] = {"kind": "Bucket"}  # an older schema: no name, another kind

    assert _finalizer(kube, executor).finalize(body) is None

    assert kube.deleted == ["web"]
    assert [e["reason"] for e in kube.events] == [reasons.INVALID_SPEC]
    assert kube.events[0]["type"] == "Warning"
    assert _released(kube)


def test_a_refused_spec_with_a_bad_account_name_prunes_nothing_as_anyone_else(
    executor: concurrent.futures.Executor,
) -> None:
    kube = Cluster()
    body = _body(serviceAccountName="Not_A_Name", prune="yes")
    body["spec"]["sourceRef"] = {}

    outcome = _finalizer(kube, executor).finalize(body)

    assert kube.deleted == []
    assert outcome is not None
    assert outcome.reason == reasons.INVALID_SPEC
    assert not _released(kube)


def test_the_raw_fields_are_read_one_by_one() -> None:
    bounds = durations.Bounds()
    raw = deletion.of({"spec": {"prune": False, "timeout": "30s", "sourceRef": 3}}, bounds)
    assert raw.refused
    assert (raw.policy, raw.prunes, raw.timeout) == ("MirrorPrune", False, 30.0)
    odd = deletion.of({"spec": {"deletionPolicy": "Sometimes", "timeout": "9h"}}, bounds)
    assert (odd.policy, odd.prunes, odd.timeout) == ("MirrorPrune", True, 300.0)
    orphan = deletion.of({"spec": {"deletionPolicy": "Orphan", "serviceAccountName": 7}}, bounds)
    assert not orphan.prunes
    assert orphan.bad_account
