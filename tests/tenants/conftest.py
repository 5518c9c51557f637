"""A real operator process (``landlord run``) against the session's control plane.

The operator runs as a subprocess, exactly as a platform team runs it. Tests
that switch features restart it with other settings; the ``operator`` fixture
puts the default one back before the next test.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from landlord import api, errors, installer, kube
from landlord.api import conditions
from landlord.cluster import ports
from landlord.settings import PLATFORM_NAMESPACE
from tests.helpers import eventually


class OperatorProcess:
    """One ``landlord run`` process at a time, restartable with other settings."""

    def __init__(self, kubeconfig: pathlib.Path, log_dir: pathlib.Path) -> None:
        self.kubeconfig = kubeconfig
        self.log_dir = log_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}
        self.starts = 0
        self.metrics_port = 0

    def start(self, env: dict[str, str] | None = None) -> None:
        self.stop()
        self.env = dict(env or {})
        self.starts += 1
        self.metrics_port = ports.free_ports(1)[0]
        log = (self.log_dir / f"operator-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "landlord", "run"],
            env={
                **os.environ,
                "KUBECONFIG": str(self.kubeconfig),
                "LANDLORD_TELEMETRY__LOG_FORMAT": "text",
                "LANDLORD_TELEMETRY__METRICS_BIND": f"127.0.0.1:{self.metrics_port}",
                **self.env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def metrics(self) -> str:
        """The operator's Prometheus exposition."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())

    def log(self) -> str:
        return (self.log_dir / f"operator-{self.starts}.log").read_text(errors="replace")


@pytest.fixture(scope="session")
def installed(admin: kube.Kube) -> None:
    """CRDs, the platform namespace and the operator's RBAC, as `landlord install` does."""
    installer.install(admin, platform_namespace=PLATFORM_NAMESPACE)


@pytest.fixture(scope="session")
def operator_process(
    control_plane: pathlib.Path, installed: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    process = OperatorProcess(control_plane, tmp_path_factory.mktemp("operator"))
    process.start()
    yield process
    process.stop()


@pytest.fixture
def operator(operator_process: OperatorProcess) -> Iterator[OperatorProcess]:
    """The operator with default settings, running."""
    if (
        operator_process.env
        or operator_process.process is None
        or (operator_process.process.poll() is not None)
    ):
        operator_process.start()
    yield operator_process
    assert operator_process.process is not None
    assert operator_process.process.poll() is None, operator_process.log()[-3000:]


class Tenants:
    """Create Tenants with unique names; delete them (and wait) afterwards."""

    def __init__(self, admin: kube.Kube) -> None:
        self.admin = admin
        self.created: list[str] = []

    def name(self, prefix: str = "t") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:6]}"

    def create(self, name: str, spec: dict[str, Any] | None = None) -> str:
        self.admin.create(
            {
                "apiVersion": api.API_VERSION,
                "kind": "Tenant",
                "metadata": {"name": name},
                "spec": spec or {},
            }
        )
        self.created.append(name)
        return name

    def get(self, name: str) -> dict[str, Any] | None:
        return self.admin.get(api.API_VERSION, "Tenant", name)

    def ready(self, name: str, timeout: float = 30) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            body = self.get(name)
            if body is None:
                return None
            status = body.get("status") or {}
            if status.get("observedGeneration") != body["metadata"]["generation"]:
                return None
            return body if conditions.is_true(status.get("conditions") or [], "Ready") else None

        return eventually(check, timeout=timeout, what=f"Tenant {name} Ready")

    def condition(self, name: str, reason: str, timeout: float = 30) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            body = self.get(name) or {}
            ready = conditions.get((body.get("status") or {}).get("conditions") or [], "Ready")
            return ready if ready and ready.get("reason") == reason else None

        return eventually(check, timeout=timeout, what=f"Tenant {name} reason {reason}")

    def update(self, name: str, spec: dict[str, Any]) -> None:
        self.admin.merge_patch(api.API_VERSION, "Tenant", name, {"spec": spec})

    def delete(self, name: str, timeout: float = 90) -> None:
        self.admin.delete(api.API_VERSION, "Tenant", name)
        eventually(
            lambda: self.get(name) is None, timeout=timeout, what=f"Tenant {name} to be offboarded"
        )

    def cleanup(self) -> None:
        """Delete every tenant this test made, all at once, then wait for all of them."""
        for name in self.created:
            with contextlib.suppress(errors.ApiError):
                self.admin.delete(api.API_VERSION, "Tenant", name)
        for name in self.created:
            with contextlib.suppress(AssertionError):
                eventually(
                    lambda n=name: self.get(n) is None,
                    timeout=90,
                    what=f"Tenant {name} to be offboarded",
                )


@pytest.fixture
def tenants(admin: kube.Kube, operator: OperatorProcess) -> Iterator[Tenants]:
    factory = Tenants(admin)
    yield factory
    factory.cleanup()
