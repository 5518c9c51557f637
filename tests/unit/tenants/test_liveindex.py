"""The live index: what the tenant watches saw, in place of a list per reconcile."""

from __future__ import annotations

from typing import Any

from landlord.api import labels
from landlord.tenants.desired import ObjectKey
from landlord.tenants.liveindex import LiveIndex

NS = ("v1", "Namespace")
SA = ("v1", "ServiceAccount")


def obj(
    kind: str, name: str, tenant: str | None, *, ns: str = "", rv: str = "1", **rest: Any
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": name,
        "resourceVersion": rv,
        "labels": {labels.TENANT: tenant} if tenant else {},
        "managedFields": [{"manager": "landlord", "fieldsV1": {"f:metadata": {}}}],
    }
    if ns:
        metadata["namespace"] = ns
    return {"apiVersion": "v1", "kind": kind, "metadata": metadata, **rest}


def test_a_kind_counts_only_once_listed() -> None:
    index = LiveIndex([NS, SA])
    index.listed(NS, [obj("Namespace", "a", "a")])

    assert index.live("a", [NS, SA]) is None  # the accounts were never listed: ask the apiserver
    found = index.live("a", [NS])
    assert found is not None
    assert list(found) == [ObjectKey("v1", "Namespace", "", "a")]


def test_bodies_are_kept_without_status_and_managed_fields() -> None:
    index = LiveIndex([NS])
    index.listed(NS, [obj("Namespace", "a", "a", status={"phase": "Active"})])

    body = (index.live("a", [NS]) or {})[ObjectKey("v1", "Namespace", "", "a")]
    assert "status" not in body
    assert "managedFields" not in body["metadata"]
    assert body["metadata"]["labels"] == {labels.TENANT: "a"}


def test_events_add_change_and_delete() -> None:
    index = LiveIndex([SA])
    index.listed(SA, [])
    account = obj("ServiceAccount", "x", "a", ns="a")

    assert index.observe("ADDED", account) == {"a"}
    assert len(index.live("a", [SA]) or {}) == 1
    assert index.observe("DELETED", account) == {"a"}
    assert index.live("a", [SA]) == {}


def test_a_status_write_wakes_no_one_but_a_spec_or_label_change_does() -> None:
    index = LiveIndex([SA])
    index.listed(SA, [obj("ServiceAccount", "x", "a", ns="a", rv="1")])

    assert (
        index.observe("MODIFIED", obj("ServiceAccount", "x", "a", ns="a", rv="2", status={"x": 1}))
        == set()
    )
    changed = obj("ServiceAccount", "x", "a", ns="a", rv="3", automountServiceAccountToken=True)
    assert index.observe("MODIFIED", changed) == {"a"}
    body = (index.live("a", [SA]) or {})[ObjectKey("v1", "ServiceAccount", "a", "x")]
    assert body["automountServiceAccountToken"] is True  # the newest body is kept


def test_a_relabelled_object_moves_to_the_other_tenant_and_wakes_both() -> None:
    index = LiveIndex([SA])
    index.listed(SA, [obj("ServiceAccount", "x", "a", ns="a")])

    assert index.observe("MODIFIED", obj("ServiceAccount", "x", "b", ns="a", rv="2")) == {"a", "b"}
    assert index.live("a", [SA]) == {}
    assert list(index.live("b", [SA]) or {}) == [ObjectKey("v1", "ServiceAccount", "a", "x")]
    # The label removed: nobody's any more.
    assert index.observe("MODIFIED", obj("ServiceAccount", "x", None, ns="a", rv="3")) == {"b"}
    assert index.live("b", [SA]) == {}


def test_a_broken_watch_takes_the_kind_out_until_it_lists_again() -> None:
    index = LiveIndex([NS])
    index.listed(NS, [obj("Namespace", "a", "a")])
    index.unsynced(NS)

    assert index.live("a", [NS]) is None
    assert index.labelled_namespace("a") is None
    woken = index.listed(NS, [obj("Namespace", "a", "a"), obj("Namespace", "b", "b")])
    assert woken == {"b"}  # only what changed meanwhile
    assert index.labelled_namespace("b") == "b"
    assert index.labelled_namespace("elsewhere") is None


def test_a_relist_forgets_what_is_gone() -> None:
    index = LiveIndex([NS])
    index.listed(NS, [obj("Namespace", "a", "a"), obj("Namespace", "b", "b")])

    assert index.listed(NS, [obj("Namespace", "a", "a")]) == {"b"}
    assert index.live("b", [NS]) == {}
    assert index.labelled_namespace("b") is None
