"""A registration is used only as the cluster it was first found to be, and only once."""

from __future__ import annotations

from typing import Any, cast

import pytest

from landlord import errors
from landlord.api import reasons
from landlord.kube import Kube
from landlord.kube.fleet import IDENTITY_ANNOTATION, ClusterError, Fleet


class Home:
    """The operator's own cluster, holding the Clusters registered so far."""

    def __init__(self, clusters: list[dict[str, Any]] | None = None) -> None:
        self.clusters = clusters or []

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
        return {"metadata": {"name": name, "uid": "uid-home"}} if name == "kube-system" else None

    def list_objects(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return self.clusters


def _cluster(name: str, identity: str = "", **annotations: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "annotations": annotations},
        "status": {"identity": identity} if identity else {},
    }


def _fleet(*clusters: dict[str, Any]) -> Fleet:
    return Fleet(cast(Kube, Home(list(clusters))), platform_namespace="landlord-system")


def test_a_new_registration_pins_whatever_it_answers_with() -> None:
    _fleet()._check_identity("east", _cluster("east"), "uid-east")


def test_the_operator_s_own_cluster_is_never_registered() -> None:
    with pytest.raises(ClusterError) as refused:
        _fleet()._check_identity("home", _cluster("home"), "uid-home")
    assert refused.value.reason == reasons.DUPLICATE_IDENTITY
    assert "is the operator's own cluster" in refused.value.message


def test_a_cluster_registered_twice_is_refused_under_the_second_name() -> None:
    fleet = _fleet(_cluster("east", "uid-east"), _cluster("east-2"))
    with pytest.raises(ClusterError) as refused:
        fleet._check_identity("east-2", _cluster("east-2"), "uid-east")
    assert refused.value.reason == reasons.DUPLICATE_IDENTITY
    assert "same cluster as east" in refused.value.message


def test_a_re_pointed_registration_waits_until_the_platform_accepts_it() -> None:
    fleet = _fleet(_cluster("east", "uid-east"))
    with pytest.raises(ClusterError) as refused:
        fleet._check_identity("east", _cluster("east", "uid-east"), "uid-other")
    assert refused.value.reason == reasons.IDENTITY_CHANGED
    assert f"{IDENTITY_ANNOTATION}: uid-other" in refused.value.message

    accepted = _cluster("east", "uid-east", **{IDENTITY_ANNOTATION: "uid-other"})
    fleet._check_identity("east", accepted, "uid-other")


def test_the_local_identity_is_never_a_placeholder_for_a_blip() -> None:
    class Blinking(Home):
        def __init__(self) -> None:
            super().__init__()
            self.calls = 0

        def get(self, *args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == 1:
                raise errors.ApiError("etcdserver: request timed out", status=500)
            return super().get(*args, **kwargs)

    fleet = Fleet(cast(Kube, Blinking()), platform_namespace="landlord-system")
    with pytest.raises(ClusterError, match="identity cannot be read"):
        fleet.local_identity()
    assert fleet.local_identity() == "uid-home"


def test_an_apiserver_that_hides_kube_system_gets_one_placeholder_for_good() -> None:
    class Hidden(Home):
        def get(self, *args: Any, **kwargs: Any) -> Any:
            raise errors.ApiError("forbidden", status=403)

    fleet = Fleet(cast(Kube, Hidden()), platform_namespace="landlord-system")
    assert fleet.local_identity() == "local"
    assert fleet.local_identity() == "local"
