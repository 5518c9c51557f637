"""The operator's probes: alive always, ready when working or waiting as a standby."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import pytest

from landlord.wiring import health, leadership


class Elector:
    def __init__(self, leading: bool, in_contact: bool = True) -> None:
        self.leading = leading
        self._in_contact = in_contact

    def in_contact(self) -> bool:
        return self._in_contact


@pytest.fixture
def serve() -> Iterator[Callable[[health.Readiness], str]]:
    servers: list[health.HealthServer] = []

    def start(readiness: health.Readiness) -> str:
        server = health.HealthServer("127.0.0.1:0", readiness)
        server.start()
        servers.append(server)
        return f"http://127.0.0.1:{server.port}"

    yield start
    for server in servers:
        server.stop()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_alive_even_while_not_ready(serve: Callable[[health.Readiness], str]) -> None:
    base = serve(lambda: (False, "starting: no policy loaded yet"))
    assert _get(base + "/healthz") == (200, "ok\n")
    assert _get(base + "/readyz") == (503, "starting: no policy loaded yet\n")
    assert _get(base + "/other")[0] == 404


def test_a_failing_readiness_check_is_a_503_with_the_reason(
    serve: Callable[[health.Readiness], str],
) -> None:
    def broken() -> tuple[bool, str]:
        raise RuntimeError("boom")

    status, body = _get(serve(broken) + "/readyz")
    assert status == 503
    assert "boom" in body


def test_a_standby_is_ready_and_the_leader_only_once_the_operator_runs() -> None:
    not_running = lambda: (False, "starting: controllers not started yet")  # noqa: E731
    standby = leadership.readiness(not_running, Elector(False), "landlord-operator")  # type: ignore[arg-type]
    assert standby() == (True, "standby: waiting for lease landlord-operator")
    # A standby that cannot read the Lease (a broken rollout) is not ready.
    cut_off = leadership.readiness(not_running, Elector(False, in_contact=False), "x")  # type: ignore[arg-type]
    assert cut_off() == (False, "standby: cannot read lease x (apiserver, RBAC?)")
    leader = leadership.readiness(not_running, Elector(True), "landlord-operator")  # type: ignore[arg-type]
    assert leader() == (False, "leader: starting: controllers not started yet")
    alone = leadership.readiness(lambda: (True, "ok"), None, "landlord-operator")
    assert alone() == (True, "ok")
