"""Landlord in this process (``Embedded``), restarted with other feature switches per phase.

The subprocess operator the other groups use is stopped meanwhile (two
operators must never reconcile at once); the ``operator`` fixture starts it
again for the next group.
"""

from __future__ import annotations

import contextlib
import pathlib
import shutil
from collections.abc import Iterator

import pytest

from landlord import kube
from landlord import settings as settings_mod
from landlord.cluster import ports
from landlord.wiring import operator_main
from tests.fixtures.operator import BASELINE_POLICY, REPO_POLICIES, OperatorProcess


class Landlord:
    """Start and stop the embedded operator (and API) with given feature switches."""

    def __init__(self, kubeconfig: pathlib.Path, work: pathlib.Path) -> None:
        self.kubeconfig = kubeconfig
        self.work = work
        self.policy_dir = work / "policies"
        shutil.copytree(REPO_POLICIES, self.policy_dir, ignore=shutil.ignore_patterns("tests"))
        (self.policy_dir / "policy.csv").write_text(BASELINE_POLICY)
        self.running: operator_main.Embedded | None = None
        self.config = self.settings({})

    def settings(self, features: dict[str, bool]) -> settings_mod.Settings:
        config = settings_mod.Settings()
        config.features = dict(features)
        config.sources.allowed_schemes = ["https", "ssh", "http"]
        config.sources.allowed_networks = ["127.0.0.1/32"]  # the loopback Git server
        config.sources.storage_dir = self.work / "sources"
        config.policy.path = self.policy_dir
        config.policy.reload_interval = 0.3
        config.limits.min_interval = 1.0  # the sources poll every second
        config.api.bind = f"127.0.0.1:{ports.free_ports(1)[0]}"
        config.api.url = f"http://{config.api.bind}"
        config.api.workdir = self.work / "api"
        return config

    def start(self, **features: bool) -> operator_main.Embedded:
        """Landlord with these switches (every other one on), after stopping the running one."""
        self.stop()
        self.config = self.settings(features)
        self.running = operator_main.Embedded(self.config, kubeconfig=self.kubeconfig).start()
        return self.running

    def stop(self) -> None:
        if self.running is not None:
            self.running.stop()
            self.running = None


@pytest.fixture(scope="package")
def landlord(
    control_plane: pathlib.Path,
    admin: kube.Kube,
    installed: None,
    operator_process: OperatorProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Landlord]:
    operator_process.stop()
    running = Landlord(control_plane, tmp_path_factory.mktemp("features"))
    try:
        yield running
    finally:
        with contextlib.suppress(Exception):
            running.stop()
