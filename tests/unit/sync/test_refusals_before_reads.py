"""A refused Kustomization is decided before the operator reads anything it names.

The apiserver cannot tell us which requests the operator made, so these cases
count them on a recording stand-in: a bad name or a denied cross-namespace
edge must not cause a single read of the target, and the watch-cache fast path
must not decide an edge that was never allowed.
"""

from __future__ import annotations

import pathlib
from typing import Any

from landlord import api, policy
from landlord.api import labels
from landlord.gitops import artifacts, sandbox
from landlord.sync.reconciler import KustomizationReconciler

SECRET_REVISION = "main@sha1:5ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2"


class Recorder:
    """Answers GETs from a dict and records every request by kind."""

    def __init__(self, objects: dict[tuple[str, str, str], dict[str, Any]]) -> None:
        self.objects = objects
        self.reads: list[tuple[str, str | None, str]] = []
        self.patches: list[dict[str, Any]] = []

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        self.reads.append((kind, namespace, name))
        return self.objects.get((kind, namespace or "", name))

    def merge_patch(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.patches.append(args[3])
        return {}

    def create(self, manifest: dict[str, Any]) -> dict[str, Any]:
        return manifest

    def list_objects(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return []


def _kustomization(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": api.API_VERSION,
        "kind": "Kustomization",
        "metadata": {
            "name": "probe",
            "namespace": "team-a",
            "generation": 1,
            "resourceVersion": "1",
            "finalizers": [labels.FINALIZER],
        },
        "spec": {"interval": "10m", **spec},
    }


def _victim_source() -> dict[str, Any]:
    return {
        "apiVersion": api.API_VERSION,
        "kind": "GitRepository",
        "metadata": {"name": "plans", "namespace": "team-b"},
        "status": {"artifact": {"revision": SECRET_REVISION}},
    }


def _reconciler(tmp_path: pathlib.Path, kube: Recorder) -> KustomizationReconciler:
    syncs = KustomizationReconciler(
        kube,  # type: ignore[arg-type]
        store=artifacts.ArtifactStore(tmp_path),
        platform_namespace="landlord-system",
        kustomize=None,
        sandbox=sandbox.Sandbox(),
        gate=policy.Gate(),  # no policy loaded: every gated edge is denied
    )
    syncs.namespaces.update("team-a", {labels.TENANT: "team-a"})
    syncs.namespaces.update("team-b", {labels.TENANT: "team-b"})
    return syncs


def _run(tmp_path: pathlib.Path, body: dict[str, Any]) -> tuple[Any, Recorder]:
    kube = Recorder(
        {
            ("Kustomization", "team-a", "probe"): body,
            ("GitRepository", "team-b", "plans"): _victim_source(),
        }
    )
    outcome = _reconciler(tmp_path, kube).reconcile("team-a/probe")
    return outcome, kube


def test_a_denied_source_ref_is_decided_before_the_source_is_read(tmp_path: pathlib.Path) -> None:
    body = _kustomization(
        sourceRef={"kind": "GitRepository", "name": "plans", "namespace": "team-b"}
    )

    outcome, kube = _run(tmp_path, body)

    assert outcome.reason == "PolicyDenied"
    assert [r for r in kube.reads if r[0] == "GitRepository"] == []
    assert "5ec2e7" not in repr(kube.patches)
    assert kube.patches[-1]["status"]["lastAttemptedRevision"] == ""


def test_a_denied_depends_on_is_decided_before_the_dependency_is_read(
    tmp_path: pathlib.Path,
) -> None:
    body = _kustomization(
        sourceRef={"kind": "GitRepository", "name": "own"},
        dependsOn=[{"name": "db"}, {"name": "shared", "namespace": "team-b"}],
    )

    outcome, kube = _run(tmp_path, body)

    assert outcome.reason == "PolicyDenied"
    assert "dependsOn team-b/shared" in outcome.message
    assert [
        r for r in kube.reads if r[0] in ("GitRepository", "Kustomization") and r[2] != "probe"
    ] == []


def test_a_bad_name_never_reaches_a_request_path(tmp_path: pathlib.Path) -> None:
    body = _kustomization(sourceRef={"kind": "GitRepository", "name": "../../secrets/x"})

    outcome, kube = _run(tmp_path, body)

    assert outcome.reason == "InvalidSpec"
    assert outcome.stalled
    assert "spec.sourceRef.name '../../secrets/x'" in outcome.message
    assert all("secrets" not in r[2] for r in kube.reads)


def test_the_watch_cache_never_decides_an_edge_that_was_not_allowed(tmp_path: pathlib.Path) -> None:
    syncs = _reconciler(tmp_path, Recorder({}))
    body = _kustomization(
        sourceRef={"kind": "GitRepository", "name": "plans", "namespace": "team-b"}
    )
    body["status"] = {
        "observedGeneration": 1,
        "lastAppliedRevision": SECRET_REVISION,
        "lastAttemptedRevision": SECRET_REVISION,
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    syncs.remember(body)
    syncs.remember(_victim_source())
    syncs.drift.record("team-a/probe", [])
    syncs.scheduler.deciding("team-a/probe", syncs.gate.version)
    syncs.scheduler.schedule("team-a/probe", -1)  # due

    assert syncs.quiet("team-a/probe") is None  # never allowed: the pipeline decides

    syncs.gatekeeper.allowed("team-a/probe", syncs.gate.version)  # as an allowed full run leaves it
    quiet = syncs.quiet("team-a/probe")
    assert quiet is not None
    assert quiet.skipped
