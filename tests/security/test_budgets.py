"""A tenant tries to take more than its share: objects, objects per revision, disk.

Argo CD's repo-server could be exhausted by one repository with a large file
(CVE-2022-31016, GHSA-jhqp-vf4w-rpwq), and Capsule's per-tenant enforcement,
quotas included, could be shed by a tenant's own ServiceAccount
(CVE-2022-46167, GHSA-x45c-cvp8-q4fm). Every budget here is per tenant and
enforced by the operator, not the tenant: the oldest objects keep working, the
newer ones over it are refused with a condition naming the budget and the
setting, and a neighbour tenant is unaffected.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from landlord import api, kube
from landlord.api import conditions
from landlord.demo import GitServer
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.helpers import eventually
from tests.sync.test_apply_and_prune import config_map

# Creation times have one-second resolution and ties go by name: the extra
# objects' names start with "x" so that they sort after the tenant's own
# (named after the tenant) even when made in the same second.
BUDGETS = {
    "LANDLORD_BUDGETS__GIT_REPOSITORIES": "3",
    "LANDLORD_BUDGETS__KUSTOMIZATIONS": "2",
    "LANDLORD_BUDGETS__OBJECTS_PER_REVISION": "5",
    "LANDLORD_BUDGETS__ARTIFACT_BYTES": str(64 * 1024),
}


@pytest.fixture
def budgeted(
    admin: kube.Kube, operator_process: OperatorProcess
) -> Iterator[tuple[OperatorProcess, Tenants]]:
    """The operator with small budgets (kept across these tests), and Tenants made under it."""
    if operator_process.env != BUDGETS or (
        operator_process.process is None or operator_process.process.poll() is not None
    ):
        operator_process.start(BUDGETS)
    factory = Tenants(admin)
    yield operator_process, factory
    factory.cleanup()


def _url(git: GitServer, repo: str) -> str:
    return git.url(repo).replace("http://", f"http://{USER}:{PASSWORD}@")


def _repo(git: GitServer, name: str, files: dict[str, Any]) -> str:
    git.create(name)
    git.commit(
        name,
        {
            path: body if isinstance(body, str) else yaml.safe_dump(body)
            for path, body in files.items()
        },
        message="init",
    )
    return name


def _tenant(
    tenants: Tenants, git: GitServer, prefix: str, files: dict[str, Any] | None = None
) -> str:
    """A Ready tenant whose own repository deploys one ConfigMap (one source, one sync)."""
    name = tenants.name(prefix)
    _repo(git, name, {"deploy/own.yaml": config_map("own"), **(files or {})})
    tenants.create(
        name,
        {
            "source": {"url": _url(git, name), "interval": "2s"},  # sees pushes at once
            "sync": {"path": "./deploy", "interval": "1m"},
        },
    )
    tenants.ready(name, timeout=60)
    return name


def _source(admin: kube.Kube, namespace: str, name: str, repo: str, git: GitServer) -> None:
    admin.create(
        {
            "apiVersion": api.API_VERSION,
            "kind": "GitRepository",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"url": _url(git, repo), "interval": "1m"},
        }
    )


def _sync(admin: kube.Kube, namespace: str, name: str, source: str, path: str) -> None:
    admin.create(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "sourceRef": {"kind": "GitRepository", "name": source},
                "path": path,
                "interval": "1m",
                "retryInterval": "1s",
            },
        }
    )


def _ready(admin: kube.Kube, kind: str, namespace: str, name: str) -> dict[str, Any]:
    body = admin.get(api.API_VERSION, kind, name, namespace) or {}
    return conditions.get((body.get("status") or {}).get("conditions") or [], "Ready") or {}


def _reason(admin: kube.Kube, kind: str, namespace: str, name: str, reason: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        ready = _ready(admin, kind, namespace, name)
        return ready if ready.get("reason") == reason else None

    try:
        return eventually(check, timeout=60, what=f"{kind} {namespace}/{name} {reason}")
    except AssertionError as error:
        raise AssertionError(f"{error}; Ready is {_ready(admin, kind, namespace, name)}") from None


def _warned(admin: kube.Kube, namespace: str, name: str) -> list[dict[str, Any]]:
    return [
        e
        for e in admin.list_objects("v1", "Event", namespace=namespace)
        if e["involvedObject"].get("name") == name
        and e.get("reason") == "BudgetExceeded"
        and e.get("type") == "Warning"
    ]


def test_git_repositories_beyond_the_budget_fetch_nothing(
    admin: kube.Kube, git_server: GitServer, budgeted: tuple[OperatorProcess, Tenants]
) -> None:
    _, tenants = budgeted
    greedy, neighbour = _tenant(tenants, git_server, "greedy"), _tenant(tenants, git_server, "calm")
    repos = {
        f"x{i}": _repo(git_server, f"{greedy}-x{i}", {"deploy/cm.yaml": config_map(f"x{i}")})
        for i in (1, 2, 3)
    }
    for name, repo in repos.items():  # with the tenant's own: 4 sources, the budget is 3
        _source(admin, greedy, name, repo, git_server)
    _source(
        admin,
        neighbour,
        "x1",
        _repo(git_server, f"{neighbour}-x1", {"a.txt": "a"}),
        git_server,
    )

    refused = _reason(admin, "GitRepository", greedy, "x3", "BudgetExceeded")

    assert f"GitRepository {greedy}/x3 is number 4 (oldest first)" in refused["message"]
    assert "the budget is 3 per tenant (LANDLORD_BUDGETS__GIT_REPOSITORIES)" in refused["message"]
    assert "nothing was fetched" in refused["message"]
    for what in ("info-refs", "ls-refs", "fetch"):
        assert git_server.requests(repos["x3"], what) == 0
    body = admin.get(api.API_VERSION, "GitRepository", "x3", greedy) or {}
    assert not (body.get("status") or {}).get("artifact")
    assert _warned(admin, greedy, "x3")
    for name in ("x1", "x2"):  # the oldest keep working
        _reason(admin, "GitRepository", greedy, name, "Succeeded")
    _reason(admin, "GitRepository", neighbour, "x1", "Succeeded")


def test_kustomizations_beyond_the_budget_apply_nothing(
    admin: kube.Kube, git_server: GitServer, budgeted: tuple[OperatorProcess, Tenants]
) -> None:
    _, tenants = budgeted
    paths = {"one/cm.yaml": config_map("one"), "two/cm.yaml": config_map("two")}
    greedy = _tenant(tenants, git_server, "greedy", paths)
    neighbour = _tenant(tenants, git_server, "calm", paths)
    # With the tenant's own: 3 Kustomizations for greedy (the budget is 2), 2 for the neighbour.
    _sync(admin, greedy, "x1", greedy, "./one")
    _sync(admin, greedy, "x2", greedy, "./two")
    _sync(admin, neighbour, "x1", neighbour, "./one")

    refused = _reason(admin, "Kustomization", greedy, "x2", "BudgetExceeded")

    assert f"Kustomization {greedy}/x2 is number 3 (oldest first)" in refused["message"]
    assert "(LANDLORD_BUDGETS__KUSTOMIZATIONS)" in refused["message"]
    assert _warned(admin, greedy, "x2")
    _reason(admin, "Kustomization", greedy, "x1", "ReconciliationSucceeded")
    assert admin.get("v1", "ConfigMap", "one", greedy) is not None
    assert admin.get("v1", "ConfigMap", "two", greedy) is None
    _reason(admin, "Kustomization", neighbour, "x1", "ReconciliationSucceeded")
    assert admin.get("v1", "ConfigMap", "one", neighbour) is not None


def test_a_revision_with_too_many_objects_applies_none_of_them(
    admin: kube.Kube, git_server: GitServer, budgeted: tuple[OperatorProcess, Tenants]
) -> None:
    _, tenants = budgeted
    greedy, neighbour = _tenant(tenants, git_server, "greedy"), _tenant(tenants, git_server, "calm")
    many = {f"deploy/cm-{i}.yaml": yaml.safe_dump(config_map(f"cm-{i}")) for i in range(6)}
    sha = git_server.commit(greedy, {**many, "deploy/own.yaml": None}, message="six objects")
    git_server.commit(
        neighbour, {f"deploy/cm-{i}.yaml": many[f"deploy/cm-{i}.yaml"] for i in range(4)}
    )

    def refused() -> dict[str, Any] | None:
        body = admin.get(api.API_VERSION, "Kustomization", greedy, greedy) or {}
        status = body.get("status") or {}
        ready = conditions.get(status.get("conditions") or [], "Ready") or {}
        at = status.get("lastAttemptedRevision") == f"main@sha1:{sha}"
        return ready if at and ready.get("reason") == "BudgetExceeded" else None

    ready = eventually(refused, timeout=60, what=f"{greedy} BudgetExceeded at {sha[:8]}")

    assert "the revision has 6 objects" in ready["message"]
    assert "(LANDLORD_BUDGETS__OBJECTS_PER_REVISION): nothing was applied" in ready["message"]
    assert all(admin.get("v1", "ConfigMap", f"cm-{i}", greedy) is None for i in range(6))
    assert _warned(admin, greedy, greedy)
    eventually(  # 4 + its own = 5 objects: within the budget
        lambda: all(admin.get("v1", "ConfigMap", f"cm-{i}", neighbour) for i in range(4)),
        timeout=60,
        what=f"{neighbour} applied its 5 objects",
    )


def test_artifacts_beyond_the_byte_budget_are_not_used(
    admin: kube.Kube, git_server: GitServer, budgeted: tuple[OperatorProcess, Tenants]
) -> None:
    _, tenants = budgeted
    greedy, neighbour = _tenant(tenants, git_server, "greedy"), _tenant(tenants, git_server, "calm")
    big = _repo(
        git_server,
        f"{greedy}-big",
        {"deploy/cm.yaml": config_map("big"), "blob.txt": "x" * (100 * 1024)},
    )
    _source(admin, greedy, "x-big", big, git_server)
    _sync(admin, greedy, "x-uses-big", "x-big", "./deploy")

    refused = _reason(admin, "GitRepository", greedy, "x-big", "BudgetExceeded")

    assert "this artifact takes" in refused["message"]
    assert (
        "the budget is 65536 bytes per tenant (LANDLORD_BUDGETS__ARTIFACT_BYTES)"
        in refused["message"]
    )
    body = admin.get(api.API_VERSION, "GitRepository", "x-big", greedy) or {}
    assert not (body.get("status") or {}).get("artifact")
    assert _warned(admin, greedy, "x-big")
    assert admin.get("v1", "ConfigMap", "big", greedy) is None

    # A newer source of the same tenant: no room is left, so it fetches nothing.
    late = _repo(git_server, f"{greedy}-late", {"a.txt": "a"})
    _source(admin, greedy, "x-late", late, git_server)
    blocked = _reason(admin, "GitRepository", greedy, "x-late", "BudgetExceeded")
    assert "the older sources of" in blocked["message"]
    assert git_server.requests(late, "fetch") == 0

    # The neighbour stores 40 KiB: within its own budget, whatever the greedy one holds.
    roomy = _repo(git_server, f"{neighbour}-roomy", {"blob.txt": "y" * (40 * 1024)})
    _source(admin, neighbour, "x-roomy", roomy, git_server)
    _reason(admin, "GitRepository", neighbour, "x-roomy", "Succeeded")
    _reason(admin, "GitRepository", greedy, greedy, "Succeeded")
