"""A tenant whose repository holds a large revision, for the drills."""

from __future__ import annotations

import dataclasses

import pytest

from landlord import kube
from landlord.demo import GitServer
from tests.faults import harness
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.operator import OperatorProcess, Tenants, settle
from tests.helpers import eventually

OBJECTS = 500  # the drills' revision size
SMALL = 20  # objects of the small tenants


@pytest.fixture(autouse=True)
def _quiet(request: pytest.FixtureRequest) -> None:
    """Every drill counts and times the operator: no offboarding left from earlier tests.

    Only for drills that run the session's operator, once it runs (a drill that
    stopped it for an operator of its own leaves its tenants to the next one).
    """
    if "operator" in request.fixturenames:
        request.getfixturevalue("operator")
        settle()


def small_tenant(git: GitServer, tenants: Tenants, admin: kube.Kube) -> tuple[str, str]:
    """A tenant applying ``SMALL`` ConfigMaps (revision ``r0``), once Ready: its name and sha."""
    name = tenants.name("small")
    git.create(name)
    sha = git.commit(name, harness.Revision.of("r0", range(SMALL)).files(), message="r0")
    url = git.url(name).replace("http://", f"http://{USER}:{PASSWORD}@")
    tenants.create(
        name,
        {"source": {"url": url, "interval": "1s"}, "sync": {"path": "./deploy", "interval": "1m"}},
    )
    eventually(lambda: harness.ready_at(admin, name, name, sha), timeout=60, what=f"{name} at r0")
    return name, sha


@dataclasses.dataclass
class DrillTenant:
    """A tenant synced from its own repository; push revisions, wait for them."""

    admin: kube.Kube
    git: GitServer
    operator: OperatorProcess
    name: str
    revision: harness.Revision

    def push(self, revision: harness.Revision) -> str:
        self.revision = revision
        return self.git.commit(self.name, revision.files(), message=f"revision {revision.value}")

    def converged(self, sha: str, timeout: float = 60) -> list[str]:
        """Wait for Ready at ``sha``, then what differs between Git, inventory and cluster."""
        eventually(
            lambda: harness.ready_at(self.admin, self.name, self.name, sha),
            timeout=timeout,
            what=f"{self.name} Ready at {sha[:8]}",
        )
        return harness.problems(self.admin, self.name, self.name, self.revision)

    def restart(self) -> None:
        """Start the operator again after a kill, with the settings it had."""
        self.operator.start(self.operator.env)


@pytest.fixture
def drill_tenant(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants, operator: OperatorProcess
) -> DrillTenant:
    name = tenants.name("drill")
    first = harness.Revision.of("r0", range(OBJECTS))
    git_server.create(name)
    git_server.commit(name, first.files(), message="revision r0")
    url = git_server.url(name).replace("http://", f"http://{USER}:{PASSWORD}@")
    tenants.create(
        name,
        {"source": {"url": url, "interval": "1s"}, "sync": {"path": "./deploy", "interval": "1m"}},
    )
    tenants.ready(name, timeout=60)
    drill = DrillTenant(admin, git_server, operator, name, first)
    eventually(
        lambda: len(harness.owned(admin, name, name)) == OBJECTS,
        timeout=60,
        what=f"{name}'s first {OBJECTS} objects",
    )
    return drill
