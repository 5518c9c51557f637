"""Which of a tenant's objects are over its budgets: the oldest keep working."""

from __future__ import annotations

import pathlib
from typing import Any

from landlord.gitops import artifacts, budgets


def _item(namespace: str, name: str, created: str, *, deleting: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "namespace": namespace,
        "name": name,
        "creationTimestamp": f"2026-11-29T03:{created}Z",
    }
    if deleting:
        metadata["deletionTimestamp"] = "2026-11-29T04:00:00Z"
    return {"metadata": metadata}


ITEMS = [
    _item("team-a", "zeta", "00:01"),
    _item("team-a-dev", "beta", "00:05"),
    _item("team-a", "alpha", "00:05"),
    _item("team-a", "newest", "09:00"),
]


def _over(key: str, items: list[dict[str, Any]], limit: int = 2) -> str | None:
    return budgets.over_count(
        "GitRepository",
        key,
        items,
        limit=limit,
        budget="git_repositories",
        tenant="tenant:team-a",
        consequence="nothing was fetched",
    )


def test_the_oldest_keep_working_and_ties_go_by_name() -> None:
    assert _over("team-a/zeta", ITEMS) is None
    assert _over("team-a/alpha", ITEMS) is None  # same second as beta: alpha sorts first
    assert _over("team-a-dev/beta", ITEMS) is not None
    assert _over("team-a/newest", ITEMS) is not None


def test_the_order_of_the_listing_does_not_matter() -> None:
    verdicts = [
        _over(f"{i['metadata']['namespace']}/{i['metadata']['name']}", ITEMS) for i in ITEMS
    ]

    assert verdicts == [
        _over(f"{i['metadata']['namespace']}/{i['metadata']['name']}", list(reversed(ITEMS)))
        for i in ITEMS
    ]


def test_one_being_deleted_frees_its_place() -> None:
    items = [*ITEMS[:1], _item("team-a", "alpha", "00:05", deleting=True), *ITEMS[1:2]]

    assert _over("team-a-dev/beta", items) is None
    assert _over("team-a/alpha", items) is None  # not counted, not held back


def test_the_refusal_names_the_rank_the_budget_and_the_setting() -> None:
    why = _over("team-a/newest", ITEMS)

    assert why is not None
    assert "GitRepository team-a/newest is number 4 (oldest first) of the 4" in why
    assert "tenant:team-a" in why
    assert "the budget is 2 per tenant (LANDLORD_BUDGETS__GIT_REPOSITORIES)" in why
    assert "nothing was fetched" in why


def test_objects_per_revision() -> None:
    assert budgets.over_objects(5, limit=5, tenant="tenant:a") is None
    why = budgets.over_objects(6, limit=5, tenant="tenant:a")
    assert why is not None
    assert "6 objects" in why
    assert "LANDLORD_BUDGETS__OBJECTS_PER_REVISION" in why


def test_artifact_bytes_go_to_the_oldest_sources_first() -> None:
    stored = {"team-a/zeta": 600, "team-a/alpha": 300, "team-a-dev/beta": 0}

    def over(key: str, own: int | None) -> str | None:
        return budgets.over_bytes(key, ITEMS, stored, own=own, limit=1000, tenant="tenant:a")

    assert over("team-a/zeta", None) is None
    assert over("team-a/alpha", 300) is None  # 600 + 300 fit
    assert over("team-a-dev/beta", None) is None  # 900 kept by older ones: room left
    assert over("team-a-dev/beta", 101) is not None  # its new artifact does not fit
    assert over("team-a-dev/beta", 100) is None
    stored["team-a-dev/beta"] = 2000  # an over-sized artifact on disk blocks the newer ones
    why = over("team-a/newest", None)
    assert why is not None
    assert "keep 2900 bytes" in why
    assert "LANDLORD_BUDGETS__ARTIFACT_BYTES" in why


def test_a_namespace_without_a_tenant_is_its_own_budget() -> None:
    assert budgets.tenant_of("scratch", {}) == "namespace:scratch"
    assert budgets.tenant_of("team-a-dev", {"landlord.dev/tenant": "team-a"}) == "tenant:team-a"


def test_the_store_counts_the_bytes_of_complete_artifacts(tmp_path: pathlib.Path) -> None:
    store = artifacts.ArtifactStore(tmp_path)
    folder = store.folder("team-a", "repo")
    for key, size in (("one", 10), ("two", 32)):
        (folder / key).mkdir(parents=True)
        (folder / key / ".landlord-digest").write_text(f"sha256:x 1 {size}\n")
    (folder / "three.tmp").mkdir()  # being written: no marker yet

    assert store.stored_bytes("team-a", "repo") == 42
    assert store.stored_bytes("team-a", "other") == 0
