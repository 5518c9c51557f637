"""Leader election on a real Lease: one leader, takeover after expiry or release, no double win."""

from __future__ import annotations

import concurrent.futures
import datetime
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

from landlord import kube
from landlord.cluster import ports
from landlord.kube import leases
from landlord.runtime.leaderelection import LeaderElector, Timing
from landlord.wiring import leadership
from tests.helpers import eventually

FAST = Timing(lease_duration=3.0, renew_deadline=2.0, retry_period=0.25)


def _elector(admin: kube.Kube, namespace: str, lease: str, identity: str) -> LeaderElector:
    store = leadership.LeaseStore(leases.LeaseStore(admin, namespace, lease))
    return LeaderElector(store, identity, FAST)


def test_one_replica_leads_and_a_standby_takes_over_only_after_the_lease_expires(
    admin: kube.Kube, namespace: str
) -> None:
    lease = f"lease-{uuid.uuid4().hex[:6]}"
    a, b = (_elector(admin, namespace, lease, who) for who in ("a", "b"))
    assert a.acquire()
    assert not b.try_acquire_or_renew()
    stored = admin.get("coordination.k8s.io/v1", "Lease", lease, namespace)
    assert stored is not None
    assert stored["spec"]["holderIdentity"] == "a"

    # a dies without releasing; b takes over no sooner than one lease duration later.
    began = time.monotonic()
    assert b.acquire()
    waited = time.monotonic() - began
    assert FAST.lease_duration - FAST.retry_period <= waited <= FAST.lease_duration + 2.0
    stored = admin.get("coordination.k8s.io/v1", "Lease", lease, namespace)
    assert stored is not None
    assert stored["spec"]["holderIdentity"] == "b"
    assert stored["spec"]["leaseTransitions"] == 1


def test_a_released_lease_is_taken_within_one_retry_period(
    admin: kube.Kube, namespace: str
) -> None:
    lease = f"lease-{uuid.uuid4().hex[:6]}"
    a, b = (_elector(admin, namespace, lease, who) for who in ("a", "b"))
    assert a.acquire()
    holder = threading.Thread(target=a.hold, args=(lambda: None,), daemon=True)
    holder.start()
    assert not b.try_acquire_or_renew()
    a.release()
    holder.join(timeout=5)
    began = time.monotonic()
    assert b.acquire()
    # b saw a's record with duration 1 s from its last read: at most that plus a retry.
    assert time.monotonic() - began <= 1.0 + 2 * FAST.retry_period + 1.0


def test_standbys_racing_for_a_free_lease_elect_exactly_one(
    admin: kube.Kube, namespace: str
) -> None:
    lease = f"lease-{uuid.uuid4().hex[:6]}"
    electors = [_elector(admin, namespace, lease, f"r{i}") for i in range(6)]
    with concurrent.futures.ThreadPoolExecutor(len(electors)) as pool:
        won = list(pool.map(lambda e: e.try_acquire_or_renew(), electors))
    assert won.count(True) == 1
    stored = admin.get("coordination.k8s.io/v1", "Lease", lease, namespace)
    assert stored is not None
    assert stored["spec"]["holderIdentity"] == electors[won.index(True)].identity


def test_a_standby_landlord_run_waits_reports_standby_and_exits_at_once_on_sigterm(
    admin: kube.Kube, namespace: str, control_plane: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    admin.apply(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "landlord-operator", "namespace": namespace},
            "spec": {
                "holderIdentity": "someone-else",
                "leaseDurationSeconds": 3600,
                "acquireTime": now,
                "renewTime": now,
            },
        },
        field_manager="test",
    )
    port = ports.free_ports(1)[0]
    env = {
        **os.environ,
        "KUBECONFIG": str(control_plane),
        "HOME": str(tmp_path),
        "LANDLORD_PLATFORM_NAMESPACE": namespace,
        "LANDLORD_LEADER_ELECTION__ENABLED": "true",
        "LANDLORD_LEADER_ELECTION__IDENTITY": "standby",
        "LANDLORD_TELEMETRY__HEALTH_BIND": f"127.0.0.1:{port}",
    }
    cli = pathlib.Path(sys.executable).with_name("landlord")
    log = (tmp_path / "run.log").open("wb")
    process = subprocess.Popen([str(cli), "run"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:

        def readyz() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                return answer.read().decode() if answer.status == 200 else ""

        assert "standby: waiting for lease landlord-operator" in eventually(
            readyz, timeout=30, what="the standby's /readyz"
        )
        time.sleep(1)
        assert process.poll() is None
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
        assert time.monotonic() - began < 10
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    output = (tmp_path / "run.log").read_text()
    assert "controllers started" not in output  # a standby never reconciled
    stored = admin.get("coordination.k8s.io/v1", "Lease", "landlord-operator", namespace)
    assert stored is not None
    assert stored["spec"]["holderIdentity"] == "someone-else"
