"""The shard router: ownership by namespace label, and a Kustomization handed between shards."""

from __future__ import annotations

from typing import Any

from landlord import errors
from landlord.api import labels
from landlord.runtime.namespaces import NamespaceLabels
from landlord.runtime.shards import Shard
from landlord.wiring.sharding import HANDOVER, ShardRouter

KEY = "team/app"


class FakeKube:
    """One Kustomization's status.shard and resourceVersion; patches fenced like the apiserver."""

    def __init__(self, holder: str = "") -> None:
        self.holder = holder
        self.version = 1
        self.patches: list[tuple[str, Any]] = []

    def body(self) -> dict[str, Any]:
        return {
            "kind": "Kustomization",
            "metadata": {"namespace": "team", "name": "app", "resourceVersion": str(self.version)},
            "status": {"shard": self.holder},
        }

    lease: dict[str, Any] | None = None

    def get(self, api_version: str, kind: str, *args: Any) -> dict[str, Any] | None:
        return self.lease if kind == "Lease" else self.body()

    def merge_patch(
        self, api_version: str, kind: str, name: str, patch: Any, namespace: str, *, status: bool
    ) -> dict[str, Any]:
        assert status
        expected = (patch.get("metadata") or {}).get("resourceVersion")
        if expected is not None and expected != str(self.version):
            raise errors.ApiError("the object has been modified", status=409)
        self.patches.append((f"{namespace}/{name}", patch["status"]["shard"]))
        self.holder = patch["status"]["shard"] or ""
        self.version += 1
        return self.body()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def kustomization(kube: FakeKube, holder: str) -> dict[str, Any]:
    kube.holder = holder
    kube.version += 1
    return kube.body()


def router(name: str, namespaces: NamespaceLabels, kube: FakeKube, clock: Clock) -> ShardRouter:
    return ShardRouter(Shard(name), kube, namespaces, lease_duration=15.0, clock=clock)  # type: ignore[arg-type]


def test_a_moved_kustomization_waits_for_its_release_then_is_claimed() -> None:
    namespaces, kube, clock = NamespaceLabels(), FakeKube(), Clock()
    namespaces.update("team", {labels.SHARD: "blue"})
    blue = router("blue", namespaces, kube, clock)
    blue.seen(kustomization(kube, "default"), deleted=False)

    waiting = blue.admit(KEY)
    assert waiting is not None
    assert waiting.reason == HANDOVER
    assert "shard default still applies it" in waiting.message
    assert kube.patches == []

    blue.seen(kustomization(kube, ""), deleted=False)  # the default shard let go
    assert blue.admit(KEY) is None
    assert kube.patches == [(KEY, "blue")]
    assert blue.held(KEY)
    assert blue.admit(KEY) is None  # claimed once: no more writes
    assert kube.patches == [(KEY, "blue")]


def test_a_holder_that_never_lets_go_loses_it_after_one_lease_duration() -> None:
    namespaces, kube, clock = NamespaceLabels(), FakeKube(), Clock()
    namespaces.update("team", {labels.SHARD: "blue"})
    blue = router("blue", namespaces, kube, clock)
    blue.seen(kustomization(kube, "default"), deleted=False)

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
    default.seen(kustomization(kube, ""), deleted=False)
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


def test_a_named_shard_refuses_to_start_on_the_platform_repositorys_policy() -> None:
    import pytest

    from landlord import errors, settings
    from landlord.wiring import policy_sources

    config = settings.Settings(shard={"name": "blue"}, policy={"path": None, "configmap": ""})
    with pytest.raises(errors.TerminalError) as refused:
        policy_sources.reader(config, kube_client=None, store=None)  # type: ignore[arg-type]
    assert "LANDLORD_POLICY__CONFIGMAP" in str(refused.value)
    # With the policy as a ConfigMap it starts (every shard reads the same one).
    config = settings.Settings(shard={"name": "blue"}, policy={"configmap": "landlord-policy"})
    assert callable(policy_sources.reader(config, kube_client=None, store=None))  # type: ignore[arg-type]


def test_the_default_shards_name_is_reserved() -> None:
    import pydantic
    import pytest

    from landlord import settings

    with pytest.raises(pydantic.ValidationError):
        settings.Settings(shard={"name": "default"})


def test_two_shards_claiming_at_once_one_wins_and_the_other_waits() -> None:
    namespaces, kube, clock = NamespaceLabels(), FakeKube(), Clock()
    namespaces.update("team", {})
    default = router("", namespaces, kube, clock)
    blue = router("blue", NamespaceLabels(), kube, clock)
    blue.namespaces.update("team", {labels.SHARD: "blue"})
    stale = kustomization(kube, "")
    default.seen(stale, deleted=False)
    blue.seen(stale, deleted=False)

    assert default.admit(KEY) is None  # wrote status.shard at the version both saw
    waiting = blue.admit(KEY)  # its write at the same version is refused (409)
    assert waiting is not None
    assert kube.patches == [(KEY, "default")]
    assert not blue.held(KEY)


def test_a_release_never_clears_a_claim_another_shard_made_meanwhile() -> None:
    namespaces, kube, clock = NamespaceLabels(), FakeKube(), Clock()
    namespaces.update("team", {})
    default = router("", namespaces, kube, clock)
    default.seen(kustomization(kube, ""), deleted=False)
    assert default.admit(KEY) is None
    kube.holder = "blue"  # blue took it after a lease duration
    kube.version += 1

    assert default.release(KEY)
    assert kube.holder == "blue"
    assert kube.patches == [(KEY, "default")]


def test_a_holder_that_still_renews_its_lease_is_never_taken_over() -> None:
    namespaces, kube, clock = NamespaceLabels(), FakeKube(), Clock()
    namespaces.update("team", {labels.SHARD: "blue"})
    blue = ShardRouter(
        Shard("blue"),
        kube,  # type: ignore[arg-type]
        namespaces,
        lease_duration=15.0,
        clock=clock,
        leases=("landlord-system", "landlord-operator"),
    )
    blue.seen(kustomization(kube, "default"), deleted=False)
    # Written by another machine whose clock is an hour behind: never compared with ours.
    kube.lease = {
        "spec": {
            "holderIdentity": "pod-a",
            "renewTime": "2026-11-29T10:59:58.000000Z",
            "leaseDurationSeconds": 15,
        }
    }

    assert blue.admit(KEY) is not None
    clock.now += 60  # a long reconcile in flight on the default shard, which renews
    kube.lease["spec"]["renewTime"] = "2026-11-29T11:00:58.000000Z"
    waiting = blue.admit(KEY)
    assert waiting is not None
    assert "alive" in waiting.message
    clock.now += 10
    assert blue.admit(KEY) is not None, "renewed 10 s ago: alive"
    assert kube.patches == []

    clock.now += 6  # no renewal for 16 s: it died
    assert blue.admit(KEY) is None
    assert kube.patches == [(KEY, "blue")]
