"""``landlord up --in-cluster``: the demo with Landlord as pods, installed by its chart."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

from landlord import api, kube
from landlord.api import conditions
from landlord.cluster import controlplane
from landlord.settings import PLATFORM_NAMESPACE

ROOT = pathlib.Path(__file__).resolve().parents[2]
READY_LINE = "Ctrl-C stops the demo"


def test_up_in_cluster_installs_the_chart_and_the_tenants_become_ready(
    tmp_path: pathlib.Path, workload_image: tuple[pathlib.Path, str]
) -> None:
    state_dir = tmp_path / "demo"
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "landlord", "up", "--in-cluster", "--state-dir", str(state_dir)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "200"},
        )
    try:
        deadline = time.monotonic() + 600
        while READY_LINE not in log.read_text(errors="replace"):
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(1)
        output = log.read_text(errors="replace")
        assert "installed as release landlord" in output
        client = kube.connect(state_dir / "kubeconfig")
        try:
            pods = client.core.list_namespaced_pod(PLATFORM_NAMESPACE).items
            assert [
                p.status.phase for p in pods if p.metadata.name.startswith("landlord-operator")
            ] == ["Running"]
            tenants = client.list_objects(api.API_VERSION, "Tenant")
            assert tenants, output[-2000:]
            for tenant in tenants:
                ready = conditions.is_true(
                    (tenant.get("status") or {}).get("conditions") or [], "Ready"
                )
                assert ready, tenant
            synced = [
                k
                for k in client.list_objects(api.API_VERSION, "Kustomization")
                if conditions.is_true((k.get("status") or {}).get("conditions") or [], "Ready")
            ]
            assert len(synced) >= 2  # the platform's and at least one tenant's, from the pod
        finally:
            client.close()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            controlplane.down(state_dir)
    assert process.returncode == 0, log.read_text(errors="replace")[-3000:]
    assert controlplane.ControlPlane.load(state_dir.resolve()) is None
