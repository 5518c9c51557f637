"""The Kustomization model: the CRD's fields, with the defaults in one place."""

from __future__ import annotations

import pydantic
import pytest

from landlord.api import kustomization as model
from landlord.gitops import durations
from landlord.sync.result import Timing

SOURCE = {"sourceRef": {"kind": "GitRepository", "name": "app"}}


def test_an_empty_spec_takes_the_defaults() -> None:
    spec = model.KustomizationSpec.model_validate(SOURCE)

    assert (spec.path, spec.interval, spec.prune, spec.wait, spec.force, spec.suspend) == (
        "./",
        "10m",
        True,
        False,
        False,
        False,
    )
    assert spec.effective_deletion_policy == model.MIRROR_PRUNE
    assert Timing.of(spec, durations.Bounds()) == Timing(600.0, 30.0, 300.0)


def test_fields_are_read_by_their_crd_names() -> None:
    spec = model.KustomizationSpec.model_validate(
        {
            **SOURCE,
            "retryInterval": "1m",
            "dependsOn": [{"name": "db", "namespace": "team-b"}, {"name": "cache"}],
            "postBuild": {"substituteFrom": [{"kind": "Secret", "name": "vars", "optional": True}]},
            "healthChecks": [{"kind": "Deployment", "name": "web"}],
            "deletionPolicy": "WaitForTermination",
        }
    )

    assert spec.dependencies("team-a") == [("team-b", "db"), ("team-a", "cache")]
    assert spec.durations() == {"interval": "10m", "retryInterval": "1m"}
    assert spec.post_build is not None
    assert spec.post_build.substitute_from
    assert spec.post_build.substitute_from[0].optional


@pytest.mark.parametrize(
    "spec",
    [
        {},
        {**SOURCE, "deletionPolicy": "Sometimes"},
        {**SOURCE, "sourceRef": {"kind": "Bucket", "name": "app"}},
        {**SOURCE, "unknownField": True},
    ],
)
def test_what_the_crd_refuses_the_model_refuses(spec: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        model.KustomizationSpec.model_validate(spec)
