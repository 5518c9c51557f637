"""Ready at generation: Ready True, and the status speaks of the current spec."""

from __future__ import annotations

from typing import Any

from landlord.api import conditions


def _body(generation: int, observed: int, ready: str) -> dict[str, Any]:
    return {
        "metadata": {"generation": generation},
        "status": {
            "observedGeneration": observed,
            "conditions": [{"type": "Ready", "status": ready}],
        },
    }


def test_ready_only_for_the_current_generation() -> None:
    assert conditions.ready_at_generation(_body(3, 3, "True"))
    assert not conditions.ready_at_generation(_body(4, 3, "True"))
    assert not conditions.ready_at_generation(_body(3, 3, "False"))
    assert not conditions.ready_at_generation({"metadata": {"generation": 1}})
