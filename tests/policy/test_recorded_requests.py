"""The operator records the requests it decided and publishes them to the platform namespace."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import yaml

from landlord import api, kube
from landlord.api import conditions, labels
from landlord.demo import GitServer
from landlord.policy import requests
from landlord.settings import PLATFORM_NAMESPACE
from landlord.wiring import policy_requests
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.operator import BASELINE_POLICY, OperatorProcess, Tenants
from tests.fixtures.policy import PolicyFiles
from tests.helpers import eventually
from tests.policy.test_gate import _tenant_with_repo
from tests.sync.test_apply_and_prune import config_map

Row = tuple[str, str, str, str, tuple[str, ...]]  # action, object, effect, rule, subjects


def published(admin: kube.Kube) -> list[requests.Seen]:
    """Every request in every published document (all shards, all parts)."""
    found = []
    for item in admin.list_objects(
        "v1",
        "ConfigMap",
        namespace=PLATFORM_NAMESPACE,
        label_selector=f"{labels.POLICY_REQUESTS}=true",
    ):
        data = base64.b64decode(item["binaryData"][labels.POLICY_REQUESTS_KEY])
        found.extend(requests.read(data).seen)
    return found


def rows(admin: kube.Kube, kind: str, namespace: str, name: str) -> set[Row]:
    """What ``kind namespace/name`` asked, as published."""
    requester = requests.Requester(kind, namespace, name)
    return {
        (s.request.action, s.request.object, s.effect, s.rule, s.request.subjects)
        for s in published(admin)
        if s.request.requester == requester
    }


def _tenant(
    tenants: Tenants,
    git: GitServer,
    prefix: str,
    files: dict[str, Any],
    *,
    owners: list[dict[str, str]] | None = None,
    **sync: Any,
) -> str:
    """A tenant whose source is fetched every 2 s (a new revision shows quickly)."""
    return _tenant_with_repo(
        tenants, git, prefix, files, owners=owners, source_interval="2s", **sync
    )


def _revision(admin: kube.Kube, name: str) -> str:
    body = admin.get(api.API_VERSION, "Kustomization", name, name) or {}
    status = body.get("status") or {}
    ready = conditions.is_true(status.get("conditions") or [], "Ready")
    return str(status.get("lastAppliedRevision") or "") if ready else ""


def test_the_record_holds_each_objects_requests_and_follows_their_changes(
    admin: kube.Kube,
    git_server: GitServer,
    tenants: Tenants,
    policy_files: PolicyFiles,
    operator: OperatorProcess,
) -> None:
    shared = _tenant(tenants, git_server, "infra", {"deploy/db.yaml": config_map("db")})
    app = _tenant(
        tenants,
        git_server,
        "app",
        {"deploy/app.yaml": config_map("app")},
        owners=[{"kind": "User", "name": "ann"}, {"kind": "Group", "name": "app-admins"}],
        dependsOn=[{"name": shared, "namespace": shared}],
    )
    edge = f"p, tenant:{app}, depend, {shared}/{shared}, allow"
    policy_files.add(edge)
    rule = f"policy.csv:{BASELINE_POLICY.count(chr(10)) + 1}"
    first = eventually(lambda: _revision(admin, app), timeout=60, what=f"{app} applied")

    # The Kustomization: its cross-tenant edge (with the line that allowed it) and its kinds.
    depend: Row = ("depend", f"{shared}/{shared}", "allow", rule, (f"tenant:{app}",))

    def edge_and_kinds() -> set[Row] | None:
        found = rows(admin, "Kustomization", app, app)
        has_edge = depend in found
        has_kind = any(row[:3] == ("apply", "core/ConfigMap", "allow") for row in found)
        return found if has_edge and has_kind else None

    sync = eventually(edge_and_kinds, timeout=30, what="the Kustomization's requests published")
    assert all(row[3] and row[4] == (f"tenant:{app}",) for row in sync), sync

    # The GitRepository: its source, without the credentials its URL carries.
    source = rows(admin, "GitRepository", app, app)
    [(action, url, effect, source_rule, _)] = source
    assert (action, effect) == ("source", "allow")
    assert url.endswith(f"/{app}.git")
    assert USER not in url
    assert PASSWORD not in url
    assert source_rule.startswith("policy.csv:")

    # The owners: what the onboarding API would ask for each, decided by the policy in force.
    owners = rows(admin, "Tenant", "", app)
    asked = {(row[4], row[0], row[1]) for row in owners}
    for subject in ("user:ann", "group:app-admins"):
        for verb in ("get", "update", "delete", "reconcile"):
            assert ((subject, "role:tenant-owner"), f"api:{verb}", f"tenants/{app}") in asked
    assert len(owners) == 8
    assert all(row[2] in ("allow", "deny") for row in owners)

    # A new revision without a ConfigMap: its apply request goes, the new kind's comes.
    git_server.commit(
        app,
        {
            "deploy/app.yaml": None,
            "deploy/sa.yaml": yaml.safe_dump(
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app"}}
            ),
        },
        message="a service account instead",
    )
    eventually(
        lambda: _revision(admin, app) not in ("", first), timeout=60, what="the new revision"
    )
    kinds = eventually(
        lambda: (
            (
                found := {
                    row[1] for row in rows(admin, "Kustomization", app, app) if row[0] == "apply"
                }
            )
            == {"core/ServiceAccount"}
            and found
        ),
        timeout=30,
        what="the apply requests of the new revision only",
    )
    assert kinds == {"core/ServiceAccount"}
    assert depend in rows(admin, "Kustomization", app, app)

    # An owner removed from the spec: its requests go at the next reconcile.
    tenants.update(app, {"owners": [{"kind": "User", "name": "ann"}]})
    eventually(
        lambda: (
            {row[4] for row in rows(admin, "Tenant", "", app)}
            == {("user:ann", "role:tenant-owner")}
        ),
        timeout=30,
        what="only ann's API requests left",
    )

    # The tenant deleted: none of its objects' requests stays.
    tenants.delete(app)
    eventually(
        lambda: (
            not any(
                s.request.requester is not None
                and (s.request.requester.namespace == app or s.request.requester.name == app)
                for s in published(admin)
            )
        ),
        timeout=30,
        what=f"{app}'s requests gone from the record",
    )
    assert rows(admin, "GitRepository", shared, shared)  # the other tenant's stay


def test_the_record_carries_its_annotations_and_survives_a_restart(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants, operator: OperatorProcess
) -> None:
    name = _tenant(tenants, git_server, "keep", {"deploy/a.yaml": config_map("a")})
    eventually(lambda: rows(admin, "GitRepository", name, name), timeout=60, what="published")
    body = admin.get("v1", "ConfigMap", "landlord-policy-requests", PLATFORM_NAMESPACE)
    assert body is not None
    annotations = body["metadata"]["annotations"]
    assert annotations[labels.RECORDED_AT].endswith("+00:00")
    document = requests.read(base64.b64decode(body["binaryData"][labels.POLICY_REQUESTS_KEY]))
    assert int(annotations[labels.POLICY_REQUESTS_COUNT]) == len(document.seen)
    assert annotations[labels.POLICY_DIGEST].startswith("sha256:")
    assert document.digest == annotations[labels.POLICY_DIGEST]

    operator.start()  # a restarted operator takes in what it published
    eventually(
        lambda: "recorded request(s) taken in from" in operator.log(),
        timeout=30,
        what="the record taken in at start",
    )
    eventually(lambda: rows(admin, "GitRepository", name, name), timeout=30, what="still there")


def test_recording_switched_off_publishes_nothing(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants, operator: OperatorProcess
) -> None:
    operator.stop()  # it would publish on its way out
    for item in admin.list_objects(
        "v1",
        "ConfigMap",
        namespace=PLATFORM_NAMESPACE,
        label_selector=f"{labels.POLICY_REQUESTS}=true",
    ):
        admin.delete("v1", "ConfigMap", item["metadata"]["name"], PLATFORM_NAMESPACE)
    operator.start({"LANDLORD_POLICY__RECORD_REQUESTS": "0"})
    name = _tenant(tenants, git_server, "off", {"deploy/a.yaml": config_map("a")})
    eventually(lambda: _revision(admin, name), timeout=60, what=f"{name} applied")
    time.sleep(3)  # three publish intervals: had anything been recorded, it would be out
    assert published(admin) == []
    assert "taken in from" not in operator.log()


def _many(count: int, tag: str) -> list[requests.Seen]:
    return [
        requests.Seen(
            requests.Request(
                (f"tenant:t{n}",),
                "source",
                f"https://git.example.com/{tag}/{n:05d}-{hash((tag, n)) & 0xFFFFFFFF:08x}.git",
                "source",
                # A kind the apiserver does not serve: whether it exists is unknown, it is kept.
                requests.Requester("Probe", f"t{n}", "x"),
            ),
            1000.0 + n,
            "allow",
            "policy.csv:3",
        )
        for n in range(count)
    ]


def test_a_big_record_is_written_in_parts_and_the_parts_go_when_it_shrinks(
    admin: kube.Kube,
) -> None:
    namespace = f"record-{uuid.uuid4().hex[:6]}"
    admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    try:
        other = requests.Recorder()
        other.merge(_many(5, "other"))
        elsewhere = policy_requests.Publisher(admin, other, namespace=namespace, shard="")
        assert elsewhere.publish(force=True)

        recorder = requests.Recorder()
        recorder.merge(_many(2000, "eu"))
        publisher = policy_requests.Publisher(
            admin, recorder, namespace=namespace, shard="eu", part_bytes=8_000
        )
        assert publisher.publish(force=True)
        assert not publisher.publish()  # nothing changed since
        parts = _names(admin, namespace)
        assert "landlord-policy-requests" in parts  # the default shard's, untouched
        split = sorted(p for p in parts if p.startswith("landlord-policy-requests-eu."))
        assert len(split) >= 2
        assert "landlord-policy-requests-eu" not in parts
        read = [
            requests.read(base64.b64decode(body["binaryData"][labels.POLICY_REQUESTS_KEY]))
            for body in _bodies(admin, namespace)
            if body["metadata"]["name"] in split
        ]
        assert sorted(s.request.object for d in read for s in d.seen) == sorted(
            s.request.object for s in recorder.seen()
        )

        # A restarted operator of that shard takes all its parts in, not the other shard's.
        again = requests.Recorder()
        policy_requests.Publisher(admin, again, namespace=namespace, shard="eu").restore()
        assert len(again) == 2000

        smaller = requests.Recorder()
        smaller.merge(_many(10, "eu"))
        replacing = policy_requests.Publisher(admin, smaller, namespace=namespace, shard="eu")
        assert replacing.publish(force=True)
        parts = _names(admin, namespace)
        assert sorted(parts) == ["landlord-policy-requests", "landlord-policy-requests-eu"]
    finally:
        admin.delete("v1", "Namespace", namespace)


def _bodies(admin: kube.Kube, namespace: str) -> list[dict[str, Any]]:
    return admin.list_objects(
        "v1", "ConfigMap", namespace=namespace, label_selector=f"{labels.POLICY_REQUESTS}=true"
    )


def _names(admin: kube.Kube, namespace: str) -> list[str]:
    return [body["metadata"]["name"] for body in _bodies(admin, namespace)]
