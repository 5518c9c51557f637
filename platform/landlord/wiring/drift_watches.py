"""A watch per kind any Kustomization applied (Secrets: per namespace); drift wakes its owner."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from landlord import kube
from landlord.api import labels
from landlord.kube import watch
from landlord.sync.drift import DriftTracker, Scope

log = logging.getLogger(__name__)


class DriftWatches:
    """Watch threads, started as kinds appear; each feeds the tracker and wakes on drift."""

    def __init__(
        self,
        kube_client: kube.Kube,
        tracker: DriftTracker,
        wake: Callable[[str], None],
    ) -> None:
        self.kube = kube_client
        self.tracker = tracker
        self.wake = wake
        self._stop = threading.Event()
        self._threads: dict[Scope, threading.Thread] = {}
        self._lock = threading.Lock()

    def ensure(self, scopes: set[Scope]) -> None:
        """Start a watch for every scope in ``scopes`` not watched yet."""
        with self._lock:
            for scope in sorted(scopes - self._threads.keys()):
                name = f"drift-{scope[1]}" + (f"-{scope[2]}" if scope[2] else "")
                thread = threading.Thread(target=self._watch, args=(scope,), name=name, daemon=True)
                self._threads[scope] = thread
                thread.start()
                where = f" in {scope[2]}" if scope[2] else ""
                log.info("watching %s %s%s for drift", scope[0], scope[1], where)

    def _watch(self, scope: Scope) -> None:
        def listed(items: list[dict[str, Any]]) -> None:
            for drift in self.tracker.listed(scope, items):
                log.info("drift found on list: %s", drift, extra={"kustomization": drift.key})
                self.wake(drift.key)

        def event(kind_of_event: str, obj: dict[str, Any]) -> None:
            drift = self.tracker.observe(kind_of_event, obj)
            if drift is not None:
                log.info("drift: %s", drift, extra={"kustomization": drift.key})
                self.wake(drift.key)

        watch.watch_kind(
            self.kube,
            scope[0],
            scope[1],
            label_selector=labels.KUSTOMIZATION_NAME,
            on_list=listed,
            on_event=event,
            stop=self._stop,
            on_broken=lambda: self.tracker.unsynced(scope),
            namespace=scope[2] or None,
        )

    def stop(self) -> None:
        self._stop.set()
