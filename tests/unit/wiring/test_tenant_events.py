"""A Tenant's own status writes do not wake it; every other change does."""

from __future__ import annotations

from typing import Any

from landlord.runtime import controller
from landlord.wiring import composition


class _Router:
    def owns_tenant(self, labels: Any) -> bool:
        return "elsewhere" not in (labels or {})


class _Queue:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def enqueue(self, key: str, delay: float = 0.0) -> None:
        self.keys.append(key)


def _operator() -> tuple[composition.Operator, _Queue]:
    operator = object.__new__(composition.Operator)
    queue = _Queue()
    operator._tenant_here = {}
    operator._tenant_seen = {}
    operator.router = _Router()  # type: ignore[assignment]
    operator.changes = controller.Changes(full_every=3600)
    operator.tenant_controller = queue  # type: ignore[assignment]
    return operator, queue


def test_an_event_that_changes_nothing_but_status_is_not_a_change() -> None:
    operator, queue = _operator()

    operator.tenant_changed("a", labels={}, fingerprint="spec-1")
    operator.tenant_changed("a", labels={}, fingerprint="spec-1")  # its status written

    assert queue.keys == ["a"]
    operator.tenant_changed("a", labels={}, fingerprint="spec-2")  # spec, labels, annotations…
    assert queue.keys == ["a", "a"]


def test_owned_objects_and_deletions_always_wake_it() -> None:
    operator, queue = _operator()
    operator.tenant_changed("a", labels={}, fingerprint="spec-1")

    operator.owned_changed("a")  # something it owns changed: no fingerprint
    operator.tenant_changed("a", labels={}, deleted=True)
    operator.tenant_changed("a", labels={}, fingerprint="spec-1")  # seen again after deletion

    assert queue.keys == ["a", "a", "a", "a"]


def test_a_tenant_that_comes_back_from_another_shard_is_a_change() -> None:
    operator, queue = _operator()
    operator.tenant_changed("a", labels={}, fingerprint="spec-1")

    operator.tenant_changed("a", labels={"elsewhere": "blue"}, fingerprint="spec-1")
    operator.tenant_changed("a", labels={}, fingerprint="spec-1")  # unlabelled again

    assert queue.keys == ["a", "a"]
