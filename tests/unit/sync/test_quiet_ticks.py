"""An interval tick is decided from the watch cache only when nothing can have changed."""

from __future__ import annotations

import pathlib
from typing import Any

from landlord import api, policy
from landlord.api import labels
from landlord.gitops import artifacts, sandbox
from landlord.sync.reconciler import KustomizationReconciler

KEY = "team-a/app"


def _kustomization(revision: str) -> dict[str, Any]:
    return {
        "apiVersion": api.API_VERSION,
        "kind": "Kustomization",
        "metadata": {
            "name": "app",
            "namespace": "team-a",
            "generation": 2,
            "finalizers": [labels.FINALIZER],
        },
        "spec": {"sourceRef": {"kind": "GitRepository", "name": "app"}, "interval": "1h"},
        "status": {
            "observedGeneration": 2,
            "lastAppliedRevision": revision,
            "lastAttemptedRevision": revision,
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def _source(revision: str) -> dict[str, Any]:
    return {
        "apiVersion": api.API_VERSION,
        "kind": "GitRepository",
        "metadata": {"name": "app", "namespace": "team-a"},
        "status": {"artifact": {"revision": revision}},
    }


def _reconciler(tmp_path: pathlib.Path) -> KustomizationReconciler:
    syncs = KustomizationReconciler(
        None,  # type: ignore[arg-type]  # a quiet tick never calls the apiserver
        store=artifacts.ArtifactStore(tmp_path),
        platform_namespace="landlord-system",
        kustomize=None,
        sandbox=sandbox.Sandbox(),
        gate=policy.Gate(),
    )
    syncs.remember(_kustomization("main@sha1:1"))
    syncs.remember(_source("main@sha1:1"))
    syncs.drift.record(KEY, [])
    syncs.scheduler.deciding(KEY, syncs.gate.version)
    syncs.scheduler.schedule(KEY, -1)  # due
    return syncs


def test_a_due_tick_with_nothing_changed_makes_no_request(tmp_path: pathlib.Path) -> None:
    outcome = _reconciler(tmp_path).quiet(KEY)

    assert outcome is not None
    assert outcome.skipped
    assert outcome.ready


def test_a_new_revision_announced_before_its_watch_event_runs_the_pipeline(
    tmp_path: pathlib.Path,
) -> None:
    syncs = _reconciler(tmp_path)

    syncs.source_moved("team-a", "app", "main@sha1:2")
    assert syncs.quiet(KEY) is None
    assert syncs.cached_source("team-a", "app") is None  # readers ask the apiserver instead
    syncs.remember(_source("main@sha1:1"))  # a late event from before the new artifact
    assert syncs.quiet(KEY) is None
    syncs.remember(_source("main@sha1:2"))
    assert syncs.quiet(KEY) is None  # now cached, and not the applied revision


def test_a_revision_the_cache_already_holds_is_not_waited_for(tmp_path: pathlib.Path) -> None:
    syncs = _reconciler(tmp_path)

    syncs.source_moved("team-a", "app", "main@sha1:1")  # its watch event came first

    assert syncs.quiet(KEY) is not None


def test_drift_a_request_or_a_new_policy_runs_the_pipeline(tmp_path: pathlib.Path) -> None:
    syncs = _reconciler(tmp_path)
    requested = _kustomization("main@sha1:1")
    requested["metadata"]["annotations"] = {labels.REQUESTED_AT: "now"}

    syncs.remember(requested)
    assert syncs.quiet(KEY) is None
    syncs.remember(_kustomization("main@sha1:1"))
    assert syncs.quiet(KEY) is not None

    syncs.gate.replace(policy.Policy.from_directory(policy.engine.DEFAULTS))
    assert syncs.quiet(KEY) is None
