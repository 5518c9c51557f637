"""Drills 3 and 4: the apiserver and etcd stopped, restarted or stuck under a working operator.

Drift made just before the outage (while the operator is held, so its repair
is pending) is repaired after it; requests during the outage are retried with
a backoff (counted by the operator's ``landlord_apiserver_requests_total``);
every tenant is Ready afterwards; a stuck etcd does not make an Events storm.

The components are the session's own control plane, stopped and started by
their recorded PIDs (``landlord.cluster.controlplane``): these drills need the
local plane, not ``LANDLORD_TEST_KUBECONFIG``. An outage longer than the
operator's lease renew deadline makes it exit (``leader election: lease lost``),
as it must; the drill then starts it again, as a Deployment's pod would be.
``LANDLORD_DRILL_OUTAGE`` (seconds, default 10) sets the outage.
"""

from __future__ import annotations

import os
import pathlib
import re
import time
from collections.abc import Iterator

import pytest

from landlord import errors, kube
from landlord.cluster import controlplane
from landlord.demo import GitServer
from tests.faults import harness
from tests.faults.conftest import small_tenant
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.helpers import eventually

OUTAGE = float(os.environ.get("LANDLORD_DRILL_OUTAGE", "10"))
TENANTS = int(os.environ.get("LANDLORD_DRILL_TENANTS", "3"))
DRIFTS = 10  # objects deleted while the operator is held, just before the outage
MAX_RETRY_RATE = 10.0  # requests a second the operator may try while the apiserver is down


@pytest.fixture
def plane(control_plane: pathlib.Path) -> Iterator[pathlib.Path]:
    """The session plane's state folder; every component running again afterwards."""
    if os.environ.get("LANDLORD_TEST_KUBECONFIG"):
        pytest.skip("the drills stop the local control plane's processes")
    state = control_plane.parent
    yield state
    for name in ("etcd", "kube-apiserver"):
        controlplane.start_component(state, name)


def _requests(operator: OperatorProcess) -> float:
    """Every request the operator has tried so far (failed ones too)."""
    return sum(
        float(value)
        for value in re.findall(
            r"^landlord_apiserver_requests_total\{[^}]*\} (\S+)$", operator.metrics(), re.M
        )
    )


def _answers(admin: kube.Kube) -> bool:
    try:
        return admin.get("v1", "Namespace", "default") is not None
    except errors.ApiError:
        return False


def _revive(operator: OperatorProcess) -> str:
    """Start the operator again if the outage made it give up its lease; what happened."""
    assert operator.process is not None
    code = operator.process.poll()
    if code is None:
        return "kept running"
    assert code == 1, operator.log()[-3000:]
    assert "lease lost" in operator.log(), operator.log()[-3000:]
    operator.start(operator.env)
    return "exited on the lost lease and was started again"


def _tenants_with_pending_drift(
    admin: kube.Kube, git: GitServer, tenants: Tenants, operator: OperatorProcess
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    made = [small_tenant(git, tenants, admin) for _ in range(TENANTS)]
    deleted = [(made[i % len(made)][0], f"cm-{i // len(made):04d}") for i in range(DRIFTS)]
    return made, deleted


def _recovered(
    admin: kube.Kube, made: list[tuple[str, str]], deleted: list[tuple[str, str]]
) -> float:
    began = time.monotonic()
    for namespace, name in deleted:
        eventually(
            lambda n=namespace, c=name: admin.get("v1", "ConfigMap", c, n),
            timeout=90,
            what=f"drift repair of {namespace}/{name}",
        )
    for name, sha in made:
        eventually(lambda n=name, s=sha: harness.ready_at(admin, n, n, s), timeout=60, what=name)
        assert harness.problems(admin, name, name, harness.Revision.of("r0", range(20))) == []
    return time.monotonic() - began


@pytest.mark.parametrize("component", ["kube-apiserver", "etcd"])
def test_an_outage_loses_no_drift_repair_and_retries_with_a_backoff(
    component: str,
    plane: pathlib.Path,
    admin: kube.Kube,
    git_server: GitServer,
    tenants: Tenants,
    operator: OperatorProcess,
) -> None:
    made, deleted = _tenants_with_pending_drift(admin, git_server, tenants, operator)
    assert operator.process is not None
    before = _requests(operator)
    with harness.paused(operator.process.pid):
        for namespace, name in deleted:
            admin.delete("v1", "ConfigMap", name, namespace)
        controlplane.stop_component(plane, component)
    began = time.monotonic()
    time.sleep(OUTAGE)
    tried = _requests(operator) - before if operator.process.poll() is None else float("nan")
    down = time.monotonic() - began
    controlplane.start_component(plane, component)
    eventually(lambda: _answers(admin), timeout=60, what=f"the apiserver after {component}")
    fate = _revive(operator)
    took = _recovered(admin, made, deleted)
    print(
        f"{component} down {down:.0f}s: operator tried {tried:.0f} requests "
        f"({tried / down:.1f}/s), {fate}; drift repaired and all Ready {took:.1f}s after"
    )
    if tried == tried:  # not NaN: it was alive to count
        assert tried / down <= MAX_RETRY_RATE, f"{tried:.0f} requests in {down:.0f}s"


def test_a_stuck_etcd_makes_no_events_storm(
    plane: pathlib.Path,
    admin: kube.Kube,
    git_server: GitServer,
    tenants: Tenants,
    operator: OperatorProcess,
) -> None:
    made, deleted = _tenants_with_pending_drift(admin, git_server, tenants, operator)
    namespaces = [name for name, _ in made]
    events_before = sum(len(admin.list_objects("v1", "Event", namespace=n)) for n in namespaces)
    etcd = next(c for c in controlplane.status(plane)[1] if c.name == "etcd")
    assert operator.process is not None
    with harness.paused(operator.process.pid):
        for namespace, name in deleted:
            admin.delete("v1", "ConfigMap", name, namespace)
    with harness.paused(etcd.pid):
        time.sleep(OUTAGE)
    eventually(lambda: _answers(admin), timeout=60, what="the apiserver after etcd resumed")
    fate = _revive(operator)
    took = _recovered(admin, made, deleted)
    events = sum(len(admin.list_objects("v1", "Event", namespace=n)) for n in namespaces)
    print(
        f"etcd stuck {OUTAGE:.0f}s: {fate}; repaired {took:.1f}s after; "
        f"{events - events_before} new Events in {len(namespaces)} namespaces"
    )
    # One drift repair reported per deleted object, and a little besides: no storm.
    assert events - events_before <= DRIFTS + 2 * len(namespaces)
