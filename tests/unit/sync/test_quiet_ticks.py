"""An interval tick is decided from the watch cache only when nothing can have changed.

Decided by the scheduler from what the watch cache holds: no client, no reconciler.
"""

from __future__ import annotations

from typing import Any

from landlord import api, policy
from landlord.api import labels
from landlord.gitops import durations
from landlord.runtime.outcome import Outcome
from landlord.sync.drift import DriftTracker
from landlord.sync.scheduler import Scheduler
from landlord.sync.watchcache import WatchCache
from tests.unit.sync.bodies import ready_kustomization

KEY = "team-a/app"


def _source(revision: str) -> dict[str, Any]:
    return {
        "apiVersion": api.API_VERSION,
        "kind": "GitRepository",
        "metadata": {"name": "app", "namespace": "team-a"},
        "status": {"artifact": {"revision": revision}},
    }


class Ticks:
    """The watch cache and the scheduler of one operator, with a policy gate and drift."""

    def __init__(self) -> None:
        self.cache = WatchCache()
        self.scheduler = Scheduler()
        self.gate = policy.Gate()
        self.drift = DriftTracker()
        self.cache.remember(ready_kustomization())
        self.cache.remember(_source("main@sha1:1"))
        self.drift.record(KEY, [])
        self.scheduler.deciding(KEY, self.gate.version)
        self.scheduler.schedule(KEY, -1)  # due

    def quiet(self) -> Outcome | None:
        return self.scheduler.quiet(
            KEY,
            self.cache.body(KEY),
            self.cache.source_of(KEY),
            policy_version=self.gate.version,
            edges_cleared=True,  # its sourceRef stays in its namespace
            drift_clean=self.drift.clean(KEY),
            bounds=durations.Bounds(),
        )


def test_a_due_tick_with_nothing_changed_makes_no_request() -> None:
    outcome = Ticks().quiet()

    assert outcome is not None
    assert outcome.skipped
    assert outcome.ready


def test_a_new_revision_announced_before_its_watch_event_runs_the_pipeline() -> None:
    ticks = Ticks()

    ticks.cache.source_moved("team-a/app", "main@sha1:2")
    assert ticks.quiet() is None
    assert ticks.cache.source("team-a/app") is None  # readers ask the apiserver instead
    ticks.cache.remember(_source("main@sha1:1"))  # a late event from before the new artifact
    assert ticks.quiet() is None
    ticks.cache.remember(_source("main@sha1:2"))
    assert ticks.quiet() is None  # now cached, and not the applied revision


def test_a_revision_the_cache_already_holds_is_not_waited_for() -> None:
    ticks = Ticks()

    ticks.cache.source_moved("team-a/app", "main@sha1:1")  # its watch event came first

    assert ticks.quiet() is not None


def test_drift_a_request_or_a_new_policy_runs_the_pipeline() -> None:
    ticks = Ticks()
    requested = ready_kustomization()
    requested["metadata"]["annotations"] = {labels.REQUESTED_AT: "now"}

    ticks.cache.remember(requested)
    assert ticks.quiet() is None
    ticks.cache.remember(ready_kustomization())
    assert ticks.quiet() is not None

    ticks.gate.replace(policy.Policy.from_directory(policy.engine.DEFAULTS))
    assert ticks.quiet() is None


def test_the_source_of_a_kustomization_is_looked_up_in_its_sourceref_namespace() -> None:
    cache = WatchCache()
    body = ready_kustomization()
    body["spec"]["sourceRef"]["namespace"] = "shared"
    cache.remember(body)
    elsewhere = _source("main@sha1:1")
    elsewhere["metadata"]["namespace"] = "shared"

    assert cache.source_of(KEY) is None  # not seen yet
    cache.remember(_source("main@sha1:1"))  # same name, its own namespace: not the one named
    assert cache.source_of(KEY) is None
    cache.remember(elsewhere)
    assert cache.source_of(KEY) == elsewhere
    assert cache.source_of("team-a/other") is None  # no such Kustomization cached
