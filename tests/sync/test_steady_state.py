"""Reconciling the same revision again writes nothing: the apiserver's own counters say so."""

from __future__ import annotations

import datetime
import functools
import re

import pytest

from landlord import api, kube
from landlord.api import labels
from landlord.settings import PLATFORM_NAMESPACE
from tests.helpers import eventually
from tests.sync.conftest import TenantRepo
from tests.sync.test_apply_and_prune import config_map, deployment, service

# Counted and timed: no offboarding left over from earlier tests.
pytestmark = pytest.mark.usefixtures("settled")

_SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
QUIET_WINDOWS = 8


def _record_versions(admin: kube.Kube) -> dict[str, str]:
    """The operator's published policy record: its ConfigMaps and their versions."""
    return {
        item["metadata"]["name"]: item["metadata"]["resourceVersion"]
        for item in admin.list_objects(
            "v1", "ConfigMap", namespace=PLATFORM_NAMESPACE, label_selector=labels.POLICY_REQUESTS
        )
    }


def _handled(tenant_repo: TenantRepo, stamp: str) -> bool:
    return bool(tenant_repo.status().get("lastHandledReconcileAt") == stamp)


MUTATING = {"POST", "PUT", "PATCH", "DELETE", "APPLY", "CREATE", "UPDATE", "DELETECOLLECTION"}


def mutations(admin: kube.Kube, resources: set[str]) -> float:
    """Mutating requests (incl. dry-runs) the apiserver has served on ``resources``."""
    total = 0.0
    for line in admin.raw_get("/metrics").splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        fields = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels")))
        if (
            fields.get("verb") in MUTATING
            and fields.get("resource") in resources
            and not fields.get("subresource")
        ):
            total += float(match.group("value"))
    return total


def requests_on(admin: kube.Kube, resources: set[str]) -> dict[str, float]:
    """Requests the apiserver has served on ``resources`` (any verb, no subresources), by verb."""
    totals: dict[str, float] = {}
    for line in admin.raw_get("/metrics").splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        fields = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels")))
        if fields.get("resource") in resources and not fields.get("subresource"):
            verb = fields.get("verb", "")
            totals[verb] = totals.get(verb, 0.0) + float(match.group("value"))
    return totals


def test_the_same_revision_again_makes_no_mutating_request(
    admin: kube.Kube, tenant_repo: TenantRepo
) -> None:
    many = [config_map(f"item-{i}", i=str(i)) for i in range(10)]  # read with one LIST
    sha = tenant_repo.push(
        {"deploy/app.yaml": [deployment(), service(), config_map("settings", color="blue"), *many]}
    )
    tenant_repo.ready_at(sha)
    resources = {"deployments", "services", "configmaps"}
    # The operator also writes ConfigMaps of its own, on its own schedule: its policy
    # record (docs/policies.md). A window in which it wrote one is measured again.
    for _ in range(QUIET_WINDOWS):
        record = _record_versions(admin)
        before = mutations(admin, resources)
        reads = requests_on(admin, {"configmaps"})

        stamp = datetime.datetime.now(datetime.UTC).isoformat()
        admin.merge_patch(
            api.API_VERSION,
            "Kustomization",
            tenant_repo.name,
            {"metadata": {"annotations": {labels.REQUESTED_AT: stamp}}},
            tenant_repo.name,
        )
        eventually(functools.partial(_handled, tenant_repo, stamp), what="the requested reconcile")

        after = mutations(admin, resources)
        read = requests_on(admin, {"configmaps"})
        if _record_versions(admin) == record:
            break
        print("the operator published its policy record meanwhile: measuring again")
    else:
        pytest.fail(f"the operator's policy record was written in each of {QUIET_WINDOWS} windows")
    print(f"mutating requests on deployments/services/configmaps: {after - before:.0f}")
    assert after == before
    assert before > 0  # the counter really counts our applies
    assert read.get("GET", 0) - reads.get("GET", 0) == 0  # 11 ConfigMaps: one LIST, no GETs
    assert read.get("LIST", 0) - reads.get("LIST", 0) >= 1
