"""Starting components one by one, and the checks that say each is ready."""

from __future__ import annotations

import json
import time
import urllib.error
from collections.abc import Callable, Sequence

from landlord import errors
from landlord.cluster import apiclient, components, nodes, processes

# A status line: (component, message).
StepFn = Callable[[str, str], None]


class Starter:
    """Starts components one by one, failing fast with the component's own log."""

    def __init__(self, layout: components.Layout, deadline: float, step: StepFn) -> None:
        self.layout = layout
        self.deadline = deadline
        self.step = step
        self.records: list[processes.Record] = []
        self.timings: dict[str, float] = {}

    def start(self, name: str, argv: Sequence[str], *, program: str = "") -> processes.Record:
        self.step(name, "starting")
        log = self.layout.logs / f"{name.replace('/', '-')}.log"
        record = processes.start(name, argv, log, program=program)
        self.records.append(record)
        return record

    def wait(self, record: processes.Record, what: str, check: Callable[[], bool]) -> None:
        began = time.monotonic()
        while True:
            if not processes.alive(record):
                self._died(record)
            try:
                if check():
                    break
            except (OSError, urllib.error.URLError, ValueError):
                pass  # not listening yet
            if time.monotonic() > self.deadline:
                raise errors.ComponentFailedError(
                    f"{record.name} did not become ready ({what}) in time",
                    hint=f"see its log: {record.log}",
                    log_tail=processes.tail(record.log),
                )
            time.sleep(0.1)
        self.timings[record.name] = round(time.monotonic() - began, 2)
        self.step(record.name, f"ready ({what}) in {self.timings[record.name]:.1f}s")

    def _died(self, record: processes.Record) -> None:
        log_tail = processes.tail(record.log)
        if "address already in use" in log_tail.lower():
            raise errors.PortInUseError(
                f"{record.name} could not bind its port (address already in use)",
                hint="another process took the port; retrying with new ports",
                delay=0.0,
            )
        raise errors.ComponentFailedError(
            f"{record.name} exited during start-up",
            hint=f"full log: {record.log}",
            log_tail=log_tail,
        )

    def stop_all(self) -> None:
        for record in reversed(self.records):
            processes.stop(record)


def ready_text(client: apiclient.ApiClient, path: str, expected: bytes) -> bool:
    status, body = client.request("GET", path, timeout=2.0)
    return status == 200 and body.strip() == expected


def etcd_healthy(port: int) -> bool:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
        return bool(json.loads(resp.read()).get("health") == "true")


def controllers_running(client: apiclient.ApiClient) -> bool:
    account = client.get_json("/api/v1/namespaces/default/serviceaccounts/default")
    admin = client.get_json("/apis/rbac.authorization.k8s.io/v1/clusterroles/admin")
    return account is not None and bool(admin and admin.get("rules"))


def nodes_ready(client: apiclient.ApiClient, count: int) -> bool:
    ready = 0
    for index in range(count):
        node = client.get_json(f"/api/v1/nodes/{nodes.name(index)}")
        ready += bool(node and nodes.is_ready(node))
    return ready == count


def create_nodes(client: apiclient.ApiClient, count: int) -> None:
    for index in range(count):
        status, body = client.request("POST", "/api/v1/nodes", nodes.manifest(nodes.name(index)))
        if status not in (201, 409):
            raise errors.ComponentFailedError(
                f"creating node {nodes.name(index)} failed: HTTP {status} {body[:300]!r}"
            )
