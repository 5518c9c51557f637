"""Drill 8 (third part): the operator's wall clock stepped an hour forward, then back.

The operator runs through :mod:`tests.faults.clockjump`, whose wall clock the
drill steps (its monotonic clock, the control plane's and the machine's clocks
stay right). It leads (leader election on) and one Kustomization waits for a
Deployment that never becomes healthy (``timeout: 20s``). An hour forward must
not end that wait early (a wall-clock deadline would fail it at once), an hour
back must not stretch it by an hour; pushes and drift go on being applied and
repaired within seconds, the Lease stays with the same holder, and the log
says the clock stepped.
"""

from __future__ import annotations

import pathlib
import signal
import time
from typing import Any

import yaml

from landlord import api, kube
from landlord.api import conditions
from landlord.demo import GitServer
from landlord.settings import PLATFORM_NAMESPACE
from tests.faults import harness
from tests.faults.conftest import SMALL, small_tenant
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.helpers import eventually

HOUR = 3600
TIMEOUT = 12  # the sick Kustomization's health-check timeout
LEASE = "landlord-clock-drill"


def _sick_deployment() -> str:
    """A Deployment no node can run: never available, never healthy."""
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "sick"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "sick"}},
                "template": {
                    "metadata": {"labels": {"app": "sick"}},
                    "spec": {
                        "nodeSelector": {"landlord.dev/no-such-node": "true"},
                        "containers": [{"name": "app", "image": "registry.invalid/app:1"}],
                    },
                },
            },
        }
    )


def _status(admin: kube.Kube, namespace: str, name: str) -> dict[str, Any]:
    body = admin.get(api.API_VERSION, "Kustomization", name, namespace) or {}
    return dict(body.get("status") or {})


def _ready(admin: kube.Kube, namespace: str, name: str) -> dict[str, Any]:
    status = _status(admin, namespace, name)
    return conditions.get(status.get("conditions") or [], "Ready") or {}


def _step(operator: OperatorProcess, offset_file: pathlib.Path, seconds: int) -> None:
    offset_file.write_text(str(seconds))
    assert operator.process is not None
    operator.process.send_signal(signal.SIGUSR1)


def _holder(admin: kube.Kube) -> str:
    lease = admin.get("coordination.k8s.io/v1", "Lease", LEASE, PLATFORM_NAMESPACE) or {}
    return str((lease.get("spec") or {}).get("holderIdentity") or "")


def _push_and_drift(
    admin: kube.Kube, git_server: GitServer, name: str, value: str, keep: int
) -> None:
    """A revision that prunes (``keep`` objects left) and a drift; both done within 30 s."""
    revision = harness.Revision.of(value, range(keep))
    sha = git_server.commit(name, revision.files(), message=value)
    admin.delete("v1", "ConfigMap", "cm-0000", name)
    eventually(lambda: harness.ready_at(admin, name, name, sha), timeout=30, what=value)
    eventually(
        lambda: admin.get("v1", "ConfigMap", "cm-0000", name), timeout=30, what="drift repaired"
    )
    assert harness.problems(admin, name, name, revision) == []


def test_a_stepped_wall_clock_ends_no_wait_early_stretches_none_and_stalls_nothing(
    admin: kube.Kube,
    git_server: GitServer,
    tenants: Tenants,
    operator: OperatorProcess,
    tmp_path: pathlib.Path,
) -> None:
    offset_file = tmp_path / "clock-offset"
    offset_file.write_text("0")
    operator.start(
        {
            "LANDLORD_DRILL_CLOCK_FILE": str(offset_file),
            "LANDLORD_LEADER_ELECTION__ENABLED": "true",
            "LANDLORD_LEADER_ELECTION__LEASE": LEASE,
            "LANDLORD_LEADER_ELECTION__IDENTITY": "clock-drill",
        },
        module="tests.faults.clockjump",
    )
    name, _ = small_tenant(git_server, tenants, admin)
    assert _holder(admin) == "clock-drill"
    assert operator.process is not None
    pid = operator.process.pid

    # Forward: a health wait in progress must not end at once.
    git_server.commit(name, {"sick/web.yaml": _sick_deployment()}, message="sick")
    admin.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Kustomization",
            "metadata": {"name": "sick", "namespace": name},
            "spec": {
                "sourceRef": {"kind": "GitRepository", "name": name},
                "path": "./sick",
                "interval": "1m",
                "retryInterval": "1s",
                "wait": True,
                "timeout": f"{TIMEOUT}s",
            },
        },
        field_manager="drill",
    )
    deadline = eventually(
        lambda: _status(admin, name, "sick").get("healthCheckDeadline"),
        timeout=30,
        what="the health wait begun",
    )
    began = time.monotonic()
    _step(operator, offset_file, HOUR)
    # The same wait goes on (one deadline, never failed) until its 12 s are nearly over.
    while time.monotonic() < began + TIMEOUT - 5:
        ready = _ready(admin, name, "sick")
        assert ready.get("reason") != "HealthCheckFailed", (
            f"ended {time.monotonic() - began:.0f}s into a {TIMEOUT}s wait: {ready}"
        )
        assert _status(admin, name, "sick").get("healthCheckDeadline") == deadline
        time.sleep(0.3)
    failed = eventually(
        lambda: (lambda r: r if r.get("reason") == "HealthCheckFailed" else None)(
            _ready(admin, name, "sick")
        ),
        timeout=30,
        what="HealthCheckFailed after its timeout",
    )
    assert "not healthy after 12s" in failed["message"]
    _push_and_drift(admin, git_server, name, "forward", SMALL // 2)

    # Back two hours (an hour behind the real time): nothing waits for the clock.
    _step(operator, offset_file, -HOUR)
    _push_and_drift(admin, git_server, name, "back", SMALL)

    assert operator.process.pid == pid
    assert operator.process.poll() is None, operator.log()[-3000:]
    assert _holder(admin) == "clock-drill", "the lease changed hands"
    eventually(
        lambda: operator.log().count("the wall clock stepped by") >= 2,
        timeout=15,
        what="both steps said",
    )
    assert "stepped by +3600s" in operator.log()
    assert "stepped by -7200s" in operator.log()
