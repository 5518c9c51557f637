"""Starvation: a tenant cannot take the operator's workers or time from the others.

Flux's CVE-2022-39272 class (a tenant-set ``interval`` of ``1ms`` or an absurd
``timeout`` on its own objects), and the waits that would keep a worker busy:
health checks that never pass, Git servers that accept and never answer. Every
duration a tenant sets is held to the platform's bounds (the test operator's
minimum interval is 1 s, its maximum timeout the shipped 10 m), and a health wait
is a deadline in status plus short requeues, not a sleeping worker.
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from landlord import api, errors, kube
from landlord.api import conditions
from landlord.demo import GitServer
from landlord.gitops import durations
from landlord.runtime import workqueue
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.operator import Tenants
from tests.helpers import eventually
from tests.security.conftest import TenantRepo

# Counted and timed: no offboarding left over from earlier tests.
pytestmark = pytest.mark.usefixtures("settled")

NEVER = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "never-there"}]


def _config_map(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "b"}}


def _create(admin: kube.Kube, kind: str, namespace: str, name: str, spec: dict[str, Any]) -> None:
    admin.create(
        {
            "apiVersion": api.API_VERSION,
            "kind": kind,
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
    )


def _status(admin: kube.Kube, kind: str, namespace: str, name: str) -> dict[str, Any]:
    return (admin.get(api.API_VERSION, kind, name, namespace) or {}).get("status") or {}


def _ready(admin: kube.Kube, kind: str, namespace: str, name: str) -> dict[str, Any]:
    found = conditions.get(_status(admin, kind, namespace, name).get("conditions") or [], "Ready")
    return found or {}


def _refused(admin: kube.Kube, kind: str, namespace: str, name: str) -> dict[str, Any]:
    ready = eventually(
        lambda: (
            (r := _ready(admin, kind, namespace, name)).get("reason") == "InvalidDuration" and r
        ),
        timeout=30,
        what=f"{kind} {namespace}/{name} refused with InvalidDuration",
    )
    assert ready["status"] == "False"
    status = _status(admin, kind, namespace, name)
    assert conditions.is_true(status["conditions"], "Stalled")
    return dict(ready)


def _warned(admin: kube.Kube, namespace: str, name: str, reason: str) -> list[dict[str, Any]]:
    def found() -> list[dict[str, Any]]:
        return [
            e
            for e in admin.list_objects("v1", "Event", namespace=namespace)
            if e.get("reason") == reason and (e.get("involvedObject") or {}).get("name") == name
        ]

    return eventually(found, timeout=15, what=f"a {reason} Event for {namespace}/{name}")


def _waiting_for_health(admin: kube.Kube, namespace: str, name: str) -> bool:
    """Ready and Healthy Unknown (Progressing), with a deadline still ahead in status."""
    status = _status(admin, "Kustomization", namespace, name)
    found = status.get("conditions") or []
    ready = conditions.get(found, "Ready") or {}
    healthy = conditions.get(found, "Healthy") or {}
    return (
        (ready.get("status"), ready.get("reason")) == ("Unknown", "Progressing")
        and (healthy.get("status"), healthy.get("reason")) == ("Unknown", "Progressing")
        and bool(status.get("healthCheckDeadline"))
        and "never-there" in healthy.get("message", "")
    )


def _taken(admin: kube.Kube, keys: list[tuple[str, str]], at_least: int) -> None:
    """Wait until the operator has picked up ``at_least`` of these Kustomizations."""

    def picked() -> bool:
        taken = [
            key
            for key in keys
            if "landlord.dev/finalizer"
            in (
                (admin.get(api.API_VERSION, "Kustomization", key[1], key[0]) or {}).get("metadata")
                or {}
            ).get("finalizers", [])
        ]
        return len(taken) >= at_least

    eventually(picked, timeout=30, what=f"{at_least} of {len(keys)} syncs picked up")


def _hostile_tenant(tenants: Tenants, git_server: GitServer, *, spread: int = 2) -> list[str]:
    """A Tenant with ``spread`` namespaces: one fairness group each, if grouped by namespace."""
    name = tenants.name("noisy")
    git_server.create(name)
    git_server.commit(name, {"deploy/.keep": ""}, message="empty")
    url = git_server.url(name).replace("http://", f"http://{USER}:{PASSWORD}@")
    namespaces = [f"{name}-{i}" for i in range(spread)]
    tenants.create(
        name,
        {
            "namespaces": namespaces,
            "source": {"url": url, "interval": "1h"},
            "sync": {"path": "./deploy", "interval": "1h"},
        },
    )
    tenants.ready(name)
    for namespace in namespaces[1:]:
        _create(
            admin=tenants.admin,
            kind="GitRepository",
            namespace=namespace,
            name=name,
            spec={"url": url, "interval": "1h"},
        )
    return [name, *namespaces]


# -- durations out of the platform's bounds --------------------------------------


@pytest.mark.parametrize(
    ("field", "value"), [("interval", "1ms"), ("interval", "0s"), ("retryInterval", "0s")]
)
def test_a_sync_interval_below_the_minimum_is_refused_and_nothing_is_applied(
    admin: kube.Kube, tenant_repo: TenantRepo, field: str, value: str
) -> None:
    sha = tenant_repo.push({"fast/cm.yaml": _config_map("busy-loop")})
    tenant_repo.ready_at(sha)

    _create(
        admin,
        "Kustomization",
        tenant_repo.name,
        "fast",
        {
            "sourceRef": {"kind": "GitRepository", "name": tenant_repo.name},
            "path": "./fast",
            field: value,
        },
    )

    ready = _refused(admin, "Kustomization", tenant_repo.name, "fast")
    assert f"spec.{field} '{value}'" in ready["message"]
    assert "between 1s and 24h" in ready["message"]
    assert tenant_repo.get("ConfigMap", "busy-loop") is None
    status = _status(admin, "Kustomization", tenant_repo.name, "fast")
    assert not status.get("inventory")
    assert not status.get("lastAppliedRevision")
    assert (
        "spec." + field in _warned(admin, tenant_repo.name, "fast", "InvalidDuration")[0]["message"]
    )


def test_a_source_polling_every_millisecond_is_refused_before_any_git_request(
    admin: kube.Kube, git_server: GitServer, namespace: str
) -> None:
    git_server.create(f"{namespace}-busy")
    git_server.commit(f"{namespace}-busy", {"deploy/cm.yaml": "kind: ConfigMap\n"})

    _create(
        admin,
        "GitRepository",
        namespace,
        "busy",
        {"url": git_server.url(f"{namespace}-busy"), "interval": "1ms"},
    )

    ready = _refused(admin, "GitRepository", namespace, "busy")
    assert "spec.interval '1ms'" in ready["message"]
    assert "between 1s and 24h" in ready["message"]
    assert git_server.requests(f"{namespace}-busy", "request") == 0
    assert not _status(admin, "GitRepository", namespace, "busy").get("artifact")


def test_a_tenant_spec_interval_of_zero_reaches_no_git_server(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants
) -> None:
    name = tenants.name("zero")
    git_server.create(name)
    git_server.commit(name, {"deploy/.keep": ""})
    tenants.create(
        name,
        {
            "source": {"url": git_server.url(name), "interval": "0s"},
            "sync": {"path": "./deploy", "interval": "1m"},
        },
    )

    ready = _refused(admin, "GitRepository", name, name)
    assert "spec.interval '0s'" in ready["message"]
    assert git_server.requests(name, "request") == 0


@pytest.mark.parametrize("kind", ["Kustomization", "GitRepository"])
def test_a_ten_thousand_hour_timeout_is_refused(
    admin: kube.Kube, tenant_repo: TenantRepo, kind: str
) -> None:
    spec: dict[str, Any] = (
        {
            "sourceRef": {"kind": "GitRepository", "name": tenant_repo.name},
            "path": "./deploy",
            "healthChecks": NEVER,
        }
        if kind == "Kustomization"
        else {"url": tenant_repo.git.url(tenant_repo.repo), "interval": "1m"}
    )

    _create(admin, kind, tenant_repo.name, "forever", {**spec, "timeout": "10000h"})

    ready = _refused(admin, kind, tenant_repo.name, "forever")
    assert "spec.timeout '10000h'" in ready["message"]
    assert "between 1s and 10m" in ready["message"]


def test_a_duration_too_long_to_be_one_is_refused_by_the_apiserver(
    admin: kube.Kube, namespace: str
) -> None:
    with pytest.raises(errors.ApiError) as refused:
        _create(
            admin,
            "GitRepository",
            namespace,
            "huge",
            {"url": "https://example.com/x.git", "interval": "9" * 400 + "h"},
        )

    assert refused.value.invalid
    assert "spec.interval" in refused.value.message


def test_a_huge_failure_count_does_not_overflow_the_backoff() -> None:
    # ``retry * 2 ** (failures - 1)`` as a float raises OverflowError from about 1025 on.
    assert durations.backoff(30.0, 10_000, 600.0) == 600.0
    assert durations.backoff(30.0, 10**12, 600.0) == 600.0
    queue: workqueue.WorkQueue[str] = workqueue.WorkQueue(base_delay=0.5, max_delay=300.0)
    queue._failures["ns/broken"] = 10_000  # a key that has raised for weeks

    assert math.isfinite(queue.retry("ns/broken"))


# -- waits that would hold a worker ---------------------------------------------


def test_a_health_wait_does_not_sleep_in_the_worker(
    admin: kube.Kube, tenant_repo: TenantRepo
) -> None:
    """Three waits in one namespace (more than its two workers), and its fourth sync runs."""
    sha = tenant_repo.push({"plain/cm.yaml": _config_map("plain")})
    tenant_repo.ready_at(sha)
    source = {"kind": "GitRepository", "name": tenant_repo.name}
    waiting = [f"wait-{i}" for i in range(3)]
    for name in waiting:
        _create(
            admin,
            "Kustomization",
            tenant_repo.name,
            name,
            {"sourceRef": source, "path": "./deploy", "healthChecks": NEVER, "timeout": "10m"},
        )
    _taken(admin, [(tenant_repo.name, n) for n in waiting], at_least=2)

    _create(
        admin, "Kustomization", tenant_repo.name, "plain", {"sourceRef": source, "path": "./plain"}
    )

    eventually(
        lambda: _ready(admin, "Kustomization", tenant_repo.name, "plain").get("status") == "True",
        timeout=30,
        what="the namespace's other sync Ready",
    )
    assert tenant_repo.get("ConfigMap", "plain") is not None
    # ...while the waits are in progress: each reconcile returned, the deadline is in status.
    still = eventually(
        lambda: all(_waiting_for_health(admin, tenant_repo.name, n) for n in waiting),
        timeout=15,
        what="every health wait recorded in status",
    )
    assert still


def test_a_health_wait_ends_at_its_deadline_naming_what_is_unhealthy(
    admin: kube.Kube, tenant_repo: TenantRepo
) -> None:
    source = {"kind": "GitRepository", "name": tenant_repo.name}
    _create(
        admin,
        "Kustomization",
        tenant_repo.name,
        "short",
        {"sourceRef": source, "path": "./deploy", "healthChecks": NEVER, "timeout": "2s"},
    )

    ready = eventually(
        lambda: (
            (r := _ready(admin, "Kustomization", tenant_repo.name, "short")).get("reason")
            == "HealthCheckFailed"
            and r
        ),
        timeout=30,
        what="HealthCheckFailed after the deadline",
    )

    assert ready["status"] == "False"
    assert "Deployment" in ready["message"]
    assert "never-there: not found" in ready["message"]
    status = _status(admin, "Kustomization", tenant_repo.name, "short")
    healthy = conditions.get(status["conditions"], "Healthy") or {}
    assert (healthy.get("status"), healthy.get("reason")) == ("False", "HealthCheckFailed")
    assert not status.get("healthCheckDeadline")


def test_syncs_whose_health_never_comes_do_not_delay_a_neighbours_push(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants, tenant_repo: TenantRepo
) -> None:
    name, *namespaces = _hostile_tenant(tenants, git_server)
    waiting = [(ns, f"wait-{i}") for ns in namespaces for i in range(4)]
    for ns, ks in waiting:
        _create(
            admin,
            "Kustomization",
            ns,
            ks,
            {
                "sourceRef": {"kind": "GitRepository", "name": name},
                "path": "./deploy",
                "healthChecks": NEVER,
                "timeout": "10m",
            },
        )
    _taken(admin, waiting, at_least=4)  # as many as there are workers

    sha = tenant_repo.push({"deploy/cm.yaml": _config_map("neighbour")})

    tenant_repo.ready_at(sha)
    assert tenant_repo.get("ConfigMap", "neighbour") is not None
    eventually(
        lambda: all(_waiting_for_health(admin, ns, ks) for ns, ks in waiting),
        timeout=30,
        what="the noisy tenant's health waits still in progress",
    )


class _Silent:
    """A loopback TCP server that accepts every connection and never says a word."""

    def __init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="silent", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = self.listener.accept()
                self.accepted.append(connection)  # held open, never read, never answered

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept
        self.listener.close()
        self._thread.join(5)
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def silent() -> Iterator[_Silent]:
    server = _Silent()
    yield server
    server.close()


def test_sources_at_a_server_that_never_answers_do_not_block_a_neighbours_sync(
    admin: kube.Kube,
    git_server: GitServer,
    tenants: Tenants,
    tenant_repo: TenantRepo,
    silent: _Silent,
) -> None:
    """Three hanging sources in each of two namespaces of one tenant, at the maximum timeout."""
    _, *namespaces = _hostile_tenant(tenants, git_server)
    hanging = [(ns, f"hang-{i}") for ns in namespaces for i in range(3)]
    for ns, source in hanging:
        _create(
            admin,
            "GitRepository",
            ns,
            source,
            {
                "url": f"http://127.0.0.1:{silent.port}/{source}.git",
                "interval": "1s",
                "timeout": "10m",
            },
        )
    eventually(lambda: len(silent.accepted) >= 2, timeout=30, what="sources stuck on the server")

    sha = tenant_repo.push({"deploy/cm.yaml": _config_map("neighbour")})

    tenant_repo.ready_at(sha)
    assert tenant_repo.get("ConfigMap", "neighbour") is not None
    for ns, source in hanging:  # still stuck: nothing was answered, nothing was stored
        assert not _status(admin, "GitRepository", ns, source).get("artifact")
