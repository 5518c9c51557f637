"""A tenant being evicted tries to hold its offboarding up by breaking its own sync.

Once its Tenant is deleted, an owner (``ownerRole: admin`` in its namespaces)
deletes the ``landlord-reconciler`` service account: the Kustomization's
finalizer can no longer prune as the tenant and retries. Offboarding must
take the owners' access first (they cannot act while it runs) and must not
wait on the sync for ever: after ``LANDLORD_TENANTS__OFFBOARDING_DEADLINE``
it deletes the namespaces anyway and says what was left.
"""

from __future__ import annotations

import time

import pytest

from landlord import api, errors, kube
from landlord.api import labels, reasons
from landlord.demo import GitServer
from landlord.kube import events
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.helpers import eventually

DEADLINE = 20.0


def test_deleting_the_reconciler_account_does_not_stop_an_eviction(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants, operator: OperatorProcess
) -> None:
    name = tenants.synced("evict", git_server, owners=[{"kind": "User", "name": "mallory"}])
    owner = admin.impersonate("mallory")

    # The owner acts between the deletion and the operator's first look at it
    # (the operator is stopped meanwhile, so the race always goes the owner's way).
    operator.stop()
    admin.delete(api.API_VERSION, "Tenant", name)
    owner.delete("v1", "ServiceAccount", labels.RECONCILER_SERVICE_ACCOUNT, name)
    deleted = time.monotonic()
    operator.start({"LANDLORD_TENANTS__OFFBOARDING_DEADLINE": str(int(DEADLINE))})

    # First the owners lose their access: from now on they cannot act.
    eventually(
        lambda: (
            admin.get("rbac.authorization.k8s.io/v1", "RoleBinding", labels.OWNERS_BINDING, name)
            is None
        ),
        timeout=20,
        what="the owners' RoleBinding removed first",
    )
    assert tenants.get(name) is not None
    if time.monotonic() - deleted < DEADLINE - 5:
        namespace = admin.get("v1", "Namespace", name) or {}
        assert not namespace["metadata"].get("deletionTimestamp")
        with pytest.raises(errors.ApiError) as refused:
            owner.delete(
                "rbac.authorization.k8s.io/v1", "RoleBinding", labels.RECONCILER_BINDING, name
            )
        assert refused.value.status == 403

    # Then, the deadline passed, the eviction completes.
    eventually(
        lambda: tenants.get(name) is None,
        timeout=DEADLINE + 60,
        what="the Tenant offboarded despite its broken sync",
    )
    assert admin.get("v1", "Namespace", name) is None
    left = [
        event
        for event in events.list_for(admin, "Tenant", name)
        if event["reason"] == reasons.OFFBOARDING_DEADLINE
    ]
    assert left, "no Warning Event says what offboarding left"
    assert left[0]["type"] == "Warning"
    assert f"Kustomization {name}/{name}" in left[0]["message"]
