"""Handled: the status speaks of the current spec and of the last requested reconcile."""

from __future__ import annotations

from typing import Any

from landlord.api import conditions, labels


def _body(
    generation: int, observed: int | None, requested: str | None, handled: str | None
) -> dict[str, Any]:
    annotations = {labels.REQUESTED_AT: requested} if requested else {}
    status: dict[str, Any] = {} if observed is None else {"observedGeneration": observed}
    if handled:
        status["lastHandledReconcileAt"] = handled
    return {"metadata": {"generation": generation, "annotations": annotations}, "status": status}


def test_handled_needs_the_current_generation_and_the_last_request() -> None:
    assert conditions.handled(_body(3, 3, None, None))
    assert conditions.handled(_body(3, 3, "t1", "t1"))
    assert not conditions.handled(_body(4, 3, None, None))  # a newer spec
    assert not conditions.handled(_body(3, 3, "t2", "t1"))  # a newer request
    assert not conditions.handled(_body(3, 3, "t1", None))
    assert not conditions.handled(_body(1, None, None, None))  # never reconciled
    assert not conditions.handled({"metadata": {"generation": 1}})


def test_ready_at_generation_is_handled_generation_and_ready() -> None:
    body = _body(3, 3, "t2", "t1")
    body["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    assert conditions.ready_at_generation(body)  # a pending request does not unready it
    assert not conditions.handled(body)
