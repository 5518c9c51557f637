"""``landlord tree``: building the tree from inventories, judging each object, rendering it."""

from __future__ import annotations

import base64
import gzip
import io
import json
from typing import Any, cast

import yaml
from rich.console import Console

from landlord import api, kube
from landlord.cli import tree


def _ks(name: str, namespace: str, inventory: dict[str, Any] | None, ready: str = "True") -> Any:
    status: dict[str, Any] = {
        "observedGeneration": 1,
        "lastAppliedRevision": "main@sha1:abc",
        "conditions": [
            {"type": "Ready", "status": ready, "message": "" if ready == "True" else "boom"}
        ],
    }
    if inventory is not None:
        status["inventory"] = inventory
    return {
        "apiVersion": api.API_VERSION,
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": namespace, "generation": 1},
        "status": status,
    }


def _deployment(name: str, namespace: str, available: int) -> Any:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "generation": 1},
        "spec": {"replicas": 1},
        "status": {
            "observedGeneration": 1,
            "updatedReplicas": available,
            "availableReplicas": available,
            "readyReplicas": available,
        },
    }


class _Cluster:
    """Objects by (kind, namespace, name): what the caller's GETs would return."""

    def __init__(self, *objects: Any) -> None:
        self.objects = {
            (o["kind"], o["metadata"].get("namespace") or "", o["metadata"]["name"]): o
            for o in objects
        }
        self.asked: list[tuple[str, str, str]] = []

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
        self.asked.append((kind, namespace or "", name))
        found = self.objects.get((kind, namespace or "", name))
        return json.loads(json.dumps(found)) if found is not None else None

    def list_objects(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []


def _explorer(*objects: Any) -> tree.Explorer:
    return tree.Explorer(cast(kube.Kube, _Cluster(*objects)), platform_namespace="landlord-system")


def _entry(namespace: str, name: str, group: str, kind: str, version: str = "v1") -> dict[str, str]:
    return {"id": f"{namespace}_{name}_{group}_{kind}", "v": version}


def test_judging_an_object_by_the_sync_s_health_rules() -> None:
    assert tree.judge(None) == ("missing", "")
    assert tree.judge({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}) == (
        "healthy",
        "",
    )
    assert tree.judge(_deployment("web", "t", 1)) == ("healthy", "")
    state, why = tree.judge(_deployment("web", "t", 0))
    assert state == "unhealthy"
    assert "0/1 replicas" in why
    assert tree.judge(_ks("k", "t", None, ready="False")) == ("unhealthy", "boom")
    fresh = _ks("k", "t", None)
    del fresh["status"]
    assert tree.judge(fresh) == ("unknown", "not reconciled yet")
    stale = _ks("k", "t", None)
    stale["metadata"]["generation"] = 2
    assert tree.judge(stale)[0] == "unknown"


def test_an_inventory_is_read_per_cluster_with_its_pending_prunes() -> None:
    body = _ks(
        "app",
        "t",
        {
            "cluster": "uid-east",
            "clusterName": "east",
            "entries": [_entry("t", "web", "apps", "Deployment")],
            "pending": [
                {
                    "cluster": "uid-local",
                    "clusterName": "local",
                    "entries": [_entry("t", "old", "", "ConfigMap")],
                }
            ],
        },
    )

    found = tree.placements(body)

    assert [(p.cluster, p.identity, p.pending_prune, len(p.entries)) for p in found] == [
        ("east", "uid-east", False, 1),
        ("local", "uid-local", True, 1),
    ]
    assert tree.placements(_ks("new", "t", None)) == []


def test_every_inventory_object_is_shown_with_its_health_and_nested_syncs_expand() -> None:
    inner = _ks(
        "inner",
        "t",
        {"cluster": "u", "clusterName": "local", "entries": [_entry("t", "cm", "", "ConfigMap")]},
    )
    outer = _ks(
        "outer",
        "t",
        {
            "cluster": "u",
            "clusterName": "local",
            "entries": [
                _entry("t", "web", "apps", "Deployment"),
                _entry("t", "gone", "", "ConfigMap"),
                _entry("t", "inner", "landlord.dev", "Kustomization", "v1alpha1"),
            ],
        },
    )
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "t"}}

    root = _explorer(outer, inner, cm, _deployment("web", "t", 0)).of_body(outer)

    assert [(n.kind, n.name, n.health) for n in root.walk()] == [
        ("Kustomization", "outer", "healthy"),
        ("Deployment", "web", "unhealthy"),
        ("ConfigMap", "gone", "missing"),
        ("Kustomization", "inner", "healthy"),
        ("ConfigMap", "cm", "healthy"),
    ]
    assert root.revision == "main@sha1:abc"
    document = root.to_json()
    assert document["children"][2]["children"][0]["name"] == "cm"
    assert document["children"][0]["message"] == "0/1 replicas updated"


def test_a_loop_of_kustomizations_stops_at_the_first_repeat() -> None:
    looped = _ks(
        "self",
        "t",
        {
            "cluster": "u",
            "clusterName": "local",
            "entries": [_entry("t", "self", "landlord.dev", "Kustomization", "v1alpha1")],
        },
    )

    root = _explorer(looped).of_body(looped)

    assert len(list(root.walk())) == 2
    assert root.children[0].children == []


def test_objects_on_a_cluster_that_cannot_be_used_are_not_checked() -> None:
    body = _ks(
        "app",
        "t",
        {
            "cluster": "uid-east",
            "clusterName": "east",
            "entries": [_entry("t", "web", "apps", "Deployment")],
        },
    )
    client = _Cluster(body)
    explorer = tree.Explorer(cast(kube.Kube, client), platform_namespace="landlord-system")

    root = explorer.of_body(body)

    (child,) = root.children
    assert (child.cluster, child.health) == ("east", "not-checked")
    assert "no Cluster 'east' is registered" in child.message
    assert ("Deployment", "t", "web") not in client.asked  # never read through another cluster
    buffer = io.StringIO()
    Console(file=buffer, width=500, no_color=True).print(tree.render(root))
    line = next(line for line in buffer.getvalue().splitlines() if "Deployment" in line)
    assert "Deployment t/web [cluster east] (cluster east: not checked: no Cluster" in line


def _release_record(manifest: str) -> Any:
    packed = gzip.compress(json.dumps({"name": "web", "manifest": manifest}).encode())
    helm = base64.b64encode(packed)
    return {"data": {"release": base64.b64encode(helm).decode()}}


def test_a_helm_release_record_gives_its_rendered_objects() -> None:
    manifest = "---\n" + yaml.safe_dump_all(
        [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}},
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "r"},
            },
        ]
    )

    found = tree.release_manifests(_release_record(manifest))

    assert [(m["kind"], m["metadata"]["name"]) for m in found] == [
        ("ConfigMap", "settings"),
        ("ClusterRole", "r"),
    ]
    assert tree.release_manifests({"data": {"release": "not base64!"}}) == []
    assert tree.release_manifests({}) == []
    # A record that unpacks beyond the limit is not read.
    assert tree.release_manifests(_release_record("x: " + "a" * 10_000), limit=1000) == []


def test_a_helm_release_expands_into_its_current_release_s_objects() -> None:
    release = {
        "apiVersion": api.API_VERSION,
        "kind": "HelmRelease",
        "metadata": {"name": "web", "namespace": "t", "generation": 1},
        "status": {
            "observedGeneration": 1,
            "helmChart": "settings@1.0.0",
            "history": [{"name": "web", "namespace": "t", "version": 2, "status": "deployed"}],
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }
    record = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "sh.helm.release.v1.web.v2", "namespace": "t"},
        **_release_record(
            yaml.safe_dump(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-settings"}}
            )
        ),
    }
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "web-settings", "namespace": "t"},
    }

    root = _explorer(release, record, cm).of_body(release)

    assert root.revision == "settings@1.0.0"
    assert [(n.kind, n.namespace, n.name, n.health) for n in root.children] == [
        ("ConfigMap", "t", "web-settings", "healthy")
    ]
