"""The Tenant model: defaults from DESIGN.md and clear errors for bad specs."""

from __future__ import annotations

import pydantic
import pytest

from landlord.api.tenant import Tenant, taken_namespaces


def test_defaults() -> None:
    tenant = Tenant.from_object({"metadata": {"name": "team-a"}})

    assert tenant.namespaces == ("team-a",)
    assert tenant.home_namespace == "team-a"
    assert tenant.spec.owner_role == "admin"
    assert tenant.spec.reconciler_role == "admin"
    assert tenant.spec.network_isolation is True
    assert tenant.spec.pod_security == "restricted"
    assert tenant.spec.deletion_policy == "Delete"


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ({"namespaces": ["Team_A"]}, "DNS-1123"),
        ({"namespaces": ["a", "a"]}, "must not repeat"),
        ({"podSecurity": "lax"}, "privileged"),
        ({"sync": {"path": "./"}}, "needs spec.source"),
        ({"source": {"url": "https://x/y.git", "interval": "soon"}}, "duration"),
        ({"owners": [{"kind": "Robot", "name": "r2"}]}, "User"),
        ({"surprise": True}, "Extra inputs"),
    ],
)
def test_bad_specs_are_rejected_with_the_reason(spec: dict[str, object], complaint: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=complaint):
        Tenant.from_object({"metadata": {"name": "team-a"}, "spec": spec})


def test_namespaces_of_other_tenants_or_of_nobody_are_taken() -> None:
    owners = {"mine": "team-a", "theirs": "team-b", "legacy": None}

    taken = taken_namespaces("team-a", ["mine", "theirs", "legacy", "new"], owners)

    assert taken == {
        "theirs": "belongs to tenant team-b",
        "legacy": "exists and was not created by Landlord",
    }
