"""Drill 8 (first part): the policy file broken mid-flight keeps the last good policy.

The operator re-reads its policy folder every 0.3 s (as the tests run it). A
``policy.csv`` that no longer parses is refused with a ``PolicyInvalid`` Event
about the platform namespace naming the file and line, the metric
``landlord_policy_valid`` drops to 0, and syncs go on under the last good
policy; once the file is mended it is in force again.
"""

from __future__ import annotations

import pathlib

from landlord import kube
from landlord.demo import GitServer
from landlord.settings import PLATFORM_NAMESPACE
from tests.faults import harness
from tests.faults.conftest import SMALL, small_tenant
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.helpers import eventually


def _valid(operator: OperatorProcess) -> str | None:
    for line in operator.metrics().splitlines():
        if line.startswith("landlord_policy_valid "):
            return line.split()[1]
    return None


def _policy_events(admin: kube.Kube) -> list[str]:
    """PolicyInvalid Events about the platform namespace (cluster-scoped: kept in default)."""
    return [
        str(event.get("message") or "")
        for event in admin.list_objects("v1", "Event", namespace="default")
        if event.get("reason") == "PolicyInvalid"
        and (event.get("involvedObject") or {}).get("name") == PLATFORM_NAMESPACE
    ]


def test_a_broken_policy_file_keeps_the_last_good_policy_and_says_where(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants, operator: OperatorProcess
) -> None:
    name, _ = small_tenant(git_server, tenants, admin)
    policy = pathlib.Path(operator.policy_dir) / "policy.csv"
    good = policy.read_text()
    lines = len(good.splitlines())
    seen = len(_policy_events(admin))
    try:
        policy.write_text(good + "p, this line, is not\n")
        eventually(lambda: _valid(operator) == "0.0", timeout=30, what="the policy refused")
        said = eventually(
            lambda: _policy_events(admin)[seen:], timeout=30, what="a PolicyInvalid Event"
        )
        assert f"policy.csv:{lines + 1}" in said[-1], said
        assert "stays in force" in said[-1], said
        # Syncs go on under the last good policy.
        revision = harness.Revision.of("r1", range(SMALL // 2))
        sha = git_server.commit(name, revision.files(), message="r1")
        eventually(lambda: harness.ready_at(admin, name, name, sha), timeout=30, what="r1")
        assert harness.problems(admin, name, name, revision) == []
    finally:
        policy.write_text(good)
    eventually(lambda: _valid(operator) == "1.0", timeout=30, what="the mended policy in force")
