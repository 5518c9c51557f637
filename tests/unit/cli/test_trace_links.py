"""`landlord trace`: each object of the chain, as the lines it prints."""

from __future__ import annotations

from typing import Any

from landlord.api import labels
from landlord.cli import trace

TRACE = "0af7651916cd43dd8448eb211c80319c"


def _kustomization(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "landlord.dev/v1alpha1",
        "kind": "Kustomization",
        "metadata": {"name": "web", "namespace": "team-a", "annotations": {}},
        "spec": {"path": "./deploy", "sourceRef": {"kind": "GitRepository", "name": "web"}},
        "status": status,
    }


def _event(reason: str, when: str, message: str, component: str = "landlord") -> dict[str, Any]:
    return {
        "reason": reason,
        "lastTimestamp": when,
        "message": message,
        "source": {"component": component},
    }


def test_a_kustomization_shows_revision_last_apply_inventory_and_ready() -> None:
    body = _kustomization(
        lastAppliedRevision="main@sha1:aaa",
        lastAttemptedRevision="main@sha1:bbb",
        inventory={"cluster": "uid-1", "entries": [{"id": "a"}, {"id": "b"}]},
        conditions=[{"type": "Ready", "status": "False", "reason": "BuildFailed", "message": "x"}],
    )
    found = [
        _event("ReconciliationSucceeded", "2025-03-01T10:00:00Z", "revision main@sha1:old: 1"),
        _event("ReconciliationSucceeded", "2025-03-01T11:00:00Z", "revision main@sha1:aaa: 2"),
        _event("BuildFailed", "2025-03-01T12:00:00Z", "x"),
        _event("ReconciliationSucceeded", "2025-03-01T13:00:00Z", "not ours", "kubelet"),
    ]

    lines = dict(trace.kustomization_link(body, found, TRACE).lines)

    assert lines["Applied revision"] == "main@sha1:aaa"
    assert lines["Attempted revision"] == "main@sha1:bbb"
    assert lines["Last apply"].startswith("2025-03-01T11:00:00Z (")
    assert lines["Last apply"].endswith("revision main@sha1:aaa: 2")
    assert lines["Inventory"] == "2 objects on uid-1"
    assert lines["Trace"] == TRACE
    assert lines["Ready"] == "False (BuildFailed: x)"


def test_what_is_not_known_is_said() -> None:
    lines = dict(trace.kustomization_link(_kustomization(), []).lines)

    assert lines["Applied revision"] == "none applied yet"
    assert lines["Last apply"].startswith("no apply Event found")
    assert lines["Trace"].startswith("not recorded")
    assert lines["Ready"] == "Unknown (not reconciled yet)"
    assert dict(trace.missing("GitRepository", "web", "team-a", "not found").lines) == {
        "Status": "not found"
    }


def test_the_trace_id_comes_from_the_traceparent_of_the_request() -> None:
    body = _kustomization()
    body["metadata"]["annotations"][labels.TRACEPARENT] = f"00-{TRACE}-b7ad6b7169203331-01"

    assert trace.trace_id(body) == TRACE
    assert trace.trace_id(_kustomization()) is None


def test_a_source_shows_url_ref_revision_and_last_fetch() -> None:
    source = {
        "kind": "GitRepository",
        "metadata": {"name": "web", "namespace": "team-a"},
        "spec": {"url": "https://u:pw@git.example/web", "ref": {"tag": "v1"}, "interval": "1m"},
        "status": {
            "artifact": {"revision": "v1@sha1:ccc", "lastUpdateTime": "2025-03-01T10:00:00Z"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded"}],
        },
    }

    lines = dict(trace.source_link(source).lines)

    assert lines["URL"] == "https://***@git.example/web"  # never the password
    assert lines["Ref"] == "tag v1"
    assert lines["Revision"] == "v1@sha1:ccc"
    assert lines["Last fetch"].startswith("2025-03-01T10:00:00Z (")
    assert lines["Last fetch"].endswith("then every 1m")
    assert lines["Ready"] == "True (Succeeded)"


def test_an_applied_object_names_its_kustomization_and_its_inventory_entry() -> None:
    applied = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "team-a",
            "labels": {labels.KUSTOMIZATION_NAME: "web", labels.KUSTOMIZATION_NAMESPACE: "team-a"},
        },
    }
    owner = _kustomization(inventory={"entries": [{"id": "team-a_web_apps_Deployment"}]})

    lines = dict(trace.object_link(applied, owner).lines)

    assert trace.inventory_id(applied) == "team-a_web_apps_Deployment"
    assert lines["Managed by"] == "Kustomization team-a/web"
    assert lines["In inventory"] == "yes"
    foreign = dict(trace.object_link({**applied, "metadata": {"name": "x"}}, None).lines)
    assert foreign["Managed by"].startswith("not applied by Landlord")


def test_the_reconcile_trace_comes_from_the_newest_landlord_event_that_carries_one() -> None:
    def event(time: str, trace_id: str | None, component: str = "landlord") -> dict[str, Any]:
        annotations = {labels.TRACE_ID: trace_id} if trace_id else {}
        return {
            "metadata": {"annotations": annotations},
            "source": {"component": component},
            "lastTimestamp": time,
        }

    events = [
        event("2026-11-30T10:00:00Z", "a" * 32),
        event("2026-11-30T10:05:00Z", "b" * 32),
        event("2026-11-30T10:09:00Z", None),  # posted outside a span
        event("2026-11-30T10:10:00Z", "c" * 32, component="someone-else"),
    ]
    assert trace.reconcile_trace(events) == "b" * 32
    # Two Events in one second: the one written last (resourceVersion) is the newest.
    later = event("2026-11-30T10:05:00Z", "d" * 32)
    later["metadata"]["resourceVersion"] = "120"
    events[1]["metadata"]["resourceVersion"] = "119"
    assert trace.reconcile_trace([later, *events]) == "d" * 32
    assert trace.reconcile_trace([]) is None


def test_an_oci_source_shows_its_ref_or_the_default_tag() -> None:
    body = {
        "kind": "OCIRepository",
        "metadata": {"name": "app", "namespace": "team-a"},
        "spec": {"url": "oci://registry.example.com/team-a/app", "interval": "5m"},
        "status": {"artifact": {"revision": "latest@sha256:abc"}},
    }

    assert dict(trace.source_link(body).lines)["Ref"] == "tag latest (default)"
    body["spec"]["ref"] = {"semver": ">=1.0.0"}
    lines = dict(trace.source_link(body).lines)
    assert lines["Ref"] == "semver >=1.0.0"
    assert lines["Revision"] == "latest@sha256:abc"
