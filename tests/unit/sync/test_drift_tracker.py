"""The drift bookkeeping: what counts as drift, what does not."""

from __future__ import annotations

from typing import Any

from landlord.api import labels
from landlord.sync.drift import DriftTracker

KEY = "team-a/app"
KIND = ("v1", "ConfigMap", "", "local")


def manifest(name: str = "cm", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": "team-a",
            "labels": {
                labels.KUSTOMIZATION_NAME: "app",
                labels.KUSTOMIZATION_NAMESPACE: "team-a",
            },
        },
        "data": dict(data) or {"color": "blue"},
    }


def live(name: str = "cm", manager: str = "kubectl", **data: str) -> dict[str, Any]:
    body = manifest(name, **data)
    body["metadata"]["managedFields"] = [
        {"manager": "landlord", "time": "2026-01-01T00:00:00Z"},
        {"manager": manager, "time": "2026-01-02T00:00:00Z"},
    ]
    return body


def tracker() -> DriftTracker:
    found = DriftTracker()
    found.record(KEY, [manifest()])
    return found


def test_a_deletion_is_drift_and_is_taken_once() -> None:
    t = tracker()

    drift = t.observe("DELETED", live())

    assert drift is not None
    assert drift.deleted
    assert str(drift) == "ConfigMap team-a/cm deleted"
    assert t.drifted(KEY)
    assert t.take(KEY) == [drift]
    assert t.take(KEY) == []


def test_a_changed_field_is_drift_named_after_its_editor() -> None:
    drift = tracker().observe("MODIFIED", live(color="red"))

    assert drift is not None
    assert str(drift) == "ConfigMap team-a/cm changed by kubectl"


def test_extra_fields_our_own_writes_and_opted_out_objects_are_not_drift() -> None:
    t = tracker()
    extra = live()
    extra["data"]["added"] = "by hand"
    ours = live(color="red", manager="landlord")
    opted = live(color="red")
    opted["metadata"]["annotations"] = {labels.RECONCILE: "disabled"}

    assert t.observe("MODIFIED", extra) is None
    assert t.observe("MODIFIED", ours) is None
    assert t.observe("MODIFIED", opted) is None
    assert not t.drifted(KEY)


def test_objects_of_another_owner_or_no_longer_desired_are_ignored() -> None:
    t = tracker()
    foreign = live(color="red")
    foreign["metadata"]["labels"][labels.KUSTOMIZATION_NAME] = "other"

    assert t.observe("MODIFIED", foreign) is None
    t.record(KEY, [])  # the next revision dropped it: a prune deletes it, not drift
    assert t.observe("DELETED", live()) is None


def test_a_list_finds_what_went_missing_and_marks_the_kind_watched() -> None:
    t = DriftTracker()
    t.record(KEY, [manifest("kept"), manifest("gone")])
    assert not t.clean(KEY)  # nothing is watched yet

    drifts = t.listed(KIND, [live("kept", manager="landlord")])

    assert [str(d) for d in drifts] == ["ConfigMap team-a/gone deleted"]
    t.take(KEY)
    assert t.clean(KEY)
    t.unsynced(KIND)
    assert not t.clean(KEY)


def test_forget_drops_everything_of_a_kustomization() -> None:
    t = tracker()
    t.observe("DELETED", live())

    t.forget(KEY)

    assert not t.drifted(KEY)
    assert t.scopes(KEY) == set()
    assert t.observe("DELETED", live()) is None


def secret(name: str, namespace: str) -> dict[str, Any]:
    body = manifest(name)
    body.update(kind="Secret", data={"token": "c2VjcmV0"})
    body["metadata"]["namespace"] = namespace
    return body


def test_secrets_are_watched_per_namespace_and_a_list_there_speaks_only_for_it() -> None:
    # The operator may read Secrets only in tenants' namespaces: one watch each.
    t = DriftTracker()
    t.record(KEY, [manifest("cm"), secret("a", "team-a"), secret("b", "team-a-db")])

    assert t.scopes(KEY) == {
        ("v1", "ConfigMap", "", "local"),
        ("v1", "Secret", "team-a", "local"),
        ("v1", "Secret", "team-a-db", "local"),
    }
    t.listed(KIND, [live("cm", manager="landlord")])
    # The list of one namespace's Secrets says nothing about the other's.
    assert t.listed(("v1", "Secret", "team-a", "local"), []) != []
    assert [str(d) for d in t.take(KEY)] == ["Secret team-a/a deleted"]
    assert not t.clean(KEY)
    assert t.listed(("v1", "Secret", "team-a-db", "local"), [secret("b", "team-a-db")]) == []
    assert t.clean(KEY)
