"""``landlord get``, ``tree`` and ``reconcile --with-source`` against the real control plane.

A tenant syncs a Deployment (Ready on the kwok node), one that can never be
scheduled, and a ConfigMap from its own repository; the commands read what
the operator and the apiserver made of them.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import pathlib
import queue
import subprocess
import sys
import threading
from typing import Any

import pytest
import yaml

from landlord import api, kube
from landlord.api import conditions
from landlord.demo import GitServer
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.operator import Tenants
from tests.helpers import eventually, landlord
from tests.sync.test_apply_and_prune import config_map, deployment

pytestmark = pytest.mark.timeout(240)


@dataclasses.dataclass
class Synced:
    """A tenant whose sync applied its repository's manifests (namespace = name = tenant)."""

    name: str
    sha: str
    kubeconfig: pathlib.Path

    @property
    def revision(self) -> str:
        return f"main@sha1:{self.sha}"


def _manifests(extra: str = "") -> dict[str, str]:
    stuck = copy.deepcopy(deployment("stuck"))  # its pod spec is shared with every other
    # No node has this label: its pod stays Pending, the Deployment never available.
    stuck["spec"]["template"]["spec"]["nodeSelector"] = {"landlord.dev/test-nowhere": "true"}
    return {
        "deploy/web.yaml": yaml.safe_dump_all([deployment("web"), stuck]),
        "deploy/settings.yaml": yaml.safe_dump(config_map("settings", color="blue", extra=extra)),
    }


def _applied(admin: kube.Kube, name: str, sha: str) -> dict[str, Any] | None:
    body = admin.get(api.API_VERSION, "Kustomization", name, name) or {}
    status = body.get("status") or {}
    ready = conditions.is_true(status.get("conditions") or [], "Ready")
    return body if ready and status.get("lastAppliedRevision") == f"main@sha1:{sha}" else None


def _synced(
    admin: kube.Kube,
    control_plane: pathlib.Path,
    git_server: GitServer,
    tenants: Tenants,
    *,
    source_interval: str = "1s",
) -> Synced:
    name = tenants.name("cli")
    git_server.create(name)
    sha = git_server.commit(name, _manifests(), message="app")
    url = git_server.url(name).replace("http://", f"http://{USER}:{PASSWORD}@")
    tenants.create(
        name,
        {
            "source": {"url": url, "interval": source_interval},
            "sync": {"path": "./deploy", "interval": "1h"},
        },
    )
    tenants.ready(name)
    eventually(lambda: _applied(admin, name, sha), timeout=60, what=f"{name} applied {sha[:8]}")
    return Synced(name, sha, control_plane)


@pytest.fixture
def synced(
    admin: kube.Kube, control_plane: pathlib.Path, git_server: GitServer, tenants: Tenants
) -> Synced:
    return _synced(admin, control_plane, git_server, tenants)


def _landlord(
    kubeconfig: pathlib.Path, *args: str, columns: int = 80
) -> subprocess.CompletedProcess[str]:
    """The CLI, its output piped (not a terminal), in a terminal's 80 columns."""
    return landlord(kubeconfig, *args, env={"COLUMNS": str(columns)})


def test_get_all_lists_a_tenant_s_source_and_sync_and_get_one_prints_its_status(
    synced: Synced,
) -> None:
    listed = _landlord(synced.kubeconfig, "get", "all", "-n", synced.name, "-o", "json")

    assert listed.returncode == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert document["kind"] == "List"
    found = {(item["kind"], item["metadata"]["name"]) for item in document["items"]}
    assert {
        ("Tenant", synced.name),
        ("GitRepository", synced.name),
        ("Kustomization", synced.name),
    } <= found
    assert all("managedFields" not in item["metadata"] for item in document["items"])

    shown = _landlord(synced.kubeconfig, "get", "ks", synced.name, "-n", synced.name, "-o", "yaml")

    assert shown.returncode == 0, shown.stderr
    body = yaml.safe_load(shown.stdout)
    assert (body["kind"], body["metadata"]["name"]) == ("Kustomization", synced.name)
    assert body["status"]["lastAppliedRevision"] == synced.revision
    assert conditions.is_true(body["status"]["conditions"], "Ready")
    # Without -n, the one Kustomization of that name in any namespace.
    anywhere = _landlord(synced.kubeconfig, "get", "kustomization", synced.name, "-o", "json")
    assert json.loads(anywhere.stdout)["metadata"]["namespace"] == synced.name

    table = _landlord(synced.kubeconfig, "get", "all", "-n", synced.name)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    for title in ("Tenant", "GitRepository", "Kustomization"):
        assert title in lines
    row = next(line for line in lines if line.startswith(synced.name) and "local" in line)
    assert synced.revision in row  # the Kustomization's row: applied revision, target cluster
    assert "True" in row


def test_a_missing_object_exits_3(
    control_plane: pathlib.Path, installed: None, namespace: str
) -> None:
    for args in (
        ("get", "ks", "nothere", "-n", namespace),
        ("get", "tenant", f"nothere-{namespace}"),
        ("tree", "ks", "nothere", "-n", namespace),
        ("reconcile", "ks", "nothere", "-n", namespace),
    ):
        result = _landlord(control_plane, *args)
        assert result.returncode == 3, (args, result.stdout, result.stderr)
        assert "not found" in result.stderr
        assert "Traceback" not in result.stderr


def _tree(kubeconfig: pathlib.Path, *args: str) -> dict[str, Any]:
    result = _landlord(kubeconfig, "tree", *args, "-o", "json")
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(found for child in node["children"] for found in _nodes(child))]


def _health(node: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(n["kind"], n["name"]): n["health"] for n in _nodes(node)}


def test_tree_kustomization_shows_every_inventory_object_with_its_health(synced: Synced) -> None:
    # The Deployment on the kwok node becomes available; the other never does.
    root = eventually(
        lambda: (
            (found := _tree(synced.kubeconfig, "kustomization", synced.name, "-n", synced.name))
            and _health(found).get(("Deployment", "web")) == "healthy"
            and found
        ),
        timeout=60,
        what="the Deployment web to be available in the tree",
    )

    assert (root["kind"], root["name"], root["health"]) == ("Kustomization", synced.name, "healthy")
    assert root["revision"] == synced.revision
    children = {(c["kind"], c["namespace"], c["name"]): c for c in root["children"]}
    assert set(children) == {
        ("Deployment", synced.name, "web"),
        ("Deployment", synced.name, "stuck"),
        ("ConfigMap", synced.name, "settings"),
    }
    assert children[("ConfigMap", synced.name, "settings")]["health"] == "healthy"
    stuck = children[("Deployment", synced.name, "stuck")]
    assert stuck["health"] == "unhealthy"
    assert "0/1 replicas" in stuck["message"]
    assert all(c["cluster"] == "local" for c in root["children"])

    printed = _landlord(synced.kubeconfig, "tree", "ks", synced.name)  # found in any namespace
    assert printed.returncode == 0, printed.stderr
    assert f"✔ Kustomization {synced.name}/{synced.name} {synced.revision}" in printed.stdout
    assert f"✔ Deployment {synced.name}/web" in printed.stdout
    assert f"✗ Deployment {synced.name}/stuck — 0/1 replicas" in printed.stdout
    assert f"✔ ConfigMap {synced.name}/settings" in printed.stdout


def test_tree_tenant_shows_what_it_provisioned_and_its_sync_s_inventory(synced: Synced) -> None:
    root = _tree(synced.kubeconfig, "tenant", synced.name)

    assert (root["kind"], root["name"], root["health"]) == ("Tenant", synced.name, "healthy")
    kinds = [(child["kind"], child["name"]) for child in root["children"]]
    assert kinds == [
        ("Namespace", synced.name),
        ("GitRepository", synced.name),
        ("Kustomization", synced.name),
    ]
    provisioned = {(n["kind"], n["name"]) for n in root["children"][0]["children"]}
    assert ("ServiceAccount", "landlord-reconciler") in provisioned
    assert ("RoleBinding", "landlord-reconciler") in provisioned
    assert ("NetworkPolicy", "landlord-isolation") in provisioned
    source, sync = root["children"][1:]
    assert (source["health"], source["revision"]) == ("healthy", synced.revision)
    assert {(c["kind"], c["name"]) for c in sync["children"]} == {
        ("Deployment", "web"),
        ("Deployment", "stuck"),
        ("ConfigMap", "settings"),
    }


def test_reconcile_with_source_picks_up_a_new_commit_in_one_call(
    admin: kube.Kube, control_plane: pathlib.Path, git_server: GitServer, tenants: Tenants
) -> None:
    # Hourly: without --with-source neither the source nor the sync would look again.
    tenant = _synced(admin, control_plane, git_server, tenants, source_interval="1h")
    later = git_server.commit(tenant.name, _manifests(extra="two"), message="two")

    result = _landlord(
        control_plane, "reconcile", "ks", tenant.name, "-n", tenant.name, "--with-source"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"asked GitRepository {tenant.name}/{tenant.name} to reconcile" in result.stdout
    assert f"asked Kustomization {tenant.name}/{tenant.name} to reconcile" in result.stdout
    body = admin.get(api.API_VERSION, "Kustomization", tenant.name, tenant.name) or {}
    assert body["status"]["lastAppliedRevision"] == f"main@sha1:{later}"
    applied = admin.get("v1", "ConfigMap", "settings", tenant.name) or {}
    assert applied["data"]["extra"] == "two"

    refused = _landlord(control_plane, "reconcile", "tenant", tenant.name, "--with-source")
    assert refused.returncode == 2
    assert "--with-source applies to Kustomizations and HelmReleases" in refused.stderr


def test_piped_tables_are_not_cut_at_80_columns(synced: Synced, admin: kube.Kube) -> None:
    name = "a-kustomization-whose-name-alone-takes-up-most-of-a-terminal-w"
    missing = "a-source-that-does-not-exist-and-makes-the-message-long-enough"
    admin.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": synced.name},
            "spec": {
                "sourceRef": {"kind": "GitRepository", "name": missing},
                "interval": "1h",
                "path": "./",
            },
        },
        field_manager="test",
    )

    def failed() -> str | None:
        body = admin.get(api.API_VERSION, "Kustomization", name, synced.name) or {}
        ready = conditions.get((body.get("status") or {}).get("conditions") or [], "Ready")
        return str(ready["message"]) if ready and ready["status"] == "False" else None

    message = eventually(failed, timeout=30, what="the Kustomization to fail on its source")
    assert missing in message

    result = _landlord(synced.kubeconfig, "get", "ks", "-n", synced.name, "-o", "wide")

    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if name in line)
    assert len(row) > 200
    assert row.rstrip().endswith(message)  # one line, the whole message
    assert f"GitRepository/{synced.name}/{missing}" in row  # -o wide: its source


def _lines(process: subprocess.Popen[str]) -> tuple[queue.Queue[str], threading.Thread]:
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


def _next_event(lines: queue.Queue[str], check: Any, timeout: float = 30) -> dict[str, Any]:
    while True:
        event: dict[str, Any] = json.loads(lines.get(timeout=timeout))
        if check(event):
            return event


def test_watch_prints_one_json_object_per_change(synced: Synced, admin: kube.Kube) -> None:
    watch = ["get", "ks", synced.name, "-n", synced.name, "--watch", "-o", "json"]
    process = subprocess.Popen(
        [sys.executable, "-m", "landlord", *watch],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "KUBECONFIG": str(synced.kubeconfig)},
    )
    lines, reader = _lines(process)
    try:
        first = _next_event(lines, lambda event: True)
        assert first["type"] == "ADDED"
        assert first["object"]["metadata"]["name"] == synced.name
        assert first["object"]["spec"].get("suspend") is not True

        admin.merge_patch(
            api.API_VERSION, "Kustomization", synced.name, {"spec": {"suspend": True}}, synced.name
        )

        changed = _next_event(lines, lambda event: event["object"]["spec"].get("suspend") is True)
        assert changed["type"] == "MODIFIED"
        assert "managedFields" not in changed["object"]["metadata"]
    finally:
        process.terminate()
        process.wait(timeout=20)
        reader.join(timeout=20)
        assert process.stdout is not None
        process.stdout.close()
        admin.merge_patch(
            api.API_VERSION, "Kustomization", synced.name, {"spec": {"suspend": False}}, synced.name
        )
