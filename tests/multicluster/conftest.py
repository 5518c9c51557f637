"""A tenant spread over clusters, with its repository and a Kustomization aimed at one of them."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import yaml

from landlord import api, errors, kube
from landlord.api import conditions
from landlord.demo import GitServer
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.multicluster import Plane, cluster_ready
from tests.fixtures.operator import Tenants
from tests.fixtures.policy import PolicyFiles
from tests.helpers import eventually


def config_map(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": data or {"k": "v"},
    }


@dataclasses.dataclass
class Spread:
    """Tenant ``name`` on ``local`` and the registered clusters, with its repository."""

    admin: kube.Kube
    git: GitServer
    tenants: Tenants
    clusters: dict[str, Plane]
    policy: PolicyFiles
    name: str

    @property
    def namespace(self) -> str:
        return self.name

    def push(self, files: dict[str, Any]) -> str:
        encoded: dict[str, str | bytes | None] = {
            path: None if body is None else yaml.safe_dump_all(body, sort_keys=False)
            for path, body in files.items()
        }
        return self.git.commit(self.name, encoded, message="update")

    def allow_targets(self, *names: str) -> None:
        self.policy.add(*(f"p, tenant:{self.name}, target, clusters/{n}, allow" for n in names))

    def kustomization(self, name: str, **spec: Any) -> None:
        self.admin.apply(
            {
                "apiVersion": api.API_VERSION,
                "kind": "Kustomization",
                "metadata": {"name": name, "namespace": self.namespace},
                "spec": {
                    "sourceRef": {"kind": "GitRepository", "name": self.name},
                    "interval": "10s",
                    "retryInterval": "2s",
                    "prune": True,
                    **spec,
                },
            },
            field_manager="test",
            force=True,
        )

    def status(self, name: str) -> dict[str, Any]:
        body = self.admin.get(api.API_VERSION, "Kustomization", name, self.namespace) or {}
        return body.get("status") or {}

    def ready(self, name: str, sha: str, timeout: float = 45) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            status = self.status(name)
            ok = conditions.is_true(status.get("conditions") or [], "Ready")
            fresh = status.get("lastAppliedRevision") == f"main@sha1:{sha}"
            return status if ok and fresh else None

        try:
            return eventually(check, timeout=timeout, what=f"{name} Ready at {sha[:8]}")
        except AssertionError as error:
            raise AssertionError(f"{error}\nstatus: {self.status(name)}") from None

    def reason(self, name: str, reason: str, timeout: float = 45) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            ready = conditions.get(self.status(name).get("conditions") or [], "Ready") or {}
            return ready if ready.get("reason") == reason else None

        try:
            return eventually(check, timeout=timeout, what=f"{name} reason {reason}")
        except AssertionError as error:
            raise AssertionError(f"{error}\nstatus: {self.status(name)}") from None

    def on(self, cluster: str) -> kube.Kube:
        return self.admin if cluster == "local" else self.clusters[cluster].admin

    def config_map(self, cluster: str, name: str) -> dict[str, Any] | None:
        try:
            return self.on(cluster).get("v1", "ConfigMap", name, self.namespace)
        except errors.ApiError:
            return None

    def tenant_ready_on(self, *names: str, timeout: float = 45) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            body = self.tenants.get(self.name) or {}
            placed = {
                c["name"]: c.get("ready") for c in (body.get("status") or {}).get("clusters") or []
            }
            return body if all(placed.get(n) for n in names) else None

        return eventually(check, timeout=timeout, what=f"{self.name} provisioned on {names}")


@pytest.fixture
def spread(
    admin: kube.Kube,
    git_server: GitServer,
    tenants: Tenants,
    clusters: dict[str, Plane],
    policy_files: PolicyFiles,
) -> Spread:
    """A tenant on local, east and west, whose repository holds ./deploy (local) and ./remote."""
    for name in clusters:
        cluster_ready(admin, name)
    name = tenants.name("mc")
    git_server.create(name)
    git_server.commit(
        name,
        {
            "deploy/app.yaml": yaml.safe_dump(config_map("home")),
            "remote/app.yaml": yaml.safe_dump_all([config_map("one"), config_map("two")]),
        },
        message="app",
    )
    url = git_server.url(name).replace("http://", f"http://{USER}:{PASSWORD}@")
    tenants.create(
        name,
        {
            "clusters": ["local", "east", "west"],
            "source": {"url": url, "interval": "1s"},
            "sync": {"path": "./deploy", "interval": "1m"},
        },
    )
    found = Spread(admin, git_server, tenants, clusters, policy_files, name)
    found.tenant_ready_on("local", "east", "west")
    return found
