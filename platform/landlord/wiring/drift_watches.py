"""One watch per kind that any Kustomization applied; drift wakes the owning Kustomization."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from landlord import kube
from landlord.api import labels
from landlord.kube import watch
from landlord.sync.drift import DriftTracker, Kind

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
        self._threads: dict[Kind, threading.Thread] = {}
        self._lock = threading.Lock()

    def ensure(self, kinds: set[Kind]) -> None:
        """Start a watch for every kind in ``kinds`` not watched yet."""
        with self._lock:
            for kind in sorted(kinds - self._threads.keys()):
                thread = threading.Thread(
                    target=self._watch, args=(kind,), name=f"drift-{kind[1]}", daemon=True
                )
                self._threads[kind] = thread
                thread.start()
                log.info("watching %s %s for drift", *kind)

    def _watch(self, kind: Kind) -> None:
        def listed(items: list[dict[str, Any]]) -> None:
            for drift in self.tracker.listed(kind, items):
                log.info("drift found on list: %s", drift, extra={"kustomization": drift.key})
                self.wake(drift.key)

        def event(kind_of_event: str, obj: dict[str, Any]) -> None:
            drift = self.tracker.observe(kind_of_event, obj)
            if drift is not None:
                log.info("drift: %s", drift, extra={"kustomization": drift.key})
                self.wake(drift.key)

        watch.watch_kind(
            self.kube,
            kind[0],
            kind[1],
            label_selector=labels.KUSTOMIZATION_NAME,
            on_list=listed,
            on_event=event,
            stop=self._stop,
            on_broken=lambda: self.tracker.unsynced(kind),
        )

    def stop(self) -> None:
        self._stop.set()
