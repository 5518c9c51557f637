"""A tenant whose source is a repository on the loopback Git server."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pytest
import yaml

from landlord import api, kube
from landlord.api import conditions
from landlord.demo import GitServer
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.operator import Tenants
from tests.helpers import eventually


@dataclasses.dataclass
class TenantRepo:
    """A tenant, its repository, and helpers to push and wait like the tenant would."""

    admin: kube.Kube
    git: GitServer
    tenants: Tenants
    name: str
    repo: str

    def push(self, files: dict[str, Any], message: str = "update") -> str:
        encoded = {
            path: None
            if body is None
            else (
                body
                if isinstance(body, str)
                else yaml.safe_dump_all(body if isinstance(body, list) else [body], sort_keys=False)
            )
            for path, body in files.items()
        }
        return self.git.commit(self.repo, encoded, message=message)

    def describe(self) -> str:
        """The source's and the Kustomization's status, for a failure message."""
        source = self.admin.get(api.API_VERSION, "GitRepository", self.name, self.name) or {}
        return (
            f"source status: {json.dumps(source.get('status'))}\n"
            f"kustomization status: {json.dumps(self.status())}"
        )

    def kustomization(self) -> dict[str, Any]:
        return self.admin.get(api.API_VERSION, "Kustomization", self.name, self.name) or {}

    def status(self) -> dict[str, Any]:
        return self.kustomization().get("status") or {}

    def ready_at(self, sha: str, timeout: float = 45) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            status = self.status()
            ready = conditions.is_true(status.get("conditions") or [], "Ready")
            return (
                status
                if ready and status.get("lastAppliedRevision") == (f"main@sha1:{sha}")
                else None
            )

        try:
            return eventually(check, timeout=timeout, what=f"{self.name} applied {sha[:8]}")
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.describe()}") from None

    def failed(self, reason: str, sha: str, timeout: float = 45) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            status = self.status()
            ready = conditions.get(status.get("conditions") or [], "Ready") or {}
            return (
                ready
                if ready.get("reason") == reason
                and status.get("lastAttemptedRevision") == f"main@sha1:{sha}"
                else None
            )

        return eventually(check, timeout=timeout, what=f"{self.name} {reason} at {sha[:8]}")

    def get(
        self, kind: str, name: str, api_version: str = "v1", namespace: str | None = None
    ) -> dict[str, Any] | None:
        return self.admin.get(api_version, kind, name, namespace or self.name)


@pytest.fixture
def tenant_repo(admin: kube.Kube, git_server: GitServer, tenants: Tenants) -> TenantRepo:
    name = tenants.name("sync")
    git_server.create(name)
    git_server.commit(name, {"deploy/.keep": ""}, message="empty")
    url = git_server.url(name).replace("http://", f"http://{USER}:{PASSWORD}@")
    tenants.create(
        name,
        {"source": {"url": url, "interval": "1s"}, "sync": {"path": "./deploy", "interval": "1m"}},
    )
    tenants.ready(name)
    repo = TenantRepo(admin, git_server, tenants, name, name)
    time.sleep(0.1)
    return repo
