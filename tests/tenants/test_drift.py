"""What RBAC cannot stop, the operator undoes within seconds."""

from __future__ import annotations

import re
import time

import pytest

from landlord import kube
from landlord.kube import events
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.helpers import eventually


@pytest.mark.parametrize(
    ("api_version", "kind", "name"),
    [
        ("rbac.authorization.k8s.io/v1", "RoleBinding", "landlord-reconciler"),
        ("networking.k8s.io/v1", "NetworkPolicy", "landlord-isolation"),
        ("v1", "ServiceAccount", "landlord-reconciler"),
        ("v1", "ResourceQuota", "landlord-quota"),
    ],
)
def test_a_deleted_object_comes_back(
    admin: kube.Kube, tenants: Tenants, api_version: str, kind: str, name: str
) -> None:
    tenant = tenants.create(tenants.name("drift"), {"quota": {"pods": "3"}})
    tenants.ready(tenant)
    before = admin.get(api_version, kind, name, tenant)
    assert before is not None

    began = time.monotonic()
    admin.delete(api_version, kind, name, tenant)
    restored = eventually(
        lambda: (
            (found := admin.get(api_version, kind, name, tenant)) is not None
            and found["metadata"]["uid"] != before["metadata"]["uid"]
            and found
        ),
        timeout=30,
        what=f"{kind} {name} to be restored",
    )
    print(f"{kind} restored in {time.monotonic() - began:.2f}s")

    assert restored["metadata"]["labels"]["landlord.dev/tenant"] == tenant


def test_a_hand_edit_is_reverted(admin: kube.Kube, tenants: Tenants) -> None:
    tenant = tenants.create(tenants.name("edit"), {"quota": {"pods": "3"}})
    tenants.ready(tenant)

    admin.merge_patch(
        "v1", "ResourceQuota", "landlord-quota", {"spec": {"hard": {"pods": "99"}}}, tenant
    )

    eventually(
        lambda: (
            (admin.get("v1", "ResourceQuota", "landlord-quota", tenant) or {})
            .get("spec", {})
            .get("hard")
            == {"pods": "3"}
        ),
        timeout=30,
        what="the quota to be reverted",
    )


def test_repairs_are_counted_and_recorded_as_events(
    admin: kube.Kube, tenants: Tenants, operator: OperatorProcess
) -> None:
    tenant = tenants.create(tenants.name("audit"))
    tenants.ready(tenant)

    admin.delete("rbac.authorization.k8s.io/v1", "RoleBinding", "landlord-reconciler", tenant)

    def repaired() -> list[dict[str, object]]:
        return [
            e for e in events.list_for(admin, "Tenant", tenant) if e["reason"] == "DriftRepaired"
        ]

    (event,) = eventually(repaired, timeout=30, what="a DriftRepaired event")
    assert f"RoleBinding {tenant}/landlord-reconciler" in str(event["message"])
    reasons = [e["reason"] for e in events.list_for(admin, "Tenant", tenant)]
    assert "Provisioned" in reasons
    exposition = operator.metrics()
    assert re.search(r'landlord_tenant_drift_repairs_total\{kind="RoleBinding"\} [1-9]', exposition)
    assert re.search(r'landlord_tenants\{ready="True"\} [1-9]', exposition)
    assert "landlord_tenant_reconcile_seconds_count" in exposition
