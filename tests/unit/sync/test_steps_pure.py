"""Pure parts of the steps: what changed, apply stages, substitution, health targets."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from landlord.api import invalid, labels, reasons
from landlord.api import kustomization as model
from landlord.gitops.yamlsafe import Document
from landlord.sync.failure import SyncError
from landlord.sync.inventory import Entry
from landlord.sync.steps import apply, build, gatekeeper, health


def _cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": dict(data)}


def test_only_what_the_cluster_does_not_hold_changes() -> None:
    same, edited, new = _cm("same", a="1"), _cm("edited", a="2"), _cm("new")
    opted = _cm("opted", a="2")
    opted_live = {**_cm("opted", a="1")}
    opted_live["metadata"] = {"name": "opted", "annotations": {labels.RECONCILE: "disabled"}}
    lives = [_cm("same", a="1"), _cm("edited", a="1"), None, opted_live]

    assert apply.changed([same, edited, new, opted], lives) == [edited, new]


def test_crds_and_namespaces_go_first_then_identities() -> None:
    kinds = ["Deployment", "RoleBinding", "Namespace", "CustomResourceDefinition", "ServiceAccount"]

    assert [apply.stage_of({"kind": k}) for k in kinds] == [2, 1, 0, 0, 1]


def test_substitution_replaces_variables_and_refuses_bad_names() -> None:
    doc = Document(body=_cm("app", greeting="${GREETING}"), source="app.yaml", index=0)

    (out,) = build.substituted([doc], build.checked({"GREETING": "hello"}))

    assert out.body["data"] == {"greeting": "hello"}
    assert build.substituted([doc], None) == [doc]
    with pytest.raises(SyncError) as refused:
        build.checked({"not-a-name!": "x"})
    assert refused.value.reason == reasons.BUILD_FAILED


def test_health_targets_are_everything_with_wait_else_the_checks() -> None:
    applied = [Entry("team-a", "web", "apps", "Deployment", "v1")]
    source = {"sourceRef": {"kind": "GitRepository", "name": "app"}}
    waiting = model.KustomizationSpec.model_validate({**source, "wait": True})
    checks = model.KustomizationSpec.model_validate(
        {**source, "healthChecks": [{"kind": "StatefulSet", "name": "db", "namespace": "team-b"}]}
    )

    assert health.targets(waiting, "team-a", applied) == applied
    assert health.targets(checks, "team-a", applied) == [
        Entry("team-b", "db", "apps", "StatefulSet", "v1")
    ]


def test_a_spec_the_model_refuses_is_described_as_every_kind_describes_it() -> None:
    body = {
        "metadata": {"name": "app", "namespace": "team-a"},
        "spec": {
            "sourceRef": {"kind": "GitRepository", "name": "app"},
            **dict.fromkeys(["prune", "force", "suspend", "wait"], "maybe"),
            **dict.fromkeys(["path", "targetNamespace"], 7),
        },
    }

    with pytest.raises(SyncError) as raised:
        gatekeeper.parse(body)

    assert raised.value.reason == reasons.INVALID_SPEC
    assert raised.value.stalled
    assert raised.value.message.count("spec.") == 6  # all of them, as for a Tenant
    with pytest.raises(pydantic.ValidationError) as refused:
        model.KustomizationSpec.of(body)
    assert raised.value.message == invalid.describe(refused.value)
