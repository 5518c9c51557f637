"""The operator's watch caches (issue 18) cannot be steered by what a tenant labels.

A Tenant's reconcile, its syncs' budget checks and their service-account check
read the objects carrying ``landlord.dev/tenant`` from the watches' index instead
of listing them. Anyone who may write in a namespace may put that label, naming
any tenant: these cases check that such a label adopts, prunes and widens
nothing, for the tenant named or the one whose namespace it is.
"""

from __future__ import annotations

import time
from typing import Any

from landlord import api, kube
from landlord.api import labels
from tests.fixtures.operator import Tenants
from tests.helpers import eventually


def _reconciled(admin: kube.Kube, name: str) -> None:
    """Ask for a reconcile of Tenant ``name`` and wait until it was handled."""
    stamp = f"{time.time():.6f}"
    admin.merge_patch(
        api.API_VERSION, "Tenant", name, {"metadata": {"annotations": {labels.REQUESTED_AT: stamp}}}
    )

    def handled() -> dict[str, Any] | None:
        body = admin.get(api.API_VERSION, "Tenant", name) or {}
        status = body.get("status") or {}
        return body if status.get("lastHandledReconcileAt") == stamp else None

    eventually(handled, timeout=30, what=f"Tenant {name} to handle {stamp}")


def _account(name: str, namespace: str, tenant: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": namespace, "labels": {labels.TENANT: tenant}},
    }


def test_a_label_naming_another_tenant_adopts_and_prunes_nothing(
    admin: kube.Kube, tenants: Tenants
) -> None:
    mallory = tenants.create(tenants.name("mallory"))
    victim = tenants.create(tenants.name("victim"))
    tenants.ready(mallory)
    tenants.ready(victim)
    # Mallory, as whatever her repository runs as, labels an account of hers for the victim.
    as_mallory = admin.as_service_account(mallory, labels.RECONCILER_SERVICE_ACCOUNT)
    as_mallory.create(_account("planted", mallory, victim))

    _reconciled(admin, victim)
    _reconciled(admin, mallory)

    assert admin.get("v1", "ServiceAccount", "planted", mallory) is not None  # nobody pruned it
    body = tenants.ready(victim)
    assert body["status"]["namespaces"] == [victim]  # the victim gained no namespace
    # The victim's own objects are untouched and still its own.
    reconciler = admin.get("v1", "ServiceAccount", labels.RECONCILER_SERVICE_ACCOUNT, victim)
    assert reconciler is not None
    assert reconciler["metadata"]["labels"][labels.TENANT] == victim


def test_an_account_deleted_by_its_tenant_is_made_again_before_any_sync_uses_its_name(
    admin: kube.Kube, tenants: Tenants
) -> None:
    name = tenants.create(tenants.name("careless"))
    tenants.ready(name)
    before = admin.get("v1", "ServiceAccount", labels.RECONCILER_SERVICE_ACCOUNT, name)
    assert before is not None

    admin.delete("v1", "ServiceAccount", labels.RECONCILER_SERVICE_ACCOUNT, name)

    def recreated() -> dict[str, Any] | None:
        found = admin.get("v1", "ServiceAccount", labels.RECONCILER_SERVICE_ACCOUNT, name)
        return found if found and found["metadata"]["uid"] != before["metadata"]["uid"] else None

    # The index saw the deletion: the Tenant was woken and put it back (no stale "exists").
    again = eventually(recreated, timeout=30, what="the reconciler account to be made again")
    assert again["metadata"]["labels"][labels.TENANT] == name
