"""The inventory diff, and that an inventory of another cluster is never pruned here."""

from __future__ import annotations

from landlord.sync.inventory import Entry, Inventory, ahead, leftovers

WEB = Entry("team-a", "web", "apps", "Deployment", "v1")
DB = Entry("team-a", "db", "apps", "StatefulSet", "v1")
CM = Entry("team-a", "settings", "", "ConfigMap", "v1")


def _cm(name: str) -> Entry:
    return Entry("team-a", name, "", "ConfigMap", "v1")


def test_stale_entries_are_those_the_newer_inventory_dropped() -> None:
    old = Inventory("cluster-1", (CM, DB, WEB))
    new = Inventory("cluster-1", (CM, WEB))

    assert old.stale(new) == [DB]


def test_an_inventory_of_another_cluster_has_nothing_stale_here() -> None:
    # The same ids, applied just now through this cluster: pruning them would delete them.
    old = Inventory("cluster-1", (CM, DB, WEB))
    new = Inventory("cluster-2", (CM, WEB))

    assert old.stale(new) == []


def test_the_inventory_survives_its_status_form() -> None:
    inventory = Inventory.of(
        "cluster-1",
        [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "team-a"},
            },
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": "team-a"},
            },
        ],
    )

    assert Inventory.from_status(inventory.to_status()) == inventory
    assert inventory.entries == (CM, WEB)
    assert Inventory.from_status({}) is None


def test_ahead_records_what_is_about_to_be_made_with_everything_recorded_before() -> None:
    old = Inventory("c1", (_cm("a"), _cm("b")), "local", (Inventory("c2", (_cm("x"),), "far"),))
    new = Inventory("c1", (_cm("b"), _cm("c")), "local")

    written = ahead(old, new)

    assert written is not None
    assert [e.name for e in written.entries] == ["a", "b", "c"]  # a: pruned only after the apply
    assert written.pending == old.pending
    assert leftovers(written, new) == leftovers(old, new)  # the prune after it is the same


def test_nothing_is_written_ahead_when_every_object_is_recorded_or_the_cluster_moved() -> None:
    old = Inventory("c1", (_cm("a"), _cm("b")), "local")
    assert ahead(old, Inventory("c1", (_cm("a"),), "local")) is None
    assert ahead(old, Inventory("c2", (_cm("c"),), "far")) is None
    first = ahead(None, Inventory("c1", (_cm("a"),), "local"))
    assert first is not None
    assert [e.name for e in first.entries] == ["a"]
