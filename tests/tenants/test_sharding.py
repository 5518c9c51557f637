"""Sharding on the real control plane: two operators, Tenants split by label, a handover.

The shared operator is the default shard; a second ``landlord run`` with
``LANDLORD_SHARD__NAME=blue`` handles Tenants labelled ``landlord.dev/shard: blue``.
"""

from __future__ import annotations

import pathlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from landlord import api, kube
from landlord.api import labels
from landlord.demo import GitServer
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.helpers import eventually

BLUE = "blue"


@pytest.fixture
def blue_shard(
    control_plane: pathlib.Path, operator: OperatorProcess, tmp_path: pathlib.Path
) -> Iterator[OperatorProcess]:
    shard = OperatorProcess(control_plane, tmp_path / "blue")
    shard.start({"LANDLORD_SHARD__NAME": BLUE})
    yield shard
    shard.stop()


def _holder(admin: kube.Kube, name: str) -> str:
    body = admin.get(api.API_VERSION, "Kustomization", name, name) or {}
    return str((body.get("status") or {}).get("shard") or "")


def _label(admin: kube.Kube, name: str, shard: str | None) -> None:
    admin.merge_patch(
        api.API_VERSION, "Tenant", name, {"metadata": {"labels": {labels.SHARD: shard}}}
    )


def _configmap(name: str, color: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name},
            "data": {"color": color},
        }
    )


def _color(admin: kube.Kube, name: str) -> str:
    found: dict[str, Any] = admin.get("v1", "ConfigMap", "settings", name) or {}
    return str((found.get("data") or {}).get("color") or "")


def test_tenants_split_by_label_and_a_relabelled_tenant_is_handed_over(
    admin: kube.Kube,
    operator: OperatorProcess,
    blue_shard: OperatorProcess,
    tenants: Tenants,
    git_server: GitServer,
) -> None:
    moved = tenants.synced("shard", git_server)
    git_server.commit(moved, {"deploy/settings.yaml": _configmap("settings", "red")}, message="cm")
    eventually(lambda: _color(admin, moved) == "red", timeout=30, what="the ConfigMap applied")
    assert _holder(admin, moved) == "default"

    # A Tenant labelled for the blue shard from the start: only blue provisions it.
    born_blue = tenants.name("blue")
    admin.create(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Tenant",
            "metadata": {"name": born_blue, "labels": {labels.SHARD: BLUE}},
            "spec": {},
        }
    )
    tenants.created.append(born_blue)
    tenants.ready(born_blue, timeout=30)
    namespace = admin.get("v1", "Namespace", born_blue) or {}
    assert namespace["metadata"]["labels"][labels.SHARD] == BLUE  # inherited
    assert born_blue in blue_shard.log()
    assert born_blue not in operator.log()

    # Move the synced one: the default shard lets go, blue takes it.
    began = time.monotonic()
    _label(admin, moved, BLUE)
    eventually(lambda: _holder(admin, moved) == BLUE, timeout=30, what="blue to hold the sync")
    gap = time.monotonic() - began
    assert gap < 15, f"the handover took {gap:.1f}s, more than one lease duration"
    assert f"released {moved}/{moved}" in operator.log()
    # A commit pushed after the move is applied by the new shard.
    git_server.commit(
        moved, {"deploy/settings.yaml": _configmap("settings", "green")}, message="cm2"
    )
    eventually(lambda: _color(admin, moved) == "green", timeout=30, what="the new commit applied")
    body = admin.get(api.API_VERSION, "Kustomization", moved, moved) or {}
    assert body["metadata"]["labels"][labels.SHARD] == BLUE
    # Drift is repaired by the shard that holds it now.
    admin.delete("v1", "ConfigMap", "settings", moved)
    eventually(lambda: _color(admin, moved) == "green", timeout=30, what="the drift repaired")

    # And back: unlabelled, the default shard takes both (their clean-up needs it).
    for name in (moved, born_blue):
        _label(admin, name, None)
    eventually(
        lambda: _holder(admin, moved) == "default", timeout=30, what="default to hold it again"
    )
    tenants.ready(born_blue, timeout=30)
    assert f"released {moved}/{moved}" in blue_shard.log()
