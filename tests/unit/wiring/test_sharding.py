"""The shard router: ownership by namespace label, and a Kustomization handed between shards."""

from __future__ import annotations

from typing import Any

from landlord.api import labels
from landlord.runtime.namespaces import NamespaceLabels
from landlord.runtime.shards import Shard
from landlord.wiring.sharding import HANDOVER, ShardRouter

KEY = "team/app"


class FakeKube:
    """Records status patches; reads nothing (the router's caches answer)."""

    def __init__(self) -> None:
        self.patches: list[tuple[str, Any]] = []

    def get(self, *args: Any) -> None:
        raise AssertionError(f"no read expected: {args}")

    def merge_patch(
        self, api_version: str, kind: str, name: str, patch: Any, namespace: str, *, status: bool
    ) -> dict[str, Any]:
        assert status
        self.patches.append((f"{namespace}/{name}", patch["status"]["shard"]))
        return {}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def kustomization(holder: str) -> dict[str, Any]:
    return {
        "kind": "Kustomization",
        "metadata": {"namespace": "team", "name": "app"},
        "status": {"shard": holder},
    }


def router(name: str, namespaces: NamespaceLabels, kube: FakeKube, clock: Clock) -> ShardRouter:
    return ShardRouter(Shard(name), kube, namespaces, lease_duration=15.0, clock=clock)  # type: ignore[arg-type]


def test_a_moved_kustomization_waits_for_its_release_then_is_claimed() -> None:
    namespaces, kube, clock = NamespaceLabels(), FakeKube(), Clock()
    namespaces.update("team", {labels.SHARD: "blue"})
    blue = router("blue", namespaces, kube, clock)
    blue.seen(kustomization("default"), deleted=False)

    waiting = blue.admit(KEY)
    assert waiting is not None
    assert waiting.reason == HANDOVER
    assert "shard default still applies it" in waiting.message
    assert kube.patches == []

    blue.seen(kustomization(""), deleted=False)  # the default shard let go
    assert blue.admit(KEY) is None
    assert kube.patches == [(KEY, "blue")]
    assert blue.held(KEY)
    assert blue.admit(KEY) is None  # claimed once: no more writes
    assert kube.patches == [(KEY, "blue")]


def test_a_holder_that_never_lets_go_loses_it_after_one_lease_duration() -> None:
    namespaces, kube, clock = NamespaceLabels(), FakeKube(), Clock()
    namespaces.update("team", {labels.SHARD: "blue"})
    blue = router("blue", namespaces, kube, clock)
    blue.seen(kustomization("default"), deleted=False)

    assert blue.admit(KEY) is not None
    clock.now += 14.9
    assert blue.admit(KEY) is not None
    clock.now += 0.2
    assert blue.admit(KEY) is None
    assert kube.patches == [(KEY, "blue")]


def test_the_old_shard_releases_only_what_it_held_and_sees_the_namespace_move() -> None:
    namespaces, kube, clock = NamespaceLabels(), FakeKube(), Clock()
    namespaces.update("team", {})
    default = router("", namespaces, kube, clock)
    default.seen(kustomization(""), deleted=False)
    assert default.owns_key(KEY)
    assert default.admit(KEY) is None
    assert kube.patches == [(KEY, "default")]

    before = namespaces.get("team")
    namespaces.update("team", {labels.SHARD: "blue"})
    assert default.moved("team", before) == [("Kustomization", KEY)]
    assert not default.owns_key(KEY)
    assert default.release(KEY)
    assert kube.patches == [(KEY, "default"), (KEY, None)]
    assert not default.release(KEY)  # once
    # A label change that moves nothing between shards brings nothing back.
    assert default.moved("team", {labels.SHARD: "green"}) == []
