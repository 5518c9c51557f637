"""The onboarding API requests a Tenant's owners may make, as the API would ask them."""

from __future__ import annotations

from landlord.onboarding.identity import Caller
from landlord.tenants import reconciler


def test_each_owner_kind_gets_the_subjects_the_api_builds_for_a_caller_who_is_only_it() -> None:
    spec = {
        "owners": [
            {"kind": "User", "name": "ann"},
            {"kind": "Group", "name": "platform"},
            {"kind": "ServiceAccount", "name": "ci", "namespace": "tools"},
            {"kind": "ServiceAccount", "name": "bot"},
        ]
    }
    found = reconciler.owner_requests("team-a", spec)
    callers = [
        Caller("ann"),
        Caller("", ("platform",)),
        Caller("system:serviceaccount:tools:ci"),
        Caller("system:serviceaccount:default:bot"),
    ]
    expected = []
    for caller in callers:
        subjects = [s for s in caller.subjects(owner=True) if s != "user:"]
        for action in ("api:get", "api:update", "api:delete", "api:reconcile"):
            expected.append((subjects, action, "tenants/team-a"))
    assert found == expected


def test_entries_that_are_not_owners_are_skipped() -> None:
    spec = {"owners": [{"kind": "Robot", "name": "x"}, {"kind": "User"}, "ann", None]}
    assert reconciler.owner_requests("team-a", spec) == []
    assert reconciler.owner_requests("team-a", {"owners": "ann"}) == []
    assert reconciler.owner_requests("team-a", {}) == []
