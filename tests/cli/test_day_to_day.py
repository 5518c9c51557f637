"""``landlord events | export | create | stats | trace`` against the real operator.

Each test runs the installed CLI (``python -m landlord``) as a user would, with
``KUBECONFIG`` pointing at the session's control plane, and reads what the
apiserver and the operator made of it.
"""

from __future__ import annotations

import json
import pathlib
import re
from typing import Any

import pytest
import yaml

from landlord import api, kube
from landlord.api import conditions
from landlord.cli import create
from landlord.demo import GitServer
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.operator import Tenants
from tests.helpers import eventually, landlord
from tests.sync.test_apply_and_prune import config_map, deployment

pytestmark = pytest.mark.timeout(120)


def _url(git_server: GitServer, repo: str) -> str:
    return git_server.url(repo).replace("http://", f"http://{USER}:{PASSWORD}@")


def _ready(
    admin: kube.Kube, kind: str, name: str, namespace: str, *, revision: str | None = None
) -> dict[str, Any] | None:
    """The object when Ready for its current generation (and revision), from one GET."""
    body = admin.get(api.API_VERSION, kind, name, namespace)
    if body is None:
        return None
    status = body.get("status") or {}
    if status.get("observedGeneration") != body["metadata"]["generation"]:
        return None
    if not conditions.is_true(status.get("conditions") or [], conditions.READY):
        return None
    if revision is not None and status.get("lastAppliedRevision") != revision:
        return None
    return body


def _synced(
    admin: kube.Kube, tenants: Tenants, git_server: GitServer, prefix: str
) -> tuple[str, str]:
    """A tenant whose own Kustomization applied a Deployment; (its name, the revision)."""
    name = tenants.name(prefix)
    git_server.create(name)
    sha = git_server.commit(name, {"deploy/web.yaml": yaml.safe_dump(deployment("web"))})
    tenants.create(
        name,
        {"source": {"url": _url(git_server, name), "interval": "1s"}, "sync": {"path": "./deploy"}},
    )
    revision = f"main@sha1:{sha}"
    eventually(
        lambda: _ready(admin, "Kustomization", name, name, revision=revision),
        timeout=45,
        what=f"Kustomization {name} to apply {revision}",
    )
    return name, revision


def test_events_for_a_kustomization(
    control_plane: pathlib.Path, admin: kube.Kube, tenants: Tenants, git_server: GitServer
) -> None:
    name, revision = _synced(admin, tenants, git_server, "events")

    def listed() -> list[dict[str, Any]]:
        result = landlord(control_plane, "events", "--for", f"ks/{name}", "-n", name, "-o", "json")
        assert result.returncode == 0, result.stderr
        rows: list[dict[str, Any]] = json.loads(result.stdout)
        return rows if any(r["reason"] == "ReconciliationSucceeded" for r in rows) else []

    rows = eventually(listed, timeout=20, what="the apply's Event")

    assert {(r["object"]["kind"], r["object"]["name"]) for r in rows} == {("Kustomization", name)}
    applied = next(r for r in rows if r["reason"] == "ReconciliationSucceeded")
    assert applied["revision"] == revision
    table = landlord(control_plane, "events", "--for", f"kustomization/{name}", "-n", name)
    assert table.returncode == 0, table.stderr
    header, *lines = table.stdout.splitlines()
    assert header.split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any("ReconciliationSucceeded" in line for line in lines)
    # Only the Kustomization's: not its source's (NewArtifact), nor the tenant's.
    assert {line.split()[3] for line in lines} == {f"Kustomization/{name}"}


def test_create_waits_for_ready_and_export_round_trips(
    control_plane: pathlib.Path, admin: kube.Kube, tenants: Tenants, git_server: GitServer
) -> None:
    name = tenants.create(tenants.name("export"))
    tenants.ready(name)
    git_server.create(name)
    sha = git_server.commit(name, {"extra/settings.yaml": yaml.safe_dump(config_map("settings"))})

    source = landlord(
        control_plane, "create", "source", "git", "app", "-n", name,
        "--url", _url(git_server, name), "--interval", "1s", "--timeout", "45",
    )  # fmt: skip
    sync = landlord(
        control_plane, "create", "kustomization", "app", "-n", name,
        "--source", "app", "--path", "./extra", "--interval", "1m", "--timeout", "45",
    )  # fmt: skip

    assert source.returncode == 0, source.stdout + source.stderr
    assert f"✔ GitRepository {name}/app is Ready" in source.stdout
    assert sync.returncode == 0, sync.stdout + sync.stderr
    assert f"✔ Kustomization {name}/app is Ready" in sync.stdout
    stored = admin.get(api.API_VERSION, "Kustomization", "app", name)
    assert stored is not None
    managers = {entry["manager"] for entry in stored["metadata"]["managedFields"]}
    assert create.FIELD_MANAGER in managers
    assert admin.get("v1", "ConfigMap", "settings", name) is not None

    exported = landlord(control_plane, "export", "ks", "app", "-n", name)
    assert exported.returncode == 0, exported.stderr
    documents = list(yaml.safe_load_all(exported.stdout))
    assert len(documents) == 1
    document = documents[0]
    assert set(document) == {"apiVersion", "kind", "metadata", "spec"}
    assert set(document["metadata"]) == {"name", "namespace"}

    admin.delete(api.API_VERSION, "Kustomization", "app", name)
    eventually(
        lambda: admin.get(api.API_VERSION, "Kustomization", "app", name) is None,
        timeout=30,
        what="the Kustomization to be deleted",
    )
    eventually(
        lambda: admin.get("v1", "ConfigMap", "settings", name) is None,
        timeout=30,
        what="its ConfigMap to be pruned with it",
    )
    admin.apply(document, field_manager="restore")

    eventually(
        lambda: _ready(admin, "Kustomization", "app", name, revision=f"main@sha1:{sha}"),
        timeout=45,
        what="the restored Kustomization to be Ready",
    )
    assert admin.get("v1", "ConfigMap", "settings", name) is not None


def test_create_export_applies_cleanly_and_a_refused_wait_exits_1(
    control_plane: pathlib.Path, admin: kube.Kube, tenants: Tenants, git_server: GitServer
) -> None:
    name = tenants.create(tenants.name("create"))
    tenants.ready(name)
    git_server.create(name)
    git_server.commit(name, {"deploy/settings.yaml": yaml.safe_dump(config_map("settings"))})

    printed = landlord(
        control_plane, "create", "source", "git", "exported", "-n", name,
        "--url", _url(git_server, name), "--branch", "main", "--interval", "1s", "--export",
    )  # fmt: skip

    assert printed.returncode == 0, printed.stderr
    assert admin.get(api.API_VERSION, "GitRepository", "exported", name) is None  # untouched
    (manifest,) = yaml.safe_load_all(printed.stdout)
    admin.apply(manifest, field_manager="platform-repo")
    eventually(
        lambda: _ready(admin, "GitRepository", "exported", name),
        timeout=30,
        what="the exported GitRepository to be Ready",
    )

    never = landlord(
        control_plane, "create", "kustomization", "orphan", "-n", name,
        "--source", "missing", "--timeout", "5",
    )  # fmt: skip

    assert never.returncode == 1, never.stdout + never.stderr
    assert f"✗ Kustomization {name}/orphan is not Ready after 5s" in never.stdout


def test_create_tenant_waits_for_ready(
    control_plane: pathlib.Path, admin: kube.Kube, tenants: Tenants
) -> None:
    name = tenants.name("cli")
    tenants.created.append(name)  # offboarded after the test, as the fixture's own

    result = landlord(
        control_plane, "create", "tenant", name, "--namespace", name,
        "--namespace", f"{name}-b", "--owner", "Group:devs", "--timeout", "30",
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"✔ Tenant {name} is Ready" in result.stdout
    body = tenants.get(name)
    assert body is not None
    assert body["spec"]["namespaces"] == [name, f"{name}-b"]
    assert admin.get("v1", "Namespace", f"{name}-b") is not None


def test_stats_count_a_failing_kustomization(
    control_plane: pathlib.Path, admin: kube.Kube, tenants: Tenants
) -> None:
    name = tenants.create(tenants.name("stats"))
    tenants.ready(name)
    admin.create(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Kustomization",
            "metadata": {"name": "broken", "namespace": name},
            "spec": {"sourceRef": {"kind": "GitRepository", "name": "missing"}, "interval": "1m"},
        }
    )

    def failing() -> dict[str, Any] | None:
        body = admin.get(api.API_VERSION, "Kustomization", "broken", name) or {}
        ready = conditions.get((body.get("status") or {}).get("conditions") or [], "Ready")
        return body if ready and ready.get("status") == "False" else None

    eventually(failing, timeout=30, what="the Kustomization to fail")
    result = landlord(control_plane, "stats", "-n", name, "-o", "json")

    assert result.returncode == 0, result.stderr
    counts = {row["kind"]: row for row in json.loads(result.stdout)}
    assert counts["Kustomization"] == {
        "kind": "Kustomization",
        "running": 1,
        "failing": 1,
        "suspended": 0,
    }
    assert counts["GitRepository"]["failing"] == 0
    assert "Tenant" not in counts  # cluster-scoped: counted only across namespaces
    table = landlord(control_plane, "stats", "-n", name)
    row = next(line for line in table.stdout.splitlines() if line.startswith("Kustomization"))
    assert row.split() == ["Kustomization", "1", "1", "0"]


def test_trace_of_a_kustomization_and_of_what_it_applied(
    control_plane: pathlib.Path, admin: kube.Kube, tenants: Tenants, git_server: GitServer
) -> None:
    name, revision = _synced(admin, tenants, git_server, "trace")

    result = landlord(control_plane, "trace", "ks", name, "-n", name, "-o", "json")

    assert result.returncode == 0, result.stderr
    chain = json.loads(result.stdout)
    assert [(link["kind"], link["name"]) for link in chain] == [
        ("Tenant", name),
        ("GitRepository", name),
        ("Kustomization", name),
    ]
    assert chain[1]["details"]["Revision"] == revision
    assert chain[1]["details"]["URL"] == _url(git_server, name).replace(
        f"{USER}:{PASSWORD}@", "***@"
    )  # the credentials in the URL are not shown
    assert chain[2]["details"]["Applied revision"] == revision
    assert chain[2]["details"]["Inventory"].startswith("1 object on ")
    # The Events of the reconcile that applied it carry its trace id.
    assert re.fullmatch(
        r"[0-9a-f]{32} \(the last reconcile that posted an Event\)",
        chain[2]["details"]["Reconcile trace"],
    ), chain[2]["details"]

    applied = landlord(control_plane, "trace", "deployment/web", "-n", name)
    assert applied.returncode == 0, applied.stderr
    text = applied.stdout
    assert f"Kustomization {name}/{name}" in text
    assert revision in text
    assert f"Deployment {name}/web" in text
    assert "In inventory:" in text
    assert text.index("GitRepository") < text.index("Kustomization") < text.index("Deployment")
    missing = landlord(control_plane, "trace", "deploy", "nowhere", "-n", name)
    assert missing.returncode == 3


def test_logs_without_operator_pods_points_at_a_local_log(control_plane: pathlib.Path) -> None:
    # The session's operator runs as a process, not as pods: nothing to read in the cluster.
    result = landlord(control_plane, "logs", "--kind", "ks", "--name", "web")

    assert result.returncode == 1
    assert "no operator pods in namespace landlord-system" in result.stderr
    assert "--file" in result.stderr
