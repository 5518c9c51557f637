"""A Kustomization waiting on another tenant's runs as soon as that one is Ready.

Not at its own (backed-off) retry: the dependency's readiness wakes it, and the
wake makes it due, although its spec, revision and policy are those of its
last run. The tenants sync every minute; the test waits at most 45 s.
"""

from __future__ import annotations

from landlord import kube
from landlord.demo import GitServer
from tests.fixtures.operator import BASELINE_POLICY, Tenants
from tests.fixtures.policy import PolicyFiles
from tests.policy.test_gate import _reason, _tenant_with_repo
from tests.sync.test_apply_and_prune import config_map


def test_dependents_run_when_their_dependency_becomes_ready(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants, policy_files: PolicyFiles
) -> None:
    shared = _tenant_with_repo(tenants, git_server, "infra", {"deploy/db.yaml": config_map("db")})
    edge = [{"name": shared, "namespace": shared}]
    waiting = [
        _tenant_with_repo(
            tenants, git_server, prefix, {"deploy/app.yaml": config_map("app")}, dependsOn=edge
        )
        for prefix in ("first", "second", "third")
    ]
    # Denied at first; allowed while the dependency may still be on its way to Ready.
    policy_files.write(
        BASELINE_POLICY
        + "".join(f"p, tenant:{name}, depend, {shared}/*, allow\n" for name in waiting)
    )
    _reason(admin, shared, shared, "ReconciliationSucceeded")
    for name in waiting:
        _reason(admin, name, name, "ReconciliationSucceeded")
        assert admin.get("v1", "ConfigMap", "app", name) is not None
