"""Sharding's rules: who owns what, which Lease, and the handover steps."""

from __future__ import annotations

from landlord.api import labels
from landlord.runtime.shards import DEFAULT, Handover, Shard

LEASE = 15.0


def test_the_default_shard_owns_the_unlabelled_and_a_named_shard_its_label() -> None:
    default, blue = Shard(), Shard("blue")

    assert default.owns({})
    assert default.owns(None)
    assert default.owns({labels.SHARD: ""})
    assert not default.owns({labels.SHARD: "blue"})
    assert blue.owns({labels.SHARD: "blue"})
    assert not blue.owns({})
    assert not blue.owns({labels.SHARD: "green"})


def test_each_shard_leads_on_a_lease_of_its_own() -> None:
    assert Shard().lease("landlord-operator") == "landlord-operator"
    assert Shard("blue").lease("landlord-operator") == "landlord-operator-blue"
    assert Shard().signature == DEFAULT
    assert Shard("blue").signature == "blue"


def test_a_kustomization_held_by_nobody_is_claimed_and_one_held_by_us_proceeds() -> None:
    blue = Shard("blue")

    assert blue.handover("", 0.0, LEASE) is Handover.CLAIM
    assert blue.handover(None, 0.0, LEASE) is Handover.CLAIM
    assert blue.handover("blue", 0.0, LEASE) is Handover.PROCEED
    assert Shard().handover(DEFAULT, 99.0, LEASE) is Handover.PROCEED


def test_one_held_by_another_shard_waits_for_its_release_at_most_one_lease_duration() -> None:
    blue = Shard("blue")

    assert blue.handover(DEFAULT, 0.0, LEASE) is Handover.WAIT
    assert blue.handover(DEFAULT, LEASE - 0.1, LEASE) is Handover.WAIT
    assert blue.handover(DEFAULT, LEASE, LEASE) is Handover.TAKE
