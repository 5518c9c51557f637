"""The dashboard's and the alerts' queries read what a real operator and a real API export.

The unit test holds them to the families ``Metrics()`` declares; this one to
the ``/metrics`` of a running ``landlord run`` and ``landlord api``. A family
is exported when its ``# TYPE`` line is there; its labels are known once it
has a sample, so the test first makes each family record one: a tenant
onboarded with a request time, a synced tenant whose Deployment and
RoleBinding are deleted (and restored), a GitRepository that cannot fetch,
and a few API requests.
"""

from __future__ import annotations

import datetime
import os
import pathlib
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator

import pytest

from landlord import api, kube
from landlord.api import conditions, labels
from landlord.cluster import ports
from landlord.demo import GitServer
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.helpers import eventually
from tests.unit.telemetry import monitoring

# Families each process must have recorded in before its labels are checked.
OPERATOR_RECORDS = {
    "landlord_tenants",
    "landlord_tenant_reconcile_seconds_count",
    "landlord_tenant_drift_repairs_total",
    "landlord_onboarding_lead_time_seconds_count",
    "landlord_sync_reconcile_seconds_count",
    "landlord_sync_drift_repairs_total",
    "landlord_source_git_seconds_count",
    "landlord_source_fetched_bytes_total",
    "landlord_source_failures_total",
    "landlord_policy_decisions_total",
    "landlord_policy_reloads_total",
    "landlord_policy_info",
    "landlord_apiserver_requests_total",
}
API_RECORDS = {
    "landlord_api_requests_total",
    "landlord_api_request_seconds_count",
    "landlord_receiver_events_total",
}
# Declared by both processes (a `# TYPE` line) but recorded only after what this
# test does not set up; their labels are checked against Metrics() by the unit
# test, and their values by the tests named.
NOT_RECORDED_HERE = {
    # a commit to the platform repository: tests/onboarding
    "landlord_api_commits_total",
    "landlord_api_commit_batch_size_bucket",
    "landlord_api_commit_batch_size_count",
    # an Alert and a Provider: tests/notifications
    "landlord_notifications_total",
}


def _recorded(exposition: str, names: set[str]) -> bool:
    lines = exposition.splitlines()
    return all(any(line.startswith((f"{n} ", f"{n}{{")) for line in lines) for n in names)


def _once_recorded(scrape: Callable[[], str], names: set[str]) -> Callable[[], str | None]:
    """A check for ``eventually``: the exposition, once ``names`` all have samples in it."""

    def check() -> str | None:
        text = scrape()
        return text if _recorded(text, names) else None

    return check


def _merged(*catalogues: dict[str, frozenset[str] | None]) -> dict[str, frozenset[str] | None]:
    """Several processes' catalogues: a family's labels are known if one process knows them."""
    merged: dict[str, frozenset[str] | None] = {}
    for catalogue in catalogues:
        for name, known in catalogue.items():
            before = merged.get(name)
            merged[name] = known if before is None else before | (known or frozenset())
    return merged


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return int(error.code)


def _post(url: str) -> int:
    request = urllib.request.Request(url, data=b"{}", method="POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return int(error.code)


@pytest.fixture
def api_process(
    control_plane: pathlib.Path, operator: OperatorProcess, tmp_path: pathlib.Path
) -> Iterator[tuple[str, str]]:
    """``landlord api`` on its own ports: (its URL, its metrics URL)."""
    port, metrics_port = ports.free_ports(2)
    log = (tmp_path / "api.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "landlord", "api"],
        env={
            **os.environ,
            "KUBECONFIG": str(control_plane),
            "LANDLORD_API__BIND": f"127.0.0.1:{port}",
            "LANDLORD_API__WORKDIR": str(tmp_path / "workdir"),
            "LANDLORD_POLICY__PATH": str(operator.policy_dir),
            "LANDLORD_SOURCES__STORAGE_DIR": str(tmp_path / "sources"),
            "LANDLORD_TELEMETRY__LOG_FORMAT": "text",
            "LANDLORD_TELEMETRY__METRICS_BIND": f"127.0.0.1:{metrics_port}",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    try:
        eventually(lambda: _get(f"{url}/healthz") == 200, timeout=30, what="landlord api")
        yield url, f"http://127.0.0.1:{metrics_port}/metrics"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # how fast it stops is not what this test is about
            process.kill()
            process.wait()


def _onboarded(admin: kube.Kube, tenants: Tenants) -> str:
    """A Tenant as the onboarding API commits one: with the request's time and id."""
    name = tenants.name("lead")
    requested = datetime.datetime.now(datetime.UTC).isoformat()
    admin.create(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Tenant",
            "metadata": {
                "name": name,
                "annotations": {
                    labels.REQUEST_TIME: requested,
                    labels.REQUEST_ID: uuid.uuid4().hex,
                    labels.REQUEST_OPERATION: "create",
                },
            },
            "spec": {},
        }
    )
    tenants.created.append(name)
    return name


def _failing_source(admin: kube.Kube, git_server: GitServer, namespace: str) -> None:
    """A GitRepository whose repository does not exist, once it says it failed."""
    admin.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "GitRepository",
            "metadata": {"name": "missing", "namespace": namespace},
            "spec": {"url": git_server.url(f"missing-{uuid.uuid4().hex[:6]}"), "interval": "1m"},
        },
        field_manager="tests",
    )

    def failed() -> bool:
        body = admin.get(api.API_VERSION, "GitRepository", "missing", namespace) or {}
        ready = conditions.get((body.get("status") or {}).get("conditions") or [], "Ready")
        return ready is not None and ready.get("status") == "False"

    eventually(failed, timeout=30, what="the GitRepository to fail")


def _deleted_and_restored(
    admin: kube.Kube, api_version: str, kind: str, name: str, ns: str
) -> None:
    old = admin.get(api_version, kind, name, ns)
    assert old is not None, f"{kind} {ns}/{name}"
    admin.delete(api_version, kind, name, ns)
    eventually(
        lambda: (
            (found := admin.get(api_version, kind, name, ns)) is not None
            and found["metadata"]["uid"] != old["metadata"]["uid"]
        ),
        timeout=30,
        what=f"{kind} {ns}/{name} to be restored",
    )


def test_every_query_reads_metrics_and_labels_a_running_landlord_exports(
    admin: kube.Kube,
    tenants: Tenants,
    operator: OperatorProcess,
    git_server: GitServer,
    namespace: str,
    api_process: tuple[str, str],
) -> None:
    url, api_metrics = api_process
    onboarded = _onboarded(admin, tenants)
    synced = tenants.synced("dash", git_server)
    tenants.ready(onboarded)
    _deleted_and_restored(admin, "apps/v1", "Deployment", "web", synced)  # a sync repairs it
    _deleted_and_restored(
        admin, "rbac.authorization.k8s.io/v1", "RoleBinding", "landlord-reconciler", synced
    )  # the tenant operator repairs it
    _failing_source(admin, git_server, namespace)
    assert _get(f"{url}/v1/tenants") == 401
    assert _post(f"{url}/v1/receivers/no-such-receiver") == 404

    # The condition and what is checked come from the same scrape.
    ours = eventually(
        _once_recorded(operator.metrics, OPERATOR_RECORDS),
        timeout=30,
        what=f"the operator to record {sorted(OPERATOR_RECORDS)}",
    )
    theirs = eventually(
        _once_recorded(lambda: _scrape(api_metrics), API_RECORDS),
        timeout=30,
        what=f"the API to record {sorted(API_RECORDS)}",
    )
    exported = _merged(monitoring.exported(ours), monitoring.exported(theirs))

    queries = monitoring.shipped_queries()
    assert monitoring.problems(queries, exported) == []
    named = monitoring.metrics_named(queries, exported)
    unknown = {name for name in named if exported.get(name) is None}
    assert unknown <= NOT_RECORDED_HERE, unknown - NOT_RECORDED_HERE
    # The labels a real process writes are the ones Metrics() declares (what the unit test reads).
    declared = monitoring.declared()
    for name in named - unknown - {"up"}:
        assert exported[name] == declared[name], name
    # What the test made happen is in the labels the queries read.
    assert 'landlord_sync_drift_repairs_total{kind="Deployment",manager="deleted"}' in ours
    assert 'landlord_tenant_drift_repairs_total{kind="RoleBinding"}' in ours
    assert 'landlord_onboarding_lead_time_seconds_count{operation="create"}' in ours
    assert f'landlord_source_failures_total{{name="missing",namespace="{namespace}"' in ours
    assert 'landlord_sync_reconcile_seconds_count{result="ready"}' in ours
    assert 'landlord_receiver_events_total{receiver="<unknown>",result="unknown"}' in theirs


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())
