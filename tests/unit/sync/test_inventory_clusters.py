"""An inventory records each entry's cluster; what a move leaves behind is pruned there only."""

from __future__ import annotations

from landlord.sync.inventory import Entry, Inventory, leftovers

ONE = Entry("team-a", "one", "", "ConfigMap", "v1")
TWO = Entry("team-a", "two", "", "ConfigMap", "v1")
THREE = Entry("team-a", "three", "", "ConfigMap", "v1")


def test_a_status_round_trip_keeps_names_and_pending_groups() -> None:
    inventory = Inventory("uid-b", (ONE,), "b", (Inventory("uid-a", (ONE, TWO), "a"),))

    status = inventory.to_status()

    assert status["clusterName"] == "b"
    assert status["pending"] == [
        {"cluster": "uid-a", "clusterName": "a", "entries": [ONE.to_status(), TWO.to_status()]}
    ]
    assert Inventory.from_status(status) == inventory
    assert inventory.size() == 3


def test_an_inventory_from_before_cluster_names_reads_as_one_group() -> None:
    old = Inventory.from_status({"cluster": "uid-a", "entries": [ONE.to_status()]})

    assert old == Inventory("uid-a", (ONE,))
    assert "pending" not in Inventory("uid-a", (ONE,), "local").to_status()


def test_on_the_same_cluster_only_what_the_revision_dropped_is_stale() -> None:
    old = Inventory("uid-a", (ONE, TWO), "a")
    new = Inventory("uid-a", (ONE,), "a")

    assert leftovers(old, new) == ([TWO], [])


def test_a_move_leaves_every_old_entry_to_its_own_cluster_even_same_ids() -> None:
    old = Inventory("uid-a", (ONE, TWO), "a")
    new = Inventory("uid-b", (ONE, TWO), "b")  # the same ids, other objects

    here, there = leftovers(old, new)

    assert here == []
    assert there == [Inventory("uid-a", (ONE, TWO), "a")]


def test_moving_back_keeps_what_the_new_revision_wants_on_the_old_cluster() -> None:
    # Moved a → b while a was down (a's entries pending), then back to a.
    old = Inventory("uid-b", (ONE, THREE), "b", (Inventory("uid-a", (ONE, TWO), "a"),))
    new = Inventory("uid-a", (ONE,), "a")

    here, there = leftovers(old, new)

    assert here == [TWO]  # on a, through a: only what a's new revision no longer has
    assert there == [Inventory("uid-b", (ONE, THREE), "b")]


def test_pending_groups_of_one_cluster_merge() -> None:
    old = Inventory(
        "uid-c", (), "c", (Inventory("uid-a", (ONE,), "a"), Inventory("uid-a", (TWO,), "a"))
    )

    _, there = leftovers(old, Inventory("uid-c", (), "c"))

    assert there == [Inventory("uid-a", (ONE, TWO), "a")]


def test_nothing_before_means_nothing_left() -> None:
    assert leftovers(None, Inventory("uid-a", (ONE,), "a")) == ([], [])
