"""Drift: a deleted or hand-edited object comes back within a second, through watches.

No interval is involved: the tenants here sync every hour, so only a watch
event can explain a repair. Fields the manifest does not set, and objects
annotated ``landlord.dev/reconcile: disabled``, are left alone.
"""

from __future__ import annotations

import copy
import pathlib
import time
from typing import Any

import pytest
import yaml

from landlord import api, kube
from landlord.api import labels
from landlord.demo import GitServer
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.helpers import eventually
from tests.sync.test_apply_and_prune import config_map, deployment
from tests.sync.test_platform_and_lifecycle import _landlord
from tests.sync.test_steady_state import requests_on


def _applied_tenant(
    git_server: GitServer, tenants: Tenants, admin: kube.Kube, prefix: str, sync_interval: str
) -> str:
    """A tenant (source polled hourly) with a Deployment and a ConfigMap, applied."""
    name = tenants.name(prefix)
    git_server.create(name)
    manifests = [deployment("web"), config_map("settings", color="blue")]
    git_server.commit(name, {"deploy/app.yaml": yaml.safe_dump_all(manifests)}, message="app")
    url = git_server.url(name).replace("http://", f"http://{USER}:{PASSWORD}@")
    tenants.create(
        name,
        {
            "source": {"url": url, "interval": "1h"},
            "sync": {"path": "./deploy", "interval": sync_interval},
        },
    )
    eventually(
        lambda: admin.get("v1", "ConfigMap", "settings", name) is not None,
        timeout=45,
        what="the first apply",
    )
    return name


@pytest.fixture
def hourly(git_server: GitServer, tenants: Tenants, admin: kube.Kube) -> str:
    """A tenant whose source and sync run once an hour."""
    name = _applied_tenant(git_server, tenants, admin, "drift", "1h")
    time.sleep(1.0)  # let the watches list what was applied
    return name


def _status(admin: kube.Kube, name: str) -> dict[str, Any]:
    body = admin.get(api.API_VERSION, "Kustomization", name, name) or {}
    return body.get("status") or {}


def test_a_deleted_object_is_restored_at_once(
    control_plane: pathlib.Path, admin: kube.Kube, hourly: str, operator: OperatorProcess
) -> None:
    old = admin.get("apps/v1", "Deployment", "web", hourly)
    assert old is not None

    began = time.monotonic()
    admin.delete("apps/v1", "Deployment", "web", hourly)
    restored = eventually(
        lambda: (
            (d := admin.get("apps/v1", "Deployment", "web", hourly))
            and d["metadata"]["uid"] != old["metadata"]["uid"]
            and d
        ),
        timeout=10,
        interval=0.05,
        what="the Deployment to come back",
    )
    took = time.monotonic() - began

    print(f"deleted → restored in {took:.2f}s")
    assert restored["metadata"]["labels"][labels.KUSTOMIZATION_NAME] == hourly
    repair = eventually(
        lambda: _status(admin, hourly).get("lastDriftRepair"), what="status.lastDriftRepair"
    )
    assert f"Deployment {hourly}/web deleted" in repair["objects"]
    events = admin.list_objects("v1", "Event", namespace=hourly)
    assert any(e["reason"] == "DriftRepaired" and "web" in e["message"] for e in events)
    assert 'landlord_sync_drift_repairs_total{kind="Deployment",manager="deleted"}' in (
        operator.metrics()
    )
    listed = _landlord(control_plane, "get", "kustomizations", "-n", hourly)
    assert "LAST DRIFT REPAIR" in listed.stdout
    assert f"ago: Deployment {hourly}/web deleted" in listed.stdout


def test_a_hand_edit_is_reverted_and_its_author_named(admin: kube.Kube, hourly: str) -> None:
    edited = config_map("settings", color="red")
    edited["metadata"]["namespace"] = hourly
    admin.apply(edited, field_manager="kubectl-edit", force=True)

    eventually(
        lambda: (
            (admin.get("v1", "ConfigMap", "settings", hourly) or {}).get("data")
            == {"color": "blue"}
        ),
        timeout=10,
        interval=0.05,
        what="the edit to be reverted",
    )
    repair = eventually(
        lambda: (
            (r := _status(admin, hourly).get("lastDriftRepair"))
            and "changed by kubectl-edit" in r["objects"]
            and r
        ),
        what="the repair to name the editor",
    )
    assert f"ConfigMap {hourly}/settings" in repair["objects"]


def test_fields_the_manifest_does_not_set_and_opted_out_objects_are_left_alone(
    admin: kube.Kube, hourly: str
) -> None:
    # Another manager owns a field Landlord never set: no fight over it.
    extra = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": hourly},
        "data": {"added-by-hand": "yes"},
    }
    admin.apply(extra, field_manager="someone", force=False)
    # An object annotated reconcile: disabled may be edited freely.
    web = admin.get("apps/v1", "Deployment", "web", hourly)
    assert web is not None
    admin.merge_patch(
        "apps/v1",
        "Deployment",
        "web",
        {
            "metadata": {"annotations": {labels.RECONCILE: "disabled"}},
            "spec": {"replicas": 3},
        },
        hourly,
    )

    time.sleep(3)

    assert (admin.get("v1", "ConfigMap", "settings", hourly) or {})["data"] == {
        "color": "blue",
        "added-by-hand": "yes",
    }
    assert (admin.get("apps/v1", "Deployment", "web", hourly) or {})["spec"]["replicas"] == 3
    assert "lastDriftRepair" not in _status(admin, hourly)


@pytest.mark.usefixtures("settled")  # counted: no offboarding left over from earlier tests
def test_an_unchanged_tenant_costs_the_apiserver_nothing_between_changes(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants
) -> None:
    _applied_tenant(git_server, tenants, admin, "quiet", "1s")
    time.sleep(3)  # the first interval ticks after the apply settle
    resources = {
        "deployments",
        "configmaps",
        "kustomizations",
        "gitrepositories",
        "namespaces",
        "serviceaccounts",
        "tenants",
    }
    before = copy.deepcopy(requests_on(admin, resources))

    time.sleep(5)  # five interval ticks of the sync

    after = requests_on(admin, resources)
    made = {verb: after.get(verb, 0) - before.get(verb, 0) for verb in after}
    print(f"requests over 5 sync intervals: {made}")
    assert {verb: n for verb, n in made.items() if n and verb != "WATCH"} == {}
