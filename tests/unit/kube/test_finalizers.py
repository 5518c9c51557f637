"""One finalizer added or removed, guarded by the body's resourceVersion."""

from __future__ import annotations

from typing import Any, cast

import pytest

from landlord import errors
from landlord.kube import Kube, finalizers

OURS = "landlord.dev/finalizer"


class Recorder:
    """Records merge patches; raises ``fails`` instead when set."""

    def __init__(self, fails: errors.ApiError | None = None) -> None:
        self.patches: list[tuple[Any, ...]] = []
        self.fails = fails

    def merge_patch(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if self.fails is not None:
            raise self.fails
        self.patches.append(args)
        return {}


def _body(*present: str, namespace: str | None = "team-a") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "app", "resourceVersion": "7", "finalizers": list(present)}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "landlord.dev/v1alpha1", "kind": "Kustomization", "metadata": metadata}


def test_add_appends_once_with_the_resource_version() -> None:
    kube = Recorder()

    finalizers.add(cast(Kube, kube), _body("other"), OURS)
    finalizers.add(cast(Kube, kube), _body("other", OURS), OURS)  # there already: no request

    assert kube.patches == [
        (
            "landlord.dev/v1alpha1",
            "Kustomization",
            "app",
            {"metadata": {"finalizers": ["other", OURS], "resourceVersion": "7"}},
            "team-a",
        )
    ]


def test_remove_keeps_the_others_and_a_cluster_scoped_object_has_no_namespace() -> None:
    kube = Recorder()

    finalizers.remove(cast(Kube, kube), _body("other", OURS, namespace=None), OURS)

    assert kube.patches[0][3] == {"metadata": {"finalizers": ["other"], "resourceVersion": "7"}}
    assert kube.patches[0][4] is None


def test_removing_from_an_object_already_gone_is_fine_but_a_conflict_is_not() -> None:
    gone = Recorder(errors.ApiError("gone", status=404))
    finalizers.remove(cast(Kube, gone), _body(OURS), OURS)

    conflict = Recorder(errors.ApiError("changed since", status=409))
    with pytest.raises(errors.ApiError):
        finalizers.remove(cast(Kube, conflict), _body(OURS), OURS)
