"""Turning a feature off removes what it made, for every tenant; turning it on restores it."""

from __future__ import annotations

from landlord import kube
from landlord.api import labels
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.helpers import eventually

SWITCHED = {
    "LANDLORD_FEATURES__NETWORK_ISOLATION": ("networking.k8s.io/v1", "NetworkPolicy"),
    "LANDLORD_FEATURES__QUOTAS": ("v1", "ResourceQuota"),
    "LANDLORD_FEATURES__LIMIT_RANGES": ("v1", "LimitRange"),
}


def _count(admin: kube.Kube, api_version: str, kind: str, tenant: str) -> int:
    return len(admin.list_objects(api_version, kind, label_selector=f"{labels.TENANT}={tenant}"))


def test_features_switch_off_and_back_on(
    admin: kube.Kube, tenants: Tenants, operator: OperatorProcess
) -> None:
    spec = {
        "quota": {"pods": "5"},
        "limitRange": [{"type": "Container", "default": {"cpu": "100m"}}],
    }
    names = [tenants.create(tenants.name("feat"), spec) for _ in range(2)]
    for name in names:
        tenants.ready(name)
        for api_version, kind in SWITCHED.values():
            assert _count(admin, api_version, kind, name) == 1

    operator.start({variable: "false" for variable in SWITCHED})

    for name in names:
        for api_version, kind in SWITCHED.values():
            eventually(
                lambda a=api_version, k=kind, n=name: _count(admin, a, k, n) == 0,
                timeout=60,
                what=f"{kind} of {name} removed",
            )

    operator.start({})

    for name in names:
        for api_version, kind in SWITCHED.values():
            eventually(
                lambda a=api_version, k=kind, n=name: _count(admin, a, k, n) == 1,
                timeout=60,
                what=f"{kind} of {name} restored",
            )
