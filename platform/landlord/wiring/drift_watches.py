"""A watch per kind any Kustomization applied (Secrets: per namespace), per cluster.

Drift wakes the owning Kustomization. On a registered cluster the watch runs
through the registry credential's connection (one watch set per cluster and
kind); a cluster that cannot be reached is retried with a backoff.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from landlord import kube
from landlord.api import labels
from landlord.kube import watch
from landlord.kube.fleet import Fleet
from landlord.sync.drift import LOCAL, DriftTracker, Scope

log = logging.getLogger(__name__)


class DriftWatches:
    """Watch threads, started as kinds appear; each feeds the tracker and wakes on drift."""

    def __init__(
        self,
        kube_client: kube.Kube,
        tracker: DriftTracker,
        wake: Callable[[str], None],
        fleet: Fleet | None = None,
        label_selector: str = labels.KUSTOMIZATION_NAME,
    ) -> None:
        self.kube = kube_client
        self.fleet = fleet
        self.label_selector = label_selector  # what marks an owned object (exists)
        self.tracker = tracker
        self.wake = wake
        self._stop = threading.Event()
        self._threads: dict[Scope, threading.Thread] = {}
        self._stops: dict[Scope, threading.Event] = {}  # per-namespace watches: each its own
        self._lock = threading.Lock()

    def ensure(self, scopes: set[Scope]) -> None:
        """Start a watch for every scope in ``scopes`` not watched yet."""
        with self._lock:
            for scope in sorted(scopes - self._threads.keys()):
                remote = scope[3] != LOCAL
                name = (
                    f"drift-{scope[1]}"
                    + (f"-{scope[2]}" if scope[2] else "")
                    + (f"@{scope[3]}" if remote else "")
                )
                stop = self._stop
                if scope[2] or remote:  # stopped on its own once nothing needs it
                    stop = self._stops[scope] = threading.Event()
                    if self._stop.is_set():
                        stop.set()
                thread = threading.Thread(
                    target=self._watch, args=(scope, stop), name=name, daemon=True
                )
                self._threads[scope] = thread
                thread.start()
                where = (f" in {scope[2]}" if scope[2] else "") + (
                    f" on cluster {scope[3]}" if remote else ""
                )
                log.info("watching %s %s%s for drift", scope[0], scope[1], where)

    def retain(self, needed: set[Scope]) -> None:
        """Stop the per-namespace watches nothing needs any more (an offboarded tenant's)."""
        with self._lock:
            for scope in [s for s in self._stops if s not in needed]:
                self._stops.pop(scope).set()
                self._threads.pop(scope, None)
                log.info("stopped watching %s %s in %s (cluster %s)", *scope)

    def _watch(self, scope: Scope, stop: threading.Event) -> None:
        def listed(items: list[dict[str, Any]]) -> None:
            for drift in self.tracker.listed(scope, items):
                log.info("drift found on list: %s", drift, extra={"kustomization": drift.key})
                self.wake(drift.key)

        def event(kind_of_event: str, obj: dict[str, Any]) -> None:
            drift = self.tracker.observe(kind_of_event, obj, scope[3])
            if drift is not None:
                log.info("drift: %s", drift, extra={"kustomization": drift.key})
                self.wake(drift.key)

        remote = scope[3] != LOCAL and self.fleet is not None
        watch.watch_kind(
            self.fleet.connection(scope[3]) if remote and self.fleet is not None else self.kube,
            scope[0],
            scope[1],
            label_selector=self.label_selector,
            on_list=listed,
            on_event=event,
            stop=stop,
            on_broken=lambda: self.tracker.unsynced(scope),
            namespace=scope[2] or None,
        )

    def stop(self) -> None:
        with self._lock:
            self._stop.set()
            for each in self._stops.values():
                each.set()
