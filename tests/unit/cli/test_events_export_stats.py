"""Pure parts of `landlord events`, `export` and `stats`: selecting, cleaning, counting."""

from __future__ import annotations

from typing import Any

import click
import pytest
import yaml

from landlord.api import labels
from landlord.cli import events, export, stats
from landlord.telemetry import tracing


def _event(
    name: str,
    when: str,
    *,
    kind: str = "Kustomization",
    obj: str = "web",
    component: str = "landlord",
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "team-a",
            "uid": name,
            "annotations": {labels.REVISION: "main@sha1:abc", labels.TRACE_ID: "0af7" * 8},
        },
        "involvedObject": {"kind": kind, "name": obj, "namespace": "team-a"},
        "reason": "ReconciliationSucceeded",
        "message": f"message {name}",
        "type": "Normal",
        "source": {"component": component},
        "lastTimestamp": when,
        "count": 2,
    }


def test_events_are_landlords_about_the_object_oldest_first() -> None:
    found = events.select(
        [
            _event("late", "2025-03-01T10:00:09Z"),
            _event("early", "2025-03-01T10:00:01Z"),
            _event("theirs", "2025-03-01T10:00:05Z", component="kubelet"),
            _event("source", "2025-03-01T10:00:05Z", kind="GitRepository"),
            _event("other", "2025-03-01T10:00:05Z", obj="api"),
        ],
        kind="Kustomization",
        name="web",
    )

    assert [e["metadata"]["name"] for e in found] == ["early", "late"]


def test_an_event_with_fractional_seconds_sorts_by_its_instant() -> None:
    found = events.select(
        [_event("b", "2025-03-01T10:00:01.5Z"), _event("a", "2025-03-01T10:00:01Z")]
    )

    assert [e["metadata"]["name"] for e in found] == ["a", "b"]


def test_for_takes_the_cli_kind_aliases() -> None:
    assert events.parse_for("ks/web") == ("Kustomization", "web")
    assert events.parse_for("kustomization/web") == ("Kustomization", "web")
    assert events.parse_for("Tenant/team-a") == ("Tenant", "team-a")
    for bad in ("web", "pod/web", "ks/"):
        with pytest.raises(click.BadParameter):
            events.parse_for(bad)


def test_an_events_row_and_cells() -> None:
    event = _event("e", "2025-03-01T10:00:01Z")

    row = events.row(event)
    cells = events.cells(event, wide=True, namespaces=True)

    assert row["object"] == {"kind": "Kustomization", "name": "web", "namespace": "team-a"}
    assert row["revision"] == "main@sha1:abc"
    assert cells[0] == "team-a"
    assert cells[2:6] == ["Normal", "ReconciliationSucceeded", "Kustomization/web", "message e"]
    assert cells[6:] == ["2", "main@sha1:abc", "0af7" * 8]
    assert row["traceId"] == "0af7" * 8


def _stored() -> dict[str, Any]:
    return {
        "apiVersion": "landlord.dev/v1alpha1",
        "kind": "Kustomization",
        "metadata": {
            "name": "web",
            "namespace": "team-a",
            "uid": "1234",
            "resourceVersion": "99",
            "generation": 3,
            "creationTimestamp": "2025-03-01T10:00:00Z",
            "managedFields": [{"manager": "landlord"}],
            "finalizers": [labels.FINALIZER],
            "ownerReferences": [{"kind": "Tenant", "name": "team-a", "uid": "5"}],
            "labels": {labels.TENANT: "team-a"},
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
                labels.REQUESTED_AT: "2025-03-01T10:00:00Z",
                labels.TRACEPARENT: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                tracing.TRACEPARENT_SIGNATURE: "sig",
                "team.example/owner": "alice",
            },
        },
        "spec": {"sourceRef": {"kind": "GitRepository", "name": "web"}, "path": "./deploy"},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }


def test_export_keeps_the_desired_state_only() -> None:
    assert export.clean(_stored()) == {
        "apiVersion": "landlord.dev/v1alpha1",
        "kind": "Kustomization",
        "metadata": {
            "name": "web",
            "namespace": "team-a",
            "labels": {labels.TENANT: "team-a"},
            "annotations": {"team.example/owner": "alice"},
        },
        "spec": {"sourceRef": {"kind": "GitRepository", "name": "web"}, "path": "./deploy"},
    }


def test_export_of_a_cluster_scoped_object_without_annotations() -> None:
    tenant = {"apiVersion": "landlord.dev/v1alpha1", "kind": "Tenant", "metadata": {"name": "a"}}

    assert export.clean(tenant) == {**tenant, "metadata": {"name": "a"}}


def test_export_is_multi_document_yaml() -> None:
    text = export.documents([_stored(), _stored()])

    assert text.startswith("---\n")
    assert text.count("\n---\n") == 1
    assert [doc["metadata"]["name"] for doc in yaml.safe_load_all(text)] == ["web", "web"]
    assert export.documents([]) == ""


def _body(*, ready: str | None = None, suspend: bool = False, size: Any = None) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": ready}]
    if size is not None:
        status["artifact"] = {"size": size}
    return {"spec": {"suspend": suspend}, "status": status}


def test_stats_count_as_flux_does() -> None:
    stat = stats.count(
        "HelmRepository",
        [
            _body(ready="True", size=1024),
            _body(ready="False", size=512),
            _body(ready="False", suspend=True),
            _body(),  # not reconciled yet: neither failing nor suspended
        ],
    )

    assert (stat.total, stat.running, stat.failing, stat.suspended) == (4, 3, 2, 1)
    assert stat.storage == 1536
    assert stats.count("GitRepository", [_body(ready="True")]).storage is None
    assert stats.as_data([stat])[0]["storageBytes"] == 1536


@pytest.mark.parametrize(
    ("size", "text"),
    [(None, "-"), (0, "-"), (512, "512 B"), (1536, "1.5 KiB"), (3 * 1024**2, "3.0 MiB")],
)
def test_storage_sizes(size: int | None, text: str) -> None:
    assert stats.size_text(size) == text


def test_a_watch_prints_each_event_once_under_one_header(
    capsys: pytest.CaptureFixture[str],
) -> None:
    printer = events._Printer("table", namespaces=False)
    first, second = _event("a", "2025-03-01T10:00:01Z"), _event("b", "2025-03-01T10:00:02Z")

    printer.print([first])
    printer.print([first, second])  # a relist after a broken watch: only b is new
    printer.print([{**second, "count": 3}])  # b again, seen once more: printed again

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert [line.split()[-1] for line in lines[1:]] == ["a", "b", "b"]
