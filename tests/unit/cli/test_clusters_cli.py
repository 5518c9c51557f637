"""``landlord cluster register`` refuses a kubeconfig the operator would refuse, before any write;
``landlord get`` and ``audit`` say where things are."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from typing import Any, cast

import pytest
import yaml

from landlord import kube
from landlord.audit import gather
from landlord.cli import get

KUBECONFIG: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "c", "cluster": {"server": "https://10.0.0.1:6443"}}],
    "users": [{"name": "u", "user": {"token": "t"}}],
    "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
    "current-context": "x",
}


@pytest.mark.parametrize(
    ("user", "named"),
    [
        ({"exec": {"command": "/bin/true"}}, "exec"),
        ({"auth-provider": {"name": "oidc"}}, "auth-provider"),
        ({"tokenFile": "/tmp/token"}, "tokenFile"),
        ({"client-certificate": "/tmp/c", "client-key": "/tmp/k"}, "client-certificate"),
    ],
)
def test_register_refuses_what_would_run_or_read_files_before_connecting(
    tmp_path: pathlib.Path, user: dict[str, Any], named: str
) -> None:
    document = {**KUBECONFIG, "users": [{"name": "u", "user": user}]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(document))

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "landlord",
            "cluster",
            "register",
            "east",
            "--kubeconfig",
            str(path),
        ],
        capture_output=True,
        text=True,
        # No cluster to talk to: a refusal must come before any connection.
        env={**os.environ, "KUBECONFIG": str(tmp_path / "missing")},
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert named in result.stderr
    assert "refused" in result.stderr


class _Listing:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def list_objects(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return self.items


def test_get_clusters_shows_version_identity_and_contact() -> None:
    cluster = {
        "metadata": {"name": "east", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "status": {
            "version": "v1.36.3",
            "identity": "uid-east",
            "lastContact": "2026-01-01T00:00:00Z",
            "conditions": [{"type": "Ready", "status": "True", "message": "reachable"}],
        },
    }
    table = get.clusters_table(cast(kube.Kube, _Listing([cluster])), "landlord-system")

    assert table is not None
    cells = {str(column.header): str(next(iter(column.cells))) for column in table.columns}
    assert [cells[h] for h in ("NAME", "READY", "VERSION", "IDENTITY")] == [
        "east",
        "True",
        "v1.36.3",
        "uid-east",
    ]
    assert cells["LAST CONTACT"].endswith(" ago")
    assert "NAMESPACE" not in cells


def test_a_kustomization_s_target_and_pending_prunes_are_shown() -> None:
    moved = {
        "spec": {"cluster": "west"},
        "status": {
            "inventory": {
                "clusterName": "west",
                "entries": [],
                "pending": [{"clusterName": "east", "entries": [{"id": "a_b__ConfigMap"}]}],
            }
        },
    }
    flux = {"spec": {"kubeConfig": {"secretRef": {"name": "kc"}}}}

    assert get.target_of(moved) == "west (pending prune: east(1))"
    assert get.target_of(flux) == "kubeConfig:kc"
    assert get.target_of({"spec": {}}) == "local"


def test_the_audit_says_where_a_tenant_is_and_where_its_sync_applied() -> None:
    tenant = {
        "status": {
            "clusters": [
                {"name": "local", "ready": True},
                {"name": "east", "ready": False, "message": "down"},
            ]
        }
    }
    sync = {
        "kind": "Kustomization",
        "metadata": {"name": "t", "namespace": "t"},
        "status": {
            "inventory": {
                "clusterName": "east",
                "entries": [{"id": "x"}],
                "pending": [{"clusterName": "west", "entries": [{"id": "y"}, {"id": "z"}]}],
            }
        },
    }

    assert gather.placements(tenant, [sync]) == [
        "provisioned on cluster local (ready)",
        "provisioned on cluster east (not ready: down)",
        "Kustomization t/t: 1 object(s) on cluster east",
        "Kustomization t/t: 2 object(s) on cluster west wait to be pruned",
    ]
