"""Per-namespace drift watches start as Secrets appear and stop when nothing needs them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from landlord.sync.drift import DriftTracker
from landlord.wiring.drift_watches import DriftWatches


class _QuietStream:
    """A watch response that ends after a moment with no event (a quiet watch timing out)."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        time.sleep(0.05)
        yield from ()

    def close(self) -> None:
        pass

    def release_conn(self) -> None:
        pass


class _Resource:
    def __init__(self, seen: list[str | None]) -> None:
        self.seen = seen

    def get(self, *, namespace: str | None, watch: bool = False, **_: Any) -> Any:
        if watch:
            return _QuietStream()
        self.seen.append(namespace)
        return {"items": [], "metadata": {"resourceVersion": "1"}}


class _Kube:
    def __init__(self) -> None:
        self.seen: list[str | None] = []

    def resource(self, api_version: str, kind: str) -> _Resource:
        return _Resource(self.seen)

    def request_options(self) -> dict[str, Any]:
        return {}


def _alive(name: str) -> bool:
    return any(t.name == name and t.is_alive() for t in threading.enumerate())


def _until(check: Any) -> bool:
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_a_namespaces_secret_watch_stops_when_no_kustomization_needs_it() -> None:
    kube = _Kube()
    watches = DriftWatches(kube, DriftTracker(), lambda key: None)  # type: ignore[arg-type]
    a, b = ("v1", "Secret", "team-a", "local"), ("v1", "Secret", "team-b", "local")
    try:
        watches.ensure({a, b, ("v1", "ConfigMap", "", "local")})
        assert _until(lambda: {"team-a", "team-b", None} <= set(kube.seen))  # each where it belongs

        watches.retain({a, ("v1", "ConfigMap", "", "local")})  # team-b's tenant was offboarded

        assert _until(lambda: not _alive("drift-Secret-team-b"))
        assert _alive("drift-Secret-team-a")
        assert _alive("drift-ConfigMap")  # cluster-wide watches stay
        watches.ensure({b})  # and come back when needed
        assert _until(lambda: _alive("drift-Secret-team-b"))
    finally:
        watches.stop()
    assert _until(
        lambda: (
            not any(
                _alive(n) for n in ("drift-Secret-team-a", "drift-Secret-team-b", "drift-ConfigMap")
            )
        )
    )
