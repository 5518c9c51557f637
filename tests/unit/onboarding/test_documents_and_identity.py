"""Tenant files written and read back; who owns a tenant; the audit timeline's order."""

from __future__ import annotations

import dataclasses

import yaml

from landlord.api import labels
from landlord.api.tenant import TenantSpec
from landlord.onboarding import audit, documents
from landlord.onboarding.identity import Caller


def test_a_tenant_file_holds_only_what_was_given_with_safe_yaml() -> None:
    spec = TenantSpec.model_validate({"quota": {"pods": "3"}, "ownerRole": "edit"})
    annotations = documents.request_annotations(
        request_id="r1",
        traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01",
        user="alice",
        time="2026-11-22T00:00:00+00:00",
        operation="create",
    )
    text = documents.render("team", documents.spec_document(spec), annotations)

    loaded = yaml.safe_load(text)
    assert loaded["spec"] == {"ownerRole": "edit", "quota": {"pods": "3"}}
    assert loaded["metadata"]["annotations"][labels.REQUEST_ID] == "r1"
    assert b"!!" not in text  # no Python tags
    (parsed,) = documents.parse("tenants/team.yaml", text)
    assert parsed.name == "team"
    assert parsed.alone


def test_the_platform_teams_labels_survive_a_rewrite_through_the_api() -> None:
    # Its shard above all: an API update must not move a Tenant to the default shard.
    committed = (
        b"apiVersion: landlord.dev/v1alpha1\nkind: Tenant\n"
        b"metadata: {name: a, labels: {landlord.dev/shard: blue, team: x}}\nspec: {}\n"
    )
    (found,) = documents.parse("tenants/a.yaml", committed)

    rewritten = documents.render("a", {"quota": {"pods": "5"}}, {}, found.labels)

    assert yaml.safe_load(rewritten)["metadata"]["labels"] == {labels.SHARD: "blue", "team": "x"}


def test_the_index_finds_tenants_in_multi_document_files() -> None:
    both = (
        b"apiVersion: landlord.dev/v1alpha1\nkind: Tenant\nmetadata: {name: a}\nspec: {}\n---\n"
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
    )
    found = documents.index(
        [documents.parse("tenants/a.yaml", both), documents.parse("tenants/bad.yaml", b": : :")]
    )
    assert list(found) == ["a"]
    assert not found["a"].alone


def test_owners_by_user_group_and_service_account() -> None:
    spec = TenantSpec.model_validate(
        {
            "owners": [
                {"kind": "User", "name": "alice"},
                {"kind": "Group", "name": "devs"},
                {"kind": "ServiceAccount", "name": "ci", "namespace": "tools"},
            ]
        }
    )
    assert Caller("alice").owns(spec)
    assert Caller("bob", ("devs",)).owns(spec)
    assert Caller("system:serviceaccount:tools:ci").owns(spec)
    assert not Caller("system:serviceaccount:other:ci").owns(spec)
    assert not Caller("mallory", ("ops",)).owns(spec)
    assert Caller("bob", ("devs",)).subjects(owner=True) == [
        "user:bob",
        "group:devs",
        "role:tenant-owner",
    ]
    assert Caller("system:serviceaccount:tools:ci").email == (
        "system.serviceaccount.tools.ci@users.landlord.invalid"
    )


@dataclasses.dataclass(frozen=True)
class _Commit:
    sha: str
    author_name: str
    author_email: str
    time: str
    subject: str
    trailers: dict[str, str]


def test_the_timeline_orders_commits_status_and_events() -> None:
    commit = _Commit(
        "c" * 40,
        "alice",
        "alice@example.com",
        "2026-11-22T10:00:00+00:00",
        "Onboard tenant t",
        {
            "Landlord-Request-Id": "r1",
            "Landlord-Trace-Id": "t" * 32,
            "Landlord-Requested-By": "alice",
        },
    )
    tenant = {
        "metadata": {"creationTimestamp": "2026-11-22T10:00:02Z", "annotations": {}},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Provisioned",
                    "message": "ok",
                    "lastTransitionTime": "2026-11-22T10:00:03Z",
                }
            ]
        },
    }
    event = {
        "lastTimestamp": "2026-11-22T10:00:01Z",
        "reason": "Fetched",
        "message": "m",
        "involvedObject": {"kind": "GitRepository", "name": "t"},
        "count": 2,
    }

    entries = audit.timeline(commits=[commit], tenant=tenant, syncs=[], events=[event])

    assert [entry.source for entry in entries] == ["git", "event", "cluster", "cluster"]
    assert "API request r1" in entries[0].what
    assert entries[0].trace_id == "t" * 32
    assert "(×2)" in entries[1].what
    assert entries[3].what.startswith("Tenant Ready=True")
