"""An onboarding request's lead time is observed once, and the memory of that is bounded."""

from __future__ import annotations

from typing import Any, cast

from landlord import telemetry
from landlord.api import labels
from landlord.kube import Kube
from landlord.tenants import reconciler
from landlord.tenants.features import Features


class _Histogram:
    def __init__(self) -> None:
        self.observed: list[float] = []

    def labels(self, **_: str) -> _Histogram:
        return self

    def observe(self, value: float) -> None:
        self.observed.append(value)


class _Metrics:
    def __init__(self) -> None:
        self.onboarding_lead_time_seconds = _Histogram()


def _annotations(request: str) -> dict[str, str]:
    return {labels.REQUEST_TIME: "2026-01-01T00:00:00+00:00", labels.REQUEST_ID: request}


def test_each_request_counts_once_and_old_ones_are_forgotten() -> None:
    metrics = _Metrics()
    tenants = reconciler.TenantReconciler(
        cast(Kube, object()),
        features=Features(),
        platform_namespace="landlord-system",
        metrics=cast(telemetry.Metrics, metrics),
    )
    observed: Any = metrics.onboarding_lead_time_seconds.observed

    tenants._lead_time(_annotations("first"))
    tenants._lead_time(_annotations("first"))
    assert len(observed) == 1

    for index in range(reconciler.LEAD_TIMES_REMEMBERED):
        tenants._lead_time(_annotations(f"other-{index}"))
    assert len(observed) == 1 + reconciler.LEAD_TIMES_REMEMBERED
    assert len(tenants._lead_times_seen) == reconciler.LEAD_TIMES_REMEMBERED
