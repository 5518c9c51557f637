"""The Tenant's status: what the reconciler observed, as conditions and fields."""

from __future__ import annotations

import dataclasses
from typing import Any

from landlord.api import conditions
from landlord.api.labels import RECONCILER_SERVICE_ACCOUNT
from landlord.runtime.outcome import Outcome


@dataclasses.dataclass(frozen=True)
class Result:
    """A provisioning's outcome and the namespaces it provisioned (``status.namespaces``)."""

    outcome: Outcome
    namespaces: tuple[str, ...] = ()
    # status.clusters: each cluster the tenant is on (None: leave the recorded list as it is)
    clusters: tuple[dict[str, Any], ...] | None = None


def render(
    outcome: Outcome,
    *,
    namespaces: tuple[str, ...],
    generation: int,
    existing: dict[str, Any],
    clusters: tuple[dict[str, Any], ...] | None = None,
) -> dict[str, Any]:
    """The ``status`` to write for ``outcome`` (transition times kept where unchanged).

    ``namespaces``: the tenant's, as provisioned (none when it was not).
    """
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": conditions.of(
            outcome, generation=generation, existing=existing.get("conditions") or []
        ),
        "namespaces": list(namespaces),
    }
    if clusters is not None:
        status["clusters"] = list(clusters)
    elif existing.get("clusters"):
        status["clusters"] = existing["clusters"]
    if namespaces and outcome.ready:
        status["serviceAccount"] = (
            f"system:serviceaccount:{namespaces[0]}:{RECONCILER_SERVICE_ACCOUNT}"
        )
    return status
